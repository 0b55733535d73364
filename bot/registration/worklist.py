"""The police's work list: finding registrations (by reference, phone or name), filters (status,
programme, month, village) and the rules' flags on each registration. Shared by the chat and the
officers' web pages; personal fields are decrypted here, in memory, never stored in the clear."""

from __future__ import annotations

import re
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import date

from bot.context import Context
from bot.nlu.normalize import fold
from bot.registration.fields import Invalid, read_phone
from bot.registration.record import Details
from bot.vntime import vietnam_date
from storage import registrations
from storage.models import Registration
from storage.registrations import REFERENCE_ALPHABET

# The statuses an officer can filter by, in the order the buttons show them.
FILTER_STATUSES = registrations.HELD
REFERENCE = re.compile(rf"^[{REFERENCE_ALPHABET}]{{3}}-?[{REFERENCE_ALPHABET}]{{3}}$")
WINDOW = {"qd08_2026": "qd08.window_years", "qd22_2023": "qd22.window_years"}


@dataclass(frozen=True)
class Found:
    registration: Registration
    details: Details
    # The name and the village without accents, lower case (searches and filters), kept with the list.
    folded_name: str | None = None
    folded_village: str | None = None

    @property
    def name_key(self) -> str:
        return self.folded_name if self.folded_name is not None else fold(self.details.name or "")

    @property
    def village_key(self) -> str:
        return self.folded_village if self.folded_village is not None else fold(self.details.village or "")


@dataclass
class _Held:
    mark: tuple
    found: list[Found]
    used: float


# Decrypting every registration of a commune for each page cost about 0.1 ms a registration (0.2 s
# for 2,000): the decrypted list is kept in memory per database and commune while the commune's
# registrations are unchanged (storage.registrations.held_mark), rebuilt when any changes (only the
# changed ones decrypted again), and dropped after HELD_IDLE unused (at most HELD_KEPT lists). An
# erased registration leaves the list at its next read. Keyed by the Cipher, so an app's list never
# serves another's.
HELD_IDLE = 600.0  # seconds
HELD_KEPT = 16  # communes' lists at most (an admin looking through many communes)
_HELD: weakref.WeakKeyDictionary[object, dict[tuple, _Held]] = weakref.WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def _held(ctx: Context, commune_code: int) -> list[Found]:
    key = (id(ctx.session.get_bind()), commune_code)
    mark = registrations.held_mark(session=ctx.session, commune_code=commune_code)
    now = time.monotonic()
    with _HELD_LOCK:
        store = _HELD.setdefault(ctx.cipher, {})
        for stale in [k for k, v in store.items() if now - v.used > HELD_IDLE]:
            del store[stale]
        kept = store.get(key)
        if kept is not None and kept.mark == mark:
            kept.used = now
            return list(kept.found)
    known = {f.registration.id: f for f in kept.found} if kept is not None else {}
    found = []
    for row in _changed_rows(ctx, commune_code, known):
        if not row.details:
            continue
        before = known.get(row.id)
        if before is not None and before.registration is row:
            found.append(before)
        elif before is not None and before.registration.details == row.details:
            found.append(Found(row, before.details, before.folded_name, before.folded_village))
        else:
            details = Details.model_validate(ctx.cipher.unseal(row.details))
            found.append(Found(row, details, fold(details.name or ""), fold(details.village or "")))
    with _HELD_LOCK:
        store[key] = _Held(mark, found, now)
        while len(store) > HELD_KEPT:  # the least recently used commune's list goes first
            del store[min(store, key=lambda k: store[k].used)]
    return list(found)


def _changed_rows(ctx: Context, commune_code: int, known: dict[int, Found]) -> list[Registration]:
    """The commune's held registrations in the list's order: the ones unchanged since `known` (same
    version) as they were, only the others read again from the database."""
    if not known:
        return registrations.with_status(session=ctx.session, commune_codes=[commune_code], statuses=registrations.HELD)
    versions = registrations.held_versions(session=ctx.session, commune_code=commune_code)
    stale = [i for i, version in versions if i not in known or known[i].registration.version != version]
    fresh = {r.id: r for r in registrations.by_ids(session=ctx.session, registration_ids=stale)}
    return [fresh[i] if i in fresh else known[i].registration for i, _ in versions if i in fresh or i in known]


