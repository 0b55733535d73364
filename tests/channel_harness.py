"""Our web server with one channel on 127.0.0.1 (a port chosen by the OS), for channel tests."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bot.app import build_app
from bot.server import build_web_app


class ChannelHarness:
    channel_class: type
    webhook_path: str

    def __init__(self, settings, brain, engine) -> None:
        self.settings = settings
        self.app = build_app(settings, brain=brain, engine=engine)
        self.channel = self.channel_class(settings, self.app)
        self.url = ""

    async def __aenter__(self):
        self.runner = web.AppRunner(build_web_app(self.app, [self.channel]), access_log=None)  # as `run` has it (quiet)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        await self.channel.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.channel.stop()
        await self.runner.cleanup()

    async def post_webhook(self, *, headers: dict, json_body: dict | None = None, data: bytes | None = None) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}{self.webhook_path}", json=json_body, data=data, headers=headers) as response,
        ):
            self.last_answer = await response.read()  # what the platform reads in the webhook's reply
            return response.status
