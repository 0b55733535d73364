"""python-telegram-bot's HTTP transport on aiohttp (the web server's own library) instead of httpx.

The bot still talks to Telegram through python-telegram-bot's `Bot` (its methods, serialisation,
errors and rate limiter); only the transport differs. Measured on the webhook benchmark, httpx and
its connection pool cost a quarter of the process's time; aiohttp's C parser is much cheaper.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    def __init__(self, *, pool_size: int = 8, read_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 media_timeout: float | None = 30.0) -> None:
        self._pool_size = pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._media_timeout = media_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout=BaseRequest.DEFAULT_NONE, write_timeout=BaseRequest.DEFAULT_NONE,
                         connect_timeout=BaseRequest.DEFAULT_NONE, pool_timeout=BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data is not None and request_data.contains_files
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        if files:
            read = max(read or 0, self._media_timeout or 0) or None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
        data: aiohttp.FormData | dict | None = request_data.json_parameters if request_data is not None else None
        if files and request_data is not None:  # files: request_data has some
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            data = form
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
