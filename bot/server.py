"""One aiohttp web server for every channel's webhook, plus /healthz; started by `python -m bot run`."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.app import App, build_app
from bot.settings import Settings
from storage.db import connection_transaction

log = logging.getLogger(__name__)
HEALTH_TIMEOUT = 5  # seconds the database may take to answer /healthz
DRAIN_SECONDS = 20  # below systemd's TimeoutStopSec (30 s in the README's unit)


def configured_channels(settings: Settings, app: App) -> list:
    """Every channel whose settings are present."""
    channels: list = []
    if settings.telegram_bot_token is not None:
        from bot.channels.telegram import TelegramChannel

        channels.append(TelegramChannel(settings, app))
    if settings.zalo_bot_token is not None:
        from bot.channels.zalo_bot import ZaloBotChannel

        channels.append(ZaloBotChannel(settings, app))
    if settings.zalo_oa_configured:
        from bot.channels.zalo_oa import ZaloOAChannel

        channels.append(ZaloOAChannel(settings, app))
    return channels


def build_web_app(app: App, channels: list) -> web.Application:
    web_app = web.Application(client_max_size=1024 * 1024)
    by_name = {channel.name: channel for channel in channels}
    # A handler that queued messages for other chats (a decision, a question for officers) wakes
    # the channels that reach them; the minute sweep catches anything left over.
    app.dispatcher.on_notify = lambda names: [by_name[n].notify_soon() for n in names if n in by_name]

    async def healthz(request: web.Request) -> web.Response:
        """200 when the database takes a write, the disk has room and each channel has started;
        otherwise 503 with a short reason ("disk low", "database read-only", "telegram down")."""
        try:
            await asyncio.wait_for(asyncio.to_thread(_probe_write, app), timeout=HEALTH_TIMEOUT)
            database = "ok"
        except TimeoutError:
            database = "error: no answer in time"
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            database = "read-only" if _read_only(exc) else f"error: {type(exc).__name__}"
        disk = _disk(app.settings)
        status = {"database": database, "disk": disk, "channels": {c.name: "ok" if c.healthy else "down" for c in channels}}
        if app.worker:  # one of several workers on the port: which one answered
            status["worker"] = app.worker
        reasons = [f"database {database}"] if database != "ok" else []
        reasons += ["disk low"] if disk != "ok" else []
        reasons += [f"{c.name} down" for c in channels if not c.healthy]
        if reasons:
            status["reason"] = ", ".join(reasons)
        return web.json_response(status, status=503 if reasons else 200)

    web_app.router.add_get("/healthz", healthz)
    app.downloads.add_routes(web_app.router)
    from bot.web.server import WebPages

    WebPages(app).add_routes(web_app)  # the officers' web pages under /web
    for channel in channels:
        channel.add_routes(web_app.router)
    return web_app


class _RolledBack(Exception):
    pass


def _probe_write(app: App) -> None:
    """A row written and rolled back in one transaction: the database takes writes (not read-only,
    not out of space for its lock, reachable). Nothing stays behind; alembic_version exists in
    every schema this bot migrates."""
    try:
        with connection_transaction(app.engine) as connection:
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('healthz-probe')"))
            raise _RolledBack
    except _RolledBack:
        pass


def _read_only(exc: Exception) -> bool:
    """SQLite: "attempt to write a readonly database"; PostgreSQL: SQLSTATE 25006 (read-only transaction)."""
    original = getattr(exc, "orig", exc)
    return "readonly" in str(original).lower() or "read-only" in str(original).lower() or getattr(original, "sqlstate", "") == "25006"


def _disk(settings: Settings) -> str:
    """'ok', or how much is free where the bot writes (DATA_DIR and the SQLite file's folder)
    when it is below HEALTH_MIN_FREE_MB."""
    folders = {Path(settings.data_dir)}
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folders.add(Path(url.database).parent)
    free = []
    for folder in folders:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent  # not created yet: the disk it will be created on
        try:
            free.append(shutil.disk_usage(folder).free)
        except OSError:
            continue
    if not free:
        return "ok"
    free_mb = min(free) // (1024 * 1024)
    if free_mb < settings.health_min_free_mb:
        return f"disk low: {free_mb} MB free (minimum {settings.health_min_free_mb} MB)"
    return "ok"


async def serve(settings: Settings, *, stop: asyncio.Event | None = None, slot: int | None = None,
                parent: int | None = None) -> None:
    """Runs the web server and channels until SIGINT/SIGTERM (or `stop`); in-flight work finishes.
    `slot`: this process is worker number `slot` of `run --workers N` (bot/workers.py): it shares
    the port with the others (SO_REUSEPORT) and stops when its parent (`parent`, a pid) is gone."""
    # Handlers run in worker threads; with CPython's default 5 ms GIL switch interval the event loop
    # waited behind them (a convoy), and webhook throughput halved. 0.5 ms keeps the loop responsive.
    sys.setswitchinterval(0.0005)
    app = build_app(settings)
    if slot is not None:
        # The name its inbox leases carry: the same for the process the parent starts again in
        # this slot, which then takes back at once what a killed predecessor held.
        app.worker = f"{socket.gethostname()}:{settings.http_port}/{slot}"
    channels = configured_channels(settings, app)
    runner = web.AppRunner(build_web_app(app, channels))
    await runner.setup()
    # The server listens before webhooks are registered, so the first delivery finds it. Workers
    # each listen on the same port; the kernel spreads the connections among them.
    await web.TCPSite(runner, settings.http_host, settings.http_port, reuse_port=slot is not None).start()
    log.info("listening on %s:%s%s", settings.http_host, settings.http_port, f" (worker {slot})" if slot is not None else "")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    orphaned = asyncio.create_task(_parent_gone(parent, stop)) if parent is not None else None
    scheduler = build_scheduler(app, channels)
    try:
        for channel in channels:
            await channel.start()
            log.info("channel %s started", channel.name)
        scheduler.start()
        # Reminders that fell due while the bot was down go out now (if their deadline has not passed).
        await sweep_reminders(app, channels)
        # What start-up built (content, models, patterns: about 130,000 objects) lives as long as
        # the process: frozen, the cyclic collector no longer walks it (a full collection took
        # about 80 ms of the event loop's time).
        gc.collect()
        gc.freeze()
        await stop.wait()
    finally:
        if orphaned is not None:
            orphaned.cancel()
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await runner.shutdown()  # stop accepting webhooks; what was recorded is finished below or at next start
        for channel in channels:
            try:
                await asyncio.wait_for(channel.stop(), timeout=DRAIN_SECONDS)
            except TimeoutError:
                log.warning("channel %s did not finish in %ss; unfinished updates resume at next start", channel.name, DRAIN_SECONDS)
        await runner.cleanup()


async def _parent_gone(parent: int, stop: asyncio.Event) -> None:
    """A worker whose parent died (SIGKILL, a crash) stops like on SIGTERM, rather than serve on
    unsupervised; a supervisor starting the parent again then starts every worker afresh."""
    while os.getppid() == parent:
        await asyncio.sleep(1)
    log.warning("the parent of this worker is gone: stopping")
    stop.set()


def build_scheduler(app: App, channels: list) -> AsyncIOScheduler:
    """APScheduler only decides when to look; the jobs are idempotent."""
    scheduler = AsyncIOScheduler(timezone="Asia/Ho_Chi_Minh")
    for channel in channels:
        # Replies that could not be sent (network, rate limits) are tried again every minute.
        scheduler.add_job(channel.resume, "interval", minutes=1, id=f"resend-{channel.name}", coalesce=True, max_instances=1)
        scheduler.add_job(channel.deliver_notifications, "interval", minutes=1, id=f"notify-{channel.name}",
                          coalesce=True, max_instances=1)
    scheduler.add_job(
        asyncio.to_thread, "cron", args=[prune, app], hour=3, id="prune", coalesce=True, max_instances=1
    )
    # Reminders: APScheduler only wakes the sweeper; what is due comes from the calendar and the ledger.
    scheduler.add_job(sweep_reminders, "interval", args=[app, channels], minutes=1, id="reminders",
                      coalesce=True, max_instances=1)
    return scheduler


async def sweep_reminders(app: App, channels: list, now=None) -> None:
    """Queues the reminders due now, then wakes the channels that send them."""
    from storage.models import utcnow

    try:
        report = await asyncio.to_thread(app.sweeper.sweep, now or app.settings.reminders_now or utcnow())
    except Exception as exc:  # noqa: BLE001 - the next minute tries again; the ledger keeps it exact
        log.error("reminder sweep failed: %s", type(exc).__name__)
        return
    for channel in channels:
        if channel.name in report.channels:
            channel.notify_soon()


def prune(app: App) -> None:
    from datetime import timedelta

    from bot.registration.service import purge
    from storage import limits, notifications, repo, web
    from storage.db import transaction, wipe_free_pages
    from storage.models import utcnow

    now = utcnow()
    with transaction(app.engine) as session:
        repo.prune_processed_updates(session=session, before=now - timedelta(days=30))
        repo.prune_inbox(session=session, before=now - timedelta(days=30))
        repo.prune_downloads(session=session, now=now)
        notifications.prune(session=session, before=now - timedelta(days=30))
        web.prune(session=session, before=now - timedelta(days=2))  # login links and ended browser sessions
        # Per-chat limit counters: a day's counts and a lockout are of no use two days later.
        limits.prune(session=session, before=now - timedelta(days=2))
        # Retention: registrations untouched for REGISTRATION_RETENTION_MONTHS lose their personal data.
        months = app.settings.registration_retention_months
        purge(session=session, before=now - timedelta(days=round(months * 30.44)), now=now)
    wipe_free_pages(app.engine)  # what was pruned or erased is not left in free pages or the log
