"""Policy questions: the curated answer with its legal reference, suggestions, or an honest fallback."""

from __future__ import annotations

from bot.context import Context, Outcome, Result
from bot.nlu.matcher import Status
from bot.privacy import redact
from bot.router import Router
from bot.state import ConversationState, Flow
from bot.types import Button, Incoming, Reply
from content.models import FaqEntry
from handlers.common import back_to_menu, menu_buttons


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
    """Matches the text against the FAQ and builds the reply for its band."""
    result = ctx.matcher.match(text)
    if result.status is Status.ANSWER:
        entry = ctx.content.faq_by_id[result.best.entry_id]
        return Result([answer_reply(ctx, entry)], Outcome(result.status.value, entry.id, result.score))
    if result.status is Status.SUGGEST:
        ctx.record_unanswered(redact(text), result.status.value)
        entries = [ctx.content.faq_by_id[c.entry_id] for c in result.candidates]
        buttons = tuple(Button(e.question, f"faq:{e.id}") for e in entries)
        reply = Reply(ctx.t("faq.suggest"), buttons + (ctx.button("faq.none_of_these", "faq:none"),))
        return Result([reply], Outcome(result.status.value, None, result.score, tuple(e.question for e in entries)))
    ctx.record_unanswered(redact(text), result.status.value)
    return Result([fallback_reply(ctx)], Outcome(result.status.value, None, result.score))


def answer_reply(ctx: Context, entry: FaqEntry) -> Reply:
    """The answer, with figures in force today, its legal reference and related questions as buttons."""
    answer = ctx.content.render(entry.answer, when=ctx.today, texts=ctx.texts)
    text = f"{answer}\n{ctx.t('faq.reference', reference=entry.reference)}"
    related = tuple(ctx.button_for_entry(r) for r in entry.related)
    return Reply(text, related + (back_to_menu(ctx),))


def fallback_reply(ctx: Context) -> Reply:
    return Reply(ctx.t("faq.fallback"), menu_buttons(ctx))
