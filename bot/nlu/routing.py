"""Routing before retrieval: what a message is, decided from content/routing.yaml and topics.yaml.

Someone in danger, a flow asked for in words, another programme, abuse or an attempt to change the
bot's role, another topic, a vague message, the core question ("vay được không?") — or a policy
question for FAQ retrieval. Each category is a list of accent-free phrases that curators extend;
phrases are matched on the message as typed (folded) and with the lexicon's abbreviations expanded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.nlu.normalize import RECENT, Normalizer, clean, fold
from bot.nlu.numbers import without_figures
from bot.nlu.phrases import SENTENCE_MARK, affirmed, compile_phrases, compile_required
from bot.nlu.spoken import spelled_numbers
from content.models import Route, RoutingContent, Topics

if TYPE_CHECKING:
    from bot.nlu.crisis import CrisisModel

NON_WORD = re.compile(r"[^\w]+")
# Where one sentence ends: cues that count only together must meet inside one sentence, so a long
# story ("hai đứa nhỏ đi học…" then "anh đi cai bắt buộc…") does not add up to a crisis.
SENTENCE_END = re.compile(r"[.!?;\n]+(?:\s+|$)")
CLAUSE_END = re.compile(r"[.!?;,\n]+(?:\s+|$)")
BOUNDARY = f" {SENTENCE_MARK} "
# Question words (accent-free, abbreviations expanded): with one of them a wish to borrow is no
# longer only told ("muốn vay thì nộp cho ai").
WANT_NOT_ASKED = frozenset({"ai", "gi", "nao", "sao", "khong", "chua", "dau", "bao", "may", "ha", "hong", "nhieu"})


def sentences(text: str) -> list[str]:
    """The message's sentences, in order (the whole text when it is one)."""
    return [p for p in SENTENCE_END.split(text) if p.strip()]


@dataclass(frozen=True)
class Verdict:
    """kind: crisis | flow | other_programme | abuse | injection | other_topic | vague | policy."""

    kind: str
    name: str | None = None
    reply: str | None = None


POLICY = Verdict("policy")


LOAN_WORD = re.compile(r"\b(?:vay|vốn|von)\b")
# Asked: a question word before "(cho) vay", or a question particle closing the message.
ASK_WORD = re.compile(r"\b(?:ai|dau|nao|sao|gi) (?:cho )?vay\b|\b(?:khong|ko|k|hong|chua|ha|sao|nao|gi|j|dau|bao nhieu|bn|nhieu)$")
LOAN_SHARKS = re.compile(r"\b(?:bon|tui|dam|lu|may thang|thang) (?:cho vay|doi no)|\bcho vay nang lai|\bchu no|\btin dung den|\bgiang ho")


def folded_view(text: str) -> str:
    """Accent-free lower-case words, punctuation as spaces: the view phrases and the crisis model read."""
    return " ".join(NON_WORD.sub(" ", fold(text)).split())


ALTERNATIVE_GROUP = re.compile(r"\(([^()]*)\)")


def _split(phrases: list[str]) -> tuple[list[str], list[str]]:
    """Accent-free phrases, and phrases written with accents (matched only on the accented text:
    "tự tử" is not "tù từ", which folds the same)."""
    accented = [p for p in phrases if not p.isascii()]
    for phrase in accented:
        for options in ALTERNATIVE_GROUP.findall(phrase):
            words = options.split("|")
            folded = {fold(w) for w in words if not w.isascii()}
            if any(w.isascii() and w in folded for w in words):
                # "(so|sợ) ... (khong|ko) ...": one accented word sends the whole phrase to the
                # accented text, where the accent-free "so" and "khong" stand for nothing typed
                # with accents; it then only ever matched text typed without them.
                raise ValueError(f"phrase {phrase!r}: ({options}) has a word both with and without its accents; "
                                 "write the phrase twice, once each way")
    return [p for p in phrases if p.isascii()], accented


class _Cues:
    """One set of cue phrases, accent-free ones on the folded views, accented ones ("thèm", not
    "thêm") on the accented text."""

    def __init__(self, phrases: list[str]) -> None:
        plain, accented = _split(phrases)
        self.plain, self.accented = compile_phrases(plain), compile_phrases(accented, accented=True)

    def found(self, views: tuple[str, ...]) -> bool:
        return (self.plain is not None and any(self.plain.search(v) for v in views[1:])) or (
            self.accented is not None and self.accented.search(views[0]) is not None)


