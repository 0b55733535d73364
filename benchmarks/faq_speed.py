"""FAQ speed: match latency p50/p95/p99 at the shipped size and with synthetic entries added,
and `ask` start-up time. Prints `name: value unit` lines.

    python benchmarks/faq_speed.py [--sizes 80,200,1000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_brain  # noqa: E402
from content import load_content  # noqa: E402
from content.models import FaqEntry  # noqa: E402


def synthetic(content, size: int):
    """The shipped entries plus made-up ones built from shuffled real phrasings, up to `size`."""
    kept = list(content.faq)[:size]
    ids = {e.id for e in kept}
    entries = [e.model_copy(update={"related": [r for r in e.related if r in ids]}) for e in kept]
    rng = random.Random(7)
    words = [w for e in content.faq for p in e.phrasings for w in p.split()]
    template = content.faq[0]
    while len(entries) < size:
        i = len(entries)
        phrasings = [" ".join(rng.sample(words, rng.randint(4, 9))) for _ in range(6)]
        entries.append(template.model_copy(update={"id": f"synthetic.e{i}", "phrasings": phrasings, "related": []}))
    return content.__class__(**{**content.__dict__, "faq": tuple(entries), "faq_by_id": {e.id: e for e in entries}})


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="80,200,1000")
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    content = load_content()
    questions = [line.split('"q": "')[1].split('"')[0] for line in (ROOT / "tests/data/faq-holdout.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    print(f"conditions: {os.cpu_count()} cores, python {platform.python_version()}, {len(content.faq)} shipped entries, {len(questions)} distinct questions")
    for size in (int(s) for s in args.sizes.split(",")):
        brain = build_brain(synthetic(content, size))
        rng = random.Random(size)
        # Fresh strings each time so the normaliser's cache does not flatter the figures.
        sample = [rng.choice(questions) + f" {i}" for i in range(args.queries)]
        fresh = [rng.choice(questions) + f" {i + args.queries}" for i in range(args.queries)]  # not yet matched
        timings = []
        for q in sample:
            start = time.perf_counter()
            brain.matcher.match(q)
            timings.append((time.perf_counter() - start) * 1000)
        print(f"faq match p50 ({size} entries): {statistics.median(timings):.2f} ms")
        print(f"faq match p95 ({size} entries): {percentile(timings, 0.95):.2f} ms")
        print(f"faq match p99 ({size} entries): {percentile(timings, 0.99):.2f} ms")
        # The whole reply as a person gets it: small talk, clause splitting, rendering.
        timings = []
        for q in fresh:
            start = time.perf_counter()
            brain.ask(q)
            timings.append((time.perf_counter() - start) * 1000)
        print(f"faq reply p50 ({size} entries): {statistics.median(timings):.2f} ms")
        print(f"faq reply p95 ({size} entries): {percentile(timings, 0.95):.2f} ms")
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "ask", "lai suat bao nhieu"], cwd=ROOT, capture_output=True, check=True)
        runs.append(time.perf_counter() - start)
    print(f"ask start-up (median of 5): {statistics.median(runs):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
