"""Loads every content file into typed models; any problem is a ContentError naming file and entry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError

from content.models import (
    Calendar,
    CrisisExamples,
    FactWords,
    FaqEntry,
    Holidays,
    Lexicon,
    MatchingConfig,
    Parameter,
    QuestionSet,
    RegistrationContent,
    RoutingContent,
    RuleBook,
    Topics,
)

CONTENT_DIR = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+(?:\.[a-z0-9_]+)+)(?::([a-z]+))?\}")


class ContentError(Exception):
    """Content that cannot be used; the message says which file and what is wrong."""


@dataclass(frozen=True)
class Content:
    faq: tuple[FaqEntry, ...]
    parameters: dict[str, Parameter]
    lexicon: Lexicon
    matching: MatchingConfig
    known_words: frozenset[str]
    eligibility: RuleBook
    questions: QuestionSet
    registration: RegistrationContent
    calendar: Calendar
    holidays: frozenset[date]
    faq_by_id: dict[str, FaqEntry]
    facts: FactWords
    routing: RoutingContent
    topics: Topics
    crisis: CrisisExamples
    # Answers as rendered for a day and a locale: formatting every figure of an answer again for
    # each message cost a tenth of a FAQ reply. Content and a day's values never change; bounded.
    # Not an init field: a copy with other parameters (dataclasses.replace) starts its own, instead
    # of sharing this one and its figures (a test's raised minimum age once leaked into others).
    _rendered: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def render(self, template: str, *, when: date, texts) -> str:
        """Replaces {parameter} placeholders with the value in force on `when`, in plain words."""
        key = (template, when, getattr(texts, "lang", None), type(texts))
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self._render(template, when=when, texts=texts)
            if len(self._rendered) >= RENDERED_KEPT:
                self._rendered.clear()
            self._rendered[key] = rendered
        return rendered

    def _render(self, template: str, *, when: date, texts) -> str:
        def substitute(match: re.Match) -> str:
            parameter = self.parameters[match.group(1)]
            value = parameter.at(when)
            if value is None:
                # Not yet in force on that date: name the earliest value rather than invent one.
                value = next(iter(parameter.values.values()))
            return format_value(parameter, value, match.group(2), texts)

        return PLACEHOLDER.sub(substitute, template)


RENDERED_KEPT = 4096  # answers × days × locales: a few hundred answers, one day at a time


def format_value(parameter: Parameter, value: Decimal | date, style: str | None, texts) -> str:
    if parameter.unit == "date":
        return texts.date(value)
    if parameter.unit == "money":
        return texts.money(value) if style == "exact" else texts.money_words(value)
    if parameter.unit == "percent":
        return texts.percent(value)
    return texts.t(f"format.{parameter.unit}", value=texts.number(value))


# libyaml's parser when PyYAML was built with it (the wheels are): about ten times faster, and the
# content is read at every start.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):
    """The safe loader, refusing a key written twice in one mapping: YAML would silently keep the
    last one, so a second `rate:` cue would drop the first without a word."""


def _mapping(loader: _Loader, node: yaml.MappingNode):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # "<<: *base": the keys written beside it override the base's, as meant
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"{key!r} appears twice in one mapping", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LOADER = _Loader


def _read_yaml(path: Path):
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ContentError(f"{path.name}: not valid YAML: {exc}") from None


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


def load_faq(folder: Path) -> tuple[FaqEntry, ...]:
    entries: list[FaqEntry] = []
    seen: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = _read_yaml(path) or []
        if not isinstance(raw, list):
            raise ContentError(f"faq/{path.name}: expected a list of entries")
        for index, item in enumerate(raw):
            label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
            try:
                entry = FaqEntry.model_validate(item)
            except ValidationError as exc:
                raise ContentError(f"faq/{path.name}, entry {label}: {_describe(exc)}") from None
            if entry.id in seen:
                raise ContentError(f"faq/{path.name}: duplicate id {entry.id} (also in faq/{seen[entry.id]})")
            seen[entry.id] = path.name
            entries.append(entry)
    if not entries:
        raise ContentError(f"{folder}: no FAQ entries found")
    return tuple(entries)


def load_parameters(path: Path) -> dict[str, Parameter]:
    raw = _read_yaml(path) or {}
    parameters = {}
    for name, body in raw.items():
        try:
            parameters[name] = Parameter.model_validate({"name": name, **(body or {})})
        except ValidationError as exc:
            raise ContentError(f"{path.name}, parameter {name}: {_describe(exc)}") from None
    return parameters


def _load_model(model, path: Path):
    try:
        return model.model_validate(_read_yaml(path) or {})
    except ValidationError as exc:
        raise ContentError(f"{path.name}: {_describe(exc)}") from None


def load_content(root: Path = CONTENT_DIR) -> Content:
    """Loads and cross-checks everything under `root`; raises ContentError on the first problem."""
    faq = load_faq(root / "faq")
    parameters = load_parameters(root / "policy" / "parameters.yaml")
    lexicon = _load_model(Lexicon, root / "lexicon.yaml")
    matching = _load_model(MatchingConfig, root / "matching.yaml")
    by_id = {entry.id: entry for entry in faq}
    for entry in faq:
        for related in entry.related:
            if related not in by_id:
                raise ContentError(f"faq entry {entry.id}: related entry {related} does not exist")
            if related == entry.id:
                raise ContentError(f"faq entry {entry.id}: lists itself as related")
        for match in PLACEHOLDER.finditer(entry.answer):
            if match.group(1) not in parameters:
                raise ContentError(f"faq entry {entry.id}: unknown parameter {{{match.group(1)}}}")
            if match.group(2) not in (None, "exact"):
                raise ContentError(f"faq entry {entry.id}: unknown format :{match.group(2)}")
    for popular in matching.popular:
        if popular not in by_id:
            raise ContentError(f"matching.yaml: popular entry {popular} does not exist")
    eligibility = _load_model(RuleBook, root / "eligibility" / "rules.yaml")
    check_rulebook(eligibility, parameters)
    questions = _load_model(QuestionSet, root / "eligibility" / "questions.yaml")
    if len({q.id for q in questions.questions}) != len(questions.questions):
        raise ContentError("eligibility/questions.yaml: duplicate question id")
    topics = _load_model(Topics, root / "topics.yaml")
    for name, row in topics.topics.items():
        for column, entry_id in row.items():
            if entry_id not in by_id:
                raise ContentError(f"topics.yaml: topic {name}, {column}: no FAQ entry {entry_id}")
    for name in (*topics.check_topics, *topics.register_topics):
        if name not in topics.topics:
            raise ContentError(f"topics.yaml: check_topics or register_topics names an unknown topic {name}")
    calendar = _load_model(Calendar, root / "reminders" / "calendar.yaml")
    if len({d.id for d in calendar.deadlines}) != len(calendar.deadlines):
        raise ContentError("reminders/calendar.yaml: duplicate deadline id")
    return Content(
        faq=faq,
        eligibility=eligibility,
        questions=questions,
        parameters=parameters,
        lexicon=lexicon,
        matching=matching,
        known_words=load_word_list(root / "known_words.txt"),
        registration=_load_model(RegistrationContent, root / "registration.yaml"),
        calendar=calendar,
        holidays=_load_model(Holidays, root / "reminders" / "holidays.yaml").dates(),
        faq_by_id=by_id,
        facts=_load_model(FactWords, root / "facts.yaml"),
        routing=_load_model(RoutingContent, root / "routing.yaml"),
        topics=topics,
        crisis=_load_model(CrisisExamples, root / "crisis.yaml"),
    )


def check_rulebook(book: RuleBook, parameters: dict[str, Parameter]) -> None:
    """Every programme and parameter a rule names must exist."""
    for key, definition in book.programmes.items():
        names = [definition.effective_date, definition.caps.business, *definition.caps.person.values()]
        for name in names:
            if name not in parameters:
                raise ContentError(f"eligibility/rules.yaml, programme {key}: unknown parameter {name}")
    for rule in book.rules:
        for programme in rule.programmes:
            if programme not in book.programmes:
                raise ContentError(f"eligibility/rules.yaml, rule {rule.id}: unknown programme {programme}")
            if isinstance(rule.reference, dict) and programme not in rule.reference:
                raise ContentError(f"eligibility/rules.yaml, rule {rule.id}: no reference for {programme}")
        (kind, spec), = rule.check.items()
        if isinstance(spec, dict) and "parameter" in spec and spec["parameter"] not in parameters:
            raise ContentError(f"eligibility/rules.yaml, rule {rule.id}: unknown parameter {spec['parameter']}")
        texts = [rule.passed, rule.fail, rule.unknown or "", rule.note or "", rule.next_step or ""]
        for text in texts:
            for match in PLACEHOLDER.finditer(text):
                if match.group(1) not in parameters:
                    raise ContentError(f"eligibility/rules.yaml, rule {rule.id}: unknown parameter {{{match.group(1)}}}")


def load_word_list(path: Path) -> frozenset[str]:
    with path.open(encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip() and not line.startswith("#"))
