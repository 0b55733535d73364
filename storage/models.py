"""Tables. Personal data never lands here in plain text (the unanswered record is redacted text only);
chat ids are sealed (storage/sealed.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Column, DateTime, Integer, LargeBinary, String, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.sealed import SealedId

if TYPE_CHECKING:
    from sqlalchemy import Table

    class _TableModel(SQLModel):
        # SQLAlchemy gives every table class its `__table__`; SQLModel's types do not declare it.
        __table__: ClassVar[Table]
else:
    _TableModel = SQLModel  # at run time, the very same class


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way in and out, on SQLite (which has no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utc_column(**kwargs) -> Column:
    return Column(UTCDateTime(), nullable=False, **kwargs)


def chat_id_column(**kwargs) -> Column:
    """A platform's chat id, sealed at rest (code sees the plain id; see storage/sealed.py)."""
    return Column(SealedId(), nullable=False, **kwargs)


class Conversation(_TableModel, table=True):
    """The saved state of one conversation (channel + chat), as JSON of `bot.state.ConversationState`."""

    __tablename__ = "conversations"

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(sa_column=chat_id_column(primary_key=True))
    state: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())


class ProcessedUpdate(_TableModel, table=True):
    """Updates already handled: a repeated delivery of the same (channel, update id) is answered once."""

    __tablename__ = "processed_updates"

    channel: str = Field(primary_key=True, max_length=16)
    update_id: str = Field(primary_key=True, max_length=64)
    processed_at: datetime = Field(sa_column=utc_column(index=True))


