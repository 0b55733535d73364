"""Numbers as people type them: amounts ("50tr", "1,5 tỷ"), times ago ("năm 2019", "3 năm",
"khoảng 2 năm trước", "không nhớ"), ages and counts. Everything returns None when it cannot tell."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.nlu.normalize import fold
from bot.nlu.spoken import DIGIT_WORDS, HALF, MULTIPLIERS, PLAIN_DIGIT_WORDS, ZERO, spelled_numbers

UNKNOWN = "unknown"
_DONT_KNOW = re.compile(
    r"\b(khong|ko|k|hong|chua|cung khong)\s*(nho|biet|ro|bit|chac)\b|\bquen( roi)?\b|\bkhong co thong tin\b"
)
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


# -- amounts ---------------------------------------------------------------------------------------
#
# An amount is read from figures ("50tr", "1,5 tỷ", "50.000.000"), from number words ("hai trăm
# triệu", "trăm rưỡi", "một trăm năm chục") and from shorthand after a unit ("1 tỷ 2" is 1,2 tỷ).
# Words are compared with their accents first: "tầm 80 triệu" (about 80) is not "tám" (eight).
# A number word counts only next to a multiplier or a unit ("năm chục" is fifty, "năm nay" is this
# year). A bare figure without a unit is millions when small ("vay 50").

_UNITS = {
    "tỷ": 10**9, "tỉ": 10**9, "ty": 10**9, "ti": 10**9,
    "triệu": 10**6, "trieu": 10**6, "tr": 10**6, "củ": 10**6, "cu": 10**6, "m": 10**6,
    "nghìn": 10**3, "ngàn": 10**3, "nghin": 10**3, "ngan": 10**3, "k": 10**3,
    "đồng": 1, "đ": 1, "dong": 1, "d": 1, "vnd": 1, "vnđ": 1,
}
# A figure with its unit ("200tr", "1,5 tỷ", "50.000.000 đồng"): what an answer gives.
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*\s*(?:" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")?(?!\w)")


def without_figures(text: str) -> str:
    """`text` without its figures and their units (spelled ones included): what else it says."""
    return _FIGURE.sub(" ", spelled_numbers(text))


_RANGE = frozenset({"-", "–", "~", "đến", "tới", "den", "toi", "hoặc", "hoac", "hay"})
_VAGUE = frozenset({"vài", "vai", "mấy", "nhiều", "nhieu"})
_AMOUNT_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|[-–~]")
_NUMERIC = frozenset({"mult", "unit", "half", "zero"})


@dataclass(frozen=True)
class AmountReading:
    """What an amount answer says: one amount, or the two ends of a range (then ask which)."""

    amount: int | None = None
    low: int | None = None
    high: int | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None


def _classify(token: str) -> tuple[str, object]:
    """One token as (kind, value): fig, word, mult, unit, half, zero, range, vague or other."""
    if token[0].isdigit():
        return "fig", token
    plain = fold(token) == token
    if token in _RANGE:
        return "range", None
    if token in _UNITS:
        return "unit", _UNITS[token]
    if token in MULTIPLIERS:
        return "mult", MULTIPLIERS[token]
    if token in HALF:
        return "half", None
    if token in ZERO:
        return "zero", None
    if token in _VAGUE:
        return "vague", None
    if token in DIGIT_WORDS:
        return "word", DIGIT_WORDS[token]
    if plain and token in PLAIN_DIGIT_WORDS:
        return "word", PLAIN_DIGIT_WORDS[token]
    return "other", None


def _items(text: str) -> list[list]:
    """[kind, value, digits] per token, numbers as Decimal ('num'), everything else classified."""
    items: list[list[Any]] = [[*_classify(token), 0] for token in _AMOUNT_TOKEN.findall(unicodedata.normalize("NFC", text or "").lower())]
    kinds = [item[0] for item in items]
    for i, item in enumerate(items):
        before = kinds[i - 1] if i else ""
        after = kinds[i + 1] if i + 1 < len(items) else ""
        if item[0] == "word":
            # "năm chục", "trăm hai", "mười lăm" — but "năm nay", "cho ba tôi", "tám 80" are not numbers.
            if after == "fig" or not (after in _NUMERIC or before in _NUMERIC):
                item[0] = "other"
            else:
                item[0], item[1], item[2] = "num", Decimal(item[1]), 1
        elif item[0] == "fig":
            # The separators depend on the unit that follows ("1,5 tỷ" against "50,000,000").
            unit = ("dong" if items[i + 1][1] == 1 else "trieu") if after == "unit" else None
            value = _decimal(item[1], unit)
            if value is None:
                item[0] = "other"
            else:
                leading = re.match(r"\d+", item[1])  # a figure begins with a digit
                item[0], item[1], item[2] = "num", value, len(leading.group(0)) if leading else 0
    return items


class _Amount:
    """One amount read token by token: groups below a unit, multipliers, units, shorthand."""

    def __init__(self) -> None:
        self.total = Decimal(0)
        self.group = Decimal(0)  # read since the last unit
        self.current: Decimal | None = None  # a number not yet multiplied
        self.digits = 0
        self.last_mult: int | None = None
        self.last_unit: int | None = None
        self.previous = ""
        self.zero = False
        self.has_unit = False

    def _group_value(self) -> Decimal:
        """The group so far; a lone digit after a multiplier is its next place ('trăm hai' = 120)."""
        value = self.group
        if self.current is not None:
            if self.last_mult and self.previous == "num" and not self.zero and self.current < 10 and self.group:
                value += self.current * self.last_mult / 10
            else:
                value += self.current
        return value

    def accepts(self, kind: str, value) -> bool:
        """Whether the token continues this amount; False starts another ('30 50', '50 triệu 30 triệu')."""
        if kind == "num":
            return self.current is None
        if kind == "unit" and value > 1 and self.last_unit is not None:
            return value < self.last_unit and (self.group != 0 or self.current is not None)
        return True

    def add(self, kind: str, value, digits: int) -> None:
        if kind == "num":
            self.current, self.digits = value, digits
        elif kind == "mult":
            if value == 10 and self.current is None and self.group == 0:
                self.group = Decimal(10)  # "mười", "chục triệu"
            else:
                self.group += (self.current if self.current is not None else 1) * value
            self.current, self.last_mult, self.zero = None, value, False
        elif kind == "half":
            if self.previous == "mult" and self.last_mult:
                self.group += Decimal(self.last_mult) / 2  # "trăm rưỡi" = 150
            elif self.previous == "unit" and self.last_unit:
                self.total += Decimal(self.last_unit) / 2  # "1 tỷ rưỡi", "triệu rưỡi"
        elif kind == "zero":
            self.zero = True
        elif kind == "unit":
            group = self._group_value()
            if value == 1:
                self.total += group
                self.has_unit = self.has_unit or group > 0
            else:
                self.total += (group or 1) * value
                self.last_unit, self.has_unit = value, True
            self.group, self.current, self.last_mult, self.zero = Decimal(0), None, None, False
        self.previous = kind

    def value(self) -> Decimal | None:
        rest = self._group_value()
        if rest and self.last_unit and self.last_unit >= 10**6:
            if self.previous == "num" and self.group == 0:
                # "1 tỷ 2" is 1,2 tỷ, "1 tỷ 25" 1,25 tỷ, "2 triệu 500" 2,5 triệu.
                return self.total + rest * self.last_unit / Decimal(10) ** max(self.digits, 1)
            # "1 tỷ hai trăm": the hundreds of the next unit down.
            return self.total + rest * self.last_unit / 1000
        if self.has_unit:
            return self.total + rest
        if not rest:
            return None
        # A bare number: a full figure ("50000000"), or millions when small ("vay 50", "hai trăm").
        return rest if rest >= 100_000 else rest * 10**6


def read_amount(text: str) -> AmountReading:
    """The amount in an answer, or the two ends of a range ('30-50 triệu', 'từ 30 tới 50tr').
    Several unrelated figures: the one with a unit ('vay 50 triệu nuôi 20 con'), else nothing."""
    items = _items(text)
    if any(kind == "vague" for kind, _, _ in items):
        return AmountReading()
    amounts: list[tuple[_Amount, bool]] = []  # each amount, and whether a range word joins it to the one before
    current: _Amount | None = None
    joined = False
    for i, (kind, value, digits) in enumerate(items):
        if kind in ("other", "range", "vague"):
            if current is not None:
                amounts.append((current, joined))
                current, joined = None, False
            joined = kind == "range" and bool(amounts)
            continue
        if current is not None and not current.accepts(kind, value):
            amounts.append((current, joined))
            current, joined = None, False
        if current is None:
            following = items[i + 1][0] if i + 1 < len(items) else ""
            if not (kind in ("num", "mult") or (kind == "unit" and value > 1 and following == "half")):
                continue  # a unit alone ("k", "đồng") is no amount
            current = _Amount()
        current.add(kind, value, digits)
    if current is not None:
        amounts.append((current, joined))
    valued = [(amount, amount.value(), joined) for amount, joined in amounts]
    read = [(amount, value, joined) for amount, value, joined in valued if value is not None and value > 0]
    for i in range(1, len(read)):
        if read[i][2]:
            (first, low, _), (second, high, _) = read[i - 1], read[i]
            if not first.has_unit and second.has_unit and second.last_unit:
                low = first._group_value() * second.last_unit  # "30-50 triệu": both ends in millions
            lowest, highest = sorted((int(low), int(high)))
            return AmountReading(low=lowest, high=highest) if lowest != highest else AmountReading(amount=lowest)
    with_unit = [value for amount, value, _ in read if amount.has_unit]
    if len(with_unit) == 1:
        return AmountReading(amount=int(with_unit[0]))
    if len(read) == 1:
        return AmountReading(amount=int(read[0][1]))
    return AmountReading()


def parse_amount(text: str) -> int | None:
    """VND from '50tr', '50 triệu', '50.000.000', '1,5 tỷ', '500k', '2 tỷ 500 triệu', 'hai trăm triệu',
    'trăm rưỡi', '1 tỷ 2'. None when there is no single amount — a range ('30-50 triệu') included:
    the caller asks which (see read_amount)."""
    return read_amount(text).amount


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


# A month of a year: 'tháng 5 năm ngoái', 'tháng 11 năm 2024' (never '5 năm'); facts.py reads it too.
MONTH_OF_YEAR = re.compile(r"\bthang (\d{1,2}) (?:nam |cua nam )?(nay|ni|ngoai|truoc|kia|19\d\d|20\d\d)\b"
                           r"|\b(\d{1,2})[/-](19\d\d|20\d\d)\b")  # "12/2016", "05/12/2016": the month of a year too


def _month_of_year(folded: str, today: date) -> tuple[float, float] | None:
    """'tháng 5 năm ngoái', 'tháng 11 năm 2024': a month of a year — never '5 năm'."""
    match = MONTH_OF_YEAR.search(folded)
    if not match:
        return None
    month_text, which = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    if not 1 <= int(month_text) <= 12:
        return None
    month = int(month_text)
    year = int(which) if which.isdigit() else today.year - {"nay": 0, "ni": 0, "kia": 2}.get(which, 1)
    if year > today.year or (year == today.year and month > today.month):
        return None
    start, end = date(year, month, 1), date(year + month // 12, month % 12 + 1, 1)
    newest = max((today - end).days, 0) / 365.25
    oldest = max((today - start).days, 0) / 365.25
    return (round(newest, 2), round(oldest, 2))


def parse_years_ago(text: str, today: date) -> float | tuple[float, float] | str | None:
    """Years since an event: 3.0 for '3 năm'; a range for a bare year ('năm 2019' could be any day
    of it), for 'hơn 10 năm', 'dưới 5 năm' and 'khoảng 2 năm'; UNKNOWN for 'không nhớ'; None when
    the text is not an answer."""
    if says_unknown(text):
        return UNKNOWN
    folded = fold(text)
    dated = _month_of_year(folded, today)
    if dated is not None:
        return dated
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
    relative = re.search(r"\bnam (nay|ni|ngoai|truoc|kia)\b", folded)
    if relative:
        # This year (Nghệ "năm ni"): under a year ago; last year: two years at most; "năm kia" one to three.
        return {"nay": (0.0, 1.0), "ni": (0.0, 1.0), "kia": (1.0, 3.0)}.get(relative.group(1), (0.0, 2.0))
    if re.search(r"\bthang (truoc|roi)\b", folded):
        return (0.0, 0.17)  # "tháng trước"
    month = re.search(r"\bthang (\d{1,2})\b", folded)
    if month and 1 <= int(month.group(1)) <= 12:
        # "hồi tháng 3": this year's March, or last year's when March is still to come.
        months = (today.month - int(month.group(1))) % 12
        return (round(months / 12, 2), round((months + 1) / 12, 2))
    return None


def calendar_year(folded: str, today: date) -> int | None:
    """The year meant by 'năm ngoái', 'năm nay', 'năm ni', 'năm kia', '2 năm trước', 'tháng
    trước', 'hồi tháng 3' (accent-free text); None when it names none."""
    ago = re.search(r"\b(\d{1,2}) nam (?:ve )?truoc\b", folded)
    if ago:
        return today.year - int(ago.group(1))
    relative = re.search(r"\bnam (nay|ni|ngoai|truoc|roi|kia)\b", folded)
    if relative:
        return today.year - {"nay": 0, "ni": 0, "kia": 2}.get(relative.group(1), 1)
    if re.search(r"\bthang (truoc|roi)\b", folded):
        return today.year if today.month > 1 else today.year - 1
    month = re.search(r"\bthang (\d{1,2})\b", folded)
    if month and 1 <= int(month.group(1)) <= 12:
        return today.year if int(month.group(1)) <= today.month else today.year - 1
    return None


