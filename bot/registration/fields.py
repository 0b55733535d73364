"""Reading one registration field from what a person typed. Each reader returns the value, or
raises `Invalid` with the catalog key of a kind explanation of what is expected."""

from __future__ import annotations

import re
from datetime import date

from bot.nlu.normalize import clean, fold


class Invalid(ValueError):
    """The text does not fit the field; `key` names the message that explains why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values  # for the message, e.g. the length limit


NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$")
PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")
YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
SHORT_YEAR = re.compile(r"^(?:nam|sinh nam|sinh)?\s*(\d{2})$")
MAX_FREE_TEXT = 300


def read_name(text: str) -> str:
    """'nguyen van an' → 'Nguyễn Văn An'-style capitalised words; 2 to 7 words, letters only."""
    words = clean(text, lower=False).split()
    if any(ch.isdigit() for ch in text):
        raise Invalid("registration.invalid_name_digits")
    if not 2 <= len(words) <= 7 or not all(NAME_WORD.match(w) for w in words) or len(" ".join(words)) > 70:
        raise Invalid("registration.invalid_name")
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)


AGE = re.compile(r"^(\d{1,3})\s*tuoi$")


def read_birth_year(text: str, today: date) -> int:
    """'1990', 'sinh năm 1990', '90', '36 tuổi' → 1990. Between 100 and 16 years ago."""
    folded = fold(text)
    match = YEAR.search(folded)
    age = AGE.match(folded)
    if age:
        year = today.year - int(age.group(1))
    elif match:
        year = int(match.group(1))
    else:
        short = SHORT_YEAR.match(folded)
        if not short:
            raise Invalid("registration.invalid_birth_year")
        year = 1900 + int(short.group(1))
        if year < today.year - 100:
            year += 100
    if not today.year - 100 <= year <= today.year - 16:
        raise Invalid("registration.invalid_birth_year_range")
    return year


def read_phone(text: str) -> str:
    """'0912 345 678', '0912.345.678', '+84 912345678', '84912345678' → '0912345678'."""
    digits = re.sub(r"[\s.\-()]", "", clean(text))
    match = PHONE.match(digits)
    if not match or match.group(1)[0] not in "35789":
        raise Invalid("registration.invalid_phone")
    return "0" + match.group(1)


def read_national_id(text: str) -> str:
    """The 12-digit personal identification number (CCCD), spaces and dots allowed."""
    digits = re.sub(r"[\s.\-]", "", clean(text))
    if not re.fullmatch(r"\d{12}", digits):
        raise Invalid("registration.invalid_id")
    return digits


def read_event_year(text: str, today: date) -> int:
    """The year of the post-rehab decision or of release: '2021', 'năm 2021'."""
    match = YEAR.search(fold(text))
    if not match:
        raise Invalid("registration.invalid_event_year")
    year = int(match.group(1))
    if not today.year - 60 <= year <= today.year:
        raise Invalid("registration.invalid_event_year")
    return year


def read_free_text(text: str, *, limit: int = MAX_FREE_TEXT) -> str:
    """A short description or a village name: kept as typed, at most `limit` characters."""
    value = clean(text, lower=False)
    if len(value) < 2:
        raise Invalid("registration.invalid_short")
    if len(value) > limit:
        raise Invalid("registration.invalid_long", limit=limit)
    return value


def mask_id(value: str) -> str:
    """Only the last four digits of an ID number are ever shown back."""
    return "•" * (len(value) - 4) + value[-4:]


def show_phone(value: str) -> str:
    """'0912345678' → '0912 345 678' (easier to check by eye)."""
    return f"{value[:4]} {value[4:7]} {value[7:]}"
