"""A stand-in Zalo OA Open API and OAuth v4 server on 127.0.0.1.

Errors come with HTTP 200 and `error` != 0, as Zalo does. Access tokens expire on command;
refresh tokens are single-use (a reused one is refused), and refreshes are counted.
"""

from __future__ import annotations

import itertools

from aiohttp import web

from standins.telegram_api import Call, FakeTelegramAPI


class FakeZaloOA(FakeTelegramAPI):
    SECRET_KEY = "oa-secret-key"
    APP_ID = "1234567890"

    def __init__(self) -> None:
        super().__init__("unused")
        self._serial = itertools.count(2)
        self.access_token = "access-1"
        self.refresh_token = "refresh-1"
        self.refreshes = 0
        self.errors_next: list[int] = []  # error codes answered to the next sends, in order

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v3.0/oa/message/cs", self._message)
        app.router.add_post("/v4/oa/access_token", self._oauth)

    def expire_access_token(self) -> None:
        self.access_token = f"access-expired-{next(self._serial)}"

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("message", {**body, "access_token": request.headers.get("access_token")}))
        if request.headers.get("access_token") != self.access_token:
            return web.json_response({"error": -216, "message": "Access token is invalid"})
        if self.errors_next:
            return web.json_response({"error": self.errors_next.pop(0), "message": "error"})
        self.calls.append(Call("delivered", body))
        return web.json_response({"error": 0, "message": "Success", "data": {"message_id": "x"}})

    async def _oauth(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.calls.append(Call("oauth", dict(form)))
        if request.headers.get("secret_key") != self.SECRET_KEY or form.get("app_id") != self.APP_ID:
            return web.json_response({"error": -14002, "error_name": "Invalid secret key"})
        if form.get("refresh_token") != self.refresh_token or form.get("grant_type") != "refresh_token":
            return web.json_response({"error": -14014, "error_name": "Invalid refresh token"})
        self.refreshes += 1
        n = next(self._serial)
        self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_in": "90000"})