class UnansweredQuestion(_TableModel, table=True):
    """A question the FAQ could not answer (or only guess at), as redacted text with counts, no identity."""

    __tablename__ = "unanswered_questions"
    __table_args__ = (UniqueConstraint("key", name="uq_unanswered_key"),)

    id: int = Field(default=None, primary_key=True)  # None only until the row is flushed (here and below)
    key: str = Field(sa_column=Column(String(255), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)
    count: int = 1
    first_seen: datetime = Field(sa_column=utc_column())
    last_seen: datetime = Field(sa_column=utc_column())


def utcnow() -> datetime:
    return datetime.now(UTC)


class InboxUpdate(_TableModel, table=True):
    """Every update a channel delivered, recorded (encrypted) before it is acknowledged.

    processed_at: the handler's transaction committed, and `replies` holds what to send.
    sent_at: the replies went out (or the row was given up). On start-up, rows missing it are finished.
    sent_count: how many of the replies' messages (documents and text chunks, in order) were
    confirmed delivered; a resumed send starts after them.
    failed_at: the database was unavailable and the person got "thử lại sau"; the update is
    replayed later only if the person has not written since (otherwise it is closed unanswered).
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_inbox_update"),)

    id: int = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    update_id: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    replies: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(sa_column=utc_column())
    processed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))
    # A keyed hash of the conversation (Cipher.chat_key), set when the update is handled: the
    # person's stored messages are found and removed when they delete their data.
    chat_key: str | None = Field(default=None, max_length=64, index=True)
    sent_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Several workers on one PostgreSQL database (bot/channels/inbox.py, README "Several workers"):
    # `lane` is the conversation's keyed hash (Cipher.chat_key) while the update is unfinished
    # (cleared when it is finished). A worker leases a lane's oldest unfinished update
    # (`lease_until`) before handling and sending it, so one worker at a time works on a chat, in
    # arrival order; a dead worker's lease runs out. `leased_by` names the worker that took it last.
    lane: str | None = Field(default=None, max_length=64, index=True)
    leased_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class OAuthToken(_TableModel, table=True):
    """An OAuth token pair (encrypted). Zalo's refresh token is single-use: the new pair is stored
    here before it is used, so a crash never leaves the bot holding a spent token."""

    __tablename__ = "oauth_tokens"

    name: str = Field(primary_key=True, max_length=32)
    access_token: str = Field(sa_column=Column(Text, nullable=False))
    refresh_token: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    updated_at: datetime = Field(sa_column=utc_column())


class ChannelContact(_TableModel, table=True):
    """When a person last wrote on a channel, and whether the channel can still reach them
    (Zalo OA allows replies only within 7 days of the person's last message)."""

    __tablename__ = "channel_contacts"

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(sa_column=chat_id_column(primary_key=True))
    last_inbound_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    unreachable_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reason: str | None = Field(default=None, max_length=64)


class Download(_TableModel, table=True):
    """A file a channel could not send, served once through a signed, expiring link."""

    __tablename__ = "downloads"

    id: str = Field(primary_key=True, max_length=64)
    filename: str = Field(max_length=200)
    mime: str = Field(max_length=100)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # encrypted
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


# -- registrations of loan interest, consent, officers (personal fields only ever encrypted) ---------


class Consent(_TableModel, table=True):
    """Proof of explicit consent: which conversation agreed, when, and a hash of the exact text shown."""

    __tablename__ = "consents"

    id: int = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(sa_column=chat_id_column(index=True))
    text_version: str = Field(max_length=16)
    text_hash: str = Field(max_length=64)
    given_at: datetime = Field(sa_column=utc_column())
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class Registration(_TableModel, table=True):
    """One person's registered interest in a loan, for commune police to review.

    `details` is encrypted JSON of every personal field (name, phone, birth year, ID number,
    village, programme, purpose, description, amount); None once erased, leaving a stub for the
    audit trail. `phone_index` is a keyed hash (blind index) for finding a repeat registration.
    """

    __tablename__ = "registrations"

    id: int = Field(default=None, primary_key=True)
    reference: str = Field(max_length=12, unique=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(sa_column=chat_id_column(index=True))
    province_code: int
    commune_code: int = Field(index=True)
    status: str = Field(max_length=16, index=True)
    details: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    phone_index: str | None = Field(default=None, max_length=64, index=True)
    consent_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_column=utc_column())
    updated_at: datetime = Field(sa_column=utc_column())
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    # Raised by every change (storage.registrations.claim): an officer's decision buttons carry the
    # version they were shown, so of two decisions made at once only the first is applied.
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # The month's list it was proposed on (storage.lists), while it is on one.
    list_id: int | None = Field(default=None, index=True)
    # The bank's outcome, encrypted JSON: {"amount": VND, "on": "YYYY-MM-DD"} or {"reason": "…"}.
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RegistrationEvent(_TableModel, table=True):
    """The history of a registration: created, updated, decisions, notes (the note text encrypted)."""

    __tablename__ = "registration_events"

    id: int = Field(default=None, primary_key=True)
    registration_id: int = Field(index=True)
    at: datetime = Field(sa_column=utc_column())
    actor: str = Field(max_length=32)  # "registrant", "officer:<id>", "system"
    action: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    previous: str | None = Field(default=None, max_length=16)  # the status before a decision (for undo)


class MonthlyList(_TableModel, table=True):
    """One commune's list for one month ("YYYY-MM"): closed by the police (status "closed"),
    confirmed by the commune People's Committee ("confirmed", with who signed, their title and
    the date: `signer`, encrypted JSON) or returned with a note ("returned", `note` encrypted),
    then received by the bank ("received")."""

    __tablename__ = "monthly_lists"
    __table_args__ = (UniqueConstraint("commune_code", "period", name="uq_monthly_list"),)

    id: int = Field(default=None, primary_key=True)
    commune_code: int = Field(index=True)
    period: str = Field(max_length=7)
    status: str = Field(max_length=16)
    closed_at: datetime = Field(sa_column=utc_column())
    closed_by: str = Field(max_length=32)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    decided_by: str | None = Field(default=None, max_length=32)
    signer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    received_by: str | None = Field(default=None, max_length=32)
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Officer(_TableModel, table=True):
    """An account bound to one chat, for one commune (a chat may hold several bindings). role:
    "officer" (commune police), "committee" (the commune People's Committee), "bank" (an NHCSXH
    transaction office: one binding per commune it serves) or "admin"."""

    __tablename__ = "officers"

    id: int = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(sa_column=chat_id_column(index=True))
    commune_code: int = Field(index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class OfficerInvite(_TableModel, table=True):
    """A single-use, expiring invite code (only its hash is stored)."""

    __tablename__ = "officer_invites"

    id: int = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    commune_code: int
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=utc_column())
    # More communes the same invite binds (a bank office serving several): "17035,17038".
    more_communes: str | None = Field(default=None, max_length=255)
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    officer_id: int | None = Field(default=None)


class AuditEntry(_TableModel, table=True):
    """Who viewed, decided or exported what, and when — identifiers only, never personal values."""

    __tablename__ = "audit_log"

    id: int = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=utc_column(index=True))
    actor: str = Field(max_length=32)  # "officer:<id>" or "cli"
    action: str = Field(max_length=24)
    registration_id: int | None = Field(default=None, index=True)
    commune_code: int | None = Field(default=None)
    detail: str | None = Field(default=None, max_length=64)


class OfficerQuestion(_TableModel, table=True):
    """A question relayed to the officers of a commune ("Gặp cán bộ"); texts and phone encrypted."""

    __tablename__ = "officer_questions"

    id: int = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(sa_column=chat_id_column(index=True))
    commune_code: int = Field(index=True)
    question: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(max_length=16, index=True)  # open | answered | erased
    created_at: datetime = Field(sa_column=utc_column())
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    officer_id: int | None = Field(default=None)


class Notification(_TableModel, table=True):
    """A message to another chat (a decision to the registrant, a question to officers), written in
    the handler's transaction and sent by that chat's channel; encrypted until sent."""

    __tablename__ = "notifications"

    id: int = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16, index=True)
    chat_id: str = Field(sa_column=chat_id_column())
    replies: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=True))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    attempts: int = 0
    # Not sent before this time: a sender's lease while it sends, or the back-off after a failure.
    not_before: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reason: str | None = Field(default=None, max_length=64)  # why it could not be delivered
    # A keyed hash of the conversation whose message wrote it (Cipher.chat_key): a question or a
    # correction relayed to officers goes when its author deletes their data.
    origin_key: str | None = Field(default=None, max_length=64, index=True)


