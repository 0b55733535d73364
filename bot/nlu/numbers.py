"""Numbers as people type them: amounts ("50tr", "1,5 tỷ"), times ago ("năm 2019", "3 năm",
"khoảng 2 năm trước", "không nhớ"), ages and counts. Everything returns None when it cannot tell."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from bot.nlu.normalize import fold

UNKNOWN = "unknown"
_DONT_KNOW = re.compile(
    r"\b(khong|ko|k|hong|chua|cung khong)\s*(nho|biet|ro|bit|chac)\b|\bquen( roi)?\b|\bkhong co thong tin\b"
)
_UNITS = {
    "ty": 10**9, "ti": 10**9,
    "trieu": 10**6, "tr": 10**6, "cu": 10**6, "m": 10**6,
    "nghin": 10**3, "ngan": 10**3, "k": 10**3,
    "dong": 1, "d": 1, "vnd": 1,
}
_AMOUNT = re.compile(r"(\d+(?:[.,]\d+)*)\s*(ty|ti|trieu|tr|cu|nghin|ngan|k|m|dong|vnd|d)?\b")


def says_unknown(text: str) -> bool:
    """'không nhớ', 'ko biết', 'chưa rõ', 'quên rồi'."""
    return bool(_DONT_KNOW.search(fold(text)))


def _decimal(raw: str, unit: str | None) -> Decimal | None:
    """Vietnamese separators: '.' before three digits groups thousands ('50.000.000', '1.500 triệu');
    ',' is a decimal comma ('1,5 tỷ') unless it groups a plain figure ('50,000,000')."""
    raw = re.sub(r"\.(?=\d{3}\b)", "", raw)
    if unit in (None, "dong", "d", "vnd"):
        raw = re.sub(r",(?=\d{3}\b)", "", raw)
    try:
        return Decimal(raw.replace(",", "."))
    except InvalidOperation:
        return None


def parse_amount(text: str) -> int | None:
    """VND from '50tr', '50 triệu', '50.000.000', '1,5 tỷ', '500k', '2 tỷ 500 triệu'."""
    # "2 trăm triệu" is 200 triệu.
    folded = re.sub(r"(\d+)\s*tram\b", lambda m: str(int(m.group(1)) * 100), fold(text))
    total = Decimal(0)
    found = False
    for raw, unit in _AMOUNT.findall(folded):
        value = _decimal(raw, unit or None)
        if value is None:
            continue
        if not unit:
            # A bare number: a full figure ("50000000"), or millions when small ("vay 50").
            unit_value = 1 if value >= 100_000 else 10**6
        else:
            unit_value = _UNITS[unit]
        total += value * unit_value
        found = True
    return int(total) if found and total > 0 else None


_YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
_MORE_THAN = re.compile(r"\b(hon|tren|ngoai|qua)\b")
_UNDER = re.compile(r"\b(duoi|chua (den|toi|du)|chua duoc)\b")
_ABOUT = re.compile(r"\b(khoang|tam|chung|gan|co le)\b")


def _past_year(folded: str, today: date) -> int | None | bool:
    """The year written in the text; False when it is in the future; None when there is none."""
    match = _YEAR.search(folded)
    if not match:
        return None
    year = int(match.group(1))
    return year if year <= today.year else False


def parse_years_ago(text: str, today: date) -> float | tuple[float, float] | str | None:
    """Years since an event: 3.0 for '3 năm'; a range for a bare year ('năm 2019' could be any day
    of it), for 'hơn 10 năm', 'dưới 5 năm' and 'khoảng 2 năm'; UNKNOWN for 'không nhớ'; None when
    the text is not an answer."""
    if says_unknown(text):
        return UNKNOWN
    folded = fold(text)
    year = _past_year(folded, today)
    if year is False:
        return None
    if year is not None:
        newest = (today - date(year, 12, 31)).days / 365.25
        oldest = (today - date(year, 1, 1)).days / 365.25
        return (round(max(newest, 0.0), 2), round(oldest, 2))
    amount = re.search(r"(\d+(?:[.,]\d+)?)\s*(nam|thang|n|t)\b", folded) or re.fullmatch(r"\s*(\d+(?:[.,]\d+)?)\s*", folded)
    if amount:
        value = float(amount.group(1).replace(",", "."))
        unit = amount.group(2) if amount.lastindex and amount.lastindex >= 2 else "nam"
        years = value / 12 if unit in ("thang", "t") else value
        if years > 80:
            return None
        if _MORE_THAN.search(folded):
            return (years + 0.01, 80.0)
        if _UNDER.search(folded):
            return (0.0, max(years - 0.01, 0.0))
        if _ABOUT.search(folded):
            return (max(years - 0.5, 0.0), years + 0.5)
        return years
    relative = re.search(r"\bnam (nay|ngoai|truoc)\b", folded)
    if relative:
        # This year: under a year ago; last year: one to two years at most.
        return (0.0, 1.0) if relative.group(1) == "nay" else (0.0, 2.0)
    return None


def parse_age(text: str, today: date) -> int | tuple[int, int] | str | None:
    """An age from '16', '16 tuổi', 'năm nay 16'; from a birth year ('sinh năm 2010') a range."""
    if says_unknown(text):
        return UNKNOWN
    folded = fold(text)
    born = _past_year(folded, today)
    if born is False:
        return None
    if born is not None:
        return (max(today.year - born - 1, 0), today.year - born)
    number = re.search(r"\b(\d{1,3})\b", folded)
    if number and 0 < int(number.group(1)) <= 120:
        return int(number.group(1))
    return None


def parse_count(text: str) -> int | str | None:
    """A whole number of people: '20', '20 người', 'khoảng 20'."""
    if says_unknown(text):
        return UNKNOWN
    number = re.search(r"\b(\d{1,6})\b", fold(text))
    return int(number.group(1)) if number else None
