"""Typed models of the curated content. Anything that does not fit is rejected at load time."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENTRY_ID_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"


class Programme(StrEnum):
    QD08 = "qd08"
    QD22 = "qd22"
    BOTH = "both"
    GENERAL = "general"
    NOT_COVERED = "not_covered"


class FaqEntry(BaseModel):
    """One curated question and its answer with the legal reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ENTRY_ID_PATTERN, max_length=48)
    programme: Programme
    question: str = Field(min_length=5, max_length=100)
    phrasings: list[str] = Field(min_length=4)
    answer: str = Field(min_length=20)
    reference: str = Field(min_length=3)
    related: list[str] = Field(default_factory=list, max_length=3)
    reviewed: date

    @field_validator("phrasings")
    @classmethod
    def _non_blank(cls, values: list[str]) -> list[str]:
        cleaned = [v.strip() for v in values]
        if any(not v for v in cleaned):
            raise ValueError("a phrasing is blank")
        return cleaned


Unit = Literal["money", "percent", "years", "months", "age", "date"]


class Parameter(BaseModel):
    """A policy figure with its legal reference and values keyed by the date they apply from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    reference: str
    unit: Unit
    values: dict[date, Decimal | date]

    @field_validator("values")
    @classmethod
    def _has_values(cls, values: dict) -> dict:
        if not values:
            raise ValueError("a parameter needs at least one dated value")
        return dict(sorted(values.items()))

    def at(self, when: date) -> Decimal | date | None:
        """The value in force on `when`, or None before the first value applies."""
        current = None
        for since, value in self.values.items():
            if since <= when:
                current = value
        return current

    def number_at(self, when: date) -> Decimal | None:
        """at() of a parameter that is a number (every unit but "date")."""
        value = self.at(when)
        if isinstance(value, date):
            raise TypeError(f"parameter {self.name} is a date, not a number")
        return value

    def number_or_first(self, when: date) -> Decimal:
        """The number in force on `when`; before any applies, the first one (not yet in force)."""
        value = self.at(when)
        if value is None:
            value = next(iter(self.values.values()))
        if isinstance(value, date):
            raise TypeError(f"parameter {self.name} is a date, not a number")
        return value


class Lexicon(BaseModel):
    """How people type: abbreviations, number suffixes, synonyms and particles (all accent-free)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    abbreviations: dict[str, str]
    number_suffixes: dict[str, str]
    number_units: list[str] = Field(default_factory=list)
    synonyms: dict[str, str]
    particles: list[str]
    pronouns: list[str] = Field(default_factory=list)
    trailing_particles: list[str] = Field(default_factory=list)
    trailing_particle_exceptions: list[str] = Field(default_factory=list)
    accented_words: dict[str, str] = Field(default_factory=dict)
    question_words: list[str]
    stopwords: list[str]
    clause_joiners: list[str] = Field(default_factory=list)
    choice_words: list[str] = Field(default_factory=list)
    common_words: list[str] = Field(default_factory=list)


class Intent(BaseModel):
    """Small talk understood everywhere (greeting, thanks, help, menu): phrasings in accent-free form."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrasings: list[str]


class MeaningConfig(BaseModel):
    """The second retrieval signal (bot/nlu/meaning.py) and how it settles the lexical bands."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    margin: float = Field(default=0.3, ge=0)  # how clearly the model prefers its entry
    floor: float = Field(default=0.3, ge=0, le=1)  # the lexical score the agreeing entry needs at least
    candidates: int = Field(default=3, ge=1, le=10)  # how many lexical candidates it may agree with


