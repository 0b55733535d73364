"""Policy questions: routed first, then answered from the curated FAQ with what the person said before.

A message goes through three steps (bot/nlu): routing (another programme, another topic, abuse,
vague — each with its own honest reply; crisis and flow requests were taken by the router
already), retrieval (the entries that answer it, each clause of a message asking several things),
and context (the person's programme, age, years… pick the programme's answer; the rules decide
"yes, if…" or "not yet" for the core question). Every answer offers "Không đúng ý tôi".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.context import Context, Outcome, Result
from bot.i18n import texts as texts_for
from bot.nlu.facts import Facts
from bot.nlu.matcher import MatchResult, Status
from bot.nlu.normalize import fold
from bot.nlu.phrases import without_denials
from bot.nlu.routing import Verdict
from bot.privacy import redact_question
from bot.registration.record import staff_share
from bot.router import Router
from bot.state import ConversationState, Flow
from bot.types import Button, Incoming, Reply
from content.models import FaqEntry
from handlers.common import QUESTION_MARK, asks, at_window_end, back_to_menu, menu_buttons, near_window_end

MAX_ANSWERS = 3
MAX_CLAUSES = 8
MAX_CLAUSE_TEXT = 2000
PERSONAL_TOPICS = frozenset({"eligible", "window", "conditions", "register", "family"})  # the rules decide first
NOT_COVERED = "notcovered."  # content/faq/not_covered.yaml: outside both programmes, said honestly
# What someone says of their own situation (not a purpose: "cách nuôi cá koi" tells nothing).
SITUATION = {"programme", "business", "ambiguous_place", "years_since", "age", "relation", "rehab_completion"}
FUZZ_DEPTH = 6  # how far down the ranking a cue looks for its topic
WEAK_FLOOR = 0.3  # in a message with several questions, a clause's best candidate needs at least this


@dataclass(frozen=True)
class Found:
    """One answer found for (part of) a message."""

    entry_id: str
    score: float
    personal: bool = False  # the rules decide the first sentence from what the person said


def register(router: Router) -> None:
    router.payload("faq", on_payload)
    router.intent("missed", on_missed_intent)
    router.on_crisis = crisis_reply_for
    router.text(on_text)


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result:
    """Answers a free-text question, whatever the menu state."""
    state.flow, state.step = Flow.FAQ, None
    return respond(ctx, msg.text, state)


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """faq:<id> (a question button; faq:<id>:s when chosen among suggestions), faq:none, faq:miss:<id>
    ("Không đúng ý tôi"), faq:place:qd08|qd22 (the answer to "trại cai nghiện hay trại giam?")."""
    state.flow, state.step = Flow.FAQ, None
    parts = payload.split(":")
    if len(parts) >= 3 and parts[1] == "miss":
        return missed(ctx, state, parts[2])
    if len(parts) == 3 and parts[1] == "place" and parts[2] in ("qd08", "qd22"):
        state.facts = state.facts.model_copy(update={"programme": parts[2], "ambiguous_place": False})
        pending, state.faq.pending_place = state.faq.pending_place, None
        if pending:
            return respond(ctx, pending, state)
        return situation_reply(ctx, state.facts)
    entry = ctx.content.faq_by_id.get(parts[1] if len(parts) > 1 else "")
    if entry is None:
        last = state.faq.last_question
        if parts[1:2] == ["none"] and last:
            ctx.record_unanswered(last, "none_fit")
        return Result([fallback_reply(ctx)], Outcome(Status.FALLBACK.value))
    if parts[2:3] == ["s"] and state.faq.last_question:
        ctx.record_unanswered(f"{state.faq.last_question} → {entry.id}", "chosen")
    remember_topic(ctx, state, entry.id)
    return Result([answer_reply(ctx, entry)], Outcome(Status.ANSWER.value, entry.id, 1.0))


# -- understanding -----------------------------------------------------------------------------------


CRISIS_FOLLOW_UP_WORDS = 5  # after a crisis reply, a message this short naming no loan is a reply to it


def respond(ctx: Context, text: str, state: ConversationState | None = None) -> Result:
    """Routes the message, then answers each question in it with the person's context."""
    state = state if state is not None else ConversationState()
    before = ctx.earlier_facts or state.facts  # whose situation the conversation named before this message
    verdict = ctx.triage.classify(text, known_group=before.programme in ("qd08", "qd22") or bool(before.business))
    if verdict.kind == "vague" and state.facts.topic and ctx.triage.is_follow_up(text):
        verdict = Verdict("policy")  # "thế thì sao" after an answer is a follow-up, not a vague start
    elif verdict.kind == "policy" and not state.facts.topic and state.facts.key is None and ctx.triage.is_follow_up(text):
        verdict = Verdict("vague")  # "vậy thì sao" with nothing said before: a clarifying choice
    if verdict.kind == "vague":
        if state.faq.crisis:
            return crisis_follow_up(ctx, state)
        return vague_reply(ctx, state.facts, verdict)
    if verdict.kind != "policy":
        # Curators see what was asked outside the programmes too (redacted, no identity).
        ctx.record_unanswered(redact_question(text), verdict.kind[:16])
        return routed_reply(ctx, verdict)
    if state.faq.crisis and len(text.split()) <= CRISIS_FOLLOW_UP_WORDS and not names_loan(text) and not ctx.triage.has_ask(text) \
            and not told_situation(ctx.message_facts or Facts()):
        return crisis_follow_up(ctx, state)  # "ko biết nữa" after a crisis reply: the help again, not an entry
    if state.faq.pending_place is not None:
        # The reply to "trại cai nghiện hay trại giam?": typed ("cai", "tù"), that programme's answer to
        # what was asked; anything else ("ko bit") is not asked again — the message is read as it is.
        asked, state.faq.pending_place = state.faq.pending_place, None
        chosen = place_answer(ctx, text)
        state.facts = state.facts.model_copy(update={"programme": chosen or state.facts.programme, "ambiguous_place": False})
        if chosen is not None:
            return respond(ctx, asked, state) if asked != text else situation_reply(ctx, state.facts)
    facts = state.facts
    own = ctx.message_facts or Facts()
    if facts.ambiguous_place and facts.programme is None and not ctx.triage.is_core(text) \
            and (told_only(ctx, text, own) or not covers_both(ctx, text, facts)):
        # "em ra trại…": a rehab centre or a prison? One short question, then the answer.
        state.faq.pending_place = text[:MAX_CLAUSE_TEXT]
        buttons = (ctx.button("faq.place_rehab", "faq:place:qd08"), ctx.button("faq.place_prison", "faq:place:qd22"))
        return Result([Reply(ctx.t("faq.ask_place"), buttons)], Outcome(Status.SUGGEST.value))
    if not facts.topic and told_only(ctx, text, own) and personal_text(ctx, facts, "eligible") is None:
        # "em cai xong từ 2024" opening a conversation: the situation, no question and no loan
        # named yet. Thanked, with the check and the person's common questions; not an entry the
        # words happen to resemble. (After an answer, "còn người ra tù" continues its topic.)
        return situation_reply(ctx, facts)
    questions = question_clauses(ctx, text)
    found = clause_answers(ctx, questions, facts, text) if len(questions) >= 2 else []
    if len(found) >= 2 and state.faq.last_entry:
        # "trước đây e có vay quỹ khác để học nghề này, còn nợ 10 triệu" after the training answer:
        # the new point is answered, the answer just given is not repeated (the same topic for
        # another group is another answer, and stays).
        fresh = [f for f in found if f.entry_id != state.faq.last_entry]
        found = fresh or found
    outside = [f for f in found if f.entry_id.startswith(NOT_COVERED)]
    only_outside = bool(outside) and not ctx.triage.names_group(text) and facts.programme is None
    if only_outside:
        # "Làm thẻ tín dụng ở NHCSXH được không, hạn mức bao nhiêu?": the second question is about the
        # card too, not the loan cap; with nobody's rehab or prison named, only the honest "not mine".
        found = outside
    if len(found) < 2 and not only_outside:
        target = questions[0] if len(questions) == 1 else text
        single: Found | MatchResult | None = None
        if target != text and ctx.triage.is_special(text) and ctx.triage.asks_core(target):
            # "Đang uống methadone…, giờ đăng ký vay luôn được không": the situation told around
            # the question decides the answer, so the whole message is matched first.
            whole = find(ctx, text, facts)
            single = whole if isinstance(whole, Found) else None
        if single is None:
            single = find(ctx, target, facts, text, only=True)
        if not isinstance(single, Found) and target != text:
            whole = find(ctx, text, facts)
            single = whole if isinstance(whole, Found) or whole.score > single.score else single
        if isinstance(single, Found):
            found = [single]
        elif not found:
            return unsure(ctx, text, single, state, own)
    if len(found) == 1 and found[0].entry_id == state.faq.last_entry and told_only(ctx, text, own, most=30) \
            and personal_text(ctx, facts, "eligible") is None:
        # "nó 24 tuổi, cai bắt buộc ở trung tâm 2 năm" after the answer: more of the story, no new
        # question — thanked, with the check, not the same answer again.
        return situation_reply(ctx, facts)
    state.faq.last_question = redact_question(text)
    remember_topic(ctx, state, found[-1].entry_id)
    replies = answer_replies(ctx, found[:MAX_ANSWERS], facts)
    if facts.ambiguous_place and facts.programme is None:
        # "ra trại rồi vay được không": the answer covers both programmes; then one short question,
        # whose answer gives the chosen programme's own answer.
        state.faq.pending_place = text[:MAX_CLAUSE_TEXT]
        buttons = (ctx.button("faq.place_rehab", "faq:place:qd08"), ctx.button("faq.place_prison", "faq:place:qd22"))
        replies.append(Reply(ctx.t("faq.ask_place"), buttons))
    return Result(replies, Outcome(Status.ANSWER.value, found[0].entry_id, found[0].score))