class _Compiled:
    def __init__(self, route: Route) -> None:
        plain, accented = _split(route.phrases)
        self.pattern = compile_phrases(plain, whole=route.whole_message)
        self.accented = compile_phrases(accented, whole=route.whole_message, accented=True)
        self.unless = compile_phrases(route.unless)
        self.together = [[_Cues(cues) for cues in group] for group in route.together]
        self.whole = route.whole_message
        self.route = route

    def matches(self, views: tuple[str, ...], sentences: list[tuple[str, ...]] | None = None) -> bool:
        """`views`: the accented text first, then the folded and expanded forms. `sentences`: the
        same views of each sentence, when there are several; the cues of one `together` group must
        all be in one of them."""
        hit = False
        if self.pattern is not None:
            found = self.pattern.fullmatch if self.whole else self.pattern.search
            hit = any(found(view) for view in views[1:])
        if not hit and self.accented is not None:
            hit = (self.accented.fullmatch if self.whole else self.accented.search)(views[0]) is not None
        if not hit and self.together:
            hit = any(all(cues.found(part) for cues in group) for group in self.together for part in sentences or [views])
        if not hit:
            return False
        # "không thuộc diện cai nghiện": a word a denial covers does not hold the route back.
        return self.unless is None or not any(affirmed(self.unless, view) for view in views[1:])


