"""A stand-in Zalo Bot Platform API on 127.0.0.1: POST /bot<TOKEN>/<method> with a JSON body,
answering {"ok": true, "result": …} or {"ok": false, "error_code", "description"}."""

from __future__ import annotations

import time

from aiohttp import web

from standins.telegram_api import Call, FakeTelegramAPI


class FakeZaloBotAPI(FakeTelegramAPI):
    def __init__(self, token: str = "98765:zalo-TEST") -> None:
        super().__init__(token)
        self.fail_sends = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.match_info["method"]
        params = await request.json()
        self.calls.append(Call(method, params))
        if method == "sendMessage" and self.fail_sends > 0:
            self.fail_sends -= 1
            return web.json_response({"ok": False, "error_code": 500, "description": "Internal error"}, status=500)
        if method == "sendMessage" and str(params.get("chat_id")) in self.block_chats:
            return web.json_response({"ok": False, "error_code": 403, "description": "Forbidden"})
        if method == "getUpdates":
            if self.queued_updates:
                # Zalo Bot returns one event per call, wrapped in result.
                return web.json_response({"ok": True, "result": self.queued_updates.pop(0)})
            return web.json_response({"ok": False, "error_code": 408, "description": "Request timeout"})
        if method == "sendMessage":
            return web.json_response({"ok": True, "result": {"message_id": f"m{len(self.calls)}", "date": int(time.time() * 1000)}})
        return web.json_response({"ok": True, "result": True})