def place_answer(ctx: Context, text: str) -> str | None:
    """'cai', 'trại giam', '2' typed as the whole reply to the place question: its programme."""
    words = ctx.normalizer.light(text)
    for programme, replies in ctx.content.facts.place_answers.items():
        if words in {ctx.normalizer.light(r) for r in replies}:
            return programme
    return None


def column_for(ctx: Context, text: str, facts: Facts, message: str | None = None) -> str | None:
    """The column of content/topics.yaml to answer from: the person's situation; or, when nobody
    said whose situation it is and the question names no group, the answer that covers both
    programmes where there is one ("vay tối đa bao nhiêu": 200 and 100 triệu). A question that
    names both groups ("người ra tù cũng vay được 200 triệu như người cai nghiện à?") compares
    them: the answer for both."""
    if {"qd08", "qd22"} <= ctx.matcher.named_programmes(ctx.normalizer(without_denials(fold(message or text))).tokens):
        return "any"
    if facts.key is not None:
        return facts.key
    if facts.business:
        # A business that did not say whom it employs: the main programme's business rules.
        return f"{ctx.content.matching.main_programme}_business"
    return None if ctx.triage.names_group(text) else "any"


def covers_both(ctx: Context, text: str, facts: Facts) -> bool:
    """Whether the question has an answer for both programmes (a topic's `any` column)."""
    found = find(ctx, text, facts)
    return isinstance(found, Found) and found.entry_id in ctx.content.topics.any_entries


