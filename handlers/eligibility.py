"""Eligibility walkthrough: a few closed questions, then the likely result with its legal basis.

The questions, their order and when each is asked live in content/eligibility/questions.yaml;
the rules in content/eligibility/rules.yaml. Answers so far are kept in the conversation state,
so someone who leaves and comes back days later can continue where they stopped.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.context import Context, Outcome, Result
from bot.eligibility.engine import Eligibility, Profile
from bot.i18n import Texts
from bot.nlu.facts import Facts
from bot.nlu.numbers import UNKNOWN, parse_age, parse_amount, parse_count, parse_years_ago, says_unknown
from bot.router import FlowSpec, Router
from bot.state import ConversationState, EligibilityProgress, Flow
from bot.types import Button, Incoming, Reply
from content.models import Question
from handlers.common import asks, at_window_end, back_to_menu, continue_with, menu_buttons, near_window_end

SUBJECTS = {"self": "eligibility.subject_self", "relative": "eligibility.subject_relative", "business": "eligibility.subject_business"}
PARSERS = {
    "years_ago": lambda text, today: parse_years_ago(text, today),
    "age": lambda text, today: parse_age(text, today),
    "count": lambda text, today: parse_count(text),
    "amount": lambda text, today: parse_amount(text),
}


def register(router: Router) -> None:
    router.payload("elig", on_payload)
    router.flow(Flow.ELIGIBILITY, FlowSpec(handle=on_text, reprompt=reprompt, claims=claims))
    router.intent("eligibility", on_intent)


def on_intent(ctx: Context, intent: str, state: ConversationState) -> Result:
    """'Tôi có được vay không?': the walkthrough answers that better than any FAQ entry."""
    result = start(ctx, state)
    result.outcome = Outcome("answer", "intent:eligibility", 1.0)
    return result


# -- entry points ------------------------------------------------------------------------------


def start(ctx: Context, state: ConversationState) -> Result:
    """Starts the check, or offers to continue an unfinished one."""
    progress = state.eligibility
    if progress and progress.asked and not progress.done:
        state.flow = Flow.MENU
        buttons = (
            ctx.button("eligibility.continue", "elig:continue"),
            ctx.button("eligibility.restart", "elig:restart"),
            back_to_menu(ctx),
        )
        return Result([Reply(ctx.t("eligibility.resume_offer", count=len(progress.asked)), buttons)])
    return begin(ctx, state)


def begin(ctx: Context, state: ConversationState) -> Result:
    """A fresh check: a short promise of what comes, then the first question not already answered
    by what the person said before ("con tôi 17 tuổi, cai bắt buộc xong năm 2023")."""
    state.eligibility = EligibilityProgress()
    state.flow = Flow.ELIGIBILITY
    return advance(ctx, state, [Reply(ctx.t("eligibility.intro"))])


def known_answers(facts: Facts) -> dict[str, Any]:
    """The walkthrough's answers that the conversation's facts already give."""
    answers: dict[str, Any] = {}
    if facts.business:
        answers["for_whom"] = "business"
    elif facts.who in ("self", "relative"):
        answers["for_whom"] = facts.who
    profile = facts.profile()
    for field in ("background", "rehab_completion", "age", "years_since_management_decision", "years_since_release",
                  "purpose", "amount_requested_vnd"):
        if field in profile:
            answers[field] = profile[field]
    return answers


def prefill(ctx: Context, state: ConversationState) -> list[str]:
    """Fills in the unasked questions whose answers the person already gave; returns their ids."""
    progress = _progress(state)
    known = known_answers(state.facts)
    filled = []
    while True:
        question = current_question(ctx, progress)
        if (question is None or question.field not in known or question.field in progress.answers
                or question.field in progress.declined):
            break
        progress.answers[question.field] = known[question.field]
        progress.asked.append(question.id)
        filled.append(question.id)
    progress.known.extend(filled)
    return filled


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """Buttons: start, continue, restart, back, exit, and answers ('elig:a:<question>:<option>')."""
    parts = payload.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "start":
        return start(ctx, state)
    if action == "restart":
        return begin(ctx, state)
    progress = state.eligibility
    if not progress or progress.done:
        return start(ctx, state)
    if action == "continue":
        state.flow = Flow.ELIGIBILITY
        return advance(ctx, state)
    if action == "back":
        return back(ctx, state)
    if action == "exit":
        return leave(ctx, state)
    question = current_question(ctx, progress)
    if action == "a" and len(parts) == 4 and question is not None and parts[2] == question.id:
        index = int(parts[3]) if parts[3].isdecimal() else -1  # "-1" is not an offered button
        option = question.options[index] if 0 <= index < len(question.options) else None
        if option is not None:
            state.flow = Flow.ELIGIBILITY
            return record(ctx, state, question, option.value)
    # A button of an earlier question, pressed again: say so and ask the current one.
    state.flow = Flow.ELIGIBILITY
    return Result([Reply(ctx.t("input.stale_button")), ask(ctx, state)])


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result | None:
    """Typed answers, 'quay lại', 'làm lại', 'thoát'. None when the text is not an answer."""
    progress = state.eligibility
    question = current_question(ctx, progress) if progress and not progress.done else None
    if question is None:
        return None
    words = ctx.normalizer.light(msg.text)
    navigation = ctx.content.questions.navigation
    if words in navigation["back"]:
        return back(ctx, state)
    if words in navigation["restart"]:
        return begin(ctx, state)
    if words in navigation["exit"]:
        return leave(ctx, state)
    told = told_answers(ctx, msg.text)
    changed = corrections(ctx, progress, question, told, msg.text)
    if progress is not None and changed:
        # "à nhầm, ra tù chứ không phải cai": the answers from the corrected one on are asked again,
        # each taken from what the person has said where it can be.
        undo_from(ctx, progress, changed)
        return advance(ctx, state, [Reply(ctx.t("eligibility.corrected"))])
    found, value = parse_answer(ctx, question, msg.text)
    if found:
        return record(ctx, state, question, value)
    if question.field in told:
        # "em mới cai về" where "for whom?" is asked: it answers this question and the next ones.
        return advance(ctx, state, [Reply(ctx.t("eligibility.noted"))])
    if told:
        # "35 tuổi" where the certificate is asked: told, not asked — noted (the conversation keeps
        # it), and this question again; never a FAQ entry the words resemble.
        return Result([Reply(ctx.t("eligibility.noted")), ask(ctx, state)])
    return None


def claims(ctx: Context, text: str, state: ConversationState) -> bool:
    """Quantities are read before button numbers: '3 năm', '16 tuổi', '20' people, '50tr'."""
    progress = state.eligibility
    question = current_question(ctx, progress) if progress and not progress.done else None
    if question is None:
        return False
    told = told_answers(ctx, text)
    if question.field in told or corrections(ctx, progress, question, told, text):
        return True
    if question.kind == "choice":
        return False
    stripped = text.strip()
    if question.kind in ("years_ago", "age") and stripped.isdecimal() and int(stripped) <= len(question.options):
        return False  # a bare small number is a button
    return parse_answer(ctx, question, text)[0]


def reprompt(ctx: Context, state: ConversationState, *, detour: bool = False) -> Reply | None:
    """After a detour (a FAQ question), the pending question again."""
    progress = state.eligibility
    if not progress or progress.done or current_question(ctx, progress) is None:
        return None
    return continue_with(ctx, ask(ctx, state), "eligibility.continue_prompt")


# -- steps ---------------------------------------------------------------------------------------


def current_question(ctx: Context, progress: EligibilityProgress) -> Question | None:
    """The first question not yet asked whose conditions hold for the answers so far."""
    answers = _facts(progress.answers)
    for question in ctx.content.questions.questions:
        if question.id in progress.asked:
            continue
        if all(answers.get(key) == value for key, value in question.ask_when.items()):
            return question
    return None


def ask(ctx: Context, state: ConversationState) -> Reply:
    """The current question with its options, and 'back' / 'stop' buttons."""
    progress = _progress(state)
    question = current_question(ctx, progress)
    assert question is not None  # asked only while a question is left (advance, reprompt)
    buttons = [Button(option.label, f"elig:a:{question.id}:{i}") for i, option in enumerate(question.options)]
    if progress.asked:
        buttons.append(ctx.button("eligibility.back", "elig:back"))
    buttons.append(ctx.button("eligibility.exit", "elig:exit"))
    return Reply(_sentence(question.text.replace("{subject}", _subject(ctx.texts, progress))), tuple(buttons))


def record(ctx: Context, state: ConversationState, question: Question, value: Any) -> Result:
    """Stores one answer; stops early once a rule has failed, or when no question is left."""
    progress = _progress(state)
    progress.answers[question.field] = _stored(value)
    progress.asked.append(question.id)
    return advance(ctx, state)


def advance(ctx: Context, state: ConversationState, before: list[Reply] | None = None) -> Result:
    progress = _progress(state)
    prefill(ctx, state)
    result = evaluate(ctx, progress)
    if result.outcome == "not_eligible" or current_question(ctx, progress) is None:
        finished = finish(ctx, state, result)
        finished.replies[:0] = before or []
        return finished
    return Result((before or []) + [ask(ctx, state)])


def back(ctx: Context, state: ConversationState) -> Result:
    """Undoes the last answer and asks that question again (an answer taken from what the person
    said earlier is asked too, so it can be corrected)."""
    progress = _progress(state)
    if progress.asked:
        last = progress.asked.pop()
        field = next(q.field for q in ctx.content.questions.questions if q.id == last)
        progress.answers.pop(field, None)
        progress.declined.append(field)
    state.flow = Flow.ELIGIBILITY
    return Result([ask(ctx, state)])


def leave(ctx: Context, state: ConversationState) -> Result:
    """Stops the check; the answers stay so it can be continued later."""
    state.flow = Flow.MENU
    return Result([Reply(ctx.t("eligibility.exited"), menu_buttons(ctx))])


def finish(ctx: Context, state: ConversationState, result: Eligibility) -> Result:
    """The result in plain words with the legal basis, then what to do next."""
    progress = _progress(state)
    progress.done = True
    state.flow = Flow.MENU
    buttons = (
        ctx.button("eligibility.button_register", "reg:start"),
        ctx.button("eligibility.button_officer", "ask:start"),
        back_to_menu(ctx),
    )
    text = result_text(result, ctx.texts, subject=_subject(ctx.texts, progress))
    if result.outcome == "likely_eligible" and near_window_end(ctx, told_window(progress.answers)):
        text = f"{text}\n{ctx.t('faq.personal_soon')}"  # the window counts to the loan date: register soon
    elif result.outcome == "needs_review" and at_window_end(ctx, told_window(progress.answers)):
        text = f"{text}\n{ctx.t('faq.personal_edge')}"  # "tháng 12 năm 2016" in December 2026: go now
    return Result([Reply(text, buttons)], Outcome("answer", f"eligibility:{result.outcome}", 1.0))


def told_window(answers: dict) -> Facts:
    """The programme and the years since the decision or release, as the FAQ reads them."""
    background = answers.get("background")
    programme: Literal["qd08", "qd22"] | None = "qd08" if background == "after_rehab" else "qd22" if background == "after_prison" else None
    years = answers.get("years_since_management_decision" if programme == "qd08" else "years_since_release")
    since = (float(years[0]), float(years[1])) if isinstance(years, list | tuple) and len(years) == 2 else None
    return Facts(programme=programme, years_since=since, business=answers.get("applicant") == "business")


def evaluate(ctx: Context, progress: EligibilityProgress) -> Eligibility:
    facts = _facts(progress.answers)
    facts.pop("for_whom", None)
    profile = Profile.model_validate(facts)
    return ctx.eligibility.evaluate(profile, on=ctx.today, texts=ctx.texts, subject=_subject(ctx.texts, progress))


def result_text(result: Eligibility, texts: Texts, subject: str | None = None) -> str:
    """Outcome sentence, the reasons each with its legal basis, next steps, and who decides."""
    subject = subject or texts.t("eligibility.subject_applicant")
    title = result.title or ""
    if result.outcome == "likely_eligible":
        key = "eligibility.result_likely_monthly" if result.cap_is_monthly else "eligibility.result_likely"
        cap = texts.money_words(result.max_amount_vnd) if result.max_amount_vnd else ""
        lines = [_sentence(texts.t(key, subject=subject, title=title, cap=cap))]
    elif result.outcome == "not_eligible":
        lines = [_sentence(texts.t("eligibility.result_not", subject=subject, title=title))]
    else:
        lines = [_sentence(texts.t("eligibility.result_review", subject=subject))]
    lines.append(texts.t("eligibility.reasons_heading"))
    lines.extend(texts.t("eligibility.reason_line", text=r.text, reference=r.reference) for r in result.reasons)
    steps = list(result.next_steps) or ([texts.t("eligibility.review_next")] if result.outcome == "needs_review" else [])
    if steps:
        lines.append(texts.t("eligibility.next_heading"))
        lines.extend(texts.t("eligibility.next_line", text=step) for step in steps)
    lines.append(texts.t("eligibility.decided_by"))
    return "\n".join(lines)


# -- reading answers -------------------------------------------------------------------------------


def told_answers(ctx: Context, text: str) -> dict[str, Any]:
    """The check's answers this message tells of the person's situation; none when it asks a
    question (that is answered first, and the check continues after it)."""
    own = ctx.message_facts
    if own is None or own.empty or asks(ctx, text):
        return {}
    return known_answers(own)


def corrections(ctx: Context, progress: EligibilityProgress | None, question: Question, told: dict[str, Any], text: str) -> list[str]:
    """The answered fields this message changes: the programme whenever another is told (the newest
    word wins, as in the FAQ's context), the others when the person says they got it wrong."""
    if not progress or not told:
        return []
    words = f" {ctx.normalizer.light(text)} "
    cued = any(f" {cue} " in words for cue in ctx.content.questions.navigation.get("correction", ()))
    return [field for field, value in told.items()
            if field in progress.answers and field not in (question.field, "for_whom") and progress.answers[field] != _stored(value)
            and (field == "background" or cued)]


def undo_from(ctx: Context, progress: EligibilityProgress, fields: list[str]) -> None:
    """Forgets the answers of the first question asking one of `fields` and of every later one."""
    field_of = {q.id: q.field for q in ctx.content.questions.questions}
    first = next(i for i, qid in enumerate(progress.asked) if field_of.get(qid) in fields)
    for qid in progress.asked[first:]:
        progress.answers.pop(field_of.get(qid, ""), None)
    del progress.asked[first:]
    progress.known = [qid for qid in progress.known if qid in progress.asked]


def _stored(value: Any) -> Any:
    """An answer as the conversation state keeps it (a range as a list)."""
    return list(value) if isinstance(value, tuple) else value


def parse_answer(ctx: Context, question: Question, text: str) -> tuple[bool, Any]:
    """(True, value) when the text answers the question; (False, None) when it does not."""
    unknown_option = any(option.value is None for option in question.options)
    if unknown_option and says_unknown(text):
        return True, None
    words = ctx.normalizer.light(text)
    questions = ctx.content.questions
    for target, vocabulary in ((True, questions.yes_words), (False, questions.no_words)):
        if words in vocabulary and any(option.value is target for option in question.options):
            return True, target
    # The words of an option ("vừa ra", "vợ tôi"): the longest phrase found wins.
    padded = f" {words} "
    candidates = [
        (len(phrase), option.value)
        for option in question.options
        for phrase in option.also
        if f" {phrase} " in padded
    ]
    if candidates:
        return True, max(candidates, key=lambda c: c[0])[1]
    if question.kind in PARSERS:
        value = PARSERS[question.kind](text, ctx.today)
        if value is None:
            return False, None
        return True, (None if value == UNKNOWN else value)
    # "có, ở xã này": a leading yes or no answers a yes/no question.
    first = words.split()[0] if words else ""
    for target, vocabulary in ((True, questions.yes_words), (False, questions.no_words)):
        if first in vocabulary and any(option.value is target for option in question.options):
            return True, target
    return False, None


def _facts(answers: dict) -> dict:
    """The answers as profile facts; the first answer also says who applies."""
    facts = dict(answers)
    if "for_whom" in facts:
        facts["applicant"] = "business" if facts["for_whom"] == "business" else "person"
    return facts


def _subject(texts: Texts, progress: EligibilityProgress) -> str:
    return texts.t(SUBJECTS.get(progress.answers.get("for_whom", ""), "eligibility.subject_self"))


def _progress(state: ConversationState) -> EligibilityProgress:
    """The check's answers: made when it begins, so there in each of its steps."""
    assert state.eligibility is not None
    return state.eligibility


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
