"""The log scan: every log record of the whole test run is kept (message and traceback, before
any redaction) and, at the end, searched for phone numbers, ID numbers and tokens. One found
fails the run (see conftest.py)."""

from __future__ import annotations

import logging
import re

PATTERNS = {
    "phone number": re.compile(r"(?<![\d:])(?:0|\+?84)[ .]?[35789]\d{1,2}[ .]?\d{3}[ .]?\d{3,4}(?!\d)"),
    "ID number": re.compile(r"(?<!\d)\d{12}(?!\d)"),
    "bot token": re.compile(r"\d{6,}:[A-Za-z0-9_-]{6,}"),
    "test secret": re.compile(r"s3cret-Token_1|TEST-token|fresh-access|fresh-refresh"),
}


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still scanned as written
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name}: {text}")


def scan(lines: list[str]) -> list[str]:
    """'what: line' for every line holding personal data or a secret."""
    return [f"{what}: {line[:200]}" for line in lines for what, pattern in PATTERNS.items() if pattern.search(line)]
