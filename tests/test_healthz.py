"""/healthz over real HTTP: 200 only when the database takes a write and the disk has room;
otherwise 503 with a short reason."""

from __future__ import annotations

import shutil
from collections import namedtuple

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import create_engine, text

from bot.app import build_app
from bot.server import build_web_app

pytestmark = pytest.mark.db
Usage = namedtuple("Usage", "total used free")
MB = 1024 * 1024


async def get_healthz(app) -> tuple[int, dict]:
    runner = web.AppRunner(build_web_app(app, []), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
            return response.status, await response.json()
    finally:
        await runner.cleanup()


def free_space(monkeypatch, megabytes: int) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage(10_000 * MB, 10_000 * MB - megabytes * MB, megabytes * MB))


async def test_a_healthy_bot_answers_ok(app, monkeypatch):
    free_space(monkeypatch, 5_000)
    assert await get_healthz(app) == (200, {"database": "ok", "disk": "ok", "channels": {}})


async def test_a_nearly_full_disk_gives_503_disk_low(app, monkeypatch):
    free_space(monkeypatch, 42)
    status, body = await get_healthz(app)
    assert status == 503
    assert body["reason"] == "disk low" and body["disk"] == "disk low: 42 MB free (minimum 100 MB)"
    assert body["database"] == "ok"


async def test_the_minimum_free_space_is_a_setting(settings, brain, engine, monkeypatch):
    free_space(monkeypatch, 42)
    app = build_app(settings.model_copy(update={"health_min_free_mb": 10}), brain=brain, engine=engine)
    assert (await get_healthz(app))[0] == 200


async def test_a_database_that_refuses_writes_gives_503(app, database_url, monkeypatch):
    """A read-only SQLite file (mode=ro), or a PostgreSQL session whose transactions are read-only."""
    free_space(monkeypatch, 5_000)
    url, schema = database_url
    if schema is None:
        path = url.removeprefix("sqlite:///")
        read_only = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    else:
        read_only = create_engine(url, connect_args={"options": f"-csearch_path={schema} -cdefault_transaction_read_only=on"})
    with read_only.connect() as connection:  # it still reads
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    app.engine = read_only
    try:
        status, body = await get_healthz(app)
    finally:
        read_only.dispose()
    assert status == 503 and body["database"] == "read-only" and body["reason"] == "database read-only"


async def test_the_write_probe_leaves_nothing_behind(app, monkeypatch):
    free_space(monkeypatch, 5_000)
    for _ in range(3):
        assert (await get_healthz(app))[0] == 200
    with app.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