class MatchingConfig(BaseModel):
    """Score bands for the FAQ matcher and the entries offered from the FAQ menu."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_threshold: float = Field(gt=0, le=1)
    answer_margin: float = Field(ge=0, le=1)
    sure_threshold: float = Field(gt=0, le=1)
    suggest_threshold: float = Field(gt=0, le=1)
    max_suggestions: int = Field(ge=1, le=3)
    max_answer_chars: int = Field(ge=100, le=1000)
    # Words that name one programme's group of people; a question naming only one of them
    # scores the other programme's entries down by other_programme_factor.
    programme_words: dict[str, list[str]] = Field(default_factory=dict)
    other_programme_factor: float = Field(default=1.0, gt=0, le=1)
    main_programme: str = "qd08"
    unnamed_programme_factor: float = Field(default=1.0, gt=0, le=1)
    popular: list[str]
    intents: dict[str, Intent]
    address_words: list[str] = Field(default_factory=list)  # "cảm ơn o", "chào cô": how the bot is addressed around small talk
    meaning: MeaningConfig = Field(default_factory=MeaningConfig)


# -- eligibility rules (content/eligibility/rules.yaml) ------------------------------------------

Applicant = Literal["person", "business"]
CHECK_KINDS = {"in_force", "at_least", "at_most", "one_of", "is", "share_at_least"}


class ProgrammeCaps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    person: dict[str, str]  # purpose -> parameter name
    business: str  # parameter name
    # Purposes whose cap is per month (QĐ 22 training loans): never compared with a total amount.
    person_monthly: list[str] = Field(default_factory=list)


class ProgrammeDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    background: str
    effective_date: str  # parameter name
    caps: ProgrammeCaps


class RuleDef(BaseModel):
    """One condition of a programme, with what to say when it holds, fails or is unknown."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(pattern=ENTRY_ID_PATTERN)
    programmes: list[str] = Field(min_length=1)
    applicant: list[Applicant] = Field(min_length=1)
    when: dict[str, str | bool | int] = Field(default_factory=dict)
    check: dict[str, Any]  # one check kind → its spec (a dict of field, parameter, values…)
    reference: str | dict[str, str]
    passed: str = Field(alias="pass")
    fail: str
    unknown: str | None = None
    on_unknown: Literal["review", "note"] = "review"
    # Not listed among the reasons when it holds (e.g. "the decision is in force"): only when it fails.
    quiet_when_passed: bool = False
    note: str | None = None
    next_step: str | None = None

    @model_validator(mode="after")
    def _says_what_unknown_means(self) -> RuleDef:
        # in_force is decided by the date alone and is never unknown.
        if self.on_unknown == "review" and not self.unknown and "in_force" not in self.check:
            raise ValueError("a rule that asks for review when unknown needs an `unknown` text")
        if self.on_unknown == "note" and not self.note:
            raise ValueError("a rule with on_unknown: note needs a `note` text")
        return self

    @field_validator("check")
    @classmethod
    def _one_known_check(cls, check: dict) -> dict:
        if len(check) != 1 or next(iter(check)) not in CHECK_KINDS:
            raise ValueError(f"check must be exactly one of {sorted(CHECK_KINDS)}")
        return check

    def reference_for(self, programme: str) -> str:
        return self.reference if isinstance(self.reference, str) else self.reference[programme]


class RuleBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    programmes: dict[str, ProgrammeDef]
    rules: list[RuleDef]


# -- eligibility walkthrough (content/eligibility/questions.yaml) --------------------------------

OptionValue = str | bool | int | float | list[float] | None


class QuestionOption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=60)
    value: OptionValue
    also: list[str] = Field(default_factory=list)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ENTRY_ID_PATTERN)
    field: str
    text: str
    kind: Literal["choice", "years_ago", "age", "count", "amount"] = "choice"
    ask_when: dict[str, str | bool | int] = Field(default_factory=dict)
    options: list[QuestionOption] = Field(min_length=1)


class QuestionSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    yes_words: list[str]
    no_words: list[str]
    navigation: dict[Literal["back", "restart", "exit", "correction"], list[str]]
    questions: list[Question] = Field(min_length=1)


# -- registration, officers and the monthly list -------------------------------------------------------


class Choice(BaseModel):
    """A button: its label, the value stored, and words that pick it when typed (accent-free)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1, max_length=60)
    also: list[str] = Field(default_factory=list)
    # A programme's decision, as the onward list names it ("QĐ 08/2026/QĐ-TTg").
    decision: str | None = Field(default=None, max_length=40)


class ConsentText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, max_length=16)
    text: str = Field(min_length=50, max_length=1500)


class ExportColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: Literal[
        "index", "name", "birth_year", "phone", "residence", "programme", "time_since", "purpose", "amount",
        "registrant", "status", "note", "reference", "id_number", "registered_on", "decision",
    ]
    header: str = Field(min_length=1, max_length=80)


class ExportForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    columns: list[ExportColumn] = Field(min_length=1)


class RejectionReason(BaseModel):
    """A reason that fits only some programmes (a person after prison is never offered a rehab one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=3, max_length=200)
    programmes: list[str] = Field(min_length=1)


