"""The reports the seed plans ask for (6-monthly, yearly, capital-demand reviews): what was
registered in a period in a commune (or every commune of a province), how far it went, how much
was asked and granted, and how long each step took. JSON gives exact figures; the XLSX shows any
count under 3 as "< 3" so that no small group can be singled out.

Contract (`python -m bot report --json`): commune, from, to, registrations, by_status,
by_programme, by_purpose (each of the three sums to registrations), requested_vnd, granted_vnd,
median_days; also province, communes, by_village, verified, confirmed, granted, questions."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, time, timedelta, timezone
from statistics import median

from sqlmodel import Session, col, func, select

from bot.i18n import Texts
from bot.places import Places
from bot.registration.record import Details
from bot.types import Document
from bot.vntime import VIETNAM
from content.models import RegistrationContent
from storage import registrations
from storage.crypto import Cipher
from storage.models import OfficerQuestion, RegistrationEvent

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SMALL = 3  # counts below this are shown as "< 3" in the file
STATUSES = registrations.HELD + (registrations.WITHDRAWN, registrations.DELETED)
# The steps timed from the registration (the first time each was reached; an undone decision does not count).
TIMED = ("verified", "proposed", "confirmed", "received", "decided")
UNKNOWN = "unknown"


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end] as Vietnamese days, as UTC datetimes [from, to)."""
    first = datetime.combine(start, time(), VIETNAM).astimezone(timezone.utc)
    last = datetime.combine(end + timedelta(days=1), time(), VIETNAM).astimezone(timezone.utc)
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


def build(*, session: Session, cipher: Cipher, form: RegistrationContent, communes: list[int], start: date, end: date,
          commune: int | None = None, province: int | None = None) -> dict:
    first, last = bounds(start, end)
    rows = registrations.of_communes(session=session, commune_codes=communes, created_from=first, created_to=last)
    events = registrations.events_of(session=session, registration_ids=[r.id for r in rows])
    by_status = {s: 0 for s in STATUSES}
    by_programme = {p.value: 0 for p in form.programmes} | {UNKNOWN: 0}
    by_purpose = {p.value: 0 for p in form.purposes} | {UNKNOWN: 0}
    by_village: dict[str, int] = {}
    steps = {"verified": 0, "confirmed": 0, "granted": 0}
    requested = granted = 0
    days: dict[str, list[float]] = {s: [] for s in TIMED}
    for row in rows:
        details = Details.model_validate(cipher.unseal(row.details)) if row.details else None
        by_status[row.status] = by_status.get(row.status, 0) + 1
        programme = details.programme if details and details.programme in by_programme else UNKNOWN
        by_programme[programme] += 1
        purpose = (details.purpose or ("business" if details.is_business else None)) if details else None
        by_purpose[purpose if purpose in by_purpose else UNKNOWN] += 1
        village = (details.village or "").strip() if details else ""
        by_village[village or UNKNOWN] = by_village.get(village or UNKNOWN, 0) + 1
        if details and details.amount:
            requested += details.amount
        reached = _reached(events[row.id])
        steps["verified"] += "verified" in reached
        steps["confirmed"] += "confirmed" in reached
        steps["granted"] += row.status == registrations.GRANTED
        if row.status == registrations.GRANTED and row.outcome:
            granted += int(json.loads(cipher.decrypt(row.outcome)).get("amount") or 0)
        for step, at in reached.items():
            days[step].append((at - row.created_at).total_seconds() / 86400)
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
        **steps,
        "requested_vnd": requested,
        "granted_vnd": granted,
        "median_days": {s: (round(median(v), 1) if v else None) for s, v in days.items()},
        "questions": {"asked": asked, "answered": answered},
    }


def _questions(session: Session, communes: list[int], first: datetime, last: datetime) -> tuple[int, int]:
    where = (col(OfficerQuestion.commune_code).in_(communes), col(OfficerQuestion.created_at) >= first,
             col(OfficerQuestion.created_at) < last)
    asked = session.exec(select(func.count()).select_from(OfficerQuestion).where(*where)).one()
    answered = session.exec(select(func.count()).select_from(OfficerQuestion).where(*where, col(OfficerQuestion.answered_at).is_not(None))).one()
    return asked, answered


def shown(count: int) -> int | str:
    """A count as the file shows it: "< 3" below three (zero stays zero: nobody to single out)."""
    return f"< {SMALL}" if 0 < count < SMALL else count


def to_xlsx(report: dict, *, texts: Texts, places: Places, form: RegistrationContent) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    t = texts.t
    where = places.label(report["commune"]) if report["commune"] else (places.province(report["province"]).name
                                                                     if report["province"] and places.province(report["province"]) else "")
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
    sheet = workbook.active
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