class ReminderDelivery(_TableModel, table=True):
    """The reminder ledger: one row per (deadline, period, officer, lead time), claimed once.

    status: queued (a notification was written in the same transaction), missed (its deadline
    passed while the bot was down: recorded, never sent late), skipped (the officer had marked
    the task done)."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("deadline_id", "period", "officer_id", "lead", name="uq_reminder_delivery"),)

    id: int = Field(default=None, primary_key=True)
    deadline_id: str = Field(max_length=40)
    period: str = Field(max_length=10)  # the deadline's date, ISO
    officer_id: int = Field(index=True)
    lead: str = Field(max_length=16)  # "d3", "d0", "snooze-2026-12-03"
    status: str = Field(max_length=16)
    notification_id: int | None = Field(default=None)
    created_at: datetime = Field(sa_column=utc_column())


class ReminderTask(_TableModel, table=True):
    """An officer's answer to a reminder: done (no more reminders for that period) or snoozed."""

    __tablename__ = "reminder_tasks"

    deadline_id: str = Field(primary_key=True, max_length=40)
    period: str = Field(primary_key=True, max_length=10)
    officer_id: int = Field(primary_key=True)
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    snoozed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class ChatLimit(_TableModel, table=True):
    """A per-chat counter for a limit that survives restarts: wrong invite codes (period "") and
    their lockout (`until`), registrations and questions per Vietnamese day (period "YYYY-MM-DD").
    `chat_key` is a keyed hash of the channel and chat, never the chat id."""

    __tablename__ = "chat_limits"

    chat_key: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=16)
    period: str = Field(primary_key=True, max_length=10)
    count: int = 0
    until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    updated_at: datetime = Field(sa_column=utc_column(index=True))


# -- the officers' web pages ------------------------------------------------------------------------


class WebLogin(_TableModel, table=True):
    """A one-time login link for one binding: only a hash of its token is kept; valid 10 minutes,
    taken once (used_at)."""

    __tablename__ = "web_logins"

    id: int = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    officer_id: int = Field(index=True)
    created_at: datetime = Field(sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class WebSession(_TableModel, table=True):
    """A browser's session after a login link: only a hash of the cookie's token is kept. Ends on
    logout, after WEB_SESSION_IDLE_HOURS without a request, or when the binding is revoked."""

    __tablename__ = "web_sessions"

    id: int = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    officer_id: int = Field(index=True)
    created_at: datetime = Field(sa_column=utc_column())
    last_seen_at: datetime = Field(sa_column=utc_column())
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
