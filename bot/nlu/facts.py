"""What a person has said about their situation, read from whatever they type, kept across turns.

Every message is read for a few facts — the programme (after rehab, after prison, a business that
employs such people, the job-creation programme), for whom (self or a relative), an age, the years
since the post-rehab decision or the release, an amount, a purpose — with the words for each in
content/facts.yaml. The newest mention wins, so a correction ("à nhầm, nó ra tù") simply
replaces what was said before. The facts live in the conversation state (encrypted at rest),
expire after a configurable silence and are erased with the person's data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.nlu.normalize import fold
from bot.nlu.numbers import MONTH_OF_YEAR, calendar_year, full_year, parse_amount, parse_years_ago
from bot.nlu.phrases import affirmed, compile_phrases
from bot.nlu.spoken import spelled_numbers
from content.models import FactWords

Programme = Literal["qd08", "qd22", "jobs"]
Span = tuple[float, float]


class Facts(BaseModel):
    """The person's situation as told so far; None means not said."""

    model_config = ConfigDict(validate_assignment=True)

    programme: Programme | None = None
    business: bool | None = None  # asking as (or for) a business that employs such people
    who: Literal["self", "relative"] | None = None
    # The speaker's relationship to that relative ("con tui" → parent), a value of the registration's choices.
    relation: str | None = None
    business_kind: str | None = None  # a business's kind as told ("hộ kinh doanh"), a value of the registration's choices
    age: Span | None = None
    birth_year: int | None = None  # when said as a year ("nó sinh năm 98"): the registration asks it
    years_since: Span | None = None  # since the post-rehab decision (QĐ 08) or the release (QĐ 22)
    event_year: int | None = None  # that event's year when said as one ("năm 2023", "năm ngoái")
    amount: int | None = None
    purpose: Literal["vocational_training", "business"] | None = None
    workforce_total: int | None = None  # a business: its workers, and how many are after rehab or prison
    workforce_beneficiaries: int | None = None
    rehab_completion: Literal["voluntary", "compulsory", "substitution_treatment", "not_completed"] | None = None
    ambiguous_place: bool = False  # "trại": a rehab centre or a prison? asked once
    topic: str | None = None  # the topic of the last answer, for "còn người ra tù thì sao"
    updated: datetime | None = None

    @property
    def empty(self) -> bool:
        return self.model_dump(exclude_defaults=True, exclude={"updated", "topic"}) == {}

    @property
    def key(self) -> str | None:
        """The row of content/topics.yaml this situation belongs to: qd08, qd22, qd08_business, …"""
        if self.programme is None:
            return None
        return f"{self.programme}_business" if self.business and self.programme != "jobs" else self.programme

    def merged(self, newer: Facts) -> Facts:
        values = self.model_dump()
        values.update(newer.model_dump(exclude_defaults=True, exclude={"updated"}))
        if self.business and newer.business is False and newer.who is None:
            # "quán tui có 25 nhân viên" … "trong đó có 1 đứa từng đi cai": the workers, not a new subject.
            values["business"] = True
        if newer.who is not None and newer.who != self.who:
            values["relation"] = newer.relation  # someone else now: their relationship, if said
        if newer.programme is not None:
            values["ambiguous_place"] = newer.ambiguous_place
            if newer.programme != self.programme and newer.years_since is None:
                values["years_since"] = values["event_year"] = None  # the year belonged to the other programme's event
        return Facts.model_validate(values)

    def expired(self, now: datetime, idle: timedelta) -> bool:
        return self.updated is not None and now - self.updated > idle

    def profile(self) -> dict:
        """The facts as eligibility profile fields (only what is known)."""
        out: dict = {}
        if self.business:
            out["applicant"] = "business"
        elif self.programme in ("qd08", "qd22"):
            out["applicant"] = "person"
        if self.programme in ("qd08", "qd22"):
            out["background"] = "after_rehab" if self.programme == "qd08" else "after_prison"
        if not self.business:
            if self.age is not None:
                out["age"] = list(self.age) if self.age[0] != self.age[1] else self.age[0]
            if self.years_since is not None and self.programme in ("qd08", "qd22"):
                field = "years_since_management_decision" if self.programme == "qd08" else "years_since_release"
                out[field] = list(self.years_since) if self.years_since[0] != self.years_since[1] else self.years_since[0]
            if self.purpose is not None:
                out["purpose"] = self.purpose
            if self.rehab_completion is not None and self.programme == "qd08":
                out["rehab_completion"] = self.rehab_completion
        if self.amount is not None:
            out["amount_requested_vnd"] = self.amount
        return out


