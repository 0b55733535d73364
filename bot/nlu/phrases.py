"""Phrase lists from content, compiled once into patterns over accent-free text.

A phrase is accent-free words separated by spaces ("muon dung lai"). Two small extras keep the
lists short for curators: a word written as alternatives, "(con|chau)", matches any of them, and
"..." allows up to four words in between ("khong ... song nua" matches "không thiết sống nữa"; "... ..."
up to eight),
and "#" is any number ("co # tho": "có 6 thợ").
"""

from __future__ import annotations

import re

GAP_WORDS = 4
# Between two sentences in the views routing matches (bot/nlu/routing.py): not a word, so neither a
# phrase nor the words a "..." allows run across it.
SENTENCE_MARK = "¶"
_GAP = rf"[^\s{SENTENCE_MARK}]+"
PHRASE_WORD = re.compile(r"\([^)]*\)|\S+")
ALTERNATIVES = re.compile(r"^\(([^()|]+(?:\|[^()|]+)*)\)$")  # "(tuoi)" alone is the word


def _word(word: str) -> str:
    if word == "#":
        return r"\d+"
    alternatives = ALTERNATIVES.match(word)
    if alternatives and "..." in word:
        raise ValueError(f"{word!r}: '...' cannot be one of the alternatives")
    if alternatives:
        # "#" is any number inside an alternative too: "(# nam|may nam)".
        return "(?:" + "|".join(r"\s+".join(r"\d+" if w == "#" else re.escape(w) for w in option.split())
                                for option in alternatives.group(1).split("|")) + ")"
    return re.escape(word)


UNSUPPORTED = re.compile(r"[?*+\[\]{}\\^$]")


def _phrase(phrase: str) -> str:
    if UNSUPPORTED.search(phrase):
        # Regular-expression syntax would be matched as literal text and silently never match.
        raise ValueError(f"phrase {phrase!r}: only words, (a|b), '...' and '#' are understood")
    body, gaps = "", 0
    for word in PHRASE_WORD.findall(phrase):
        if ("(" in word or ")" in word) and not ALTERNATIVES.match(word):
            # "(xin loi|thuong (lam|nhieu))": nested or unbalanced, it would be cut at the first ")"
            # and silently never match. Write the options out: (xin loi|thuong lam|thuong nhieu).
            raise ValueError(f"phrase {phrase!r}: {word!r} — alternatives cannot nest, and each '(' needs its ')'")
        if word == "...":
            gaps += 1  # "... ..." allows twice as many words
            continue
        piece = _word(word)
        span = GAP_WORDS * gaps
        if body:
            body += (rf"\s+(?:{_GAP}\s+){{0,{span}}}?" if gaps else r"\s+") + piece
        else:
            body = (rf"(?:{_GAP}\s+){{0,{span}}}?" if gaps else "") + piece
        gaps = 0
    return body + (rf"(?:\s+{_GAP}){{0,{GAP_WORDS * gaps}}}" if gaps else "")


def compile_phrases(phrases: list[str] | tuple[str, ...], *, whole: bool = False, accented: bool = False) -> re.Pattern | None:
    """One pattern for all the phrases, matching whole words only; None for an empty list. With
    `whole`, a phrase must be the whole text (use it with `fullmatch`). The pattern is matched on
    accent-free text, so a phrase written with accents would never match and is refused — unless
    `accented` (bot/nlu/routing.py matches those lists' accented phrases on the accented text)."""
    if not phrases:
        return None
    if not accented:
        for phrase in phrases:
            if not phrase.isascii():
                raise ValueError(f"phrase {phrase!r}: this list is matched on text without accents; write it without them")
    body = "|".join(f"(?:{_phrase(p)})" for p in phrases)
    return re.compile(f"(?:{body})" if whole else r"(?<![\w])(?:" + body + r")(?![\w])")


def compile_required(phrases: list[str] | tuple[str, ...], *, whole: bool = False) -> re.Pattern:
    """compile_phrases for a list the content's schema requires to be non-empty (min_length=1)."""
    pattern = compile_phrases(phrases, whole=whole)
    if pattern is None:
        raise ValueError("a required list of phrases is empty")
    return pattern


# "chứ không phải đi cai", "không thuộc diện cai nghiện hay ra tù gì cả", "chưa từng đi tù": the
# mentions a denial covers, up to the clause's end or a turn ("…, chỉ là", "mà", "nhưng").
DENIAL = re.compile(r"\b(?:khong|ko|k|chang|cha|chu khong|chu ko|chua) (?:phai|thuoc|tung|he|doi tuong|dien)\b(?! co\b)"
                    r"(?:(?!\b(?:chi|ma|nhung|con|gio)\b)[^,.;!?\n" + SENTENCE_MARK + r"]){0,36}")


def affirmed(pattern: re.Pattern | None, text: str) -> list[re.Match]:
    """The pattern's matches in `text` that no denial covers ("không phải ra tù" is not a mention)."""
    if pattern is None:
        return []
    denied = [(m.start(), m.end()) for m in DENIAL.finditer(text)]
    return [m for m in pattern.finditer(text) if not any(a < m.start() < b for a, b in denied)]


def without_denials(text: str) -> str:
    """The text with what a denial covers taken out ("tôi không thuộc diện cai nghiện hay ra tù, …")."""
    return DENIAL.sub(" ", text)
