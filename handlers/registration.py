"""Registration of loan interest: who registers, explicit consent, one field per turn, a summary,
then a reference code. Answers so far are kept (encrypted) in the conversation state, so someone
who leaves and comes back days later continues where they stopped.

Steps (state.step): who → relationship (family member) → consent → the fields in
bot.registration.record.FIELDS → summary (confirm / change one field / cancel) → repeat (same
phone and commune registered before: update it?) → done.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot.context import Context, Result
from bot.nlu.numbers import parse_amount, says_unknown
from bot.nlu.matcher import Status
from bot.registration import service
from bot.registration.fields import (
    Invalid, read_birth_year, read_event_year, read_free_text, read_name, read_national_id, read_phone,
)
from bot.registration.record import FIELDS, OPTIONAL, Details, summary_lines
from bot.router import FlowSpec, Router, resolve_button, typed_number
from bot.state import ConversationState, Flow
from bot.types import Button, Incoming, Reply
from handlers.common import continue_with, back_to_menu, menu_buttons, menu_reply
from handlers.places import ask_commune, ask_province, commune_choices, province_choices

KEY = "registration"
PREFIX = "reg"
DEPENDENT = {"commune": ("province",), "programme": ("event_year", "amount", "amount_requested"),
             "purpose": ("amount", "amount_requested")}
# Steps whose buttons (skip, not sure) a bare typed number presses; elsewhere a number is an answer.
NUMBERED_BUTTONS = frozenset({"village", "description", "id_number", "event_year", "amount"})
MAX_AMOUNT = 10_000_000_000  # anything above is a typing slip, not a loan request
CHOICE_STEPS = {"who", "relationship", "consent", "programme", "purpose", "summary", "change", "repeat"}
READERS = {
    "name": lambda ctx, text: read_name(text),
    "birth_year": lambda ctx, text: read_birth_year(text, ctx.today),
    "phone": lambda ctx, text: read_phone(text),
    "village": lambda ctx, text: read_free_text(text, limit=100),
    "event_year": lambda ctx, text: read_event_year(text, ctx.today),
    "description": lambda ctx, text: read_free_text(text),
    "id_number": lambda ctx, text: read_national_id(text),
}


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    router.flow(Flow.REGISTRATION, FlowSpec(handle=on_text, reprompt=reprompt, claims=claims))


# -- entry ---------------------------------------------------------------------------------------


def start(ctx: Context, state: ConversationState) -> Result:
    """From the menu or after an eligibility result: continue an unfinished registration, or begin."""
    if not ctx.has_storage:
        return Result([menu_reply(ctx, "registration.unavailable")])
    draft = state.data.get(KEY)
    if draft and state.flow is Flow.REGISTRATION:
        return advance(ctx, state)  # the menu button pressed again mid-way: nothing is lost
    if draft and draft.get("consent_id"):
        buttons = (
            ctx.button("registration.continue", f"{PREFIX}:continue"),
            ctx.button("registration.restart", f"{PREFIX}:restart"),
            back_to_menu(ctx),
        )
        state.flow = Flow.MENU
        return Result([Reply(ctx.t("registration.resume_offer"), buttons)])
    return begin(ctx, state)


def begin(ctx: Context, state: ConversationState) -> Result:
    """A fresh registration, pre-filled from an eligibility check done in this chat."""
    state.data[KEY] = {"fields": prefill(state.data.get("eligibility")), "consent_id": None}
    return advance(ctx, state, [Reply(ctx.t("registration.intro"))])


def prefill(eligibility: dict | None) -> dict[str, Any]:
    """What the eligibility answers already say: who, the programme, the purpose, the amount."""
    answers = (eligibility or {}).get("answers", {})
    fields: dict[str, Any] = {}
    if answers.get("for_whom") in ("self", "relative"):
        fields["registrant"] = answers["for_whom"]
    programme = {"after_rehab": "qd08_2026", "after_prison": "qd22_2023"}.get(answers.get("background"))
    if programme:
        fields["programme"] = programme
    if answers.get("purpose") in ("vocational_training", "business"):
        fields["purpose"] = answers["purpose"]
    if isinstance(answers.get("amount_requested_vnd"), int):
        fields["amount"] = answers["amount_requested_vnd"]
    return fields


# -- asking ----------------------------------------------------------------------------------------


def next_step(draft: dict) -> str:
    fields = draft["fields"]
    if "registrant" not in fields:
        return "who"
    if fields["registrant"] == "relative" and "relationship" not in fields:
        return "relationship"
    if not draft.get("consent_id"):
        return "consent"
    return next((f for f in FIELDS if f not in fields), "summary")


def _stop_button(ctx: Context) -> Button:
    return ctx.button("registration.stop", f"{PREFIX}:stop")


def ask(ctx: Context, state: ConversationState) -> Reply:
    """The question for the current step, with its buttons."""
    draft = state.data[KEY]
    step = state.step
    form = ctx.content.registration
    fields = draft["fields"]
    relative = fields.get("registrant") == "relative"
    if step == "who":
        return Reply(ctx.t("registration.ask_who"), (
            ctx.button("registration.who_self", f"{PREFIX}:who:self"),
            ctx.button("registration.who_relative", f"{PREFIX}:who:relative"),
            _stop_button(ctx),
        ))
    if step == "relationship":
        return Reply(ctx.t("registration.ask_relationship"),
                     tuple(Button(c.label, f"{PREFIX}:rel:{c.value}") for c in form.relationships) + (_stop_button(ctx),))
    if step == "consent":
        # Two buttons, nothing pre-selected; silence is not consent.
        return Reply(consent_text(ctx), (
            ctx.button("registration.consent_yes", f"{PREFIX}:consent:yes"),
            ctx.button("registration.consent_no", f"{PREFIX}:consent:no"),
        ))
    if step == "province":
        return ask_province(ctx, PREFIX)
    if step == "commune":
        return ask_commune(ctx, fields["province"], PREFIX)
    if step == "programme":
        return Reply(ctx.t("registration.ask_programme_relative" if relative else "registration.ask_programme"),
                     tuple(Button(c.label, f"{PREFIX}:prog:{c.value}") for c in form.programmes) + (_stop_button(ctx),))
    if step == "purpose":
        return Reply(ctx.t("registration.ask_purpose"),
                     tuple(Button(c.label, f"{PREFIX}:purp:{c.value}") for c in form.purposes) + (_stop_button(ctx),))
    if step == "summary":
        return summary(ctx, state)
    if step == "event_year":
        key = "registration.ask_event_year_qd22" if fields.get("programme") == "qd22_2023" else "registration.ask_event_year_qd08"
        return Reply(ctx.t(key), (ctx.button("registration.unknown", f"{PREFIX}:unknown"), _stop_button(ctx)))
    if step == "amount":
        return Reply(ctx.t("registration.ask_amount"), (ctx.button("registration.unknown", f"{PREFIX}:unknown"), _stop_button(ctx)))
    buttons = (ctx.button("registration.skip", f"{PREFIX}:skip"),) if step in OPTIONAL else ()
    suffix = "_relative" if relative and step in ("name", "birth_year") else ""
    return Reply(ctx.t(f"registration.ask_{step}{suffix}"), buttons + (_stop_button(ctx),))


def consent_text(ctx: Context) -> str:
    return ctx.content.registration.consent.text.strip().replace("{retention_months}", str(ctx.retention_months))


def advance(ctx: Context, state: ConversationState, before: list[Reply] | None = None) -> Result:
    """Moves to the next missing field (or back to the summary after a change) and asks it."""
    draft = state.data[KEY]
    state.flow = Flow.REGISTRATION
    state.step = "summary" if draft.get("editing") and draft.get("consent_id") and next_step(draft) == "summary" else next_step(draft)
    if state.step == "summary":
        draft.pop("editing", None)
    return Result((before or []) + [ask(ctx, state)])


def reprompt(ctx: Context, state: ConversationState) -> Reply | None:
    """After a question answered on the way, the pending step again."""
    if KEY not in state.data or state.step is None:
        return None
    return continue_with(ctx, ask(ctx, state))


def summary(ctx: Context, state: ConversationState) -> Reply:
    details = Details.model_validate(state.data[KEY]["fields"])
    lines = summary_lines(details, ctx.texts, ctx.places, ctx.content.registration, ctx.today)
    text = "\n".join([ctx.t("registration.summary_heading"), *lines, ctx.t("registration.summary_question")])
    return Reply(text, (
        ctx.button("registration.confirm", f"{PREFIX}:confirm"),
        ctx.button("registration.change", f"{PREFIX}:change"),
        ctx.button("registration.cancel", f"{PREFIX}:cancel"),
    ))


# -- buttons ---------------------------------------------------------------------------------------


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """Every registration button; one from an earlier step is answered with the current question."""
    parts = payload.split(":")
    action, value = parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""
    if action == "start":
        return start(ctx, state)
    if not ctx.has_storage:
        return Result([menu_reply(ctx, "registration.unavailable")])
    if action == "restart":
        return begin(ctx, state)
    draft = state.data.get(KEY)
    if draft is None:
        done = state.data.get("registration_done")
        if done and action in ("confirm", "update", "cancel"):
            return Result([Reply(ctx.t("registration.already_sent", reference=service.show_reference(done)), menu_buttons(ctx))])
        return Result([menu_reply(ctx, "input.stale_button")])
    if action == "continue":
        return advance(ctx, state)
    if action == "stop":
        return pause(ctx, state)
    step = state.step if state.flow is Flow.REGISTRATION else None
    handler = BUTTONS.get(action)
    if handler is None or step not in handler[0]:
        return stale(ctx, state)
    return handler[1](ctx, state, value)


def stale(ctx: Context, state: ConversationState) -> Result:
    state.flow = Flow.REGISTRATION
    state.step = state.step or next_step(state.data[KEY])
    return Result([Reply(ctx.t("input.stale_button")), ask(ctx, state)])


def pause(ctx: Context, state: ConversationState) -> Result:
    """Stops for now: what was typed stays (encrypted) so it can be continued later."""
    state.flow, state.step = Flow.MENU, None
    if not state.data[KEY].get("consent_id"):
        state.data.pop(KEY)  # nothing agreed yet: nothing kept
    return Result([Reply(ctx.t("registration.paused"), menu_buttons(ctx))])


def _set(field: str):
    def handler(ctx: Context, state: ConversationState, value: str) -> Result:
        state.data[KEY]["fields"][field] = value
        return advance(ctx, state)
    return handler


def _consent(ctx: Context, state: ConversationState, value: str) -> Result:
    """Agreeing stores the consent record; declining ends kindly and keeps nothing."""
    if value != "yes":
        state.data.pop(KEY, None)
        state.flow, state.step = Flow.MENU, None
        return Result([Reply(ctx.t("registration.declined"), menu_buttons(ctx))])
    form = ctx.content.registration.consent
    text_hash = hashlib.sha256(consent_text(ctx).encode("utf-8")).hexdigest()
    state.data[KEY]["consent_id"] = service.record_consent(ctx, version=form.version, text_hash=text_hash)
    return advance(ctx, state, [Reply(ctx.t("registration.consent_thanks"))])


def _place(ctx: Context, state: ConversationState, value: str) -> Result:
    """A province or commune button: the code must be one that was offered in this step."""
    fields = state.data[KEY]["fields"]
    offered = {b.payload for b in state.buttons}
    kind = "prov" if state.step == "province" else "comm"
    if f"{PREFIX}:{kind}:{value}" not in offered or not value.isdecimal():
        return stale(ctx, state)
    if kind == "prov":
        fields["province"] = int(value)
        fields.pop("commune", None)
    else:
        fields["commune"] = int(value)
    return advance(ctx, state)


def _retype(ctx: Context, state: ConversationState, value: str) -> Result:
    return Result([ask(ctx, state)])


def _reprovince(ctx: Context, state: ConversationState, value: str) -> Result:
    state.data[KEY]["fields"].pop("province", None)
    state.data[KEY]["fields"].pop("commune", None)
    state.data[KEY]["editing"] = True
    return advance(ctx, state)


def _skip(ctx: Context, state: ConversationState, value: str) -> Result:
    state.data[KEY]["fields"][state.step] = None
    return advance(ctx, state)


def _change(ctx: Context, state: ConversationState, value: str) -> Result:
    """Which field to change: one button per field."""
    state.step = "change"
    buttons = tuple(ctx.button(f"registration.label_{f}", f"{PREFIX}:edit:{f}") for f in FIELDS if f != "province")
    return Result([Reply(ctx.t("registration.ask_change"), buttons + (ctx.button("registration.back_to_summary", f"{PREFIX}:edit:none"),))])


def _edit(ctx: Context, state: ConversationState, value: str) -> Result:
    draft = state.data[KEY]
    if value in FIELDS:
        # A changed field takes the ones that depend on it along: the year belongs to the
        # programme, the amount's cap to the programme and the purpose.
        for field in (value, *DEPENDENT.get(value, ())):
            draft["fields"].pop(field, None)
        draft["editing"] = True
    return advance(ctx, state)


def _cancel(ctx: Context, state: ConversationState, value: str) -> Result:
    """Cancels before sending: the draft is dropped (the consent record stays as proof it was given)."""
    state.data.pop(KEY, None)
    state.flow, state.step = Flow.MENU, None
    return Result([Reply(ctx.t("registration.cancelled"), menu_buttons(ctx))])


def _confirm(ctx: Context, state: ConversationState, value: str) -> Result:
    """Sends it, unless the same phone is already registered in the same commune: then offer to update that one."""
    details = Details.model_validate(state.data[KEY]["fields"])
    repeat = service.find_repeat(ctx, details)
    if repeat is not None:  # only this chat's own registrations: a phone number reveals nobody else's
        state.step = "repeat"
        reference = service.show_reference(repeat.reference)
        return Result([Reply(ctx.t("registration.repeat_found", reference=reference), (
            ctx.button("registration.repeat_update", f"{PREFIX}:update:{repeat.id}"),
            ctx.button("registration.cancel", f"{PREFIX}:cancel"),
        ))])
    registration = service.submit(ctx, details, consent_id=state.data[KEY]["consent_id"])
    return _done(ctx, state, registration.reference, "registration.sent")


def _update(ctx: Context, state: ConversationState, value: str) -> Result:
    details = Details.model_validate(state.data[KEY]["fields"])
    repeat = service.find_repeat(ctx, details)
    if repeat is None or str(repeat.id) != value:
        return stale(ctx, state)
    service.update(ctx, repeat, details, consent_id=state.data[KEY]["consent_id"])
    return _done(ctx, state, repeat.reference, "registration.updated")


def _done(ctx: Context, state: ConversationState, reference: str, key: str) -> Result:
    state.data.pop(KEY, None)
    state.data["registration_done"] = reference
    state.flow, state.step = Flow.MENU, None
    buttons = (ctx.button("menu.item_my_records", "me:show"), back_to_menu(ctx))
    return Result([Reply(ctx.t(key, reference=service.show_reference(reference)), buttons)])


def _unknown(ctx: Context, state: ConversationState, value: str) -> Result:
    state.data[KEY]["fields"][state.step] = None
    return advance(ctx, state)


# action → (steps where it is valid, handler)
BUTTONS = {
    "who": ({"who"}, lambda ctx, state, value: _set("registrant")(ctx, state, value) if value in ("self", "relative") else stale(ctx, state)),
    "rel": ({"relationship"}, _set("relationship")),
    "consent": ({"consent"}, _consent),
    "prov": ({"province"}, _place),
    "comm": ({"commune"}, _place),
    "retype": ({"province", "commune"}, _retype),
    "reprovince": ({"commune"}, _reprovince),
    "skip": (set(OPTIONAL), _skip),
    "unknown": ({"event_year", "amount"}, _unknown),
    "prog": ({"programme"}, _set("programme")),
    "purp": ({"purpose"}, _set("purpose")),
    "change": ({"summary"}, _change),
    "edit": ({"change"}, _edit),
    "cancel": ({"summary", "repeat", "change"}, _cancel),
    "confirm": ({"summary"}, _confirm),
    "update": ({"repeat"}, _update),
}


# -- typed answers -------------------------------------------------------------------------------------


def _free_step(state: ConversationState) -> str | None:
    if state.flow is not Flow.REGISTRATION or KEY not in state.data:
        return None
    return state.step if state.step not in CHOICE_STEPS else None


def claims(ctx: Context, text: str, state: ConversationState) -> bool:
    """In a typed step, the text is the answer (a number where a name is asked gets an explanation),
    unless it is a button's label, a navigation word, or clearly a policy question."""
    step = _free_step(state)
    if step is None:
        return False
    light = ctx.normalizer.light
    is_number = typed_number(text, light, ctx.normalizer.choice_words) is not None
    if resolve_button(text, state.buttons, light, ctx.normalizer.choice_words) is not None and (
        not is_number or step in ("province", "commune") or step in NUMBERED_BUTTONS
    ):
        return False
    return not _is_aside(ctx, text)


