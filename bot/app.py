"""Wiring: builds the bot from settings. The whole bot on one screen; the CLI only picks what to run."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from bot.context import Context, Result
from bot.dispatch import Dispatcher
from bot.downloads import DownloadLinks
from bot.eligibility.engine import EligibilityEngine
from bot.i18n import texts
from bot.limits import FloodGate, Limits
from bot.nlu.crisis import build_crisis_model
from bot.nlu.facts import FactReader
from bot.nlu.intents import IntentDetector
from bot.nlu.matcher import FaqMatcher
from bot.nlu.normalize import Normalizer, fold
from bot.nlu.routing import Triage, folded_view
from bot.places import Places
from bot.privacy import RedactingFormatter
from bot.reminders.sweeper import Sweeper
from bot.router import Router
from bot.settings import Settings
from bot.state import ConversationState
from bot.types import Incoming, Reply
from bot.vntime import day_of, vietnam_date
from content import Content, load_content
from handlers import eligibility, faq, handoff, lists, menu, my_records, officer, registration, reminders
from storage import repo
from storage.crypto import Cipher, cipher_from_settings
from storage.db import make_engine, migrate, transaction
from storage.models import utcnow

DEDUPLICATION_WINDOW = timedelta(days=30)


@dataclass
class Brain:
    """Content and understanding, with no I/O: shared by `ask`, `chat` and the channels."""

    content: Content
    normalizer: Normalizer
    matcher: FaqMatcher
    router: Router
    eligibility: EligibilityEngine
    places: Places
    triage: Triage
    facts_reader: FactReader

    def context(self, *, lang: str, today: date, session: Session | Connection | None = None, now: datetime | None = None,
                cipher: Cipher | None = None, msg: Incoming | None = None) -> Context:
        ctx = Context(texts(lang), self.content, self.matcher, self.normalizer, today, self.eligibility, self.places,
                      self.triage, self.facts_reader, now=now or utcnow())
        if session is not None:
            ctx.record_unanswered = lambda text, status: self._record(ctx, text, status)
            ctx.db, ctx._cipher = session, cipher
        if msg is not None:
            ctx.channel, ctx.chat_id = msg.channel, msg.chat_id
        return ctx

    def ask(self, question: str, *, lang: str = "vi", today: date | None = None) -> Result:
        """The reply a newcomer would get to one message, with no database: `ask` and evaluations."""
        ctx = self.context(lang=lang, today=today or vietnam_date(utcnow()))
        msg = Incoming(channel="cli", chat_id="cli", update_id="0", text=question)
        return self.router.handle(ctx, msg, ConversationState())

    def _record(self, ctx: Context, text: str, status: str) -> None:
        """One more unanswered question: its text encrypted, counted under a keyed hash of its
        normalised form, and its times only the day (a time of day could tie it to the message)."""
        normalised = self.normalizer(text).text[:255]
        if normalised:
            key, *older = ctx.cipher.question_keys(normalised)
            repo.record_unanswered(session=ctx.session, key=key, text=ctx.cipher.encrypt(text), status=status,
                                   now=day_of(ctx.now), older=older)


def build_router(intents: IntentDetector) -> Router:
    router = Router(intents)
    # 1. Greeting, main menu, small talk, stale buttons, stickers/photos/voice.
    menu.register(router)
    # 2. Eligibility walkthrough: reads typed answers first while it is in progress.
    eligibility.register(router)
    # 3. Registration of loan interest (consent, one field per turn, summary, reference code).
    registration.register(router)
    # 4. "Hồ sơ của tôi": status, history and data rights (see, withdraw consent, delete).
    my_records.register(router)
    # 5. "Gặp cán bộ": a question relayed to the commune's officers.
    handoff.register(router)
    # 6. Officers: /canbo CODE or an invite link binds the chat; pending list, decisions, export.
    officer.register(router)
    # 6b. The month's list after the police: the committee confirms or returns it, the bank receives it and records outcomes.
    lists.register(router)
    # 7. Officers' answers to reminders ("Đã xong", "Nhắc lại mai") and /lichnhac.
    reminders.register(router)
    # 8. Policy questions: any free text that no flow took is a question for the FAQ.
    faq.register(router)
    return router


def danger_words(content: Content) -> frozenset[str]:
    """Every word of the crisis phrases and distress words: "giowf tooi chir muoons cheets" typed
    without an input method is decoded to them ("chết" is in no FAQ phrasing)."""
    routes = content.routing.crisis.values()
    phrases = [p for route in routes for p in (*route.phrases, *(cue for group in route.together for cues in group for cue in cues))]
    return frozenset(w for p in (*phrases, *content.crisis.distress) for w in re.findall(r"[a-z]+", fold(p)))


def build_brain(content: Content | None = None) -> Brain:
    content = content or load_content()
    normalizer = Normalizer(content.lexicon, content.known_words)
    matcher = FaqMatcher(content.faq, normalizer, content.matching, content.topics.topics)
    router = build_router(IntentDetector(content.matching, normalizer))
    words = content.facts
    triage = Triage(content.routing, content.topics, normalizer, [*words.rehab, *words.prison, *words.business, *words.jobs])
    normalizer.danger_words = danger_words(content)
    ordinary = [p for entry in content.faq for p in entry.phrasings]
    triage.crisis_model = build_crisis_model(content.crisis, ordinary, folded_view)
    places = Places(content.registration.place_aliases, content.registration.former_provinces)
    return Brain(content, normalizer, matcher, router, EligibilityEngine(content), places, triage, FactReader(words))


@dataclass
class App:
    settings: Settings
    brain: Brain
    engine: Engine
    dispatcher: Dispatcher
    downloads: DownloadLinks
    sweeper: Sweeper
    # This process's name among several workers (leases on the inbox); empty: host and port.
    worker: str = ""


def build_app(settings: Settings, *, brain: Brain | None = None, engine: Engine | None = None) -> App:
    """Loads content, opens and migrates the database, and builds the dispatcher."""
    brain = brain or build_brain()
    engine = engine or make_engine(settings.effective_database_url)
    cipher = cipher_from_settings(settings)
    migrate(engine, cipher)  # the migration to keyed hashes needs the key
    with transaction(engine) as session:
        # Channels redeliver within minutes or hours; a month of deduplication records is plenty.
        repo.prune_processed_updates(session=session, before=utcnow() - DEDUPLICATION_WINDOW)

    limits = Limits.from_settings(settings)

    def make_context(session: Session | Connection, state: ConversationState, now: datetime, msg: Incoming) -> Context:
        lang = state.locale or settings.bot_locale
        ctx = brain.context(lang=lang, today=vietnam_date(now), session=session, now=now, cipher=cipher, msg=msg)
        ctx.retention_months = settings.registration_retention_months
        ctx.context_idle = timedelta(hours=settings.context_idle_hours)
        ctx.limits = limits
        ctx.web_base_url = settings.public_base_url
        return ctx

    def error_reply() -> Reply:
        return Reply(texts(settings.bot_locale).t("error.try_later"))

    def too_fast_reply() -> Reply:
        return Reply(texts(settings.bot_locale).t("limits.too_fast"))

    dispatcher = Dispatcher(
        engine=engine,
        router=brain.router,
        make_context=make_context,
        error_reply=error_reply,
        cipher=cipher,
        flood=FloodGate(limits.messages_per_minute),
        too_fast_reply=too_fast_reply,
    )
    sweeper = Sweeper(engine=engine, cipher=cipher, content=brain.content, places=brain.places, texts=texts(settings.bot_locale))
    return App(settings, brain, engine, dispatcher, DownloadLinks(engine, cipher, settings.public_base_url), sweeper)


def configure_logging(level: str = "INFO") -> None:
    """Logs to stderr through a filter that masks phone/ID numbers and tokens; vendor HTTP logs stay quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "telegram", "apscheduler", "alembic", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