class Triage:
    """Classifies one message; the patterns are compiled once from content."""

    def __init__(self, routing: RoutingContent, topics: Topics, normalizer: Normalizer, group_words: list[str]) -> None:
        self.normalizer = normalizer
        self.crisis = {name: _Compiled(route) for name, route in routing.crisis.items()}
        self.told_as_past = [_Cues(cues) for cues in routing.crisis_told_as_past]
        self.still = _Cues(routing.crisis_still)
        self.idioms = compile_phrases(routing.crisis_idioms)
        self.flows = {name: _Compiled(route) for name, route in routing.flows.items()}
        self.flow_payloads: dict[str, str] = {name: route.payload for name, route in routing.flows.items() if route.payload}
        self.programmes = {name: _Compiled(route) for name, route in routing.other_programmes.items()}
        self.abuse = _Compiled(routing.abuse)
        self.injection = _Compiled(routing.injection)
        self.topics = {name: _Compiled(route) for name, route in routing.other_topics.items()}
        self.vague = _Compiled(routing.vague)
        self.groups = compile_phrases(group_words)
        self.core_asks = compile_required(topics.core.asks)
        self.core_other = compile_phrases(topics.core.other_asks)
        self.core_other_idioms = compile_phrases(topics.core.other_idioms)
        self.core_special = compile_phrases(topics.core.special)
        self.core_details = compile_phrases(topics.core.details)
        self.core_bare = compile_phrases(topics.core.bare_asks, whole=True)
        self.follow_up = compile_phrases(topics.core.follow_ups, whole=True)
        self.core_told = compile_phrases(topics.core.told)
        self.core_wants = compile_phrases(topics.core.wants)
        self.core_wants_unless = compile_phrases(topics.core.wants_unless)
        self.cues = {name: (compile_required(cue.phrases), compile_phrases(cue.words), cue.purpose, compile_phrases(cue.unless))
                     for name, cue in topics.cues.items()}
        self.cue_also = {name: set(cue.also) for name, cue in topics.cues.items()}
        self.story_cues = {name for name, cue in topics.cues.items() if cue.story}
        self.views = lru_cache(maxsize=RECENT)(self._views)  # the repeats within one message
        self.crisis_model: CrisisModel | None = None  # bot/nlu/crisis.py, set when scikit-learn is installed

    def _views(self, text: str) -> tuple[str, ...]:
        """The message with accents (lower case, punctuation as spaces), then folded, with the
        abbreviations expanded, and in the FAQ's canonical form (synonyms: "vai vốn" → "vay vốn").
        Sentences stay apart (BOUNDARY between them): a phrase never runs from one into the next,
        so "hai đứa nhỏ đi học… Năm 2023" is not "học … năm"."""
        said = sentences(text)
        if len(said) > 1:
            parts = [self._views(p) for p in said]
            width = max(len(v) for v in parts)
            return tuple(BOUNDARY.join(v[min(i, len(v) - 1)] for v in parts if v[min(i, len(v) - 1)]) for i in range(width))
        # Numbers said in words count as figures ("một trăm triệu đúng không" is "100 triệu …").
        spelled = spelled_numbers(clean(text))
        accented = " ".join(NON_WORD.sub(" ", spelled).split())
        views = [accented, folded_view(spelled)]
        for other in (self.normalizer.light(text), self.normalizer(text).text):
            if other and other not in views:
                views.append(other)
        return tuple(views)

    def in_danger(self, text: str, *, answering: Callable[[], bool] = lambda: False,
                  requesting: Callable[[], str | None] | None = None) -> Verdict | None:
        """Someone in danger: checked first, in every state. `answering()`: whether the text is the
        answer a flow's step takes ("cho thằng con trai tui"); `requesting()`: the flow it asks for
        in words. Either way only the phrases count, not the model (both asked only when no phrase
        matched and the model would decide)."""
        text = text[:2000]
        views = self.views(text)[:3]
        if self.idioms is not None and any(self.idioms.search(v) for v in views[1:]):
            # "mệt muốn chết với mấy cái thủ tục": the figure of speech taken out, the rest still counts.
            text = self.idioms.sub(" ", views[1])
            views = (text, *(self.idioms.sub(" ", v) for v in views[1:]))
        telex = self.normalizer.telex(text)
        if telex not in views:
            views += (telex,)  # "khoong muoons soongs" typed without an input method
        if self.told_as_past and all(cues.found(views) for cues in self.told_as_past) and not self.still.found(views):
            return None  # "hồi còn nghiện em từng…, giờ ổn rồi, vay…": a question about the loan
        said = sentences(text)
        parts = [self.views(p)[:3] for p in said] if len(said) > 1 else None
        kinds = [name for name, compiled in self.crisis.items() if compiled.matches(views, parts)]
        if kinds:
            return self.crisis_verdict(kinds)
        if requesting is None:
            requesting = lambda: self.flow_request(text) or self.clause_request(text)  # noqa: E731
        if self.crisis_model is None or answering() or requesting():
            return None  # "tôi nói rồi mà, đăng ký cho tôi đi": a request, whatever the model makes of it
        kind = self.crisis_model.kind(text, views, loan_question=self.asks_about_loan(views[0]))
        if kind is not None and kind in self.crisis:
            return self.crisis_verdict([kind])
        return None

    def crisis_verdict(self, kinds: list[str]) -> Verdict:
        """One reply for every danger told: the first kind's (content order: overdose, suicide,
        violence, …) with the others' one-line help after it ("dọa chém…, chắc không sống nổi nữa":
        the person's despair, then 113). The name joins the kinds ("suicide+violence")."""
        first = self.crisis[kinds[0]].route
        lines = [first.reply or ""] + [self.crisis[k].route.also or "" for k in kinds[1:]]
        return Verdict("crisis", "+".join(kinds), " ".join(line.strip() for line in lines if line.strip()))

    def crisis_again(self, kinds: list[str]) -> str:
        """The help of each kind in one line each: for the same danger told again."""
        return " ".join((self.crisis[k].route.also or "").strip() for k in kinds if k in self.crisis)

    def flow_request(self, text: str) -> str | None:
        """The flow asked for in words ("đăng ký vay", "kiem tra dk", "xóa dữ liệu của tôi"), if any."""
        if len(text) > 200:
            return None  # a story, not a request
        views = self.views(text)
        return next((name for name, compiled in self.flows.items() if compiled.matches(views)), None)

    def clause_request(self, text: str) -> str | None:
        """A flow asked for in one clause, the others telling and none asking: "chị muốn đăng ký vay
        cho chồng chị, anh ấy cai nghiện xong năm ngoái", "tau ở xã Diễn Châu. đăng ký luôn đi". An amount
        told beside the request is the registration's answer, not a question ("muốn vay hai trăm triệu nuôi bò")."""
        if len(text) > 200 or "?" in text:
            return None
        parts = [p for p in CLAUSE_END.split(text) if p.strip()]
        if len(parts) < 2:
            return None
        for name, compiled in self.flows.items():
            asking = [p for p in parts if compiled.whole and compiled.matches(self.views(p))]
            if asking:
                # The other clauses only tell: each is judged alone ("…mới đi cai về hồi tháng 3" and
                # "tui muốn đăng ký cho nó vay" make no "mới cai về… vay" question together).
                told = [p for p in parts if p not in asking]
                return None if any(self.has_ask(without_figures(p)) for p in told) else name
        return None

    def classify(self, text: str, *, known_group: bool = False) -> Verdict:
        """For text no flow took: another programme, abuse, another topic, vague — or a policy question.
        Matched as typed (accented, folded, abbreviations expanded), not in the FAQ's canonical form,
        where "quyết định 08" has become "cai nghiện". `known_group`: the conversation named one."""
        views = self.views(text[:2000])[:3]
        names_group = self.names_group(text)
        for name, compiled in self.programmes.items():
            route = compiled.route
            if compiled.matches(views) and not (route.weak and names_group) and not (route.weak_in_conversation and known_group):
                return Verdict("other_programme", name, compiled.route.reply)
        for kind, compiled in (("injection", self.injection), ("abuse", self.abuse)):
            if compiled.matches(views):
                return Verdict(kind, kind, compiled.route.reply)
        for name, compiled in self.topics.items():
            if compiled.matches(views) and not (name != "banks" and names_group and self.is_core(text)):
                return Verdict("other_topic", name, compiled.route.reply)
        if self.vague.matches(views):
            return Verdict("vague", "vague", self.vague.route.reply)
        return POLICY

    def names_group(self, text: str) -> bool:
        # "không thuộc diện cai nghiện hay ra tù gì cả" names no group of theirs.
        return any(affirmed(self.groups, v) for v in self.views(text[:2000])[1:])

    def is_core(self, text: str, *, known_group: bool = False) -> bool:
        """'Can I (can they) borrow?' and nothing more specific. `known_group`: the person said
        earlier whether it is about rehab, prison or a business."""
        views = self.views(text[:2000])[1:]
        if known_group and self.core_bare is not None and any(self.core_bare.fullmatch(v) for v in views):
            return True  # "dc ko ad" after the person told their situation
        if not any(self.core_asks.search(v) for v in views) and not self._wants(text, views, known_group):
            return False
        plain = tuple(self.core_other_idioms.sub(" ", v) for v in views) if self.core_other_idioms is not None else views
        if self.core_other is not None and any(self.core_other.search(v) for v in plain):
            return False  # another ask ("lãi bao nhiêu"), not "làm lại cuộc đời"
        if self.core_special is not None and any(self.core_special.search(v) for v in views):
            return False
        if self.core_details is not None and any(self.core_details.search(v) for v in views):
            return known_group or self.names_group(text)
        return True

    def _wants(self, text: str, views: tuple[str, ...], known_group: bool) -> bool:
        """"thằng con tui cai về được 2 năm, giờ nó muốn vay tiền nuôi bò": a wish to borrow told
        with whose situation it is, and nothing asked — whether one can is the question."""
        if self.core_wants is None or "?" in text or not any(self.core_wants.search(v) for v in views):
            return False
        if set(views[0].split()) & WANT_NOT_ASKED:
            return False  # "…hồ sơ xin vay em nộp cho ai": a question of its own
        if self.core_wants_unless is not None and any(self.core_wants_unless.search(v) for v in views):
            return False
        return (known_group or self.names_group(text)) and not self.has_ask(text)

    def asks_core(self, text: str) -> bool:
        """Whether the text asks if one can borrow at all (before the other asks are looked at)."""
        return any(self.core_asks.search(v) for v in self.views(text[:2000])[1:])

    def is_special(self, text: str) -> bool:
        """A situation with its own entries (relapse, still serving, another loan…): never the core answer."""
        return self.core_special is not None and any(self.core_special.search(v) for v in self.views(text[:2000])[1:])

    def is_follow_up(self, text: str) -> bool:
        """'Thế thì sao?', 'còn em thì sao?': the last topic again, for the person as they are now."""
        return self.follow_up is not None and any(self.follow_up.fullmatch(v) for v in self.views(text[:200])[1:])

    def cued_topics(self, text: str, purpose: str | None, story: str | None = None) -> set[str]:
        """The topics content/topics.yaml `cues` point at in this question (with the person's purpose).
        `story`: the whole message when `text` is its only question; the cues marked `story` count in it."""
        views = self.views(text[:2000])[1:]
        told = self.views(story[:2000])[1:] if story and story != text else views
        cued = set()
        for name, (phrases, words, wanted, unless) in self.cues.items():
            seen = told if name in self.story_cues else views
            if not any(phrases.search(v) for v in seen) or (unless is not None and any(unless.search(v) for v in seen)):
                continue
            if words is None and wanted is None or (wanted is not None and purpose == wanted) or (
                    words is not None and any(words.search(v) for v in seen)):
                cued.add(name)
                cued |= self.cue_also[name]
        return cued

    def asks_about_loan(self, text: str) -> bool:
        """A question about the loan ("rồi sao nữa, ai cho vay"): "vay" or "vốn" on the accented text
        ("vậy" is no loan) and something asked."""
        folded = folded_view(text)
        if LOAN_WORD.search(text) is None or LOAN_SHARKS.search(folded):
            return False  # "bọn cho vay giữ em lại": the lenders who threaten are no loan question
        return ASK_WORD.search(folded) is not None or self.has_ask(text)

    def has_ask(self, text: str) -> bool:
        """Whether the text asks something itself (an amount, the rate, where, whether…)."""
        views = self.views(text[:2000])[1:]
        return any(p is not None and p.search(v) for p in (self.core_asks, self.core_other) for v in views)

    def tells(self, text: str) -> bool:
        """A clause of the story with a word that can ask ("chồng em trước nghiện mấy năm") and no
        question: whether one can borrow it does not ask."""
        views = self.views(text[:2000])[1:]
        return (self.core_told is not None and any(self.core_told.search(v) for v in views)
                and not any(self.core_asks.search(v) for v in views))
