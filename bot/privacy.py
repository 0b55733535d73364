"""Keeping personal data out of records and logs."""

from __future__ import annotations

import logging
import re

from bot.nlu.normalize import clean


# Phone and ID numbers (with spaces, dots, dashes or brackets), e-mail addresses.
_PATTERNS = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?<!\w)\+?\(?\d(?:[\s.\-()]{0,2}\d){5,}(?!\w)"), "[số]"),
)
# A capitalised word inside a sentence is usually a name or a place ("tôi tên Nguyễn Văn Minh ở
# xã Yên Lạc"): masked in the unanswered record, where only the question matters.
_PROPER_NOUN = re.compile(r"(?<=[^\s.?!…]\s)[A-ZÀ-Ỹ][\wÀ-ỹ]*(?:\s+[A-ZÀ-Ỹ][\wÀ-ỹ]*)*")
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
    """An unanswered question as curators see it: cleaned, numbers and names masked, no identity."""
    # Letter case is kept: the name mask needs capitals.
    return _PROPER_NOUN.sub("[tên]", redact(clean(text[: RECORD_MAX_CHARS * 2], lower=False)))


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