def find(ctx: Context, text: str, facts: Facts, message: str | None = None, *, only: bool = False) -> Found | MatchResult:
    """The entry that answers one question (`text`: the message or one of its clauses), with the
    person's programme; or the matcher's doubt. A special situation anywhere in the message ("em
    đang vay vốn sinh viên, …, vay thêm được không") keeps every clause from the core answer."""
    topics = ctx.content.topics
    key = facts.key
    special = message is not None and message != text and ctx.triage.is_special(message)
    if not special and ctx.triage.is_core(text, known_group=facts.programme is not None) and not cued_over_core(ctx, text, facts, message):
        # "vay được không?": yes, if … — for the person's programme (or both when unknown).
        row = topics.topics["eligible"]
        return Found(row.get(key or column_for(ctx, text, facts) or "any", row["any"]), 1.0, personal=True)
    if facts.topic and key in topics.topics.get(facts.topic, {}) and ctx.triage.is_follow_up(text):
        return Found(topics.topics[facts.topic][key], 0.9, personal=facts.topic in PERSONAL_TOPICS)
    if not facts.topic and key in topics.topics["eligible"] and ctx.triage.is_follow_up(text):
        # "con tui đi cai về được 2 năm" … "rứa là răng, được hay không": whether they can borrow.
        return Found(topics.topics["eligible"][key], 0.9, personal=True)
    programme = facts.programme if facts.programme in ("qd08", "qd22") else None
    result = ctx.matcher.match(text, programme, key)
    if facts.topic and not ctx.triage.has_ask(text) and len(fold(text).split()) <= 12 and not sure_elsewhere(ctx, result, facts.topic):
        # "còn người ra tù thì sao?", "thế còn hợp tác xã?": the last topic, for whom it is now asked
        # (not "em đang uống methadone thì sao" after the documents: that is its own question).
        row = topics.topics.get(facts.topic, {})
        if key in row and ctx.triage.names_group(text):
            return Found(row[key], 0.9, personal=facts.topic in PERSONAL_TOPICS)
    cued = cued_answer(ctx, text, facts, result, programme, message, story=message if only else None)
    if cued is not None:
        return cued
    if result.status is Status.ANSWER:
        # Nobody said whose situation it is, and the question names no group: the answer that
        # covers both programmes, where there is one ("vay tối đa bao nhiêu": 200 and 100 triệu).
        assert result.best is not None  # an answer has its candidate
        entry_id = retarget(ctx, result.best.entry_id, column_for(ctx, text, facts, message))
        return Found(entry_id, result.score, personal=topics.topic_of(entry_id) in PERSONAL_TOPICS)
    if result.status is Status.SUGGEST and key is not None:
        # What the person said before settles the doubt when the suggestions are one topic for
        # their programme ("vậy vay được bao nhiêu" after "em ra tù năm 2023").
        unique: dict[str, float] = {}
        for candidate in result.candidates:
            entry_id = retarget(ctx, candidate.entry_id, key)
            unique.setdefault(entry_id, candidate.score)
        ranked = sorted(unique.items(), key=lambda kv: kv[1], reverse=True)
        margin = ctx.content.matching.answer_margin
        if len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= margin:
            entry_id = ranked[0][0]
            return Found(entry_id, ranked[0][1], personal=topics.topic_of(entry_id) in PERSONAL_TOPICS)
    return result


