"""One normalisation for FAQ phrasings and questions alike.

Steps: Unicode clean-up (NFC, zero-width, control and bidi characters) → lower case → accents
stripped and đ/look-alikes folded → tokens → particles dropped (decided on the accented form,
where "vậy" and "vay" still differ) → Telex leftovers decoded ("suaats" → "suat") → abbreviations
and number suffixes expanded ("ko" → "khong", "50tr" → "50 trieu") → typos corrected against
the FAQ vocabulary → a trailing "vay" after a question word dropped (it was "vậy") → synonym
phrases mapped to one canonical form → stopwords dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.nlu.spoken import spelled_numbers
from content.models import Lexicon

# Zero-width, soft hyphen, bidi controls and BOM: invisible, never meaningful in a question.
INVISIBLE = dict.fromkeys(
    [0x00AD, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
# Letters that look like đ/d in the wild (Icelandic eth, African d with hook, …).
D_LIKE = str.maketrans({"đ": "d", "ð": "d", "ɗ": "d", "ɖ": "d", "ď": "d"})
TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
# VNI typed without an input method: tone and vowel digits inside a word ("d9u7o75c" = được).
VNI_WORD = re.compile(r"\b[^\W\d_]+\d[^\W_]*\b")
DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
VOWELS = set("aeiouy")
TELEX_TONES = set("sfrxj")
TELEX_PAIRS = (("aa", "a"), ("aw", "a"), ("ee", "e"), ("oo", "o"), ("ow", "o"), ("uw", "u"), ("dd", "d"), ("w", "u"))
# Long messages: the question is usually at the start or the end; the middle is the story.
MAX_CHARS = 1200


# One message is cleaned, folded and normalised a dozen times on its way (routing, facts,
# retrieval, clauses): these pure functions keep their latest results. The caches are small and
# bounded: they serve the repeats within a message and the short texts everyone types ("co", "1",
# "menu"), and a flood of long messages leaves at most RECENT of them in memory.
RECENT = 256


def clean(text: str, *, lower: bool = True) -> str:
    """NFC, invisible and control characters removed, whitespace collapsed, lower case by default."""
    return _clean(text or "", lower)


@lru_cache(maxsize=RECENT)
def _clean(text: str, lower: bool) -> str:
    text = unicodedata.normalize("NFC", text).translate(INVISIBLE)
    if text.isprintable():
        # No character of category C (control, format, unassigned…): the loop below would keep
        # every character as it is. It costs a third of a long message's understanding.
        text = " ".join(text.split())
    else:
        text = " ".join("".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text).split())
    return text.lower() if lower else text


def strip_accents(text: str) -> str:
    """Accent-free, đ → d: 'Lãi suất đối với' → 'lai suat doi voi'."""
    if text.isascii():
        return text  # nothing to strip: no combining marks, no đ or look-alike
    if len(text) <= 24:
        return _strip_word(text)  # most calls are one word of a message: cached
    return _strip_accents(text)


def _strip_accents(text: str) -> str:
    text = text.translate(D_LIKE)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").translate(D_LIKE)


# Words, not messages: Vietnamese has a few thousand syllables, so the cache hits almost always.
_strip_word = lru_cache(maxsize=8192)(_strip_accents)


@lru_cache(maxsize=RECENT)
def fold(text: str) -> str:
    """clean + strip_accents: the key used to compare labels, names and phrases."""
    return strip_accents(clean(text))


def telex_decode(token: str) -> str:
    """Undoes Telex typed without an input method: 'laix' → 'lai', 'voons' → 'von', 'dduowcj' → 'duoc'."""
    first_vowel = next((i for i, ch in enumerate(token) if ch in VOWELS), None)
    if first_vowel is None and "w" in token:
        # "mwcs": a lone w is ư in Telex.
        token = token.replace("w", "u", 1)
        first_vowel = token.index("u")
    if first_vowel is None:
        return token
    head, tail = token[: first_vowel + 1], token[first_vowel + 1 :]
    tail = "".join(ch for ch in tail if ch not in TELEX_TONES)
    decoded = head + tail
    for pair, single in TELEX_PAIRS:
        decoded = decoded.replace(pair, single)
    return decoded


def _number(token: str) -> str:
    """'200.000.000' → '200000000'; '1,5' → '1.5'."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", token):
        return re.sub(r"[.,]", "", token)
    return token.replace(",", ".")


@dataclass(frozen=True, slots=True)
class Normalized:
    tokens: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


