"""Linear models over character n-grams, trained once with scikit-learn and then run without it.

Training (TfidfVectorizer with analyzer="char_wb" + a linear estimator) needs scikit-learn, whose
import alone costs about a second. Prediction needs only the learned numbers: the n-gram
vocabulary, the idf weights and each class's coefficients. `train_or_load` trains on first use,
keeps those numbers in a cache file keyed by a hash of everything the training sees (samples,
settings, the scikit-learn version), and every later start loads them in milliseconds with
numpy alone. The cache holds only content (FAQ phrasings, crisis examples), never anything a
person typed, and is an `.npz` read with `allow_pickle=False`, so a tampered file cannot run code.

Prediction is exactly scikit-learn's: the same analyzer (lower case, runs of white space made one,
each word padded with spaces, n-grams inside words), sublinear tf, idf, l2 norm, then
`X @ coef.T + intercept` (tests/test_linear.py compares both on many texts).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the cache layout or the analyzer changes
_SPACES = re.compile(r"\s\s+")


def cache_dir() -> Path | None:
    """BOT_MODEL_CACHE, or the user's cache folder; "off" (or an empty value) turns caching off."""
    configured = os.environ.get("BOT_MODEL_CACHE")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vaylaivon-bot"


WORDS_KEPT = 20_000  # words whose known n-grams are kept (a language's syllables, not messages)