def cued_over_core(ctx: Context, text: str, facts: Facts, message: str | None = None) -> bool:
    """A cue whose topic stands over the core answer ("vừa ra tù vừa cai nghiện thì vay theo cái
    nào", "vay trả nợ được không"): that topic answers, not "yes, if …"."""
    cues = ctx.content.topics.cues
    return any(cues[c].before_core for c in ctx.triage.cued_topics(text, facts.purpose, message) if c in cues)


def sure_elsewhere(ctx: Context, result: MatchResult, topic: str) -> bool:
    """The matcher is sure of an entry outside the last topic: the message asks its own question."""
    best = result.best
    return result.status is Status.ANSWER and best is not None and result.score >= ctx.content.matching.sure_threshold \
        and ctx.content.topics.topic_of(best.entry_id) != topic


# Words that make a short message a question or a request wherever they stand ("… do ai cấp",
# "… hay từ ngày …", "… cần giấy xác nhận", "… muốn đăng ký").
ASKING_WORDS = frozenset(
    ["hay", "ai", "gi", "j", "nao", "may", "sao", "khong", "ko", "k", "hong", "chua", "nhieu", "bn", "tinh", "the",
     "can", "xin", "muon", "giay", "dang", "ky", "hoi", "so"])


def names_loan(text: str) -> bool:
    """Whether the message speaks of a loan ("vay", "vốn", "mượn tiền") — not "giá lúa bao nhiêu
    vậy": on the accented text "vậy" is not "vay", and a bare "vay" closing the message is "vậy"
    typed without accents."""
    words = re.findall(r"\w+", text.lower())
    said = " ".join(words)
    return any(w in ("vay", "vốn", "von") for w in words[:-1]) or (bool(words) and words[-1] in ("vốn", "von")) \
        or "mượn tiền" in said or "muon tien" in said