class Normalizer:
    """Turns any typed text into canonical accent-free tokens, using the lexicon in content/."""

    def __init__(self, lexicon: Lexicon, known_words: frozenset[str] = frozenset()) -> None:
        self.abbreviations = {k: tuple(v.split()) for k, v in lexicon.abbreviations.items()}
        self.number_suffixes = dict(lexicon.number_suffixes)
        self.number_units = frozenset(lexicon.number_units)
        self.particles = frozenset(clean(p) for p in lexicon.particles)
        self.pronouns = frozenset(clean(p) for p in lexicon.pronouns)
        self.trailing = frozenset(lexicon.trailing_particles)
        self.trailing_exceptions = frozenset(tuple(p.split()) for p in lexicon.trailing_particle_exceptions)
        self.accented_words = {clean(k): tuple(v.split()) for k, v in lexicon.accented_words.items()}
        self.question_words = frozenset(lexicon.question_words)
        self.stopwords = frozenset(lexicon.stopwords)
        self.choice_words = frozenset(lexicon.choice_words)
        self.clause_joiners = tuple(lexicon.clause_joiners)
        self.synonyms: dict[tuple[str, ...], tuple[str, ...]] = {
            tuple(k.split()): tuple(v.split()) for k, v in lexicon.synonyms.items()
        }
        self.max_phrase = max((len(k) for k in self.synonyms), default=1)
        # The lengths of the synonyms starting with each word, longest first: a word no synonym
        # starts with (most of them) is passed over at once.
        sizes: dict[str, set[int]] = {}
        for key in self.synonyms:
            sizes.setdefault(key[0], set()).add(len(key))
        self.synonym_sizes = {word: sorted(found, reverse=True) for word, found in sizes.items()}
        self.synonym_heads = frozenset(k[:2] for k in self.synonyms if len(k) >= 2)
        expansions = {w for v in self.abbreviations.values() for w in v}
        expansions |= {w for v in self.synonyms.values() for w in v} | {w for k in self.synonyms for w in k}
        self.known = frozenset(known_words) | expansions | frozenset(lexicon.common_words)
        # The words of the crisis phrases (bot/app.py): Telex is decoded to them for the danger check.
        self.danger_words: frozenset[str] = frozenset()
        self.vocabulary: tuple[str, ...] = ()
        # Messages: the repeats within one (a flow asking "is this a question?", then the FAQ).
        # Kept small: a flood of different long messages must not leave megabytes behind.
        self._cache = lru_cache(maxsize=RECENT)(self._normalize)
        # Button labels and small talk are compared on every message: cache their light form.
        self.light = lru_cache(maxsize=1024)(self._light)

    def set_vocabulary(self, words: set[str]) -> None:
        """The words of the FAQ phrasings: typos are corrected towards these, Telex decoded to known words."""
        self.vocabulary = tuple(sorted(w for w in words if len(w) >= 3 and not w.isdigit()))
        self.known = self.known | frozenset(words)
        self._cache.cache_clear()

    def __call__(self, text: str) -> Normalized:
        if len(text) > MAX_CHARS:
            half = MAX_CHARS // 2
            text = text[:half] + " . " + text[-half:]
        return self._cache(text)

    def _light(self, text: str) -> str:
        """Accent-free words with particles dropped and abbreviations expanded: for intents and button labels."""
        words: list[str] = []
        for raw in TOKEN.findall(clean(text)):
            if raw in self.particles:
                continue
            token = strip_accents(raw)
            words.extend(self.abbreviations.get(token, (token,)))
        return " ".join(self._drop_trailing(words))

    def telex(self, text: str) -> str:
        """The folded words with Telex leftovers decoded where that gives a known word
        ("khoong muoons soongs" → "khong muon song"; the crisis phrases' words count as known:
        "cheets" → "chet"); the folded text when nothing changes."""
        known = self.known | self.danger_words
        words = []
        for raw in TOKEN.findall(clean(text)):
            token = strip_accents(raw)
            decoded = telex_decode(token) if token not in known and not token[:1].isdigit() else token
            words.append(decoded if decoded in known else token)
        return " ".join(words)

    # -- steps -------------------------------------------------------------------------------

    def _normalize(self, text: str) -> Normalized:
        cleaned = VNI_WORD.sub(self._vni, spelled_numbers(clean(text)).replace("%", " phan tram "))
        cleaned = DIGIT_LETTER.sub(" ", cleaned)
        tokens: list[str] = []
        raws = TOKEN.findall(cleaned)
        for position, raw in enumerate(raws):
            if raw in self.particles or raw in self.pronouns:
                continue
            if raw in self.accented_words:
                expansion = self.accented_words[raw]
                following = raws[position + 1 : position + len(expansion)]
                # "lãi" alone means the interest rate; "lãi suất" (or "lãi xuất", a synonym) is whole.
                folded_next = tuple(strip_accents(w) for w in following)
                whole = folded_next == expansion[1:] or (strip_accents(raw), *folded_next[:1]) in self.synonym_heads
                if len(expansion) == 1 or not whole:  # a one-word expansion ("rứa" → "the") always applies
                    tokens.extend(expansion)
                    continue
            token = strip_accents(raw)
            if token[0].isdigit():
                tokens.append(_number(token))
                continue
            tokens.extend(self._expand(token, tokens[-1] if tokens else ""))
        tokens = self._generalise_numbers(tokens)
        tokens = self._drop_trailing(tokens)
        tokens = self._drop_trailing_vay(tokens)
        tokens = self._apply_synonyms(tokens)
        return Normalized(tuple(t for t in tokens if t not in self.stopwords))

    def _expand(self, token: str, previous: str) -> tuple[str, ...]:
        if previous[:1].isdigit() and token in self.number_suffixes:
            return (self.number_suffixes[token],)
        if token in self.abbreviations:
            return self.abbreviations[token]
        if token in self.known:
            return (token,)
        decoded = telex_decode(token)
        if decoded != token and (decoded in self.known or decoded in self.abbreviations):
            return self.abbreviations.get(decoded, (decoded,))
        return (self._correct(token),)

    def _vni(self, match: re.Match) -> str:
        word = match.group(0)
        letters = strip_accents("".join(ch for ch in word if not ch.isdigit()))
        return letters if letters in self.known and word[-1] not in "0" else word

    def _generalise_numbers(self, tokens: list[str]) -> list[str]:
        """'300 trieu' and '200 trieu' are both an amount, '8 nam' and '3 nam' a duration, '2012' a year:
        questions match phrasings whatever figure the person wrote."""
        out: list[str] = []
        for i, token in enumerate(tokens):
            if token[:1].isdigit():
                following = tokens[i + 1] if i + 1 < len(tokens) else ""
                if re.fullmatch(r"(19|20)\d\d", token) and following not in self.number_units:
                    out.append("namso")
                    continue
                token = token.lstrip("0") or "0"
                if following in self.number_units:
                    # Keep the figure too: "10 năm" is the rule itself, not just any duration.
                    out.append(token)
                    token = "so"
            out.append(token)
        return out

    def _correct(self, token: str) -> str:
        """A typo of a FAQ word becomes that word ('nghien' stays, 'ngien' → 'nghien')."""
        if len(token) < 4 or not self.vocabulary:
            return token
        limit = 1 if len(token) < 7 else 2
        found = process.extractOne(token, self.vocabulary, scorer=OSA.distance, score_cutoff=limit)
        return found[0] if found else token

    def _drop_trailing(self, tokens: list[str]) -> list[str]:
        """'… được không nha' / 'ha' / 'hen': particles at the very end, where they are not words."""
        while len(tokens) > 1 and tokens[-1] in self.trailing and tuple(tokens[-2:]) not in self.trailing_exceptions:
            tokens = tokens[:-1]
        return tokens

    def _drop_trailing_vay(self, tokens: list[str]) -> list[str]:
        # Without accents "vậy" (so, then) reads as "vay" (borrow): at the end after a question word it is the particle.
        while len(tokens) >= 2 and tokens[-1] == "vay" and tokens[-2] in self.question_words:
            tokens = tokens[:-1]
        return tokens

    def _apply_synonyms(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            sizes = self.synonym_sizes.get(tokens[i])
            if sizes is None:
                out.append(tokens[i])
                i += 1
                continue
            for size in (s for s in sizes if s <= len(tokens) - i):
                phrase = tuple(tokens[i : i + size])
                replacement = self.synonyms.get(phrase)
                if replacement is None:
                    continue
                # "sau cai" → "sau cai nghien", but "sau cai nghien" is already canonical.
                if replacement and tuple(tokens[i : i + len(replacement)]) == replacement:
                    out.extend(replacement)
                    i += len(replacement)
                else:
                    out.extend(replacement)
                    i += size
                break
            else:
                out.append(tokens[i])
                i += 1
        return out
