"""Keeping personal data out of records and logs."""

from __future__ import annotations

import logging
import re

# Phone and ID numbers (with spaces, dots or dashes), e-mail addresses, long digit runs.
_PATTERNS = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    (re.compile(r"(?<!\w)\+?\d(?:[\s.\-]?\d){5,}(?!\w)"), "[số]"),
)
RECORD_MAX_CHARS = 300


def redact(text: str, limit: int = RECORD_MAX_CHARS) -> str:
    """Text with phone/ID numbers and e-mails masked, cut to `limit` characters."""
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RedactingFilter(logging.Filter):
    """Last line of defence: masks phone/ID-like numbers and bot tokens in every log record."""

    TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{20,}")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(self.TOKEN.sub("[token]", message), limit=10_000)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