def cued_answer(ctx: Context, text: str, facts: Facts, result: MatchResult, programme: str | None,
                message: str | None = None, story: str | None = None) -> Found | None:
    """A doubt between close topics settled by the question's own words (content/topics.yaml
    `cues`): "trong lúc học thì mỗi tháng vay được mấy triệu" is the monthly training loan."""
    topics = ctx.content.topics
    cued = ctx.triage.cued_topics(text, facts.purpose, story)
    if not cued:
        return None
    # Two cued, one over the other ("sợ bị theo dõi… có cách nào khác để đăng ký": the fear, not
    # the other ways): the one below is no candidate.
    beneath = {c for c in cued if any(c in topics.cues[o].over for o in cued if o != c and o in topics.cues)}
    if beneath and beneath != cued:
        cued = cued - beneath
    if result.status is Status.ANSWER and result.best is not None:
        # A confident answer stands, unless a cue names a close topic it is known to be taken for.
        answered = topics.topic_of(result.best.entry_id)
        # (Both cued — "bị từ chối vì ra tù đã 7 năm" — the one that is over the other wins.)
        if answered is not None and not any(answered in topics.cues[c].over for c in cued if c in topics.cues and c != answered):
            return None
        cued = {c for c in cued if c != answered}
    # What the person told before makes the cue stronger evidence than the words alone.
    floor = WEAK_FLOOR if facts.key else ctx.content.matching.suggest_threshold
    key = column_for(ctx, text, facts, message) or ctx.content.matching.main_programme
    for candidate in ctx.matcher.scores(text, programme=programme, key=key)[:FUZZ_DEPTH]:
        topic = topics.topic_of(candidate.entry_id)
        if topic in cued and candidate.score >= floor:
            row = topics.topics.get(topic, {})
            entry_id = retarget(ctx, candidate.entry_id, key if key in row else ctx.content.matching.main_programme)
            return Found(entry_id, candidate.score, personal=topic in PERSONAL_TOPICS)
    if len(cued) == 1:
        # The words name the topic and the person said whose situation it is, or the topic has one
        # answer for everyone: that answer ("… thì còn chỗ nào cho vay nữa không" after a window
        # long past; "xã không cho vào danh sách thì hỏi ai").
        topic = next(iter(cued))
        row = topics.topics.get(topic, {})
        if facts.key in row:
            return Found(row[facts.key], floor, personal=topic in PERSONAL_TOPICS)
        if facts.key is None and len(set(row.values())) == 1:
            return Found(next(iter(row.values())), floor, personal=topic in PERSONAL_TOPICS)
        if facts.key is None and "any" in row and not ctx.triage.names_group(text) and names_loan(text):
            # Nobody said whose situation it is: the answer for both ("vay 300 triệu được không":
            # 200 triệu after rehab, 100 after prison).
            return Found(row["any"], floor, personal=topic in PERSONAL_TOPICS)
    return None


def retarget(ctx: Context, entry_id: str, key: str | None) -> str:
    """The same topic's entry for the person's programme (content/topics.yaml)."""
    if key is None:
        return entry_id
    topics = ctx.content.topics
    topic = topics.topic_of(entry_id)
    row = topics.topics.get(topic, {}) if topic else {}
    return row.get(key, entry_id)


@lru_cache(maxsize=8)
def _clause_pattern(joiners: tuple[str, ...]) -> re.Pattern:
    # Clauses end at sentence punctuation, a comma not inside a number, or a word joining two asks.
    words = "|".join(re.escape(j) for j in sorted(joiners, key=len, reverse=True))
    return re.compile(r"[?.!;\n]+|,(?!\d)" + (rf"|\b(?:{words})\b" if words else ""))


def question_clauses(ctx: Context, text: str) -> list[str]:
    """The questions in a message, in order: the clauses that ask something ("…, vay được không?"),
    not the story around them. A very short clause ("có được không hè"), or the second half of an
    either-or question (", hay …"), belongs to the one before."""
    pattern = _clause_pattern(ctx.normalizer.clause_joiners)
    folded = fold(text[:MAX_CLAUSE_TEXT])
    clauses: list[list[Any]] = []  # [clause, whether it asks]
    start = 0
    for match in [*pattern.finditer(folded), None]:
        end = match.start() if match else len(folded)
        clause = folded[start:end].strip(" ,")
        asked = bool(match and "?" in match.group(0))
        if clause:
            # "…học nghề không, hay chỉ cho làm ăn thôi?": the other half of one either-or question.
            if clauses and (len(clause.split()) <= 3 and not ctx.triage.has_ask(clause) or clause.startswith(("hay ", "hoac "))):
                clauses[-1][0] = f"{clauses[-1][0]} {clause}"
                clauses[-1][1] = clauses[-1][1] or asked
            else:
                clauses.append([clause, asked])
        start = match.end() if match else len(folded)
    return [c for c, asked in clauses if len(c.split()) >= 2 and (asked or is_question(ctx, c))][:MAX_CLAUSES]


def is_question(ctx: Context, clause: str) -> bool:
    if "?" not in clause and ctx.triage.tells(clause):
        return False  # "chưa từng vi phạm gì": it tells, though it ends like a question
    if QUESTION_MARK.search(clause.strip()) is not None:
        return True
    return ctx.triage.has_ask(clause)