AGE = re.compile(r"(?<!\d)(\d{1,2})\s*(?:tuoi|t)\b|\bnam nay (?:moi |duoc |la )?(\d{1,2})\b"
                 r"|\bmoi (\d{1,2})\b(?! (?:nam|thang|trieu|tr|ngay))")
BORN = re.compile(r"\b(?:sinh|sanh|sn|de)\s*(?:nam\s*)?(19\d\d|20\d\d|\d\d)\b(?! ?(?:tuoi|nam|thang|ngay|dua|trieu|tr|nguoi|lan)\b)")
YEARS = re.compile(r"\b(19\d\d|20\d\d)\b|\b\d+(?:[.,]\d+)?\s*(?:nam|thang)\b|\bnam (?:ngoai|nay|truoc)\b"
                   rf"|{MONTH_OF_YEAR.pattern}|\bthang \d{{1,2}}\b")
BIRTH_WORD_BEFORE = re.compile(r"\b(sinh|sanh|sn|de)\s*(nam)?\s*$")  # "sinh năm 1998": the year that follows is a birth
MONTH_THIS_YEAR = re.compile(r"\b(?:hoi |tu |vao )?thang (\d{1,2})(?: nam nay)?\b")
# "ra tu năm 2017" after a rehab word: "ra từ" (out since), which folds like "ra tù".
SINCE = re.compile(r"ra tu (?:nam|thang|hoi|luc|khi|ngay|dau|cuoi|\d)")
# A business's workforce: "có 20 thợ, trong đó 4 đứa từng đi cai".
STAFF = re.compile(r"\b(\d{1,5})\s*(?:tho|lao dong|cong nhan|nhan vien|nguoi lam|nguoi lao dong|anh em (?:tho|lam))\b")
# "trong đó 4", or the count told with its group: "2 người từng đi cai", "3 đứa ra tù".
STAFF_PART = re.compile(r"\btrong (?:do|so (?:do|nay)) (?:co )?(\d{1,5})\b"
                        r"|\b(\d{1,5}) (?:(?:nguoi|dua|thang|tho|anh em|lao dong|cong nhan|ban) )?(?:(?:tung|da|moi|vua|la|bi) )?"
                        r"(?:di cai|cai nghien|sau cai|cai xong|o tu|ra tu|di tu|chap hanh)")
MONEY = re.compile(r"\d+(?:[.,]\d+)?\s*(?:trieu|tr|ty|ti|cu)\b")


def _born_before(folded: str, start: int) -> bool:
    """Whether the number at `start` follows "sinh", "sn", "đẻ" (năm): a year of birth, not of an event."""
    return BIRTH_WORD_BEFORE.search(folded[max(0, start - 12): start]) is not None