def search(ctx: Context, commune_code: int, text: str, limit: int | None = 10) -> list[Found]:
    """A reference code ('K7Q-4M2'), a phone number, or (part of) a name, accents optional
    (`limit` None: every match)."""
    typed = text.strip().upper()
    if REFERENCE.match(typed):
        row = registrations.by_reference(session=ctx.session, reference=typed)
        if row is None or row.commune_code != commune_code or row.status not in registrations.HELD or not row.details:
            return []
        return [Found(row, Details.model_validate(ctx.cipher.unseal(row.details)))]
    try:
        phone = read_phone(text)
    except Invalid:
        phone = None
    if phone is not None:
        indexes = set(ctx.cipher.blind_indexes(phone))
        return [f for f in _held(ctx, commune_code) if f.registration.phone_index in indexes][:limit]
    words = fold(text).split()
    if not words:
        return []
    return [f for f in _held(ctx, commune_code) if all(w in f.name_key for w in words)][:limit]


def villages(ctx: Context, commune_code: int) -> list[str]:
    """The villages people gave in this commune, as typed (one spelling each), sorted."""
    seen: dict[str, str] = {}
    for found in _held(ctx, commune_code):
        if found.details.village:
            seen.setdefault(found.village_key, found.details.village)
    return [seen[k] for k in sorted(seen)]


def filtered(ctx: Context, commune_code: int, *, status: str | None = None, programme: str | None = None,
             month: tuple[int, int] | None = None, village: str | None = None) -> list[Found]:
    """Registrations of the commune matching every filter given (month: the month it was sent)."""
    return [f for f in _held(ctx, commune_code) if matches(f, status=status, programme=programme, month=month, village=village)]


def matches(found: Found, *, status: str | None = None, programme: str | None = None, month: tuple[int, int] | None = None,
            village: str | None = None) -> bool:
    """Whether a registration passes every filter given."""
    row, details = found.registration, found.details
    if status is not None and row.status != status:
        return False
    if programme is not None and details.programme != programme:
        return False
    if month is not None and (lambda sent: (sent.year, sent.month))(vietnam_date(row.created_at)) != month:
        return False
    return village is None or found.village_key == fold(village)


def find(ctx: Context, commune_code: int, text: str = "", **filters) -> list[Found]:
    """The web pages' search: what `search` finds for the text (everything when there is none),
    narrowed by the filters of `filtered`."""
    found = search(ctx, commune_code, text, limit=None) if text.strip() else _held(ctx, commune_code)
    return [f for f in found if matches(f, **filters)]


def flags(ctx: Context, details: Details, today: date) -> list[str]:
    """What the rules see in a registration, for the officer: "gần hết 10 năm", "quá 5 năm",
    "vượt mức tối đa", "cần giấy xác nhận" (the figures from content/policy/parameters.yaml)."""
    found = []
    programme = details.programme
    window_name = WINDOW.get(programme or "")
    if window_name and details.event_year:
        window = int(ctx.content.parameters[window_name].number_at(today) or 0)
        low, high = max(today.year - details.event_year - 1, 0), today.year - details.event_year
        if low >= window:  # the whole year range is past the window
            found.append(ctx.t("officer.flag_over_window", years=window))
        elif high >= window - 1:
            found.append(ctx.t("officer.flag_near_window", years=window))
    if details.amount_requested and details.amount and details.amount_requested > details.amount:
        found.append(ctx.t("officer.flag_above_cap"))
    # QĐ 08/2026 training loans need the training institution's certificate (giấy xác nhận).
    if programme == "qd08_2026" and not details.is_business and details.purpose == "vocational_training":
        found.append(ctx.t("officer.flag_certificate"))
    return found