class RegistrationContent(BaseModel):
    """content/registration.yaml: consent text, choices, reasons, the export form, place aliases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consent: ConsentText
    relationships: list[Choice] = Field(min_length=1)
    programmes: list[Choice] = Field(min_length=1)
    purposes: list[Choice] = Field(min_length=1)
    # The kinds of establishment that borrow as a business (QĐ 08/2026, QĐ 22/2023).
    business_kinds: list[Choice] = Field(min_length=1)
    rejection_reasons: list[str | RejectionReason] = Field(min_length=1)
    # The list that goes onward (committee, bank): the people on the month's list, the form's columns.
    export: ExportForm
    # The police's own working list: everyone of the month with status and notes; internal.
    working_export: ExportForm
    # A locality adapts the list to its official form: province or commune code → form.
    export_localities: dict[int, ExportForm] = Field(default_factory=dict)
    place_aliases: dict[str, int] = Field(default_factory=dict)
    former_provinces: dict[str, int] = Field(default_factory=dict)  # merged away in 2025 → the province now

    def export_form(self, commune_code: int, province_code: int | None) -> ExportForm:
        return self.export_localities.get(commune_code) or self.export_localities.get(province_code or -1) or self.export

    def reasons_for(self, programme: str | None) -> list[str]:
        """The rejection reasons an officer is offered for a registration of this programme."""
        return [r if isinstance(r, str) else r.text for r in self.rejection_reasons
                if isinstance(r, str) or programme in r.programmes]

    @model_validator(mode="after")
    def _known_programmes(self) -> RegistrationContent:
        known = {p.value for p in self.programmes}
        for reason in self.rejection_reasons:
            if not isinstance(reason, str) and not set(reason.programmes) <= known:
                raise ValueError(f"rejection reason {reason.text!r} names an unknown programme")
        return self


# -- officers' reminder calendar ---------------------------------------------------------------------


class Due(BaseModel):
    """When a deadline falls: every month on a day, every year on a date, or once."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly: int | None = Field(default=None, ge=1, le=28)
    yearly: str | None = Field(default=None, pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
    once: date | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Due:
        if sum(v is not None for v in (self.monthly, self.yearly, self.once)) != 1:
            raise ValueError("due needs exactly one of monthly, yearly, once")
        return self


class Deadline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]+$", max_length=40)
    title: str = Field(min_length=5, max_length=200)
    scope: Literal["national"] | dict[Literal["province", "commune"], int]
    # The roles that must act (and get the reminder): commune police, the commune People's
    # Committee, the NHCSXH transaction office, admins.
    audience: list[Literal["officer", "committee", "bank", "admin"]] = Field(min_length=1)
    due: Due
    # "before": the plan says "trước ngày X" — the last day to act is the day before X, so the last
    # reminder goes on the working day before X. "on": X itself is the last day.
    when: Literal["before", "on"]
    lead_days: list[int] = Field(min_length=1)
    # A reporting deadline: its reminder carries the report of the `report_months` months before it.
    report_months: int | None = Field(default=None, ge=1, le=12)
    source: str = ""
    text: str | None = None  # this deadline's own message; the calendar's default otherwise

    @field_validator("scope")
    @classmethod
    def _one_scope(cls, value):
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError("scope is national, {province: CODE} or {commune: CODE}")
        return value

    @field_validator("lead_days")
    @classmethod
    def _leads(cls, value: list[int]) -> list[int]:
        if any(v < 0 or v > 90 for v in value) or len(set(value)) != len(value):
            raise ValueError("lead_days are distinct whole days from 0 to 90")
        return sorted(value, reverse=True)

    @property
    def scope_label(self) -> str:
        return "national" if self.scope == "national" else next(iter(self.scope))

    @property
    def scope_code(self) -> int | None:
        return None if self.scope == "national" else next(iter(self.scope.values()))


