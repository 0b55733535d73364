"""How steady the crisis model is: crises caught and ordinary questions taken for one on the tuning
sets, and how many decisions flip when the model is retrained without a few FAQ phrasings (a
curator's everyday change). Prints `name: value` lines. Needs scikit-learn (the model's trainer).

    .venv/bin/python benchmarks/crisis_stability.py [--drop 0.03] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["BOT_MODEL_CACHE"] = "off"  # every model here is trained, never loaded

from bot.app import build_brain  # noqa: E402
from bot.nlu.crisis import CrisisModel  # noqa: E402
from bot.nlu.routing import folded_view  # noqa: E402

DATA = ROOT / "tests" / "data"
# The sets tuned on (their crisis lines and their ordinary questions); hold-outs are not read here.
TUNING = ["crisis-blind", "crisis-blind6-a", "crisis-blind9-a", "crisis-blind10-a", "crisis-blind11-a", "crisis-blind12-a",
          "crisis-blind13-a", "crisis-blind15-a", "crisis-blind17-a", "crisis-blind18-a", "crisis-blind19-a",
          "faq-blind2-a", "faq-blind3", "faq-blind4", "faq-blind5", "faq-blind6-a", "faq-blind8", "faq-blind9-a",
          "faq-blind10-a", "faq-blind11-a", "faq-blind12-a", "faq-blind13-a", "faq-blind14-a", "faq-blind15-a",
          "faq-blind17-a", "faq-blind18-a", "core-blind", "core-blind9"]


def lines(name: str) -> list[dict]:
    path = DATA / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drop", type=float, default=0.03, help="share of FAQ phrasings left out in each round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    brain = build_brain()
    crises, ordinary_questions = [], []
    for name in TUNING:
        for row in lines(name):
            (crises if row.get("crisis") else ordinary_questions).append(row["q"])
    phrasings = [p for entry in brain.content.faq for p in entry.phrasings]

    def decisions(model: CrisisModel) -> list[bool]:
        brain.triage.crisis_model = model
        return [brain.triage.in_danger(q) is not None for q in crises + ordinary_questions]

    base = decisions(CrisisModel(brain.content.crisis, phrasings, folded_view))
    print(f"crisis_lines: {len(crises)}")
    print(f"crises_caught: {sum(base[:len(crises)])}")
    print(f"ordinary_questions: {len(ordinary_questions)}")
    print(f"ordinary_taken_for_crisis: {sum(base[len(crises):])}")
    for seed in range(args.rounds):
        rng = random.Random(seed)
        kept = [p for p in phrasings if rng.random() >= args.drop]
        flipped = sum(a != b for a, b in zip(base, decisions(CrisisModel(brain.content.crisis, kept, folded_view)), strict=True))
        print(f"flips_without_{args.drop:.0%}_of_phrasings_round_{seed}: {flipped}")


if __name__ == "__main__":
    main()
