"""What a handler gets besides the message and the state: texts, content, understanding, the date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from bot.i18n import Texts
from bot.limits import Limits
from bot.nlu.matcher import FaqMatcher
from bot.nlu.normalize import Normalizer
from bot.types import Button, Reply
from content import Content
from storage.models import utcnow

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.eligibility.engine import Eligibility, EligibilityEngine
    from bot.nlu.facts import FactReader, Facts
    from bot.nlu.routing import Triage
    from bot.places import Places
    from storage.crypto import Cipher


@dataclass(frozen=True)
class Outcome:
    """How a text was understood: for `ask --json`, tests and the unanswered-questions record."""

    status: str  # "answer" | "suggest" | "fallback"
    entry: str | None = None
    score: float = 0.0
    suggestions: tuple[str, ...] = ()


def _not_an_answer() -> Outcome:
    return Outcome("fallback")


@dataclass
class Result:
    replies: list[Reply]
    # How the message was understood; anything that is not an answer to a question is "fallback".
    outcome: Outcome = field(default_factory=_not_an_answer)
    # False when nothing in the text was understood (the FAQ's "chưa có câu trả lời"): in the middle
    # of a flow, the step's question is asked again under a short "chưa hiểu" instead of the menu.
    understood: bool = True


def _ignore(text: str, status: str) -> None:
    return None


@dataclass
class Context:
    texts: Texts
    content: Content
    matcher: FaqMatcher
    normalizer: Normalizer
    today: date
    eligibility: EligibilityEngine
    places: Places
    triage: Triage
    facts_reader: FactReader
    # Records an unanswered or ambiguous question (redacted text only); a no-op for `ask`.
    record_unanswered: Callable[[str, str], None] = field(default=_ignore)
    # What the message being handled says about the person (read once by the router).
    message_facts: Facts | None = None
    earlier_facts: Facts | None = None  # the conversation's facts before this message
    # The words that asked for a flow ("đăng ký vay cho con tôi"): the flow reads what they already say.
    request_text: str | None = None
    # With a database (every channel, not `ask`): the update's transaction, its key ring (`cipher`)
    # and who wrote. `db` is the transaction's Session, or its Connection (an ORM session is then
    # opened on it only when a handler uses `session`: most updates never need one).
    db: Session | Connection | None = None
    _cipher: Cipher | None = None
    now: datetime = field(default_factory=utcnow)  # the update's time (`ask`: when the context was made)
    channel: str = ""
    chat_id: str = ""
    retention_months: int = 24  # stated in the consent text (REGISTRATION_RETENTION_MONTHS)
    # What the person said about their situation is forgotten after this silence (CONTEXT_IDLE_HOURS).
    context_idle: timedelta = timedelta(hours=72)
    limits: Limits = field(default_factory=Limits)  # per-chat limits (LIMIT_* settings)
    # Messages to other chats written in this transaction (sent by their channel after commit).
    notified: list[tuple[str, str]] = field(default_factory=list)
    # The inbox row of the update being handled (None outside a channel, e.g. the console).
    inbox_id: int | None = None
    # Set by an erase: after the commit the database's free pages are wiped (storage.db.wipe_free_pages).
    erased: bool = False
    # The update's button data could not be read (see bot.router.ForgedButton): answer it as stale.
    forged: bool = False

    # PUBLIC_BASE_URL, for the officers' web login links ("" when the web pages have no address).
    web_base_url: str = ""
    officer_invite_hours: int = 72  # OFFICER_INVITE_HOURS, for invites made on the web pages

    _session: Session | None = None

    @property
    def has_storage(self) -> bool:
        return self.db is not None

    @property
    def session(self) -> Session:
        """An ORM session in the update's transaction (created on first use). Only with a database:
        handlers reachable without one check `has_storage` first."""
        if self.db is None:
            raise RuntimeError("this context has no database (check has_storage)")
        if not isinstance(self.db, Connection):
            return self.db
        if self._session is None:
            from sqlmodel import Session

            self._session = Session(bind=self.db, join_transaction_mode="rollback_only", expire_on_commit=False)
        return self._session

    @property
    def cipher(self) -> Cipher:
        """The key ring: only with a database, like `session`."""
        if self._cipher is None:
            raise RuntimeError("this context has no key ring (check has_storage)")
        return self._cipher

    def release(self) -> None:
        """Writes what the handler's session holds into the transaction (committed by its owner)."""
        if self._session is not None:
            self._session.flush()
            self._session.close()
            self._session = None

    def notify(self, channel: str, chat_id: str, replies: list[Reply]) -> None:
        """Queues replies for another chat (a decision to the registrant, a question to officers)."""
        from bot.types import replies_to_json
        from storage import notifications

        sealed = self.cipher.encrypt(replies_to_json(replies))
        origin = self.cipher.chat_key(self.channel, self.chat_id) if self.channel else None
        notifications.add(session=self.session, channel=channel, chat_id=chat_id, replies=sealed, now=self.now, origin_key=origin)
        self.notified.append((channel, chat_id))

    def seal(self, data: dict[str, Any]) -> str:
        return self.cipher.seal(data)

    def unseal(self, token: str | None) -> dict[str, Any]:
        return self.cipher.unseal(token)

    def t(self, key: str, **values: object) -> str:
        return self.texts.t(key, **values)

    def judge_told(self, facts: Facts) -> tuple[Eligibility, str] | None:
        """The eligibility rules applied to what the person told (None until a programme is told),
        with the subject the reasons are phrased for ("bạn", "người nhà của bạn")."""
        from bot.eligibility.engine import Profile

        profile = facts.profile()
        if "background" not in profile or self.eligibility is None:
            return None
        subject = self.t("eligibility.subject_relative" if facts.who == "relative" else "eligibility.subject_self")
        return self.eligibility.evaluate(Profile.model_validate(profile), on=self.today, texts=self.texts, subject=subject), subject

    def button(self, key: str, payload: str) -> Button:
        return Button(self.t(key), payload)

    def button_for_entry(self, entry_id: str) -> Button:
        """A button that asks the FAQ entry's canonical question."""
        return Button(self.content.faq_by_id[entry_id].question, f"faq:{entry_id}")
