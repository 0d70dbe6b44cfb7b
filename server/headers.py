"""Response headers that keep pages private: nothing cached, no referrer, own-origin code only."""

from __future__ import annotations

from aiohttp import web

from server.proxy import is_https

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), display-capture=()",
}


HSTS = "max-age=31536000"  # a year: browsers come back over HTTPS only


async def private_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Set on every response just before it is sent (pages, files, errors, the socket)."""
    for name, value in PRIVATE_HEADERS.items():
        response.headers[name] = value
    if is_https(request):  # served over TLS here, or by a trusted proxy that says so
        response.headers["Strict-Transport-Security"] = HSTS
    for name in ("Last-Modified", "ETag", "Server"):
        response.headers.pop(name, None)
