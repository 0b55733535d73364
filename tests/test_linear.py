"""The n-gram models run without scikit-learn exactly as scikit-learn would, and start from the cache."""

import numpy as np
import pytest

from bot.nlu import linear
from bot.nlu.linear import train_or_load

sklearn = pytest.importorskip("sklearn")
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

TEXTS = ["vay duoc bao nhieu", "lai suat bao nhieu", "toi moi ra tu co duoc vay khong", "a", "o  o", "ho so can gi",
         "thoi han vay may nam", "con toi cai nghien xong", "dang ky o dau", "xin chao", "muon chet", "qua lieu"]
LABELS = ["amount", "rate", "prison", "x", "x", "docs", "term", "rehab", "where", "x", "crisis", "crisis"]
PROBES = ["vay bao nhieu tien", "lãi bao nhiêu", "ra trại rồi vay dc ko", "", "   ", "🙂", "zzzz qqq",
          "ho  so   gi", "a b c d e", "Con Tôi CAI NGHIỆN xong rồi"]


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BOT_MODEL_CACHE", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("ngrams", [(2, 4), (2, 5), (1, 3)])
def test_decision_values_are_scikit_learns(ngrams):
    trained = train_or_load("t", TEXTS, ngrams, [("svc", lambda: LinearSVC(C=1.0, random_state=0), None, LABELS),
                                                 ("gate", lambda: LogisticRegression(C=10.0, max_iter=2000), None,
                                                  ["1" if label == "crisis" else "0" for label in LABELS])], {})
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, sublinear_tf=True)
    matrix = vectorizer.fit_transform(TEXTS)
    svc = LinearSVC(C=1.0, random_state=0).fit(matrix, LABELS)
    gate = LogisticRegression(C=10.0, max_iter=2000).fit(matrix, ["1" if label == "crisis" else "0" for label in LABELS])
    for probe in TEXTS + PROBES:
        features = trained.features(probe)
        expected = svc.decision_function(vectorizer.transform([probe]))[0]
        assert np.allclose(trained.heads["svc"].decision(features), expected, atol=1e-5), probe
        assert trained.heads["svc"].predict(features) == svc.predict(vectorizer.transform([probe]))[0]
        assert trained.heads["gate"].probability(features) == pytest.approx(
            gate.predict_proba(vectorizer.transform([probe]))[0][1], abs=1e-5)


def test_a_second_start_loads_the_cache_without_training(cache):
    recipe = [("svc", lambda: LinearSVC(C=1.0, random_state=0), None, LABELS)]
    first = train_or_load("t", TEXTS, (2, 4), recipe, {})
    assert len(list(cache.glob("t-*.npz"))) == 1

    def refuse():
        raise AssertionError("trained again although nothing changed")

    second = train_or_load("t", TEXTS, (2, 4), [("svc", refuse, None, LABELS)], {})
    for probe in PROBES:
        assert np.allclose(first.heads["svc"].decision(first.features(probe)),
                           second.heads["svc"].decision(second.features(probe)))


def test_changed_content_trains_again(cache):
    train_or_load("t", TEXTS, (2, 4), [("svc", lambda: LinearSVC(C=1.0, random_state=0), None, LABELS)], {})
    calls = []

    def counting():
        calls.append(1)
        return LinearSVC(C=1.0, random_state=0)

    train_or_load("t", [*TEXTS[:-1], "qua lieu thuoc"], (2, 4), [("svc", counting, None, LABELS)], {})
    assert calls == [1]


def test_a_damaged_cache_file_is_retrained_not_fatal(cache):
    recipe = [("svc", lambda: LinearSVC(C=1.0, random_state=0), None, LABELS)]
    train_or_load("t", TEXTS, (2, 4), recipe, {})
    (path,) = cache.glob("t-*.npz")
    path.write_bytes(b"not a model")
    trained = train_or_load("t", TEXTS, (2, 4), recipe, {})
    assert trained.heads["svc"].predict(trained.features("lai suat")) == "rate"


def test_the_cache_file_cannot_carry_code(cache):
    """A pickled object in place of the arrays is refused (allow_pickle=False) and retrained."""
    recipe = [("svc", lambda: LinearSVC(C=1.0, random_state=0), None, LABELS)]
    train_or_load("t", TEXTS, (2, 4), recipe, {})
    (path,) = cache.glob("t-*.npz")
    with open(path, "wb") as out:
        np.savez(out, grams=np.array([{"evil": 1}], dtype=object), idf=np.zeros(1))
    trained = train_or_load("t", TEXTS, (2, 4), recipe, {})
    assert trained.heads["svc"].classes == tuple(sorted(set(LABELS)))


def test_caching_can_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("BOT_MODEL_CACHE", "off")
    assert linear.cache_dir() is None
    train_or_load("t", TEXTS, (2, 4), [("svc", lambda: LinearSVC(C=1.0, random_state=0), None, LABELS)], {})
    assert not list(tmp_path.glob("*.npz"))
