"""FAQ matching: IDF-weighted coverage of syllable unigrams and bigrams, blended with a
rapidfuzz similarity of the whole normalised text, decided in three bands.

Why not WRatio or partial scorers: on a short query against longer phrasings they saturate at
100 and tie. Coverage in both directions tells "the query says what this phrasing says" (recall)
from "this entry explains what the query says" (precision); unknown words weigh like rare words,
so "vay mua ô tô" does not ride on the common word "vay" into a loan answer.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from rapidfuzz import fuzz

from bot.nlu.meaning import build_meaning
from bot.nlu.normalize import RECENT, Normalizer
from content.models import FaqEntry, MatchingConfig

BIGRAM_WEIGHT = 0.7
NUMBER_WEIGHT = 0.3
FUZZ_BLEND = 0.2
FUZZ_CANDIDATES = 25


class Status(StrEnum):
    ANSWER = "answer"
    SUGGEST = "suggest"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    status: Status
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


def recall_weight(length: int) -> float:
    """F-beta's beta: a one- or two-word question is judged by what it says (precision); a long
    message carries a story around its question, so covering a phrasing (recall) counts more."""
    if length <= 3:
        return 0.6
    if length <= 8:
        return 1.0
    return min(1.0 + (length - 8) / 8, 2.5)


def contains(tokens: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether the phrase occurs in the tokens as a contiguous run."""
    size = len(phrase)
    if size == 0 or phrase[0] not in tokens:
        return False
    first = phrase[0]
    return any(tokens[i] == first and tokens[i : i + size] == phrase for i in range(len(tokens) - size + 1))


def features(tokens: tuple[str, ...]) -> set[str]:
    grams = set(tokens)
    grams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
    return grams


def _summed(postings: dict[str, np.ndarray], weights: list[tuple[str, float]], size: int) -> np.ndarray:
    """Per index (a phrasing or an entry), the weights of the features whose posting lists hold it."""
    arrays = [postings[f] for f, _ in weights]
    return np.bincount(np.concatenate(arrays), np.repeat([w for _, w in weights], [len(a) for a in arrays]), minlength=size)


@dataclass(slots=True)
class _Phrasing:
    entry: int
    text: str
    features: frozenset[str]
    weight: float


