"""A commune's lists as XLSX (openpyxl) or CSV, with the columns in content/registration.yaml:
the police's working list of a month (everyone, status and notes; marked internal, never sent
onward) and the onward list of a closed month's list (only the people on it, only the form's columns)."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlmodel import Session

from bot.i18n import Texts
from bot.places import Places
from bot.registration.record import Details, borrower_name, choice_label, field_value, registrant_text, staff_share
from bot.types import Document
from bot.vntime import month_bounds, vietnam_date
from content.models import ExportForm, RegistrationContent
from storage import registrations
from storage.crypto import Cipher
from storage.models import MonthlyList, Registration

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Furthest along first: outcomes, then the month's list, then verified, waiting, not eligible.
STATUS_ORDER = {status: i for i, status in enumerate((
    *registrations.OUTCOMES, *reversed(registrations.ONWARD), registrations.VERIFIED, registrations.PENDING,
    registrations.NEEDS_INFO, registrations.REJECTED))}


def parse_month(text: str) -> tuple[int, int]:
    """'2026-11' → (2026, 11); ValueError otherwise."""
    year, _, month = text.partition("-")
    value = (int(year), int(month))
    if not 2000 <= value[0] <= 2100 or not 1 <= value[1] <= 12:
        raise ValueError("month must be YYYY-MM")
    return value


def month_rows(*, session: Session, cipher: Cipher, texts: Texts, places: Places, form: RegistrationContent,
               commune_code: int, year: int, month: int, today: date) -> tuple[ExportForm, list[list[object]]]:
    """The police's working list (internal): its form and rows (header row first) for one commune and month."""
    start, end = month_bounds(year, month)
    rows = registrations.for_month(session=session, commune_code=commune_code, start=start, end=end)
    rows.sort(key=lambda r: (STATUS_ORDER.get(r.status, 9), r.created_at, r.id))
    return form.working_export, _table(session, cipher, texts, places, form, form.working_export, rows, today)


def onward_rows(*, session: Session, cipher: Cipher, texts: Texts, places: Places, form: RegistrationContent,
                row: MonthlyList, today: date) -> tuple[ExportForm, list[list[object]]]:
    """The onward list: the people proposed on the month's list (verified or confirmed by then),
    with the locality's form columns only."""
    people = [r for r in registrations.on_list(session=session, list_id=row.id) if r.details is not None]
    commune = places.commune(row.commune_code)
    export = form.export_form(row.commune_code, commune.province_code if commune else None)
    return export, _table(session, cipher, texts, places, form, export, people, today)


def _table(session: Session, cipher: Cipher, texts: Texts, places: Places, form: RegistrationContent, export: ExportForm,
           rows: list[Registration], today: date) -> list[list[object]]:
    table: list[list[object]] = [[c.header for c in export.columns]]
    needs_notes = any(c.key == "note" for c in export.columns)
    for index, row in enumerate(rows, start=1):
        details = Details.model_validate(cipher.unseal(row.details))
        events = registrations.events(session=session, registration_id=row.id) if needs_notes else []
        notes = [cipher.decrypt(e.note) for e in events if e.note]
        values = {
            "index": index,
            "name": borrower_name(details, texts),
            "birth_year": details.birth_year or "",
            "phone": details.phone or "",
            "residence": ", ".join(p for p in (details.village, places.label(row.commune_code)) if p),
            "programme": choice_label(form.programmes, details.programme),
            "time_since": field_value("event_year", details, texts, places, form, today) if details.event_year else "",
            "purpose": "; ".join(p for p in (choice_label(form.purposes, details.purpose), details.description) if p),
            "amount": details.amount or "",
            "registrant": _registrant(details, texts, form),
            "status": texts.t(f"status.{row.status}"),
            "note": "; ".join(n for n in notes if n),
            "reference": row.reference,
            "id_number": details.id_number or "",
            "registered_on": texts.date(vietnam_date(row.created_at)),
            "decision": next((p.decision or p.label for p in form.programmes if p.value == details.programme), ""),
        }
        table.append([_inert(values[c.key]) for c in export.columns])
    return table


def _registrant(details: Details, texts: Texts, form: RegistrationContent) -> str:
    """Who registered; for a business also its kind and workforce share."""
    text = registrant_text(details, texts, form)
    if not details.is_business:
        return text
    kind = choice_label(form.business_kinds, details.business_kind)
    share = staff_share(details.workforce_total, details.workforce_beneficiaries)
    staff = texts.t("registration.value_people_share", count=details.workforce_beneficiaries, share=share) if share is not None else "—"
    return texts.t("registration.export_business_registrant", registrant=text, kind=kind, total=details.workforce_total or "—", staff=staff)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    """Typed text that a spreadsheet would run as a formula ('=HYPERLINK(…)') is shown as text."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def to_csv(table: list[list[object]]) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Vietnamese text correctly."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: list[list[object]], *, title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.worksheets[0]  # a new workbook's one (active) sheet
    sheet.title = "Danh sach"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True)
    for row in table:
        sheet.append(row)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for column, _header in enumerate(table[0], start=1):
        width = max(len(str(r[column - 1])) for r in table) + 2
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width, 6), 40)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def monthly_document(*, session: Session, cipher: Cipher, texts: Texts, places: Places, form: RegistrationContent,
                     commune_code: int, year: int, month: int, today: date, fmt: str = "xlsx") -> tuple[Document, int]:
    """The police's working list (internal: its title and file name say so) and the number of people on it."""
    export, table = month_rows(session=session, cipher=cipher, texts=texts, places=places, form=form,
                               commune_code=commune_code, year=year, month=month, today=today)
    commune = places.commune(commune_code)
    title = f"{export.title} — {commune.name if commune else commune_code} — {month:02d}/{year}"
    filename = f"noi-bo-danh-sach-lam-viec-{commune_code}-{year}-{month:02d}.{fmt}"
    return _document(table, title, filename, fmt), len(table) - 1


def onward_list_document(*, session: Session, cipher: Cipher, texts: Texts, places: Places, form: RegistrationContent,
                         row: MonthlyList, today: date, fmt: str = "xlsx") -> Document:
    """The onward list of a closed month's list, as a file."""
    export, table = onward_rows(session=session, cipher=cipher, texts=texts, places=places, form=form, row=row, today=today)
    commune = places.commune(row.commune_code)
    year, month = row.period.split("-")
    title = f"{export.title} — {commune.name if commune else row.commune_code} — {month}/{year}"
    return _document(table, title, f"danh-sach-{row.commune_code}-{year}-{month}.{fmt}", fmt)


def _document(table: list[list[object]], title: str, filename: str, fmt: str) -> Document:
    if fmt == "csv":
        return Document(filename, to_csv([[title], *table]), "text/csv")
    return Document(filename, to_xlsx(table, title=title), XLSX_MIME)
