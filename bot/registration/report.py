"""The reports the seed plans ask for (6-monthly, yearly, capital-demand reviews): what was
registered in a period in a commune (or every commune of a province), how far it went, how much
was asked and granted, and how long each step took. JSON gives exact figures; the XLSX shows any
count under 3 as "< 3" so that no small group can be singled out.

Contract (`python -m bot report --json`): commune, from, to, registrations, by_status,
by_programme, by_purpose (each of the three sums to registrations), requested_vnd, granted_vnd,
median_days; also province, communes, by_village, by_month, verified, confirmed, granted, questions."""

from __future__ import annotations

import io
import json
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from time import monotonic

from sqlmodel import Session, col, func, select

from bot.i18n import Texts
from bot.places import Places
from bot.registration.record import Details
from bot.types import Document
from bot.vntime import VIETNAM, vietnam_date
from content.models import RegistrationContent
from storage import registrations
from storage.crypto import Cipher
from storage.models import OfficerQuestion, Registration, RegistrationEvent

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SMALL = 3  # counts below this are shown as "< 3" in the file
STATUSES = registrations.HELD + (registrations.WITHDRAWN, registrations.DELETED)
# The steps timed from the registration (the first time each was reached; an undone decision does not count).
TIMED = ("verified", "proposed", "confirmed", "received", "decided")
UNKNOWN = "unknown"


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end] as Vietnamese days, as UTC datetimes [from, to)."""
    first = datetime.combine(start, time(), VIETNAM).astimezone(UTC)
    last = datetime.combine(end + timedelta(days=1), time(), VIETNAM).astimezone(UTC)
    return first, last


def _reached(events: list[RegistrationEvent]) -> dict[str, datetime]:
    """When each step was first reached (a decision undone is forgotten)."""
    at: dict[str, datetime] = {}
    for event in events:
        step = "decided" if event.action in registrations.OUTCOMES else event.action
        if event.action == "undone" and event.previous in at:
            at.pop(event.previous)
        elif step in TIMED and step not in at:
            at[step] = event.at
    return at


@dataclass(frozen=True)
class _Counted:
    """What one registration adds to a report (its version says when to read it again)."""
    version: int
    status: str
    programme: str | None
    purpose: str | None
    village: str
    month: str  # "YYYY-MM", the Vietnamese month it was registered in
    requested: int
    granted: int
    reached: tuple[tuple[str, float], ...]  # (step, days from the registration), first time each


def _counted(row: Registration, events: list[RegistrationEvent], cipher: Cipher) -> _Counted:
    details = Details.model_validate(cipher.unseal(row.details)) if row.details else None
    granted = 0
    if row.status == registrations.GRANTED and row.outcome:
        granted = int(json.loads(cipher.decrypt(row.outcome) or "{}").get("amount") or 0)
    return _Counted(
        version=row.version, status=row.status,
        programme=details.programme if details else None,
        purpose=(details.purpose or ("business" if details.is_business else None)) if details else None,
        village=(details.village or "").strip() if details else "",
        month=vietnam_date(row.created_at).strftime("%Y-%m"),
        requested=(details.amount or 0) if details else 0, granted=granted,
        reached=tuple((step, (at - row.created_at).total_seconds() / 86400) for step, at in _reached(events).items()))


# Reading and decrypting a period's registrations and their events cost about 0.1 ms each (0.2 s a
# page for 2,000): what each registration adds is kept per database and set of communes while its
# version is unchanged (every step, edit and erasure raises it), so a page reads only (id, version)
# and the few rows that changed. At most REPORTS_KEPT sets are kept, each dropped after REPORTS_IDLE
# unused. Keyed by the Cipher, so an app's figures never serve another's.
REPORTS_KEPT = 16
REPORTS_IDLE = 600.0  # seconds
_KEPT: weakref.WeakKeyDictionary[object, OrderedDict[tuple, tuple[float, dict[int, _Counted]]]] = weakref.WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()


def _rows_counted(session: Session, cipher: Cipher, communes: list[int], first: datetime, last: datetime) -> list[_Counted]:
    key = (id(session.get_bind()), tuple(sorted(communes)))
    now = monotonic()
    with _KEPT_LOCK:
        store = _KEPT.setdefault(cipher, OrderedDict())
        for idle in [k for k, (used, _) in store.items() if now - used > REPORTS_IDLE]:
            del store[idle]
        known = dict(store[key][1]) if key in store else {}
    versions = registrations.versions_of(session=session, commune_codes=communes, created_from=first, created_to=last)
    stale = [i for i, version in versions if i not in known or known[i].version != version]
    if stale:
        rows = registrations.by_ids(session=session, registration_ids=stale)
        events = registrations.events_of(session=session, registration_ids=stale)
        for row in rows:
            known[row.id] = _counted(row, events[row.id], cipher)
    counted = [known[i] for i, _ in versions if i in known]
    with _KEPT_LOCK:
        kept = store[key][1] if key in store else {}
        kept.update(known)
        store[key] = (now, kept)
        store.move_to_end(key)
        while len(store) > REPORTS_KEPT:
            store.popitem(last=False)
    return counted


def build(*, session: Session, cipher: Cipher, form: RegistrationContent, communes: list[int], start: date, end: date,
          commune: int | None = None, province: int | None = None) -> dict:
    first, last = bounds(start, end)
    rows = _rows_counted(session, cipher, communes, first, last)
    by_status = {s: 0 for s in STATUSES}
    by_programme = {p.value: 0 for p in form.programmes} | {UNKNOWN: 0}
    by_purpose = {p.value: 0 for p in form.purposes} | {UNKNOWN: 0}
    by_village: dict[str, int] = {}
    by_month = {m: 0 for m in _months(start, end)}
    steps = {"verified": 0, "confirmed": 0, "granted": 0}
    requested = granted = 0
    days: dict[str, list[float]] = {s: [] for s in TIMED}
    for row in rows:
        by_month[row.month] = by_month.get(row.month, 0) + 1
        by_status[row.status] = by_status.get(row.status, 0) + 1
        by_programme[row.programme if row.programme in by_programme else UNKNOWN] += 1
        by_purpose[row.purpose if row.purpose in by_purpose else UNKNOWN] += 1
        by_village[row.village or UNKNOWN] = by_village.get(row.village or UNKNOWN, 0) + 1
        requested += row.requested
        reached = dict(row.reached)
        steps["verified"] += "verified" in reached
        steps["confirmed"] += "confirmed" in reached
        steps["granted"] += row.status == registrations.GRANTED
        granted += row.granted
        for step, elapsed in row.reached:
            days[step].append(elapsed)
    asked, answered = _questions(session, communes, first, last)
    return {
        "commune": commune,
        "province": province,
        "communes": communes,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "registrations": len(rows),
        "by_status": by_status,
        "by_programme": by_programme,
        "by_purpose": by_purpose,
        "by_village": dict(sorted(by_village.items())),
        "by_month": by_month,
        **steps,
        "requested_vnd": requested,
        "granted_vnd": granted,
        "median_days": {s: (round(median(v), 1) if v else None) for s, v in days.items()},
        "questions": {"asked": asked, "answered": answered},
    }


def _months(start: date, end: date) -> list[str]:
    months, cursor = [], date(start.year, start.month, 1)
    while cursor <= end:
        months.append(cursor.strftime("%Y-%m"))
        cursor = date(cursor.year + (cursor.month == 12), cursor.month % 12 + 1, 1)
    return months


def _questions(session: Session, communes: list[int], first: datetime, last: datetime) -> tuple[int, int]:
    where = (col(OfficerQuestion.commune_code).in_(communes), col(OfficerQuestion.created_at) >= first,
             col(OfficerQuestion.created_at) < last)
    asked = session.exec(select(func.count()).select_from(OfficerQuestion).where(*where)).one()
    answered = session.exec(select(func.count()).select_from(OfficerQuestion)
                            .where(*where, col(OfficerQuestion.answered_at).is_not(None))).one()
    return asked, answered


def shown(count: int) -> int | str:
    """A count as the file shows it: "< 3" below three (zero stays zero: nobody to single out)."""
    return f"< {SMALL}" if 0 < count < SMALL else count


def to_xlsx(report: dict, *, texts: Texts, places: Places, form: RegistrationContent) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    t = texts.t
    province = places.province(report["province"]) if report["province"] else None
    where = places.label(report["commune"]) if report["commune"] else (province.name if province else "")
    period = t("report.period", start=texts.date(date.fromisoformat(report["from"])), end=texts.date(date.fromisoformat(report["to"])))
    rows: list[tuple] = [(t("report.title"),), (where, period), (t("report.small_counts", small=SMALL),), ()]
    rows.append((t("report.registrations"), shown(report["registrations"])))
    rows.append((t("report.by_status"),))
    rows += [("  " + t(f"status.{s}"), shown(n)) for s, n in report["by_status"].items() if n]
    labels = {p.value: p.label for p in form.programmes} | {UNKNOWN: t("report.unknown")}
    rows.append((t("report.by_programme"),))
    rows += [("  " + labels[p], shown(n)) for p, n in report["by_programme"].items()]
    labels = {p.value: p.label for p in form.purposes} | {UNKNOWN: t("report.unknown")}
    rows.append((t("report.by_purpose"),))
    rows += [("  " + labels[p], shown(n)) for p, n in report["by_purpose"].items()]
    rows.append((t("report.by_village"),))
    rows += [("  " + (v if v != UNKNOWN else t("report.unknown")), shown(n)) for v, n in report["by_village"].items()]
    rows += [(t(f"report.{s}"), shown(report[s])) for s in ("verified", "confirmed", "granted")]
    rows += [(t("report.requested_vnd"), report["requested_vnd"]), (t("report.granted_vnd"), report["granted_vnd"])]
    rows.append((t("report.median_days"),))
    rows += [("  " + t(f"report.median_{s}"), d if d is not None else "—") for s, d in report["median_days"].items()]
    rows += [(t("report.questions_asked"), shown(report["questions"]["asked"])),
             (t("report.questions_answered"), shown(report["questions"]["answered"]))]
    workbook = Workbook()
    sheet = workbook.worksheets[0]  # a new workbook's one (active) sheet
    sheet.title = "Bao cao"
    for row in rows:
        sheet.append(list(row))
    sheet["A1"].font = Font(bold=True)
    sheet.column_dimensions["A"].width = 60
    sheet.column_dimensions["B"].width = 24
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def document(report: dict, *, texts: Texts, places: Places, form: RegistrationContent) -> Document:
    where = report["commune"] or f"tinh-{report['province']}"
    filename = f"bao-cao-{where}-{report['from']}-{report['to']}.xlsx"
    return Document(filename, to_xlsx(report, texts=texts, places=places, form=form), XLSX_MIME)