def clause_answers(ctx: Context, clauses: list[str], facts: Facts, message: str | None = None) -> list[Found]:
    """Answers to the separate questions of a message, in order, without repeats. Once one clause
    is answered with confidence, the others get their best candidate too: the person asked several
    things, and each deserves its answer ("…vay mấy tỷ, lãi có giống người vay cá nhân không?")."""
    found: list[Found | None] = []
    weak: dict[int, Found] = {}
    reader = ctx.facts_reader
    for index, clause in enumerate(clauses):
        own = facts
        if facts.business and reader.individual is not None and reader.individual.search(fold(clause)) \
                and (reader.business is None or not reader.business.search(fold(clause))):
            own = facts.model_copy(update={"business": False})  # "cá nhân … bao nhiêu, còn cơ sở …"
        answer = find(ctx, clause, own, message)
        if isinstance(answer, Found):
            found.append(answer)
        else:
            found.append(None)
            if answer.best is not None and answer.score >= WEAK_FLOOR:
                entry_id = retarget(ctx, answer.best.entry_id, facts.key)
                weak[index] = Found(entry_id, answer.score, personal=ctx.content.topics.topic_of(entry_id) in PERSONAL_TOPICS)
    if any(f is not None for f in found):
        found = [f if f is not None else weak.get(i) for i, f in enumerate(found)]
    unique: list[Found] = []
    for f in found:
        if f is not None and all(u.entry_id != f.entry_id for u in unique):
            unique.append(f)
    return unique


def remember_topic(ctx: Context, state: ConversationState, entry_id: str) -> None:
    topic = ctx.content.topics.topic_of(entry_id) if ctx.content.topics else None
    state.faq.last_entry = entry_id
    state.faq.crisis = None  # a policy answer: the danger told before is no longer the subject
    if topic:
        state.facts = state.facts.model_copy(update={"topic": topic})


# -- replies -------------------------------------------------------------------------------------------


def answer_replies(ctx: Context, found: list[Found], facts: Facts) -> list[Reply]:
    """One reply per answer; the buttons (related questions, the check, "Không đúng ý tôi", menu) only
    under the last one, so a typed "1" means the first button the person sees last."""
    replies = [answer_reply(ctx, ctx.content.faq_by_id[f.entry_id], facts if f.personal else None) for f in found]
    if len(replies) == 1:
        return replies
    answered = {f.entry_id for f in found}
    related = list(dict.fromkeys(r for f in found for r in ctx.content.faq_by_id[f.entry_id].related if r not in answered))[:2]
    last = found[-1].entry_id
    buttons = tuple(ctx.button_for_entry(r) for r in related) + (ctx.button("faq.not_what_i_meant", f"faq:miss:{last}"), back_to_menu(ctx))
    return [Reply(r.text) for r in replies[:-1]] + [Reply(replies[-1].text, buttons)]


def answer_reply(ctx: Context, entry: FaqEntry, facts: Facts | None = None) -> Reply:
    """The answer, with figures in force today, its legal reference, and what to do next as buttons.
    With the person's own situation, the rules decide: "not yet" with the rule, or a note to hurry."""
    # FAQ answers are written in Vietnamese: their figures are formatted in Vietnamese too.
    vi = texts_for("vi")
    answer = ctx.content.render(entry.answer, when=ctx.today, texts=vi)
    topics = ctx.content.topics
    topic = topics.topic_of(entry.id) if topics else None
    share = told_share(ctx, facts) if facts is not None and topic in ("conditions", "eligible") else None
    text = f"{answer}\n{share}" if share else answer
    text = f"{text}\n{ctx.t('faq.reference', reference=entry.reference)}"
    if facts is not None:
        text = personal_text(ctx, facts, topic) or text
        if topic in PERSONAL_TOPICS and near_window_end(ctx, facts):
            text = f"{text}\n{ctx.t('faq.personal_soon')}"
        elif topic in PERSONAL_TOPICS and at_window_end(ctx, facts):
            text = f"{text}\n{ctx.t('faq.personal_edge')}"
    buttons: tuple[Button, ...] = ()
    if topics and topic in topics.check_topics:
        buttons += (ctx.button("faq.check_button", "elig:start"),)
    if topics and topic in topics.register_topics and ctx.has_storage:
        buttons += (ctx.button("eligibility.button_register", "reg:start"),)
    buttons += tuple(ctx.button_for_entry(r) for r in entry.related[: 3 - len(buttons)])
    buttons += (ctx.button("faq.not_what_i_meant", f"faq:miss:{entry.id}"), back_to_menu(ctx))
    return Reply(text, buttons)