@dataclass(frozen=True, slots=True)
class NgramFeatures:
    """scikit-learn's char_wb TF-IDF (sublinear tf, l2 norm) as a vocabulary and idf weights."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    min_n: int
    max_n: int
    # word → the vocabulary indices of its n-grams, in order (n-grams never cross words)
    _known: dict[str, tuple[int, ...]] = field(default_factory=dict, compare=False, repr=False)

    def grams(self, text: str) -> list[str]:
        out: list[str] = []
        for word in _SPACES.sub(" ", text.lower()).split():
            out.extend(self._word_grams(word))
        return out

    def _word_grams(self, word: str) -> list[str]:
        out: list[str] = []
        padded = f" {word} "
        size = len(padded)
        for n in range(self.min_n, self.max_n + 1):
            out.extend(padded[i : i + n] for i in range(max(1, size - n + 1)))
            if size <= n:
                break  # a short word counts once, as in scikit-learn
        return out

    def known(self, text: str) -> list[int]:
        """The vocabulary indices of the text's n-grams, in the order `grams` gives them."""
        out: list[int] = []
        vocabulary, kept = self.vocabulary, self._known
        for word in _SPACES.sub(" ", text.lower()).split():
            indices = kept.get(word)
            if indices is None:
                indices = tuple(j for g in self._word_grams(word) if (j := vocabulary.get(g)) is not None)
                if len(kept) >= WORDS_KEPT:
                    kept.clear()
                kept[word] = indices
            out.extend(indices)
        return out

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, weights) of one text; both empty when no n-gram is known."""
        counts = Counter(self.known(text))  # the same counts in the same order as over `grams`
        if not counts:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
        index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        weights = tf * self.idf[index]
        return index, weights / np.sqrt(weights @ weights)


@dataclass(frozen=True, slots=True)
class LinearHead:
    """One linear estimator's decision values over NgramFeatures."""

    coef: np.ndarray  # (n_features, k): k = 1 for two classes, else one column per class
    intercept: np.ndarray  # (k,)
    classes: tuple[str, ...]

    def decision(self, features: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        index, weights = features
        return weights @ self.coef[index] + self.intercept

    def predict(self, features: tuple[np.ndarray, np.ndarray]) -> str:
        values = self.decision(features)
        if len(values) == 1:
            return self.classes[int(values[0] > 0)]
        return self.classes[int(values.argmax())]

    def probability(self, features: tuple[np.ndarray, np.ndarray]) -> float:
        """A two-class logistic model's probability of its second class."""
        return float(1.0 / (1.0 + math.exp(-float(self.decision(features)[0]))))


@dataclass(frozen=True, slots=True)
class Trained:
    features: NgramFeatures
    heads: dict[str, LinearHead]


# A training recipe: (name, factory building the scikit-learn estimator, the rows it is fitted on
# or None for all, the labels of those rows). The factory runs only when the cache misses.
Recipe = tuple[str, Callable[[], Any], slice | None, list[str]]  # Any: a scikit-learn estimator (untyped)


def train_or_load(kind: str, texts: list[str], ngram_range: tuple[int, int], recipes: list[Recipe],
                  settings: dict) -> Trained:
    """The trained features and heads, from the cache when everything they depend on is the same.
    `settings` must name every estimator parameter the factories set: it is part of the cache key."""
    key = _key(kind, texts, ngram_range, recipes, settings)
    folder = cache_dir()
    path = folder / f"{kind}-{key}.npz" if folder is not None else None
    if path is not None and path.exists():
        try:
            return _load(path, ngram_range)
        except Exception:  # noqa: BLE001 - a damaged cache file is retrained, never fatal
            log.warning("model cache %s unreadable: training again", path.name)
    trained = _train(texts, ngram_range, recipes)
    if path is not None:
        _save(path, trained, kind)
    return trained


def _key(kind: str, texts: list[str], ngram_range, recipes: list[Recipe], settings: dict) -> str:
    digest = hashlib.sha256()
    try:
        version = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        version = "none"
    head = {"format": FORMAT, "kind": kind, "sklearn": version, "ngram": list(ngram_range), "settings": settings,
            "recipes": [(name, None if rows is None else [rows.start, rows.stop], labels)
                        for name, _, rows, labels in recipes]}
    digest.update(json.dumps(head, ensure_ascii=False, sort_keys=True).encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def _train(texts: list[str], ngram_range: tuple[int, int], recipes: list[Recipe]) -> Trained:
    from sklearn.feature_extraction.text import TfidfVectorizer  # ImportError: the caller goes without

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    features = NgramFeatures({g: int(j) for g, j in vectorizer.vocabulary_.items()},
                             np.asarray(vectorizer.idf_, dtype=np.float64), *ngram_range)
    heads = {}
    for name, factory, rows, labels in recipes:
        estimator = factory()
        estimator.fit(matrix if rows is None else matrix[rows], labels)
        heads[name] = LinearHead(np.ascontiguousarray(np.asarray(estimator.coef_, dtype=np.float32).T),
                                 np.asarray(estimator.intercept_, dtype=np.float64),
                                 tuple(str(c) for c in estimator.classes_))
    return Trained(features, heads)


def _save(path: Path, trained: Trained, kind: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        grams = sorted(trained.features.vocabulary, key=trained.features.vocabulary.__getitem__)
        arrays: dict[str, np.ndarray] = {"grams": np.array(grams, dtype=str), "idf": trained.features.idf}
        for name, head in trained.heads.items():
            arrays[f"{name}.coef"] = head.coef
            arrays[f"{name}.intercept"] = head.intercept
            arrays[f"{name}.classes"] = np.array(head.classes, dtype=str)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        with open(temporary, "wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]  # numpy's stub matches **arrays against allow_pickle
        os.replace(temporary, path)  # whole or not at all: two processes may train at once
        for old in path.parent.glob(f"{kind}-*.npz"):
            if old != path and old.stat().st_mtime < path.stat().st_mtime - 86400:
                old.unlink(missing_ok=True)  # other content versions, untouched for a day
    except OSError as error:
        log.info("model cache not written (%s): the next start trains again", type(error).__name__)


def _load(path: Path, ngram_range: tuple[int, int]) -> Trained:
    with np.load(path, allow_pickle=False) as data:
        grams = data["grams"].tolist()
        features = NgramFeatures({g: j for j, g in enumerate(grams)}, data["idf"], *ngram_range)
        names = {k.rsplit(".", 1)[0] for k in data.files if k.endswith(".coef")}
        heads = {name: LinearHead(data[f"{name}.coef"], data[f"{name}.intercept"],
                                  tuple(data[f"{name}.classes"].tolist())) for name in names}
    return Trained(features, heads)
