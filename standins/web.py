"""The officers' web pages served for real on 127.0.0.1 (the same aiohttp application `python -m
bot run` serves), an officer bound through a real invite, and fictional registrations."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

from aiohttp import web

from bot.registration.demo import fill
from bot.server import build_web_app
from bot.web.links import login_link
from storage import officers
from storage.db import transaction
from storage.models import Officer, Registration, utcnow

QUY_HOP, TAM_HOP = 17035, 17059  # Nghệ An (province 40)


class Server:
    """The web application on a free port, its event loop in a thread of its own."""

    def __init__(self, app) -> None:
        self.app = app
        self.url = ""

    def __enter__(self) -> Server:
        started = threading.Event()
        self.loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.runner = web.AppRunner(build_web_app(self.app, []))
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
            started.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.runner.cleanup())

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(30), "the web server did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)

    def link(self, officer_id: int) -> str:
        with transaction(self.app.engine) as session:
            return login_link(session=session, officer=session.get(Officer, officer_id), base_url=self.url, now=utcnow(), actor="test")


def bind(app, role: str = "officer", commune: int = QUY_HOP, chat_id: str = "web-officer") -> int:
    """A binding made the way an officer makes it (an invite redeemed from a chat); its id."""
    now = utcnow()
    with transaction(app.engine) as session:
        code = officers.create_invite(session=session, commune_code=commune, role=role, now=now, expires_at=now + timedelta(hours=1))
        return officers.redeem_invite(session=session, code=code, channel="test", chat_id=chat_id, now=now)[0].id


def people(app, commune: int = QUY_HOP, n: int = 12) -> list[Registration]:
    """Fictional registrations (every status) in a commune, oldest first."""
    with transaction(app.engine) as session:
        fill(session=session, cipher=app.dispatcher.cipher, commune_code=commune, province_code=40, count=n, now=utcnow(),
             seed=commune)
    with transaction(app.engine) as session:
        from sqlmodel import select

        return list(session.exec(select(Registration).where(Registration.commune_code == commune).order_by(Registration.id)))


def log_in(client, link: str):
    """Opens the link's page (which sets the login cookie) and presses its button: the response."""
    import re

    page = client.get(link)
    token = re.search(r'name="t" value="([^"]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    return client.post("/web/login", data={"t": token, "csrf": csrf})