def personal_text(ctx: Context, facts: Facts, topic: str | None) -> str | None:
    """'Theo những gì bạn kể, … chưa đủ điều kiện': when the person's own facts fail a rule."""
    judged = ctx.judge_told(facts) if topic in PERSONAL_TOPICS else None
    if judged is None:
        return None
    result, subject = judged
    if result.outcome != "not_eligible" or not result.failed:
        return None
    lines = [ctx.t("faq.personal_not", subject=subject, title=result.title)]
    lines += [ctx.t("faq.personal_line", text=r.text, reference=r.reference) for r in result.reasons]
    lines += [ctx.t("faq.personal_next", text=step) for step in result.next_steps[:2]]
    return "\n".join(lines)


def told_share(ctx: Context, facts: Facts) -> str | None:
    """A business that told its workforce ("12 thợ, 2 người từng đi cai"): its share worked out
    against the programme's minimum (a share under it is the rules' refusal, said instead)."""
    total, part = facts.workforce_total, facts.workforce_beneficiaries
    if not facts.business or not total or part is None:
        return None
    programme = facts.programme if facts.programme in ("qd08", "qd22") else ctx.content.matching.main_programme
    minimum = ctx.content.parameters[f"{programme}.business_staff_share"].number_at(ctx.today)
    share = staff_share(total, part) or 0
    if minimum is None or share < minimum:
        return None
    return ctx.t("faq.share_met", part=part, total=total, share=share, minimum=int(minimum))


def unsure(ctx: Context, text: str, result: MatchResult, state: ConversationState, own: Facts) -> Result:
    """Suggestions when unsure; a story with no question gets the person's common questions."""
    told = told_situation(own)
    if state.faq.crisis and not told:
        return crisis_follow_up(ctx, state)  # "ừ", "không biết nữa" after a crisis reply: the help again
    # A story, or a correction of one ("à nhầm, năm 2022 mới đúng"): what they told is kept.
    tells_situation = bool(told) and len(text.split()) >= 4
    if tells_situation and not QUESTION_MARK.search(fold(text).strip()):
        return situation_reply(ctx, state.facts)  # a story with no question yet
    ctx.record_unanswered(redact_question(text), result.status.value)
    state.faq.last_question = redact_question(text)
    if result.status is Status.SUGGEST:
        entries = [ctx.content.faq_by_id[retarget(ctx, c.entry_id, state.facts.key)] for c in result.candidates]
        entries = list({e.id: e for e in entries}.values())
        buttons = tuple(Button(e.question, f"faq:{e.id}:s") for e in entries)
        reply = Reply(ctx.t("faq.suggest"), buttons + (ctx.button("faq.none_of_these", "faq:none"),))
        return Result([reply], Outcome(result.status.value, None, result.score, tuple(e.question for e in entries)))
    if ctx.matcher.is_vague(text) and ctx.content.matching.popular:
        return vague_reply(ctx, state.facts, None)
    return Result([fallback_reply(ctx)], Outcome(result.status.value, None, result.score), understood=False)


def common_for(ctx: Context, facts: Facts) -> list[FaqEntry]:
    """The common questions for the person's programme (the menu's popular ones when unknown)."""
    topics = ctx.content.topics
    key = facts.key
    if key:
        ids = [topics.topics[t][key] for t in ("eligible", "amount", "rate", "register") if key in topics.topics.get(t, {})]
    else:
        ids = list(ctx.content.matching.popular)
    return [ctx.content.faq_by_id[i] for i in dict.fromkeys(ids) if i in ctx.content.faq_by_id][: ctx.content.matching.max_suggestions]


def told_situation(own: Facts) -> set[str]:
    """What the message itself says of the person's situation (the SITUATION facts it set)."""
    return {k for k, v in own.model_dump(exclude_defaults=True).items() if v is not None} & SITUATION


def told_only(ctx: Context, text: str, own: Facts, *, most: int = 10) -> bool:
    """The message tells the person's situation and nothing else: no question, no purpose, no loan
    (in at most `most` different words: a longer message opening a conversation is a story to read)."""
    folded = fold(text).strip()
    words = set(folded.split())
    return bool(told_situation(own)) and own.purpose is None and len(folded.split()) >= 4 and len(words) <= most \
        and not words & ASKING_WORDS \
        and not names_loan(text) and not asks(ctx, text)


