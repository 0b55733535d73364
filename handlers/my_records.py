"""'Hồ sơ của tôi': each registration's status and history, and the person's data rights —
see my data, withdraw consent, delete my data (each as a button and a command)."""

from __future__ import annotations

from datetime import date

from bot.context import Context, Result
from bot.registration import service, steps
from bot.registration.record import summary_lines
from bot.router import Router
from bot.state import ConversationState, Flow
from bot.types import Button, Reply
from bot.vntime import vietnam_date
from handlers.common import back_to_menu, menu_buttons, menu_reply
from storage import registrations

PREFIX = "me"
COMMANDS = {"hoso": "me:show", "dulieu": "me:data", "rutdongy": "me:withdraw", "xoadulieu": "me:delete"}


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    for name, payload in COMMANDS.items():
        router.command(name, _pressing(payload))


def _pressing(payload: str):
    """A command ("/hoso") that does what its button does."""
    def handler(ctx: Context, arguments: str, state: ConversationState) -> Result:
        return on_payload(ctx, payload, state)
    return handler


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """me:show | me:data | me:withdraw[:yes] | me:delete[:yes]."""
    if not ctx.has_storage:
        return Result([menu_reply(ctx, "registration.unavailable")])
    state.flow, state.step = Flow.MENU, None
    action = payload.split(":")[1:]
    if action == ["data"]:
        return see_data(ctx)
    if action in (["withdraw"], ["delete"]):
        return confirm_erase(ctx, action[0])
    if action in (["withdraw", "yes"], ["delete", "yes"]):
        return erase(ctx, state, everything=action[0] == "delete")
    return show(ctx)


def _rights_buttons(ctx: Context):
    return (
        ctx.button("records.see_data", f"{PREFIX}:data"),
        ctx.button("records.withdraw", f"{PREFIX}:withdraw"),
        ctx.button("records.delete", f"{PREFIX}:delete"),
        back_to_menu(ctx),
    )


def show(ctx: Context) -> Result:
    """Each registration: reference, status, and what happened when (officers' messages included)."""
    rows = registrations.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
    if not rows:
        buttons = (ctx.button("menu.item_register", "reg:start"), ctx.button("records.delete", f"{PREFIX}:delete"), back_to_menu(ctx))
        return Result([Reply(ctx.t("records.none"), buttons)])
    parts = [ctx.t("records.heading", count=len(rows))]
    for row in rows:
        parts.append(ctx.t("records.item", reference=service.show_reference(row.reference),
                           status=ctx.t(f"status.{row.status}"), commune=ctx.places.label(row.commune_code)))
        for event in registrations.events(session=ctx.session, registration_id=row.id):
            if event.action == "note":
                continue  # officers' working notes are theirs
            note = ctx.cipher.decrypt(event.note) if event.note else None
            when = ctx.texts.date(vietnam_date(event.at))
            line = ctx.t("records.event", date=when, action=ctx.t(f"records.action_{event.action}"))
            if event.action == registrations.GRANTED and row.outcome:
                outcome = steps.outcome_of(ctx, row)
                line += ctx.t("records.event_granted", amount=ctx.texts.money(outcome.get("amount") or 0),
                              date=ctx.texts.date(date.fromisoformat(outcome["on"])))
            parts.append(line + (ctx.t("records.event_note", note=note) if note else ""))
    return Result([Reply("\n".join(parts), _amend_buttons(ctx, rows) + _rights_buttons(ctx))])


def _amend_buttons(ctx: Context, rows) -> tuple[Button, ...]:
    """Each active registration can be corrected without registering again."""
    return tuple(Button(ctx.t("records.amend", reference=service.show_reference(row.reference)), f"reg:amend:{row.id}")
                 for row in rows if row.status in registrations.ACTIVE)


def see_data(ctx: Context) -> Result:
    """Everything the bot holds about the person: each registration's fields (ID number masked)."""
    rows = registrations.of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
    questions = [q for q in registrations.questions_of_chat(session=ctx.session, channel=ctx.channel, chat_id=ctx.chat_id)
                 if q.status != "erased"]
    if not rows and not questions:
        return Result([Reply(ctx.t("records.no_data"), menu_buttons(ctx))])
    form = ctx.content.registration
    parts = [ctx.t("records.data_heading")]
    for row in rows:
        details = service.load_details(ctx.cipher, row)
        parts.append(ctx.t("records.data_item", reference=service.show_reference(row.reference)))
        parts.extend(summary_lines(details, ctx.texts, ctx.places, form, ctx.today))
    for question in questions:
        phone = ctx.cipher.decrypt(question.phone) if question.phone else None
        text = ctx.cipher.decrypt(question.question) if question.question else None
        parts.append(ctx.t("records.data_question", number=question.id, text=text or "",
                           phone=phone or ctx.t("officer.no_phone")))
    parts.append(ctx.t("records.data_footer"))
    return Result([Reply("\n".join(parts), _amend_buttons(ctx, rows) + _rights_buttons(ctx))])


def confirm_erase(ctx: Context, action: str) -> Result:
    buttons = (ctx.button(f"records.{action}_yes", f"{PREFIX}:{action}:yes"), ctx.button("records.keep", f"{PREFIX}:show"))
    return Result([Reply(ctx.t(f"records.{action}_confirm"), buttons)])


def erase(ctx: Context, state: ConversationState, *, everything: bool) -> Result:
    """Erases the personal fields (stubs stay for the audit trail); deleting also clears this chat's saved answers."""
    count = service.erase_chat(ctx, everything=everything)
    state.forget(everything=everything)  # deleting: what the person said about their situation goes too
    key = "records.deleted" if everything else "records.withdrawn"
    return Result([Reply(ctx.t(key, count=count), menu_buttons(ctx))])
