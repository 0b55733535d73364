"""Numbers said in words ("hai trăm triệu", "mười năm", "ba mươi lăm tuổi"), as speech-to-text and
people with little schooling write them: the tables both the amount reader (bot/nlu/numbers.py) and
the understanding use, and the rewrite that turns a counted quantity into figures, so "một trăm
triệu đúng không" reads like "100 triệu đúng không" and "năm năm" like "5 năm"."""

from __future__ import annotations

import re

DIGIT_WORDS = {
    "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5, "nhăm": 5, "sáu": 6,
    "bảy": 7, "bẩy": 7, "tám": 8, "chín": 9,
}
# Typed without accents; only when the word carries no accent at all.
PLAIN_DIGIT_WORDS = {
    "mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "lam": 5, "nham": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9,
}
# Without accents these are other words too ("sau" after, "tam" tạm, "bon" bọn, "lam" làm): a figure
# only beside a multiplier ("sau muoi", "muoi lam").
_PLAIN_ALONE = frozenset({"mot", "hai", "ba", "nam", "bay", "chin"})
MULTIPLIERS = {"mười": 10, "mươi": 10, "chục": 10, "trăm": 100, "muoi": 10, "chuc": 10, "tram": 100}
HALF = frozenset({"rưỡi", "ruoi"})
ZERO = frozenset({"linh", "lẻ", "le"})

# What a spelled number counts when it becomes a figure (lower case, with and without accents).
COUNTED = frozenset({
    "triệu", "trieu", "tỷ", "tỉ", "ty", "nghìn", "ngàn", "nghin", "ngan", "đồng", "dong",
    "năm", "nam", "tháng", "thang", "tuổi", "tuoi", "ngày", "ngay", "người", "nguoi", "lần", "lan",
    "phần", "phan", "lao", "công", "cong",
})
# Before a run, these make it no figure at all: "mấy trăm triệu", "vài chục năm".
_VAGUE = frozenset({"mấy", "may", "vài", "vai", "bao", "hàng", "hang", "cả", "ca"})
_WORD = re.compile(r"\w+")


def _is_number_word(token: str) -> bool:
    return token in MULTIPLIERS or token in HALF or token in ZERO or token in DIGIT_WORDS or token in PLAIN_DIGIT_WORDS


def _value(tokens: list[str]) -> int | None:
    total, current, last_mult = 0, None, 0
    for token in tokens:
        if token in MULTIPLIERS:
            mult = MULTIPLIERS[token]
            if token in ("mười", "muoi") and current is None and total == 0:
                total = 10  # "mười" ("chục" alone is no number: "mấy chục triệu")
            elif mult == 100:
                total = (total + (current or 1)) * 100  # "hai trăm", "mười hai trăm"
            elif current is not None:
                total += current * mult  # "hai mươi", "năm chục"
            else:
                return None  # "mươi" with nothing before it
            current, last_mult = None, mult
        elif token in HALF:
            if not last_mult or current is not None:
                return None
            total += last_mult // 2
        elif token in ZERO:
            continue
        else:
            if current is not None:
                return None  # two digits in a row ("hai ba"): not one number
            current = DIGIT_WORDS.get(token, PLAIN_DIGIT_WORDS.get(token))
    return total + (current or 0) or None


def spelled_numbers(text: str) -> str:
    """`text` (cleaned, lower case) with each number in words that counts something ("hai trăm
    triệu", "mười năm", "năm năm") written in figures; everything else as it was. "một" alone, a
    number before a figure ("tháng năm 2020") and a word that is not a number here stay."""
    tokens = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
    out, last, i = [], 0, 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and _is_number_word(tokens[j][2]):
            j += 1
        run = [t[2] for t in tokens[i:j]]
        if not run:
            i += 1
            continue
        unit_at = j
        if (j >= len(tokens) or tokens[j][2] not in COUNTED) and len(run) > 1 and run[-1] in COUNTED:
            run, unit_at = run[:-1], j - 1  # "mười năm": the last word is what is counted
        counted = unit_at < len(tokens) and tokens[unit_at][2] in COUNTED
        after_unit = tokens[unit_at + 1][2] if unit_at + 1 < len(tokens) else ""
        has_mult = any(t in MULTIPLIERS for t in run)
        plain_ok = has_mult or all(t in DIGIT_WORDS or t in _PLAIN_ALONE or t in ZERO or t in HALF for t in run)
        vague = i > 0 and tokens[i - 1][2] in _VAGUE
        value = _value(run) if counted and plain_ok and not vague and not after_unit[:1].isdigit() else None
        if value is not None and value >= 2:
            out.append(text[last:tokens[i][0]])
            out.append(str(value))
            last = tokens[unit_at - 1][1]
        i = max(unit_at, i + 1)
    out.append(text[last:])
    return "".join(out)
