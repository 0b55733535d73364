"""Catalogs are complete in both locales and every key the code uses exists; vi_VN formats."""

import re
from datetime import date
from pathlib import Path

from bot.i18n import catalog_ids, texts

ROOT = Path(__file__).resolve().parent.parent
# Message ids are string literals "<area>.<name>" with the catalog's areas.
AREAS = ("menu|faq|intent|input|open|error|console|format|eligibility|telegram|download|registration|records|status|officer|handoff"
         "|places|reminders|lists|report|web")
KEY_USE = re.compile(rf"""["']((?:{AREAS})\.[a-z_]+)["']""")


def test_money_numbers_and_dates_in_vietnamese_format():
    vi = texts("vi")
    assert vi.money(200_000_000) == "200.000.000 đ"
    assert vi.money_words(200_000_000) == "200 triệu đồng"
    assert vi.money_words(1_500_000_000) == "1,5 tỷ đồng"
    assert vi.percent(6.24) == "6,24%"
    assert vi.date(date(2026, 12, 5)) == "05/12/2026"


def test_english_locale_has_its_own_texts_and_formats():
    en = texts("en")
    assert en.t("menu.item_faq") == "Policy questions"
    assert en.money(200_000_000) == "VND 200,000,000"
    assert en.date(date(2026, 12, 5)) == "5 Dec 2026"


def test_both_catalogs_have_the_same_keys():
    assert catalog_ids("vi") == catalog_ids("en")


def test_every_key_used_in_code_exists_in_the_catalogs():
    used = set()
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            used |= set(KEY_USE.findall(path.read_text(encoding="utf-8")))
    for path in (ROOT / "bot" / "web" / "templates").glob("*.html"):  # t("web.…") in the officers' pages
        used |= {k for k in KEY_USE.findall(path.read_text(encoding="utf-8")) if not k.endswith("_")}  # "web.role_" ~ role
    assert used, "the scan found no keys: the pattern is wrong"
    assert used - catalog_ids("vi") == set()


def test_keys_built_at_run_time_exist():
    """Keys composed from a status, an action or a field name (f-strings the scan above cannot see)."""
    from bot.registration.record import FIELDS
    from bot.registration.report import TIMED
    from storage import lists
    from storage.officers import ROLES
    from storage.registrations import ACTIVE, DELETED, HELD, NEEDS_INFO, ONWARD, OUTCOMES, REJECTED, VERIFIED, WITHDRAWN

    decisions = (VERIFIED, REJECTED, NEEDS_INFO)
    steps = {f"registration.notify_{s}" for s in ONWARD + OUTCOMES if s != "received"} | {"registration.notify_received"}
    steps |= {f"records.action_{a}" for a in (*ONWARD, *OUTCOMES, "returned", "undone")}
    steps |= {f"status.{s}" for s in HELD} | {f"officer.role_{r}" for r in ROLES}
    steps |= {f"lists.status_{s}" for s in (lists.CLOSED, lists.CONFIRMED, lists.RETURNED, lists.RECEIVED)}
    steps |= {f"lists.ask_{a}" for a in ("confirm", "return", "grant", "deny")} | {f"officer.ask_{a}" for a in ("search", "bulk")}
    steps |= {f"report.median_{s}" for s in TIMED} | {f"report.{s}" for s in ("verified", "confirmed", "granted")}
    steps |= {f"reminders.due_{w}" for w in ("before", "on")}
    # The officers' web pages compose keys from a role, a message, a page's kind and a sort.
    from bot.web.lists import MESSAGES as LIST_MESSAGES
    from bot.web.pages import MESSAGES, SORTS

    steps |= {f"web.lmsg_{m}" for m in LIST_MESSAGES}

    steps |= {f"web.role_{r}" for r in ROLES} | {f"web.msg_{m}" for m in MESSAGES} | {f"web.sort_{s}" for s in SORTS}
    steps |= {f"web.message_{k}{tail}" for k in ("denied", "login_needed", "link_invalid", "csrf", "logged_out") for tail in ("", "_title")}
    steps |= {f"web.deadline_{w}" for w in ("before", "on")}
    assert steps - catalog_ids("vi") == set()
    asked = [f for f in FIELDS if f not in ("province", "commune", "programme", "event_year", "purpose", "amount")]
    needed = (
        {f"status.{s}" for s in (*ACTIVE, WITHDRAWN, DELETED)}
        | {f"records.action_{a}" for a in ("created", "updated", "note", WITHDRAWN, DELETED, *decisions)}
        | {f"registration.notify_{s}" for s in decisions}
        | {f"registration.label_{f}" for f in FIELDS}
        | {f"registration.ask_{f}" for f in asked}
        | {"registration.ask_name_relative", "registration.ask_birth_year_relative"}
        | {f"officer.ask_{a}" for a in ("other", "info", "note")}
        | {f"records.{a}_{b}" for a in ("withdraw", "delete") for b in ("yes", "confirm")}
    )
    assert needed - catalog_ids("vi") == set()
