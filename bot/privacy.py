"""Keeping personal data out of records and logs."""

from __future__ import annotations

import logging
import re

from bot.nlu.normalize import clean

# Digits in words, as a number is read aloud ("không chín một hai ..."), with and without accents.
_DIGIT_WORDS = ("không|khong|một|mot|mốt|hai|ba|bốn|bon|tư|năm|nam|lăm|lam|nhăm|sáu|sau|bảy|bẩy|bay|tám|tam|chín|chin|linh|lẻ")
_DIGIT = rf"(?:(?:{_DIGIT_WORDS})(?!\w)|\d)"
# Phone and ID numbers: six or more digits (or digit words) with any separators between them
# (spaces, dots, dashes, slashes, underscores, brackets, commas), glued to letters or not; e-mails.
_PATTERNS = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"\+?\d(?:[\W_]{0,3}\d){5,}"), "[số]"),
    (re.compile(rf"(?<!\w){_DIGIT}(?:[\W_]{{0,3}}{_DIGIT}){{5,}}", re.IGNORECASE), "[số]"),
)
# A capitalised word inside a sentence is usually a name or a place ("tôi tên Nguyễn Văn Minh ở
# xã Yên Lạc"): masked in the unanswered record, where only the question matters.
# (The capitals are spelled out: a range such as À-Ỹ also holds lower-case letters, "đ" among them.)
_VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
_UPPER = "[" + _VIETNAMESE.upper() + "]"
_PROPER_NOUN = re.compile(rf"(?<=[^\s.?!…]\s){_UPPER}\w*(?:\s+{_UPPER}\w*)*")
# Names in any case: after a word that introduces one ("tên", "họ tên", "tên tôi là"), or starting
# with a common family name that is not also an everyday word here (not "phạm", "ngô", "dương"...).
# Up to four words are taken, stopping at words that carry on the sentence.
_NAME_STOP = ("hỏi|hoi|muốn|muon|có|co|được|duoc|vay|ở|o|xin|là|la|cần|can|tôi|toi|em|cho|thì|đã|da|bị|bi|mới|moi|"
              "ra|sđt|sdt|số|so|và|va|nhà|nha|năm|sinh|quê|que|thôn|xã|xa|huyện|tỉnh|cccd|cmnd|điện|dien|ạ|nhé|nhe|ơi")
_NAME_WORD = rf"(?!(?:{_NAME_STOP})(?!\w))[^\W\d_]+"
_NAME_AFTER_CUE = re.compile(
    rf"(?<!\w)((?:họ\s+và\s+tên|họ\s+tên|ho\s+ten|tên|ten)(?:\s+(?:của\s+)?(?:tôi|toi|em|con|cháu|nó|anh|chị|chồng|vợ))?"
    rf"(?:\s+(?:là|la))?[\s:,-]+){_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}",
    re.IGNORECASE,
)
_FAMILY_NAME = re.compile(
    rf"(?<!\w)(?:nguyễn|nguyen|trần|tran|lê|hoàng|huỳnh|huynh|vũ|võ|đặng|bùi)(?:\s+{_NAME_WORD}){{1,3}}", re.IGNORECASE
)
RECORD_MAX_CHARS = 300
TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}")


def redact(text: str, limit: int = RECORD_MAX_CHARS) -> str:
    """Text with phone/ID numbers and e-mails masked, control characters removed, cut to `limit`."""
    text = TOKEN.sub("[token]", text[: limit * 2])
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redact_question(text: str) -> str:
    """An unanswered question as curators see it: cleaned, numbers and names masked, no identity.
    Masking cannot be perfect (a lower-case name is made of ordinary words): the record is also
    encrypted at rest (bot/app.py), so what slips through is readable only with the key."""
    # Letter case is kept: the capitalised-name mask needs capitals.
    text = redact(clean(text[: RECORD_MAX_CHARS * 2], lower=False))
    text = _NAME_AFTER_CUE.sub(lambda m: m.group(1) + "[tên]", text)
    text = _FAMILY_NAME.sub("[tên]", text)
    return _PROPER_NOUN.sub("[tên]", text)


class RedactingFormatter(logging.Formatter):
    """Masks phone/ID-like numbers and bot tokens in the whole formatted record, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        # Redact the message and the traceback, not the timestamp (its digits look like a phone).
        copy = logging.makeLogRecord(record.__dict__)
        copy.msg, copy.args = redact(record.getMessage(), limit=20_000), None
        if record.exc_info:
            copy.exc_text = redact(self.formatException(record.exc_info), limit=20_000)
            copy.exc_info = None
        return super().format(copy)
