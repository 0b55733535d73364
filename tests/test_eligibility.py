"""The eligibility rules, checked by the sentence-named cases in content/eligibility/cases.yaml."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.eligibility.engine import Profile
from bot.i18n import texts
from content import CONTENT_DIR

CASES = yaml.safe_load((CONTENT_DIR / "eligibility" / "cases.yaml").read_text(encoding="utf-8"))["cases"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(brain, case):
    on = case.get("date", date(2026, 11, 22))
    vi = texts("vi")
    result = brain.eligibility.evaluate(Profile.model_validate(case["profile"]), on=on, texts=vi, subject="bạn")
    out = result.to_json()
    for key, value in case["expect"].items():
        assert out[key] == value, f"{key}: {out[key]!r} != {value!r}; reasons: {out['reasons']}"
    for rule in case.get("fails", []):
        assert rule in result.failed
    assert out["reasons"], "every result explains itself"
    assert all(r["text"] and r["reference"] for r in out["reasons"]), "every reason is cited"
    if "reason_mentions" in case:
        assert any(case["reason_mentions"] in r["text"] for r in out["reasons"])
    if "no_reason_mentions" in case:
        assert not any(case["no_reason_mentions"] in r["text"] for r in out["reasons"])


def test_every_boundary_the_issue_names_has_a_case():
    names = " | ".join(c["name"] for c in CASES)
    for words in ("12-year-old", "11-year-old", "Exactly 10 years", "10.1 years", "Exactly 5 years", "5.1 years",
                  "10 %", "9 %", "exactly 200 million", "more than 200 million", "exactly 100 million",
                  "exactly 2 billion", "30/4/2026"):
        assert words.lower() in names.lower(), words


def test_batch_command_prints_one_result_per_line_in_order(tmp_path):
    profiles = [
        {"applicant": "person", "background": "after_rehab", "age": 16, "rehab_completion": "voluntary",
         "years_since_management_decision": 1, "resides_locally": True, "purpose": "vocational_training",
         "has_outstanding_training_loan": False},
        {"background": "after_prison", "years_since_release": 6, "has_release_certificate": True},
        {},
        {"age": "not a number"},
    ]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "eligibility", "--json", "--date", "2026-11-22"],
        input="\n".join(json.dumps(p) for p in profiles) + "\n", capture_output=True, text=True, cwd=tmp_path,
        env={"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=60,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("outcome") for line in lines] == ["likely_eligible", "not_eligible", "needs_review", None]
    assert lines[0]["program"] == "qd08_2026" and lines[0]["max_amount_vnd"] == 200_000_000
    assert lines[1]["program"] == "qd22_2023"
    assert "error" in lines[3]
    assert all(r["reference"] for line in lines[:3] for r in line["reasons"])


def test_profile_file_and_date_options(tmp_path):
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"background": "after_rehab", "age": 30, "rehab_completion": "compulsory",
                                   "years_since_management_decision": 2, "resides_locally": True, "purpose": "business"}))
    before = subprocess.run([sys.executable, "-m", "bot", "eligibility", "--json", "--profile", str(profile), "--date", "2026-04-30"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert json.loads(before.stdout)["outcome"] == "not_eligible"
