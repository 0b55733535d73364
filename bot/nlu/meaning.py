"""A second signal for FAQ retrieval: a linear classifier over character n-grams of the normalised
text, trained on every entry's phrasings when the content changes (about 1 s with scikit-learn's
import) and loaded from a cache on every other start (bot/nlu/linear.py).

The lexical matcher (bot/nlu/matcher.py) counts shared syllables; this model has seen each entry's
phrasings as a whole and generalises over spellings, word order and partial words ("ngưng" /
"ngung", "thời hạn ... kể từ"). The two are combined in the matcher's bands: agreement settles a
doubt, disagreement on a weak match turns an answer into suggestions. scikit-learn is optional: when
it is missing and no cached model fits the content, the bot answers with the lexical signal alone,
and says so once in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.nlu.linear import train_or_load

log = logging.getLogger(__name__)
_warned = False


@dataclass(frozen=True, slots=True)
class Guess:
    entry_id: str
    margin: float  # the decision value of the best entry minus the second best's


class MeaningModel:
    """Trained on (normalised phrasing, entry id) pairs; `guess(text)` gives the best entry. Trained
    with scikit-learn once per content version, then loaded from the cache (bot/nlu/linear.py)."""

    def __init__(self, samples: list[tuple[str, str]]) -> None:
        def svc():
            from sklearn.svm import LinearSVC

            return LinearSVC(C=1.0, random_state=0)

        trained = train_or_load("meaning", [t for t, _ in samples], (2, 4),
                                [("entry", svc, None, [label for _, label in samples])], {"C": 1.0, "random_state": 0})
        self.features = trained.features
        self.head = trained.heads["entry"]
        self.classes = list(self.head.classes)

    def guess(self, normalised: str) -> Guess | None:
        if not normalised:
            return None
        scores = self.head.decision(self.features(normalised))
        order = scores.argsort()[::-1]
        second = float(scores[order[1]]) if len(order) > 1 else -1.0
        return Guess(self.classes[int(order[0])], float(scores[order[0]]) - second)


def build_meaning(samples: list[tuple[str, str]]) -> MeaningModel | None:
    """The model, or None (with one log line) when scikit-learn is not installed."""
    global _warned
    try:
        return MeaningModel(samples)
    except ImportError:
        if not _warned:
            log.warning("scikit-learn is not installed and no cached model fits the content: "
                        "FAQ retrieval uses the lexical signal only")
            _warned = True
        return None
