"""The benchmarks' own set-up runs (it broke once unnoticed: a content copy that no test made)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

from bot.app import build_brain
from content import load_content

ROOT = Path(__file__).resolve().parent.parent


def test_the_faq_speed_benchmark_builds_its_larger_content_and_answers_on_it():
    spec = importlib.util.spec_from_file_location("faq_speed", ROOT / "benchmarks" / "faq_speed.py")
    assert spec is not None and spec.loader is not None
    faq_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(faq_speed)
    shipped = load_content()
    bigger = faq_speed.synthetic(shipped, len(shipped.faq) + 20)
    assert len(bigger.faq) == len(shipped.faq) + 20 and len(bigger.faq_by_id) == len(bigger.faq)
    lexical = dataclasses.replace(bigger, matching=bigger.matching.model_copy(
        update={"meaning": bigger.matching.meaning.model_copy(update={"enabled": False})}))
    result = build_brain(lexical).ask("lãi suất bao nhiêu")
    assert "6,24%" in result.replies[0].text