def _is_aside(ctx: Context, text: str) -> bool:
    """'quay lại', 'thoát', or a question the FAQ knows well: not an answer to the step."""
    words = ctx.normalizer.light(text)
    navigation = ctx.content.questions.navigation
    if any(words in navigation[k] for k in ("back", "exit", "restart")):
        return True
    if text.strip().endswith("?"):
        return True
    match = ctx.matcher.match(text)
    return match.status is Status.ANSWER and match.score >= ctx.content.matching.sure_threshold


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result | None:
    """A typed answer for the current step; None when the text is something else (a question)."""
    if state.flow is not Flow.REGISTRATION or KEY not in state.data:
        return None
    words = ctx.normalizer.light(msg.text)
    navigation = ctx.content.questions.navigation
    if words in navigation["exit"]:
        return pause(ctx, state)
    step = state.step
    if step in CHOICE_STEPS:
        return _typed_choice(ctx, state, words)
    if _is_aside(ctx, msg.text):
        return None
    fields = state.data[KEY]["fields"]
    if step == "province":
        return Result([province_choices(ctx, msg.text, PREFIX)])
    if step == "commune":
        return Result([commune_choices(ctx, fields["province"], msg.text, PREFIX)])
    if step in ("event_year", "amount") and says_unknown(msg.text):
        fields[step] = None
        return advance(ctx, state)
    if step == "amount":
        return _amount(ctx, state, msg.text)
    try:
        fields[step] = READERS[step](ctx, msg.text)
    except Invalid as exc:
        return Result([Reply(ctx.t(exc.key, **exc.values)), ask(ctx, state)])
    return advance(ctx, state)


