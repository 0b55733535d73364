"""A second signal for FAQ retrieval: a linear classifier over character n-grams of the normalised
text, trained at start-up on every entry's phrasings (about 0.1 s for 1,000 phrasings).

The lexical matcher (bot/nlu/matcher.py) counts shared syllables; this model has seen each entry's
phrasings as a whole and generalises over spellings, word order and partial words ("ngưng" /
"ngung", "thời hạn ... kể từ"). The two are combined in the matcher's bands: agreement settles a
doubt, disagreement on a weak match turns an answer into suggestions. scikit-learn is optional: when
it is missing the bot starts and answers with the lexical signal alone, and says so once in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)
_warned = False


@dataclass(frozen=True, slots=True)
class Guess:
    entry_id: str
    margin: float  # the decision value of the best entry minus the second best's


class MeaningModel:
    """Trained on (normalised phrasing, entry id) pairs; `guess(text)` gives the best entry."""

    def __init__(self, samples: list[tuple[str, str]]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        texts = [t for t, _ in samples]
        labels = [label for _, label in samples]
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        matrix = self.vectorizer.fit_transform(texts)
        self.model = LinearSVC(C=1.0)
        self.model.fit(matrix, labels)
        self.classes = list(self.model.classes_)

    def guess(self, normalised: str) -> Guess | None:
        if not normalised:
            return None
        scores = self.model.decision_function(self.vectorizer.transform([normalised]))[0]
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
            log.warning("scikit-learn is not installed: FAQ retrieval uses the lexical signal only")
            _warned = True
        return None
