"""Phrase lists from content, compiled once into patterns over accent-free text.

A phrase is accent-free words separated by spaces ("muon dung lai"). Two small extras keep the
lists short for curators: a word written as alternatives, "(con|chau)", matches any of them, and
"..." allows up to four words in between ("khong ... song nua" matches "không thiết sống nữa"),
and "#" is any number ("co # tho": "có 6 thợ").
"""

from __future__ import annotations

import re

GAP = r"(?:\s+\S+){0,4}?"
PHRASE_WORD = re.compile(r"\([^)]*\)|\S+")
ALTERNATIVES = re.compile(r"^\(([a-z0-9 ]+(?:\|[a-z0-9 ]+)+)\)$")


def _word(word: str) -> str:
    if word == "#":
        return r"\d+"
    alternatives = ALTERNATIVES.match(word)
    if alternatives:
        return "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in alternatives.group(1).split("|")) + ")"
    return re.escape(word)


def _phrase(phrase: str) -> str:
    body, gap = "", False
    for word in PHRASE_WORD.findall(phrase):
        if word == "...":
            gap = True
            continue
        piece = _word(word)
        if body:
            body += (r"\s+(?:\S+\s+){0,4}?" if gap else r"\s+") + piece
        else:
            body = (r"(?:\S+\s+){0,4}?" if gap else "") + piece
        gap = False
    return body + (r"(?:\s+\S+){0,4}" if gap else "")


def compile_phrases(phrases: list[str] | tuple[str, ...], *, whole: bool = False) -> re.Pattern | None:
    """One pattern for all the phrases, matching whole words only; None for an empty list. With
    `whole`, a phrase must be the whole text (use it with `fullmatch`)."""
    if not phrases:
        return None
    body = "|".join(f"(?:{_phrase(p)})" for p in phrases)
    return re.compile(f"(?:{body})" if whole else r"(?<![\w])(?:" + body + r")(?![\w])")
