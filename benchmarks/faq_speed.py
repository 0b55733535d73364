"""FAQ speed: match latency p50/p95/p99 at the shipped size and with synthetic entries added,
the whole reply (routing, context, retrieval, rendering), `ask` start-up time and resident memory,
each with the meaning model (bot/nlu/meaning.py) and without it (as where scikit-learn is missing).
The questions are the hard hold-out sets (stories, dialect, several questions in one message).
Prints `name: value unit` lines.

    python benchmarks/faq_speed.py [--sizes 114,200,1000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_brain  # noqa: E402
from content import load_content  # noqa: E402


def synthetic(content, size: int):
    """The shipped entries plus made-up ones built from shuffled real phrasings, up to `size`
    (never fewer than the shipped ones: the topics and the core answers refer to them)."""
    entries = list(content.faq)
    rng = random.Random(7)
    words = [w for e in content.faq for p in e.phrasings for w in p.split()]
    template = content.faq[0]
    while len(entries) < size:
        i = len(entries)
        phrasings = [" ".join(rng.sample(words, rng.randint(4, 9))) for _ in range(6)]
        entries.append(template.model_copy(update={"id": f"synthetic.e{i}", "phrasings": phrasings, "related": []}))
    return dataclasses.replace(content, faq=tuple(entries), faq_by_id={e.id: e for e in entries})  # a fresh render cache


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0,200,1000")  # 0: the shipped entries
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    shipped = load_content()
    questions = [json.loads(line)["q"] for name in ("faq-holdout.jsonl", "faq-blind2-a.jsonl", "faq-blind.jsonl")
                 for line in (ROOT / "tests/data" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"conditions: {os.cpu_count()} cores, python {platform.python_version()}, {len(shipped.faq)} shipped entries, "
          f"{len(questions)} distinct questions")
    for meaning in (True, False):
        label = "with meaning model" if meaning else "lexical only"
        matching = shipped.matching.model_copy(update={"meaning": shipped.matching.meaning.model_copy(update={"enabled": meaning})})
        content = dataclasses.replace(shipped, matching=matching)
        measure(content, args, questions, label)
    print(f"resident memory peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")
    with tempfile.TemporaryDirectory() as cache:
        # Cold: the first start after a content change trains the n-gram models (scikit-learn) and
        # caches them; warm: every later start loads them. Lexical only: scikit-learn unimportable
        # and no cache, exactly as where it is not installed.
        for label, block, folder in (("with meaning model, cold: trains", False, None),
                                     ("with meaning model, warm: cached", False, cache),
                                     ("lexical only", True, "off")):
            code = "import sys\n" + ("sys.modules['sklearn'] = None\n" if block else "") + \
                "from bot.__main__ import main\nsys.exit(main(['ask', 'lai suat bao nhieu']))"
            runs = []
            for _ in range(5):
                env = {**os.environ, "BOT_MODEL_CACHE": folder or tempfile.mkdtemp(dir=cache)}
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=True)
                runs.append(time.perf_counter() - start)
            print(f"ask start-up ({label}, median of 5): {statistics.median(runs):.2f} s")
    return 0


def measure(content, args, questions, label: str) -> None:
    for size in (int(s) for s in args.sizes.split(",")):
        brain = build_brain(synthetic(content, size))
        size = len(brain.content.faq)
        rng = random.Random(size)
        # Fresh strings each time so the normaliser's cache does not flatter the figures.
        sample = [rng.choice(questions) + f" {i}" for i in range(args.queries)]
        fresh = [rng.choice(questions) + f" {i + args.queries}" for i in range(args.queries)]  # not yet matched
        timings = []
        for q in sample:
            start = time.perf_counter()
            brain.matcher.match(q)
            timings.append((time.perf_counter() - start) * 1000)
        print(f"faq match p50 ({size} entries, {label}): {statistics.median(timings):.2f} ms")
        print(f"faq match p95 ({size} entries, {label}): {percentile(timings, 0.95):.2f} ms")
        print(f"faq match p99 ({size} entries, {label}): {percentile(timings, 0.99):.2f} ms")
        # The whole reply as a person gets it: small talk, clause splitting, rendering.
        timings = []
        for q in fresh:
            start = time.perf_counter()
            brain.ask(q)
            timings.append((time.perf_counter() - start) * 1000)
        print(f"faq reply p50 ({size} entries, {label}): {statistics.median(timings):.2f} ms")
        print(f"faq reply p95 ({size} entries, {label}): {percentile(timings, 0.95):.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