class FactReader:
    """Reads facts from one message, with the words listed in content/facts.yaml."""

    def __init__(self, words: FactWords) -> None:
        self.rehab = compile_phrases(words.rehab)
        self.prison = compile_phrases(words.prison)
        self.ambiguous = compile_phrases(words.ambiguous_place)
        self.business = compile_phrases(words.business)
        self.individual = compile_phrases(words.individual)
        self.jobs = compile_phrases(words.jobs)
        self.relative = compile_phrases(words.relative)
        self.self_ = compile_phrases(words.self_words)
        self.training = compile_phrases(words.training)
        self.business_use = compile_phrases(words.business_use)
        self.general = compile_phrases(words.general_question)
        self.completion = {kind: compile_phrases(phrases) for kind, phrases in words.completion.items()}

    def read(self, text: str, today: date, views: tuple[str, ...] = ()) -> Facts:
        """`views`: other forms of the text (abbreviations expanded, Telex decoded) read for words;
        numbers are read from the folded text."""
        folded = fold(text)
        return self._read(folded, " . ".join((folded, *views)), today)

    def _read(self, folded: str, text: str, today: date) -> Facts:
        facts = Facts()
        rehab = self._last(self.rehab, text)
        prison = self._last(self.prison, text)
        if rehab >= 0 and prison >= 0 and all(SINCE.match(text, m.start()) for m in affirmed(self.prison, text)):
            prison = -1  # "cai bắt buộc ra từ năm 2017" typed without accents: "ra từ", not "ra tù"
        jobs = self._last(self.jobs, text)
        named: tuple[tuple[int, Programme], ...] = ((rehab, "qd08"), (prison, "qd22"), (jobs, "jobs"))
        mentions = [(p, name) for p, name in named if p >= 0]
        if mentions:
            facts.programme = max(mentions)[1]  # the last one named: "không phải cai, nó ra tù"
        elif self._last(self.ambiguous, text) >= 0:
            facts.ambiguous_place = True
        general = self.general is not None and self.general.search(text) is not None
        if self._last(self.business, text) >= 0:
            facts.business = True
        elif facts.programme is not None and not general:
            facts.business = False
        if not general:
            if self._last(self.relative, text) >= 0:
                facts.who = "relative"
            elif self._last(self.self_, text) >= 0 and facts.programme is not None:
                facts.who = "self"
            facts.birth_year = self._birth_year(folded, today)
            facts.age = self._age(folded, facts.birth_year, today)
            facts.years_since = self._years(folded, today)
            if facts.years_since is not None:
                facts.event_year = self._event_year(folded, today)
        training, business_use = self._last(self.training, text), self._last(self.business_use, text)
        if training >= 0 or business_use >= 0:
            facts.purpose = "vocational_training" if training > business_use else "business"
        if facts.programme in (None, "qd08"):
            kinds = [(self._last(p, text), kind) for kind, p in self.completion.items()]
            kinds = [k for k in kinds if k[0] >= 0]
            if kinds:
                facts.rehab_completion = max(kinds)[1]
        if facts.business:
            total, part = STAFF.search(folded), STAFF_PART.search(folded)
            if total:
                facts.workforce_total = int(total.group(1))
                count = int(next(g for g in part.groups() if g)) if part else None
                if count is not None and count <= facts.workforce_total:
                    facts.workforce_beneficiaries = count
        money = MONEY.search(spelled_numbers(folded))  # "hai trăm triệu" too
        if money:
            facts.amount = parse_amount(money.group(0))
        return facts

    @staticmethod
    def _last(pattern: re.Pattern | None, text: str) -> int:
        """Where the last mention starts; a negated one ("chứ không phải đi cai") does not count."""
        found = affirmed(pattern, text)
        return found[-1].start() if found else -1

    @staticmethod
    def _birth_year(folded: str, today: date) -> int | None:
        born = BORN.search(folded)
        if born is None:
            return None
        year = int(born.group(1))
        year = full_year(year, today) if year < 100 else year
        return year if year <= today.year else None

    @staticmethod
    def _age(folded: str, born: int | None, today: date) -> Span | None:
        if born is not None:
            return (float(max(today.year - born - 1, 0)), float(today.year - born))
        for match in AGE.finditer(folded):
            value = next(g for g in match.groups() if g)
            if 0 < int(value) <= 99:
                return (float(value), float(value))
        return None

    @staticmethod
    def _event_year(folded: str, today: date) -> int | None:
        """The calendar year of the event: "năm 2023", "năm ngoái", "hồi tháng 3" (never a birth year)."""
        for match in re.finditer(r"\b(19\d\d|20\d\d)\b", folded):
            if not _born_before(folded, match.start()):
                year = int(match.group(1))
                return year if year <= today.year else None
        return calendar_year(folded, today)

    @staticmethod
    def _years(folded: str, today: date) -> Span | None:
        month = MONTH_THIS_YEAR.search(folded)
        if month and not re.search(r"\b(19|20)\d\d\b", folded) and not MONTH_OF_YEAR.search(folded) and 1 <= int(month.group(1)) <= 12:
            months = today.month - int(month.group(1))
            if months >= 0:
                return (months / 12, (months + 1) / 12)
        for match in YEARS.finditer(folded):
            if _born_before(folded, match.start()):
                continue  # a year of birth
            if match.group(0) == "nam nay" and re.match(r"\s*(moi |duoc |la )?\d", folded[match.end():]):
                continue  # "năm nay 17": an age
            if re.fullmatch(r"\d+(?:[.,]\d+)?\s*(?:nam|thang)", match.group(0)):
                # "2 năm" is a duration only after "được", "từ", "đã", "cách đây"…: "vay 2 năm" is a term.
                before = folded[max(0, match.start() - 12): match.start()]
                if not re.search(r"\b(duoc|tu|da|cach day|hon|gan|khoang|roi|ve|ra|xong)\s*$", before):
                    continue
                if re.search(r"\b(di|o|ngoi|vao|an|lanh|bi|chiu|thi hanh) tu\s*$", before):
                    continue  # "đi tù 3 năm" (folded "tu" is also "từ"): the sentence served, not the years since
            value = parse_years_ago(match.group(0), today)
            if value is None or isinstance(value, str):
                continue
            return (float(value[0]), float(value[1])) if isinstance(value, tuple) else (float(value), float(value))
        return None