def full_year(short: int, today: date) -> int:
    """'98' → 1998, '05' → 2005: the most recent year ending so that is not in the future."""
    year = 2000 + short
    return year if year <= today.year else 1900 + short


def parse_age(text: str, today: date) -> int | tuple[int, int] | str | None:
    """An age from '16', '16 tuổi', 'năm nay 16'; from a birth year ('sinh năm 2010') a range."""
    if says_unknown(text):
        return UNKNOWN
    folded = fold(text)
    born = _past_year(folded, today)
    if born is False:
        return None
    if born is None and (short := re.search(r"\b(?:sinh|sn|de)\s*(?:nam\s*)?(\d\d)\b", folded)):
        born = full_year(int(short.group(1)), today)  # "sinh năm 98": 1998
    if born is not None:
        return (max(today.year - born - 1, 0), today.year - born)
    number = re.search(r"\b(\d{1,3})(?:\b|(?:t|tuoi)\b)", folded)  # "22", "22t", "22tuổi"
    if number and 0 < int(number.group(1)) <= 120:
        return int(number.group(1))
    return None


def parse_count(text: str) -> int | str | None:
    """A whole number of people: '20', '20 người', 'khoảng 20'."""
    if says_unknown(text):
        return UNKNOWN
    number = re.search(r"\b(\d{1,6})\b", fold(text))
    return int(number.group(1)) if number else None
