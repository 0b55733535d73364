"""Curator tools: validate the content and measure the FAQ on a question set."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.app import Brain
from bot.i18n import LOCALES, catalog_ids, texts
from bot.nlu.matcher import Status, contains
from content.models import Programme

# A figure written in an answer instead of a {parameter}: "200 triệu", "6,24%", "10 năm", "2 tỷ".
LITERAL_FIGURE = re.compile(r"\b\d+(?:[.,]\d+)?\s*(?:triệu|tỷ|%|năm\b|tháng\b|tuổi|đồng|đ\b)", re.IGNORECASE)
# Dates and days of the month are not policy figures ("ngày 05 hằng tháng", "21/11/2025").
ALLOWED_LITERALS = re.compile(r"ngày \d+ hằng tháng|\d+/\d+/\d{4}|hằng tháng", re.IGNORECASE)
# The same figures for the checks that want to know any were mentioned (not_covered answers).
PROGRAMME_FIGURE_PARAMS = re.compile(r"\{(qd08|qd22|rate)\.[a-z_]+(?::exact)?\}")


@dataclass
class CheckReport:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_content(brain: Brain, *, today: date) -> CheckReport:
    """Everything `content check` verifies beyond the schema (which load_content already enforced)."""
    report = CheckReport()
    content, matcher = brain.content, brain.matcher
    vi = texts("vi")
    limit = content.matching.max_answer_chars
    for entry in content.faq:
        rendered = content.render(entry.answer, when=today, texts=vi)
        if len(rendered) > limit:
            report.errors.append(f"{entry.id}: answer is {len(rendered)} characters after rendering (limit {limit})")
        literal = LITERAL_FIGURE.search(ALLOWED_LITERALS.sub("", entry.answer))
        if literal:
            report.errors.append(f"{entry.id}: figure '{literal.group(0)}' written literally; use a {{parameter}}")
        if entry.programme is Programme.NOT_COVERED and PROGRAMME_FIGURE_PARAMS.search(entry.answer):
            report.errors.append(f"{entry.id}: a not-covered answer must not state programme figures")
        if len(set(brain.normalizer(p).text for p in entry.phrasings)) < len(entry.phrasings):
            report.warnings.append(f"{entry.id}: two phrasings are the same once normalised")
    # Generic phrasings belong to the main programme; the other programme's must name its group,
    # or a question that names no group would land on the wrong programme.
    cfg = content.matching
    for entry in content.faq:
        if entry.programme.value in cfg.programme_words and entry.programme.value != cfg.main_programme:
            own_words = matcher.programme_words[entry.programme.value]
            for phrasing in entry.phrasings:
                tokens = brain.normalizer(phrasing).tokens
                if not any(contains(tokens, words) for words in own_words):
                    report.errors.append(
                        f"{entry.id}: phrasing '{phrasing}' does not name its group "
                        f"(one of: {', '.join(cfg.programme_words[entry.programme.value])})"
                    )
    # A phrasing must lead to its own entry: scored against every OTHER phrasing (leave-one-out).
    for entry in content.faq:
        for phrasing in entry.phrasings:
            ranked = matcher.scores(phrasing, exclude=frozenset({brain.normalizer(phrasing).text}))
            own = next((c.score for c in ranked if c.entry_id == entry.id), 0.0)
            if ranked and ranked[0].entry_id != entry.id:
                message = (
                    f"{entry.id}: phrasing '{phrasing}' matches {ranked[0].entry_id} better "
                    f"({ranked[0].score:.2f} vs {own:.2f})"
                )
                # Losing clearly is an error; losing narrowly is worth a look.
                if ranked[0].score - own > content.matching.answer_margin:
                    report.errors.append(message)
                else:
                    report.warnings.append(message)
    report.errors.extend(check_walkthrough(content))
    reference = catalog_ids("vi")
    for lang in LOCALES:
        missing = reference - catalog_ids(lang)
        if missing:
            report.errors.append(f"catalog {lang}: missing {', '.join(sorted(missing))}")
    return report


def check_walkthrough(content) -> list[str]:
    """Every field a question or rule names is a profile field, and every option value fits it."""
    from pydantic import ValidationError

    from bot.eligibility.engine import Profile

    errors: list[str] = []
    fields = set(Profile.model_fields) | {"for_whom"}
    for question in content.questions.questions:
        if question.field not in fields:
            errors.append(f"eligibility question {question.id}: unknown field {question.field}")
            continue
        for key in question.ask_when:
            if key not in fields:
                errors.append(f"eligibility question {question.id}: ask_when on unknown field {key}")
        if question.field == "for_whom":
            continue
        for option in question.options:
            try:
                Profile.model_validate({question.field: option.value})
            except ValidationError:
                errors.append(f"eligibility question {question.id}: option '{option.label}' has an invalid value")
    for rule in content.eligibility.rules:
        (kind, spec), = rule.check.items()
        named = [spec[k] for k in ("field", "part", "total") if isinstance(spec, dict) and k in spec]
        named += list(rule.when)
        for name in named:
            if name not in fields:
                errors.append(f"eligibility rule {rule.id}: unknown field {name}")
    return errors


# -- evaluation (scored exactly as ../shared/eval/README.md describes) -------------------------


def fold_answer(text: str) -> str:
    text = unicodedata.normalize("NFD", unicodedata.normalize("NFC", text or ""))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = text.replace("đ", "d").replace("Đ", "D").lower()
    for _ in range(2):
        text = re.sub(r"(?<=\d)\.(?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    return re.sub(r"\s+", " ", text)


@dataclass
class EvalReport:
    in_scope: int = 0
    out_of_scope: int = 0
    correct: int = 0
    wrong: int = 0
    suggest: int = 0
    miss: int = 0
    oos_false: int = 0
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def correct_rate(self) -> float:
        return self.correct / max(self.in_scope, 1)

    @property
    def false_rate(self) -> float:
        answered = self.correct + self.wrong + self.oos_false
        return (self.wrong + self.oos_false) / max(answered, 1)


def evaluate(answer, set_path: Path, facts_path: Path) -> EvalReport:
    """`answer(question) -> (status, entry, text)`; returns the scores for the set."""
    spec = json.loads(facts_path.read_text(encoding="utf-8"))
    facts = {name: re.compile(pattern) for name, pattern in spec["facts"].items()}
    report = EvalReport()
    for line in set_path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        status, entry, text = answer(case["q"])
        folded = fold_answer(text)
        if case.get("oos"):
            report.out_of_scope += 1
            bad = status == Status.ANSWER and any(facts[f].search(folded) for f in spec["strong"])
            report.oos_false += bad
            verdict = "OOS-FALSE" if bad else "oos-ok"
        else:
            report.in_scope += 1
            if status == Status.ANSWER:
                needs = [n if isinstance(n, list) else [n] for n in case["need"]]
                ok = all(any(facts[f].search(folded) for f in alternatives) for alternatives in needs)
                report.correct += ok
                report.wrong += not ok
                verdict = "correct" if ok else "WRONG"
            elif status == Status.SUGGEST:
                report.suggest += 1
                verdict = "suggest"
            else:
                report.miss += 1
                verdict = "miss"
        report.rows.append((verdict, str(status), str(entry), case["q"]))
    return report