def situation_reply(ctx: Context, facts: Facts) -> Result:
    """'Cảm ơn bạn đã chia sẻ': the person told their situation without asking yet."""
    entries = common_for(ctx, facts)
    buttons = (ctx.button("faq.check_button", "elig:start"),) + tuple(Button(e.question, f"faq:{e.id}") for e in entries)
    return Result([Reply(ctx.t("faq.situation"), buttons + (back_to_menu(ctx),))],
                  Outcome(Status.SUGGEST.value, None, 0.0, tuple(e.question for e in entries)))


def vague_reply(ctx: Context, facts: Facts, verdict: Verdict | None) -> Result:
    """'vay', 'hỏi chút': on topic but too vague for one answer — a clarifying choice."""
    entries = common_for(ctx, facts)
    text = verdict.reply if verdict is not None and verdict.reply else ctx.t("faq.vague")
    buttons = tuple(Button(e.question, f"faq:{e.id}") for e in entries) + (ctx.button("faq.check_button", "elig:start"), back_to_menu(ctx))
    return Result([Reply(text, buttons)], Outcome(Status.SUGGEST.value, None, 0.0, tuple(e.question for e in entries)))


def routed_reply(ctx: Context, verdict: Verdict) -> Result:
    """Another programme, another topic, abuse — or someone in danger (115, 113, 111, the health
    station): the route's own short reply, never a QĐ 08/22 rule or a loan figure, then "Gặp cán bộ"."""
    buttons = (ctx.button("menu.item_officer", "ask:start"), back_to_menu(ctx))
    kind = "crisis" if verdict.kind == "crisis" else "route"
    return Result([Reply((verdict.reply or "").strip(), buttons)], Outcome(Status.FALLBACK.value, f"{kind}:{verdict.name}"))


def crisis_reply_for(ctx: Context, verdict: Verdict, state: ConversationState) -> Result:
    """Someone in danger, in any state: a flow in progress keeps its answers; its question is not asked
    now. The same danger told again ("tôi không biết gọi ai nữa") gets its help in a line each, not
    the same words again."""
    kinds, told = crisis_kinds(verdict.name), crisis_kinds(state.faq.crisis)
    state.faq.crisis = "+".join(dict.fromkeys([*told, *kinds]))
    if told and set(kinds) <= set(told):
        return crisis_follow_up(ctx, state, "crisis.again", f"crisis:{verdict.name}")
    return routed_reply(ctx, verdict)


def crisis_kinds(name: str | None) -> list[str]:
    """"suicide+violence" → the kinds, in order."""
    return [k for k in (name or "").split("+") if k]


def crisis_follow_up(ctx: Context, state: ConversationState, key: str = "crisis.follow_up", outcome: str | None = None) -> Result:
    """After a crisis reply: "ừ", "cảm ơn", anything the bot cannot answer gets the help again, short."""
    help_lines = ctx.triage.crisis_again(crisis_kinds(state.faq.crisis))
    buttons = (ctx.button("menu.item_officer", "ask:start"), back_to_menu(ctx))
    return Result([Reply(ctx.t(key, help=help_lines), buttons)], Outcome(Status.FALLBACK.value, outcome or f"crisis:{state.faq.crisis}"))


def missed(ctx: Context, state: ConversationState, entry_id: str) -> Result:
    """'Không đúng ý tôi': the next best entries and the way to an officer; the case goes to curators."""
    last = state.faq.last_question
    if last:
        ctx.record_unanswered(f"{last} → {entry_id}", "wrong")
    others = [c.entry_id for c in ctx.matcher.scores(last)] if last else []
    others = [i for i in dict.fromkeys(others) if i != entry_id and i in ctx.content.faq_by_id][: ctx.content.matching.max_suggestions]
    buttons = tuple(ctx.button_for_entry(i) for i in others) + (ctx.button("menu.item_officer", "ask:start"), back_to_menu(ctx))
    return Result([Reply(ctx.t("faq.missed" if others else "faq.missed_none"), buttons)], Outcome(Status.SUGGEST.value))


def on_missed_intent(ctx: Context, intent: str, state: ConversationState) -> Result:
    """'sai rồi', 'không phải ý tôi' typed after an answer."""
    answered = next((b.payload.split(":", 2)[2] for b in state.buttons if b.payload.startswith("faq:miss:")), None)
    if answered is None:
        return Result([fallback_reply(ctx)], Outcome(Status.FALLBACK.value))
    return missed(ctx, state, answered)


def fallback_reply(ctx: Context) -> Reply:
    return Reply(ctx.t("faq.fallback"), menu_buttons(ctx))