class Calendar(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_hour: int = Field(ge=0, le=23)
    quiet_hours: tuple[int, int]
    text: str  # the police's reminder, with their commune's live figures
    plain_text: str  # everyone else's (committee, bank): the deadline only
    deadlines: list[Deadline] = Field(min_length=1)


class HolidayRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    from_: date = Field(alias="from")
    to: date


class CompensatoryDay(BaseModel):
    """A day off in place of a holiday that fell on the weekly day off (nghỉ bù)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    compensatory: date
    for_: date = Field(alias="for")

    @model_validator(mode="after")
    def _after(self) -> CompensatoryDay:
        if self.compensatory <= self.for_ or self.compensatory.weekday() >= 5 or self.for_.weekday() < 5:
            raise ValueError("a compensatory day is a weekday after a holiday that fell on a weekend")
        return self


class Holidays(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    holidays: list[date | HolidayRange | CompensatoryDay]

    def official(self) -> frozenset[date]:
        """The holidays themselves (without the compensatory days)."""
        from datetime import timedelta

        days: set[date] = set()
        for item in self.holidays:
            if isinstance(item, date):
                days.add(item)
            elif isinstance(item, HolidayRange):
                days.update(item.from_ + timedelta(days=i) for i in range((item.to - item.from_).days + 1))
        return frozenset(days)

    def compensatory(self) -> dict[date, date]:
        """Compensatory day → the holiday it makes up for."""
        return {item.compensatory: item.for_ for item in self.holidays if isinstance(item, CompensatoryDay)}

    def dates(self) -> frozenset[date]:
        return self.official() | frozenset(self.compensatory())


# -- understanding: facts, routing, topics (content/facts.yaml, routing.yaml, topics.yaml) -------------


class FactWords(BaseModel):
    """Phrases (accent-free) that tell the person's situation; see content/facts.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rehab: list[str]
    prison: list[str]
    ambiguous_place: list[str] = Field(default_factory=list)
    # The whole reply to "trại cai nghiện hay trại giam?" typed instead of pressed ("cai", "tù").
    place_answers: dict[Literal["qd08", "qd22"], list[str]] = Field(default_factory=dict)
    business: list[str]
    # A question of a message about a business that asks about one person instead ("cá nhân vay
    # tối đa bao nhiêu, còn cơ sở…"): that question gets the person's answer.
    individual: list[str] = Field(default_factory=list)
    jobs: list[str] = Field(default_factory=list)
    relative: list[str]
    self_words: list[str]
    general_question: list[str] = Field(default_factory=list)
    training: list[str]
    business_use: list[str]
    # How rehab was completed (or not yet): voluntary, compulsory, substitution_treatment, not_completed.
    completion: dict[Literal["voluntary", "compulsory", "substitution_treatment", "not_completed"], list[str]] = Field(default_factory=dict)


class Route(BaseModel):
    """Phrases that put a message in a category, phrases that cancel it, and its reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrases: list[str] = Field(min_length=1)
    # Cues that count only together, in one sentence of the message: each entry is a list of phrase
    # sets, one phrase of every set must be present ([[a child], [drug dealing]]).
    together: list[list[list[str]]] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    reply: str | None = None
    # Crisis kinds: the help in one short line, added to another kind's reply when one message tells
    # both (threatened and wanting to die) and used when the same danger is told again.
    also: str | None = None
    payload: str | None = None  # flows: the button this request presses ("reg:start")
    whole_message: bool = False  # the whole message must be one of the phrases ("vay", "hỏi chút")
    weak: bool = False  # other programmes: only when the message names neither group
    # Not when the conversation named rehab, prison or a business: after "anh tôi ra tù từ 2019",
    # NĐ 338 is his way on.
    weak_in_conversation: bool = False


class CrisisExamples(BaseModel):
    """content/crisis.yaml: messages from people in danger, by kind, and near misses that are not."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(gt=0, lt=1)
    # Words of distress, accent-free; a message without any needs `plain_threshold`.
    distress: list[str] = Field(min_length=1)
    plain_threshold: float = Field(gt=0, le=1)
    examples: dict[Literal["overdose", "suicide", "violence", "child", "relapse"], list[str]]
    not_crisis: list[str] = Field(default_factory=list)
    # Whole messages the model never judges: a greeting and who is writing ("chào cô, tui là má nó").
    introductions: list[str] = Field(default_factory=list)


FLOW_NAMES = ("eligibility", "registration", "delete", "withdraw", "see_data", "records", "officer")


class RoutingContent(BaseModel):
    """content/routing.yaml: what a message is before any FAQ entry is looked for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crisis: dict[str, Route]
    # A hard time told as the past, with the person well now and asking about the loan ("em từng có
    # ý định tự tử hồi còn nghiện, giờ ổn rồi… vay"): one phrase of every set present → not a crisis.
    crisis_told_as_past: list[list[str]] = Field(default_factory=list)
    # …unless it is still there now ("mà giờ vẫn muốn chết"): then it stays a crisis.
    crisis_still: list[str] = Field(default_factory=list)
    # Figures of speech that are no danger ("mệt muốn chết với mấy cái thủ tục"): taken out of the
    # message before the crisis check, so that the rest of it still counts.
    crisis_idioms: list[str] = Field(default_factory=list)
    flows: dict[Literal["eligibility", "registration", "delete", "withdraw", "see_data", "records", "officer"], Route]
    other_programmes: dict[str, Route]
    abuse: Route
    injection: Route
    other_topics: dict[str, Route]
    vague: Route

    @model_validator(mode="after")
    def _replies(self) -> RoutingContent:
        for name, route in {**self.crisis, **self.other_topics, **self.other_programmes, "abuse": self.abuse, "injection": self.injection,
                            "vague": self.vague}.items():
            if not route.reply:
                raise ValueError(f"{name} needs a reply")
        for name, route in self.crisis.items():
            if not route.also:
                raise ValueError(f"crisis {name} needs its help in one line (also)")
        for name, route in self.flows.items():
            if not route.payload:
                raise ValueError(f"flow {name} needs a payload")
        return self


class CoreQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    asks: list[str] = Field(min_length=1)
    other_asks: list[str] = Field(default_factory=list)
    other_idioms: list[str] = Field(default_factory=list)  # words like an other ask that are none ("làm lại cuộc đời")
    special: list[str] = Field(default_factory=list)
    details: list[str] = Field(default_factory=list)  # excluded only when no group is named
    bare_asks: list[str] = Field(default_factory=list)  # the whole message, with the person's situation known
    follow_ups: list[str] = Field(default_factory=list)  # the whole message: the last topic again
    told: list[str] = Field(default_factory=list)  # a clause that tells, not asks ("trước nghiện mấy năm")
    wants: list[str] = Field(default_factory=list)  # "nó muốn vay tiền nuôi bò" told with the situation: the core question
    wants_unless: list[str] = Field(default_factory=list)  # a wish with its own answer ("muốn vay học nghề")


TOPIC_COLUMNS = ("qd08", "qd22", "qd08_business", "qd22_business", "jobs", "any")


class TopicCue(BaseModel):
    """Words that settle a doubt between close topics: the question says one of `phrases`, and
    either one of `words` or the purpose the person told before (e.g. "mỗi tháng" with "học", or
    after "muốn đi học nghề": the monthly training loan, not the overall amount)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phrases: list[str] = Field(min_length=1)
    words: list[str] = Field(default_factory=list)
    purpose: str | None = None
    over: list[str] = Field(default_factory=list)  # topics it replaces even when answered with confidence
    unless: list[str] = Field(default_factory=list)  # words that make it another question ("lãi mỗi tháng")
    also: list[str] = Field(default_factory=list)  # close topics the same words point at
    # Counts when said anywhere in a one-question message, not only in the question's own sentence
    # ("Em sợ lên xã bị theo dõi. Có cách nào khác để đăng ký không?").
    story: bool = False
    # Answers before "yes, if …" to the core question ("vừa ra tù vừa cai nghiện thì vay theo cái nào",
    # "vay trả nợ được không"): the cue's topic, not the conditions.
    before_core: bool = False


TOPIC_COLUMNS = ("qd08", "qd22", "qd08_business", "qd22_business", "jobs", "any")


class Topics(BaseModel):
    """content/topics.yaml: the same question for each programme, and the core question."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: dict[str, dict[str, str]]  # topic → column (one of TOPIC_COLUMNS) → FAQ entry id
    check_topics: list[str] = Field(default_factory=list)
    register_topics: list[str] = Field(default_factory=list)  # answers that offer "Đăng ký nhu cầu vay"
    core: CoreQuestion
    cues: dict[str, TopicCue] = Field(default_factory=dict)

    def topic_of(self, entry_id: str) -> str | None:
        return next((name for name, row in self.topics.items() if entry_id in row.values()), None)

    @field_validator("topics")
    @classmethod
    def _known_columns(cls, topics: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for name, row in topics.items():
            unknown = sorted(set(row) - set(TOPIC_COLUMNS))
            if unknown:
                raise ValueError(f"topic {name}: unknown column {unknown[0]} (one of {', '.join(TOPIC_COLUMNS)})")
        return topics

    @model_validator(mode="after")
    def _cues_name_topics(self) -> Topics:
        for name, cue in self.cues.items():
            unknown = {name, *cue.also, *cue.over} - set(self.topics)
            if unknown:
                raise ValueError(f"cue {name!r} names topics that do not exist: {sorted(unknown)}")
        return self

    @property
    def any_entries(self) -> frozenset[str]:
        """The entries that answer a topic for both programmes (the `any` column)."""
        return frozenset(row["any"] for row in self.topics.values() if "any" in row)
