FROM python:3.11-slim

RUN useradd --create-home --uid 10001 quietroom \
    && mkdir /data && chown quietroom /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY media ./media
COPY signaling ./signaling
COPY bench ./bench
COPY client_web ./client_web
RUN pip install --no-cache-dir -e .

USER quietroom
ENV QUIETROOM_HOST=0.0.0.0 \
    QUIETROOM_STAFF_FILE=/data/staff.json
# HTTPS, and media: one UDP and one TCP (ICE-TCP) port per media worker, from 40000
# (one worker per core: widen with more cores, or set QUIETROOM_MEDIA_WORKERS).
EXPOSE 8443/tcp 40000-40001/udp 40000-40001/tcp
CMD ["quietroom", "serve"]
