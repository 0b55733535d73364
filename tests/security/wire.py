"""Raw HTTP/1.1 requests to our real aiohttp server: headers and bodies exactly as bytes (a 0xFF
in a header, a body that is not UTF-8), which an HTTP client library would refuse to send."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit


async def raw_post(url: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """POSTs and returns the status code."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        head = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: " + parts.netloc.encode(), b"Connection: close",
                b"Content-Length: " + str(len(body)).encode()]
        head += [name + b": " + value for name, value in headers]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()
        await reader.read()  # the rest, until the server closes
        return int(status_line.split()[1])
    finally:
        writer.close()


def tracebacks_or_errors(records: list[logging.LogRecord]) -> list[str]:
    """Log records a bad request must never cause: a traceback, or anything at ERROR."""
    return [f"{r.name}: {r.getMessage()[:120]}" for r in records
            if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()]
