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
EXPOSE 8443/tcp
CMD ["quietroom", "serve"]
