"""Reading webhook requests defensively: bodies, headers, and the one-line warning for a refusal.

Every webhook answers bad input with a 400 (malformed) or 403 (not authentic), never a 500. The
refusal is logged as one line (the channel, the status and what was wrong: never the body, never a
traceback), at most once a minute per channel and reason, with the count of those left out.
"""

from __future__ import annotations

import json
import logging
import re
import time

from aiohttp import web

log = logging.getLogger(__name__)
MAX_DEPTH = 32  # the platforms' updates nest about 5 levels; anything deeper is not theirs
WARN_EVERY = 60.0  # seconds between two warnings of one kind
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_ID = 2**63 - 1


class BadRequest(ValueError):
    """The request cannot be an update: answered 400. `reason` is short and holds no input."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefusalLog:
    """One warning line per (channel, status, reason) per WARN_EVERY seconds; the rest are counted."""

    def __init__(self, every: float = WARN_EVERY, clock=time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._last: dict[tuple[str, int, str], float] = {}
        self._left_out: dict[tuple[str, int, str], int] = {}

    def warn(self, channel: str, status: int, reason: str) -> None:
        key = (channel, status, reason)
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.every:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            return
        if len(self._last) > 1000:  # reasons are a small fixed set; this only bounds the memory
            self._last.clear()
            self._left_out.clear()
        self._last[key] = now
        more = self._left_out.pop(key, 0)
        suffix = f" ({more} more like it in the last {int(self.every)}s)" if more else ""
        log.warning("%s webhook refused a request (%s): %s%s", channel, status, reason, suffix)


refusals = RefusalLog()


def refuse(channel: str, status: int, reason: str) -> web.Response:
    refusals.warn(channel, status, reason)
    return web.Response(status=status)


def header_bytes(value: str) -> bytes:
    """A header as the bytes that came on the wire: aiohttp decodes undecodable bytes (0xFF) to
    lone surrogates, which a plain .encode() refuses."""
    return value.encode("utf-8", "surrogateescape")


def load_object(raw: bytes, *, max_depth: int = MAX_DEPTH) -> dict:
    """The JSON object in `raw`, or BadRequest. Nesting beyond `max_depth` is refused; lone
    surrogates (a "\\ud800" escape with no pair, which no UTF-8 text can hold) become U+FFFD, so
    the message is still answered and can be stored and sent."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise BadRequest("nested too deeply") from None
    except UnicodeDecodeError:
        raise BadRequest("not UTF-8") from None
    except ValueError:
        raise BadRequest("not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("not a JSON object")
    return _checked(data, max_depth)


def _checked(data: dict, max_depth: int) -> dict:
    """Depth check and surrogate repair without recursion (the input decides the depth)."""
    fixed = [False]

    def clean(value):
        if isinstance(value, str) and LONE_SURROGATE.search(value):
            fixed[0] = True
            return LONE_SURROGATE.sub("\ufffd", value)
        return value

    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise BadRequest("nested too deeply")
        if isinstance(node, dict):
            for key in list(node):
                value = clean(node[key])
                new_key = clean(key)
                if new_key is not key:
                    del node[key]
                node[new_key] = value
                if isinstance(value, (dict, list)):
                    stack.append((value, depth + 1))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                node[i] = clean(value)
                if isinstance(value, (dict, list)):
                    stack.append((value, depth + 1))
    return data


def an_id(value: object, what: str) -> str:
    """A platform id (a JSON integer or a string of at most 64 characters) as a string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest(f"{what} of the wrong type")
    if isinstance(value, int) and not -MAX_ID <= value <= MAX_ID:
        raise BadRequest(f"{what} out of range")
    text = str(value)
    if not text or len(text) > 64:
        raise BadRequest(f"{what} empty or too long")
    return text


def an_object(value: object, what: str) -> dict:
    """A JSON object that may be absent (None: {})."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"{what} of the wrong type")
    return value


def a_text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{what} of the wrong type")
    return value