def _typed_choice(ctx: Context, state: ConversationState, words: str) -> Result | None:
    """Words that pick a choice ('vợ tôi', 'cai nghiện', 'học nghề', 'đồng ý')."""
    form = ctx.content.registration
    lists = {"relationship": ("rel", form.relationships), "programme": ("prog", form.programmes), "purpose": ("purp", form.purposes)}
    if state.step in lists:
        action, choices = lists[state.step]
        padded = f" {words} "
        # The phrase that starts first wins, then the longest: "mẹ chồng tôi" is an in-law, not a spouse.
        hits = [(-padded.find(f" {p} "), len(p), c.value) for c in choices for p in c.also if f" {p} " in padded]
        if hits:
            return on_payload(ctx, f"{PREFIX}:{action}:{max(hits)[2]}", state)
    questions = ctx.content.questions
    if state.step == "consent" and (words in questions.yes_words or words in ("dong y", "toi dong y")):
        return on_payload(ctx, f"{PREFIX}:consent:yes", state)
    if state.step == "consent" and (words in questions.no_words or words in ("khong dong y", "tu choi")):
        return on_payload(ctx, f"{PREFIX}:consent:no", state)
    return None


def _amount(ctx: Context, state: ConversationState, text: str) -> Result:
    """'50tr', '50 triệu', '50.000.000', '1,5 tỷ'. Above the programme's cap: say so, record the cap."""
    amount = parse_amount(text)
    if amount is None or not 1_000_000 <= amount <= MAX_AMOUNT:
        return Result([Reply(ctx.t("registration.invalid_amount")), ask(ctx, state)])
    fields = state.data[KEY]["fields"]
    cap = service.cap_for(ctx, fields.get("programme"), fields.get("purpose"))
    before: list[Reply] = []
    if cap is not None and amount > cap:
        fields["amount_requested"] = amount
        before.append(Reply(ctx.t("registration.amount_capped", cap=ctx.texts.money_words(cap))))
        amount = cap
    else:
        fields.pop("amount_requested", None)
    fields["amount"] = amount
    return advance(ctx, state, before)