class FaqMatcher:
    """Indexes every phrasing of every entry; `match(text)` returns the band and the best entries."""

    def __init__(self, entries: tuple[FaqEntry, ...], normalizer: Normalizer, config: MatchingConfig,
                 topics: dict[str, dict[str, str]] | None = None) -> None:
        self.entries = entries
        # content/topics.yaml: the same topic's entry in each column (qd08, qd22, qd08_business…).
        self.topic_rows = topics or {}
        self.normalize = normalizer
        self.config = config
        # The same text is often matched twice for one message (a flow asking "is this a question?",
        # then the FAQ answering it): matching is pure, so recent results are kept.
        self.match = functools.lru_cache(maxsize=RECENT)(self._match)
        self.programmes = [e.programme.value for e in entries]
        self.related = {e.id: frozenset(e.related) for e in entries}
        self.programme_words = {
            name: tuple(normalizer(w).tokens for w in words) for name, words in config.programme_words.items()
        }
        texts = [(i, p) for i, e in enumerate(entries) for p in (e.question, *e.phrasings)]
        # The vocabulary comes from the phrasings as normalised without typo correction.
        normalizer.set_vocabulary({t for _, p in texts for t in normalizer(p).tokens})
        normalized = [(i, normalizer(p)) for i, p in texts]
        entry_features: list[set[str]] = [set() for _ in entries]
        for i, n in normalized:
            entry_features[i] |= features(n.tokens)
        df: dict[str, int] = defaultdict(int)
        for entry_feats in entry_features:
            for f in entry_feats:
                df[f] += 1
        n_entries = len(entries)
        self.idf = {f: math.log(1 + n_entries / d) for f, d in df.items()}
        self.unknown_idf = math.log(1 + n_entries)
        self.meaning = build_meaning([(n.text, entries[i].id) for i, n in normalized if n.text]) if config.meaning.enabled else None
        self.phrasings: list[_Phrasing] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for i, n in normalized:
            feats = frozenset(features(n.tokens))
            if not feats:
                continue
            index = len(self.phrasings)
            self.phrasings.append(_Phrasing(i, n.text, feats, sum(self.weight(f) for f in feats)))
            for f in feats:
                postings[f].append(index)
        # The same index as arrays, for scoring every phrasing at once (numpy): per feature, the
        # phrasings and the entries that have it; per phrasing, its weight and entry.
        self._phrasing_postings = {f: np.array(ids, dtype=np.intp) for f, ids in postings.items()}
        entry_postings: dict[str, list[int]] = defaultdict(list)
        for i, own in enumerate(entry_features):
            for f in own:
                entry_postings[f].append(i)
        self._entry_postings = {f: np.array(ids, dtype=np.intp) for f, ids in entry_postings.items()}
        self._phrasing_weight = np.array([p.weight for p in self.phrasings], dtype=np.float64)
        self._phrasing_entry = np.array([p.entry for p in self.phrasings], dtype=np.intp)
        self._programme_names = sorted(set(self.programmes))
        self._entry_programme = np.array([self._programme_names.index(p) for p in self.programmes], dtype=np.intp)

    def named_programmes(self, tokens: tuple[str, ...]) -> set[str]:
        return {name for name, phrases in self.programme_words.items() if any(contains(tokens, p) for p in phrases)}

    @functools.cache  # noqa: B019 - one matcher per loaded content, alive as long as the process; a handful of keys
    def siblings(self, key: str) -> dict[str, str]:
        """Each entry id of a topic with a column `key` → that topic's entry in the column."""
        moved: dict[str, str] = {}
        for row in self.topic_rows.values():
            if key in row:
                for entry_id in row.values():
                    moved.setdefault(entry_id, row[key])
        return moved

    def _programme_factors(self, tokens: tuple[str, ...], known: str | None = None) -> dict[str, float]:
        """Score factors per programme: a question naming one group is not about the other; a
        question naming neither is about the programme the person spoke of before (`known`), or
        else about the main programme, unless only the other one fits."""
        named = self.named_programmes(tokens)
        if not named and known in self.programme_words:
            named = {known}
        cfg = self.config
        if len(named) == 1:
            return {name: cfg.other_programme_factor for name in self.programme_words if name not in named}
        if not named:
            return {name: cfg.unnamed_programme_factor for name in self.programme_words if name != cfg.main_programme}
        return {}

    def weight(self, feature: str) -> float:
        if feature not in self.idf and any(ch.isdigit() for ch in feature):
            # A figure nobody wrote in a phrasing ("300" in "vay 300 triệu"): its meaning is already
            # carried by the generalised token ("so triệu"), so it must not weigh like a rare word.
            return NUMBER_WEIGHT
        idf = self.idf.get(feature, self.unknown_idf)
        return idf * BIGRAM_WEIGHT if " " in feature else idf

    def scores(self, text: str, *, exclude: frozenset[str] = frozenset(), programme: str | None = None,
               key: str | None = None) -> list[Candidate]:
        """Entries that share anything with the text, best first. `exclude` skips phrasing texts (for checks).

        `key`: whose situation the person told before (a column of content/topics.yaml). A question
        naming no group ("vậy nó vay được nhiêu") is then matched by topic: each topic scores as its
        best phrasing in any column, and is answered from the person's column. Otherwise the
        programme's entries would compete with their own siblings and none would stand out."""
        tokens = self.normalize(text).tokens
        query = features(tokens)
        if not query:
            return []
        by_topic = key is not None and bool(self.topic_rows) and not self.named_programmes(tokens)
        moved = self.siblings(key) if by_topic else {}
        all_weights = [(f, self.weight(f)) for f in query]
        query_weight = sum(w for _, w in all_weights)
        weights = [(f, w) for f, w in all_weights if f in self._phrasing_postings]
        if not weights:
            return []
        # Each phrasing's shared weight and each entry's explained weight, summed feature by
        # feature in the query's order (np.bincount adds in input order).
        shared = _summed(self._phrasing_postings, weights, len(self.phrasings))
        explained = _summed(self._entry_postings, weights, len(self.entries))
        index = np.flatnonzero(shared)
        if exclude:
            index = index[[self.phrasings[i].text not in exclude for i in index]]
        beta = recall_weight(len(tokens))
        square = beta**2
        recall = shared[index] / self._phrasing_weight[index]
        entry_of = self._phrasing_entry[index]
        precision = explained[entry_of] / query_weight
        score = (1 + square) * precision * recall / (square * precision + recall)
        # By topic, an entry whose topic has the person's column scores in full (it is answered from
        # that column); the others keep the factor for not being the person's programme.
        programme_factor = self._programme_factors(tokens, programme)
        if programme_factor:
            factor = np.array([programme_factor.get(name, 1.0) for name in self._programme_names])[self._entry_programme[entry_of]]
            if moved:
                factor[[self.entries[e].id in moved for e in entry_of]] = 1.0
            score = score * factor
        keep = score > 0.0
        index, score = index[keep], score[keep]
        top = np.lexsort((index, -score))[:FUZZ_CANDIDATES]  # best first, ties by phrasing order
        query_text = " ".join(tokens)
        per_entry: dict[int, float] = {}
        for at, lexical in zip(index[top].tolist(), score[top].tolist(), strict=True):
            p = self.phrasings[at]
            blended = (1 - FUZZ_BLEND) * lexical + FUZZ_BLEND * fuzz.ratio(query_text, p.text) / 100
            if blended > per_entry.get(p.entry, 0.0):
                per_entry[p.entry] = blended
        ranked_ids: dict[str, float] = {}
        for i, s in sorted(per_entry.items(), key=lambda kv: kv[1], reverse=True):
            entry_id = self.entries[i].id
            entry_id = moved.get(entry_id, entry_id)
            ranked_ids.setdefault(entry_id, s)
        return [Candidate(entry_id, round(s, 4)) for entry_id, s in ranked_ids.items()]

    def is_vague(self, text: str) -> bool:
        """Only words the FAQ uses, and few of them ("vay", "vay vốn"): on topic, but not a question
        one entry answers. A question with words the FAQ never uses is off topic, not vague."""
        tokens = self.normalize(text).tokens
        return 0 < len(tokens) <= 3 and all(t in self.idf for t in tokens)

    def _match(self, text: str, programme: str | None = None, key: str | None = None) -> MatchResult:
        """Answer when one entry is clearly best, suggest up to three when unsure, else fall back.
        `programme`: the one the person spoke of earlier, used when the text names none; `key`: the
        column of content/topics.yaml for their situation, to match by topic (see `scores`)."""
        ranked = self.scores(text, programme=programme, key=key)
        cfg = self.config
        if not ranked or ranked[0].score < cfg.suggest_threshold:
            return MatchResult(Status.FALLBACK, tuple(ranked[:1]))
        best = ranked[0].score
        runner_up = ranked[1] if len(ranked) > 1 else None
        clear = runner_up is None or best - runner_up.score >= cfg.answer_margin
        # A close runner-up that the curators listed as related is the same topic, one tap away.
        kin = runner_up is not None and runner_up.entry_id in self.related[ranked[0].entry_id]
        answer = best >= cfg.sure_threshold or (best >= cfg.answer_threshold and (clear or kin))
        if best >= cfg.sure_threshold:
            return MatchResult(Status.ANSWER, tuple(ranked[:1]))  # sure: the second signal is not asked
        close = [c for c in ranked if c.score >= cfg.suggest_threshold][: cfg.max_suggestions]
        guess = self.meaning.guess(self.normalize(text).text) if self.meaning is not None else None
        if guess is not None and guess.margin >= cfg.meaning.margin:
            meant = {guess.entry_id, self.siblings(key).get(guess.entry_id, guess.entry_id) if key else guess.entry_id}
            agreeing = next((c for c in ranked[: cfg.meaning.candidates] if c.entry_id in meant), None)
            if answer and agreeing is None:
                # The meaning signal disagrees with a weak lexical answer: ask rather than guess.
                return MatchResult(Status.SUGGEST, tuple(close))
            if not answer and agreeing is not None and agreeing.score >= cfg.meaning.floor:
                # Both signals point at one entry among the lexical candidates: answer it.
                return MatchResult(Status.ANSWER, (agreeing,))
        if answer:
            return MatchResult(Status.ANSWER, tuple(ranked[:1]))
        return MatchResult(Status.SUGGEST, tuple(close))
