"""Policy questions: the curated answer with its legal reference, suggestions, or an honest fallback."""

from __future__ import annotations

import re
from functools import lru_cache

from bot.context import Context, Outcome, Result
from bot.nlu.matcher import Candidate, Status
from bot.nlu.normalize import fold
from bot.privacy import redact_question
from bot.router import Router
from bot.state import ConversationState, Flow
from bot.types import Button, Incoming, Reply
from content.models import FaqEntry
from handlers.common import back_to_menu, menu_buttons

MAX_ANSWERS = 3
MAX_CLAUSES = 8
MAX_CLAUSE_TEXT = 2000


def register(router: Router) -> None:
    router.payload("faq", on_payload)
    router.text(on_text)


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result:
    """Answers a free-text question, whatever the menu state."""
    state.flow, state.step = Flow.FAQ, None
    return respond(ctx, msg.text)


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """Answers the question on a pressed button ('faq:<id>'); 'faq:none' means no suggestion fitted."""
    state.flow, state.step = Flow.FAQ, None
    entry_id = payload.split(":", 1)[1] if ":" in payload else ""
    entry = ctx.content.faq_by_id.get(entry_id)
    if entry is None:
        return Result([fallback_reply(ctx)], Outcome(Status.FALLBACK.value))
    return Result([answer_reply(ctx, entry)], Outcome(Status.ANSWER.value, entry.id, 1.0))


def respond(ctx: Context, text: str) -> Result:
    """Matches the text against the FAQ and builds the reply for its band. A message that asks
    several things ("vay bao nhiêu, lãi bao nhiêu, đăng ký ở đâu") gets each clear answer."""
    result = ctx.matcher.match(text)
    answered = clause_answers(ctx, text)
    if len(answered) < 2 and result.status is Status.ANSWER:
        # One question (or one clear clause): the whole message's answer.
        answered = [result.best]
    if answered:
        entries = [ctx.content.faq_by_id[c.entry_id] for c in answered[:MAX_ANSWERS]]
        return Result(answer_replies(ctx, entries), Outcome(Status.ANSWER.value, entries[0].id, answered[0].score))
    if result.status is Status.SUGGEST:
        ctx.record_unanswered(redact_question(text), result.status.value)
        entries = [ctx.content.faq_by_id[c.entry_id] for c in result.candidates]
        buttons = tuple(Button(e.question, f"faq:{e.id}") for e in entries)
        reply = Reply(ctx.t("faq.suggest"), buttons + (ctx.button("faq.none_of_these", "faq:none"),))
        return Result([reply], Outcome(result.status.value, None, result.score, tuple(e.question for e in entries)))
    ctx.record_unanswered(redact_question(text), result.status.value)
    if ctx.matcher.is_vague(text) and ctx.content.matching.popular:
        # "vay", "vay vốn": on topic but too vague for one answer — offer the common questions.
        known = [ctx.content.faq_by_id[i] for i in ctx.content.matching.popular if i in ctx.content.faq_by_id]
        popular = known[: ctx.content.matching.max_suggestions]
        buttons = tuple(Button(e.question, f"faq:{e.id}") for e in popular) + (back_to_menu(ctx),)
        reply = Reply(ctx.t("faq.vague"), buttons)
        return Result([reply], Outcome(Status.SUGGEST.value, None, result.score, tuple(e.question for e in popular)))
    return Result([fallback_reply(ctx)], Outcome(result.status.value, None, result.score))


def answer_replies(ctx: Context, entries: list[FaqEntry]) -> list[Reply]:
    """One reply per answer; the buttons (related questions, menu) only under the last one, so a
    typed "1" means the first button the person sees last."""
    if len(entries) == 1:
        return [answer_reply(ctx, entries[0])]
    answered = {e.id for e in entries}
    related = list(dict.fromkeys(r for e in entries for r in e.related if r not in answered))[:3]
    replies = [Reply(answer_reply(ctx, e).text) for e in entries]
    buttons = tuple(ctx.button_for_entry(r) for r in related) + (back_to_menu(ctx),)
    replies[-1] = Reply(replies[-1].text, buttons)
    return replies


@lru_cache(maxsize=8)
def _clause_pattern(joiners: tuple[str, ...]) -> re.Pattern:
    # Clauses end at sentence punctuation, a comma not inside a number, or a word joining two asks.
    words = "|".join(re.escape(j) for j in sorted(joiners, key=len, reverse=True))
    return re.compile(r"[?.!;\n]+|,(?!\d)" + (rf"|\b(?:{words})\b" if words else ""))


def clause_answers(ctx: Context, text: str) -> list[Candidate]:
    """Confident answers to the separate clauses of a message, in order, without repeats."""
    pattern = _clause_pattern(ctx.normalizer.clause_joiners)
    clauses = [c for c in pattern.split(fold(text[:MAX_CLAUSE_TEXT])) if c and len(c.split()) >= 2]
    if len(clauses) < 2:
        return []
    found: list[Candidate] = []
    for clause in clauses[:MAX_CLAUSES]:
        result = ctx.matcher.match(clause)
        if result.status is Status.ANSWER and all(c.entry_id != result.best.entry_id for c in found):
            found.append(result.best)
    return found


def answer_reply(ctx: Context, entry: FaqEntry) -> Reply:
    """The answer, with figures in force today, its legal reference and related questions as buttons."""
    answer = ctx.content.render(entry.answer, when=ctx.today, texts=ctx.texts)
    text = f"{answer}\n{ctx.t('faq.reference', reference=entry.reference)}"
    related = tuple(ctx.button_for_entry(r) for r in entry.related)
    return Reply(text, related + (back_to_menu(ctx),))


def fallback_reply(ctx: Context) -> Reply:
    return Reply(ctx.t("faq.fallback"), menu_buttons(ctx))
