"""Registration of loan interest: who registers, explicit consent, one field per turn, a summary,
then a reference code. Answers so far are kept (encrypted) in the conversation state, so someone
who leaves and comes back days later continues where they stopped, with the same buttons.

Replies are read in the person's own words (bot/registration/fields.py): "cho thằng con trai
tui", "dạ tui đồng ý", "tên nó là Trần Văn Hùng", "nó sinh năm 98", "hai trăm triệu", "thôi
khỏi", "ừ gửi đi". What was interpreted is said back ("Đã ghi năm sinh: 1998"); an odd name or a
range of amounts is asked about before anything is stored; an unclear reply gets the question
again with an example. "quay lại" goes back one step; "Hủy" is confirmed first.

Steps (state.step, a RegistrationStep): who → relationship (family member) → consent → the fields in
bot.registration.record.FIELDS, or BUSINESS_FIELDS for a business (its name and kind, the
representative, its workforce and the share after rehab or prison, checked by the same rule as the
eligibility check, up to the business cap) (name may pause at name_confirm, amount at amount_range) →
summary (confirm / change one field / cancel, confirmed at "cancel") → repeat (same phone and
commune registered before: update it?) → done.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from bot import limits
from bot.context import Context, Result
from bot.nlu.facts import Facts
from bot.nlu.matcher import Status
from bot.nlu.normalize import clean, fold
from bot.nlu.numbers import parse_count, read_amount, says_unknown, without_figures
from bot.nlu.spoken import spelled_numbers
from bot.registration import service
from bot.registration.fields import (
    PLACE_PARTS,
    Invalid,
    exact_province,
    is_plain_year,
    name_looks_odd,
    pick_choice,
    place_in_parts,
    read_birth_year,
    read_event_year,
    read_free_text,
    read_name,
    read_national_id,
    read_phone,
    read_relationship,
    read_summary,
    read_who,
    read_yes_no,
    says_back,
    says_retype,
    says_skip,
)
from bot.registration.record import (
    BUSINESS_FIELDS,
    FIELDS,
    OPTIONAL,
    Details,
    field_label,
    field_value,
    fields_of,
    registrant_text,
    staff_share,
    summary_lines,
)
from bot.router import FlowSpec, Router, resolve_button, typed_number
from bot.state import ConversationState, EligibilityProgress, Flow, PendingAnswer, RegistrationDraft, RegistrationStep
from bot.types import Button, Incoming, Reply
from handlers import places
from handlers.common import asks, back_to_menu, continue_with, menu_buttons, menu_reply
from handlers.places import ask_commune, ask_province
from storage import officers, registrations

PREFIX = "reg"
DEPENDENT = {"commune": ("province",), "programme": ("event_year", "amount", "amount_requested"),
             "purpose": ("amount", "amount_requested"), "workforce_total": ("workforce_beneficiaries",)}
# Steps whose buttons (skip, not sure) a bare typed number presses; elsewhere a number is an answer.
NUMBERED_BUTTONS = frozenset({RegistrationStep.VILLAGE, RegistrationStep.DESCRIPTION, RegistrationStep.ID_NUMBER,
                              RegistrationStep.EVENT_YEAR, RegistrationStep.AMOUNT})
MAX_AMOUNT = 10_000_000_000  # anything above is a typing slip, not a loan request
MIN_AMOUNT = 1_000_000
# Steps answered by choosing (buttons, or words that pick one); the others are typed.
CHOICE_STEPS = frozenset({RegistrationStep.WHO, RegistrationStep.RELATIONSHIP, RegistrationStep.CONSENT,
                          RegistrationStep.PROGRAMME, RegistrationStep.PURPOSE, RegistrationStep.SUMMARY,
                          RegistrationStep.CHANGE, RegistrationStep.REPEAT, RegistrationStep.CANCEL,
                          RegistrationStep.NAME_CONFIRM, RegistrationStep.AMOUNT_RANGE, RegistrationStep.BUSINESS_KIND})
ALL_FIELDS = tuple(dict.fromkeys(FIELDS + BUSINESS_FIELDS))


def order(fields: dict) -> tuple[RegistrationStep, ...]:
    """The order steps are asked in, for "quay lại" (one step back)."""
    return (RegistrationStep.WHO, RegistrationStep.RELATIONSHIP, RegistrationStep.CONSENT,
            *map(RegistrationStep, fields_of(fields.get("registrant"))))



# Sub-steps go back to the step they belong to.
PARENT_STEP: dict[str, RegistrationStep] = {
    RegistrationStep.NAME_CONFIRM: RegistrationStep.NAME, RegistrationStep.AMOUNT_RANGE: RegistrationStep.AMOUNT,
    RegistrationStep.CHANGE: RegistrationStep.SUMMARY, RegistrationStep.CANCEL: RegistrationStep.SUMMARY,
    RegistrationStep.REPEAT: RegistrationStep.SUMMARY}
# Typed steps with a strict reader: what it takes is the answer, even if the FAQ knows the words.
STRUCTURED = frozenset({RegistrationStep.BIRTH_YEAR, RegistrationStep.PHONE, RegistrationStep.EVENT_YEAR, RegistrationStep.AMOUNT,
                        RegistrationStep.ID_NUMBER, RegistrationStep.WORKFORCE_TOTAL, RegistrationStep.WORKFORCE_BENEFICIARIES})


def _count(text: str) -> int:
    """A number of workers: '20', '20 người', 'khoảng 20'."""
    value = parse_count(text)
    if not isinstance(value, int) or not 0 <= value <= 100_000:
        raise Invalid("registration.invalid_count")
    return value


READERS: dict[str, Callable[[Context, ConversationState, str], object]] = {
    RegistrationStep.BUSINESS_NAME: lambda ctx, state, text: read_free_text(text, limit=120),
    RegistrationStep.WORKFORCE_TOTAL: lambda ctx, state, text: _count(text),
    RegistrationStep.WORKFORCE_BENEFICIARIES: lambda ctx, state, text: _count(text),
    RegistrationStep.VILLAGE: lambda ctx, state, text: read_free_text(text, limit=100),
    RegistrationStep.EVENT_YEAR: lambda ctx, state, text: read_event_year(text, ctx.today),
    RegistrationStep.DESCRIPTION: lambda ctx, state, text: read_free_text(text),
    RegistrationStep.ID_NUMBER: lambda ctx, state, text: read_national_id(text),
}


def register(router: Router) -> None:
    router.payload(PREFIX, on_payload)
    router.flow(Flow.REGISTRATION, FlowSpec(handle=on_text, reprompt=reprompt, claims=claims, free_text=free_text))


def _draft(state: ConversationState) -> RegistrationDraft:
    assert state.registration is not None  # made when the flow starts; its steps run only with it
    return state.registration


def _step(state: ConversationState) -> str:
    """The step being answered (set whenever a step of the flow is)."""
    assert state.step is not None
    return state.step


# -- entry ---------------------------------------------------------------------------------------


def start(ctx: Context, state: ConversationState) -> Result:
    """From the menu or after an eligibility result: continue an unfinished registration, or begin."""
    if not ctx.has_storage:
        return Result([menu_reply(ctx, "registration.unavailable")])
    draft = state.registration
    if draft is None and not limits.registrations_left(ctx):
        return _no_more_today(ctx, state)
    if draft and state.flow is Flow.REGISTRATION:
        return advance(ctx, state)  # the menu button pressed again mid-way: nothing is lost
    if draft and draft.consent_id:
        buttons = (
            ctx.button("registration.continue", f"{PREFIX}:continue"),
            ctx.button("registration.restart", f"{PREFIX}:restart"),
            back_to_menu(ctx),
        )
        state.flow = Flow.MENU
        return Result([Reply(ctx.t("registration.resume_offer"), buttons)])
    return begin(ctx, state)


def begin(ctx: Context, state: ConversationState) -> Result:
    """A fresh registration, pre-filled from an eligibility check done in this chat (an amount
    above the programme's cap is capped, and the person is told)."""
    fields = {**from_facts(ctx, state), **prefill(state.eligibility)}
    said = read_who(ctx.request_text, ctx.content.registration.relationships) if ctx.request_text else None
    if said is not None and "registrant" not in fields:  # "đăng ký vay cho tui", "đăng ký cho con trai tôi"
        _set_registrant(fields, said[0], said[1])
    if fields.get("registrant") == "business":
        # A business borrows as a business: its own form, up to the business cap.
        fields["purpose"] = "business"
    state.registration = RegistrationDraft(fields=fields)
    fields = state.registration.fields
    before = [Reply(ctx.t("registration.intro"))]
    cap = service.cap_for(ctx, fields.get("programme"), fields.get("purpose"), business=fields.get("registrant") == "business")
    if cap is not None and isinstance(fields.get("amount"), int) and fields["amount"] > cap:
        fields["amount_requested"], fields["amount"] = fields["amount"], cap
        before.append(_capped(ctx, fields, cap))
    return advance(ctx, state, before)


def _capped(ctx: Context, fields: dict, cap: int) -> Reply:
    """The amount asked was above the cap: said, and the cap recorded."""
    key = "registration.amount_capped_business" if fields.get("registrant") == "business" else "registration.amount_capped"
    return Reply(ctx.t(key, cap=ctx.texts.money_words(cap)))


def _enforce_cap(ctx: Context, fields: dict) -> Reply | None:
    """Whatever path the amount came by (typed, a button, the eligibility check, what was said
    earlier, a correction), it never stays above the cap for the programme and purpose known now."""
    cap = service.capped_fields(ctx, fields)
    return _capped(ctx, fields, cap) if cap is not None else None


def prefill(eligibility: EligibilityProgress | None) -> dict[str, Any]:
    """What the eligibility answers already say: who, the programme, the purpose, the amount."""
    answers = eligibility.answers if eligibility else {}
    fields: dict[str, Any] = {}
    if answers.get("for_whom") in ("self", "relative", "business"):
        fields["registrant"] = answers["for_whom"]
    if answers.get("for_whom") == "business":
        for field in ("workforce_total", "workforce_beneficiaries"):
            if isinstance(answers.get(field), int):
                fields[field] = answers[field]
    programme = {"after_rehab": "qd08_2026", "after_prison": "qd22_2023"}.get(answers.get("background", ""))
    if programme:
        fields["programme"] = programme
    if answers.get("purpose") in ("vocational_training", "business"):
        fields["purpose"] = answers["purpose"]
    if isinstance(answers.get("amount_requested_vnd"), int):
        fields["amount"] = answers["amount_requested_vnd"]
    return fields


PROGRAMME_OF = {"qd08": "qd08_2026", "qd22": "qd22_2023"}  # the facts' programme → the registration's


def from_facts(ctx: Context, state: ConversationState) -> dict[str, Any]:
    """What the person said earlier in the conversation ("con tôi ra tù năm 2023, muốn vay 80
    triệu nuôi heo"): never asked again; the summary shows it to confirm."""
    facts = state.facts
    fields: dict[str, Any] = {}
    if facts.business:
        fields["registrant"] = "business"
        if facts.business_kind:
            fields["business_kind"] = facts.business_kind  # "xưởng anh là hộ kinh doanh": not asked again
        for field in ("workforce_total", "workforce_beneficiaries"):
            if getattr(facts, field) is not None:
                fields[field] = getattr(facts, field)
    elif facts.who in ("self", "relative"):
        fields["registrant"] = facts.who
        if facts.who == "relative" and facts.relation:
            fields["relationship"] = facts.relation
    programme = PROGRAMME_OF.get(facts.programme or "")
    if programme:
        fields["programme"] = programme
        if facts.event_year is not None:
            fields["event_year"] = facts.event_year  # "năm 2023", "năm ngoái" said as a year
    if facts.purpose in ("vocational_training", "business") and not facts.business:
        fields["purpose"] = facts.purpose
    if facts.amount is not None and 1_000_000 <= facts.amount <= MAX_AMOUNT:
        fields["amount"] = facts.amount
    if facts.birth_year is not None and "registrant" in fields and fields["registrant"] != "business":
        try:  # "nó sinh năm 98": the same checks as a typed year
            fields["birth_year"] = read_birth_year(str(facts.birth_year), ctx.today, min_age=sanity_min_age(ctx))
        except Invalid:
            pass
    return fields


# -- the rules' minimum age -----------------------------------------------------------------------------


def programme_min_age(ctx: Context, programme: str | None) -> int | None:
    """The minimum age the eligibility rules check for the programme (the same parameter, e.g.
    qd08.min_age), on today's date; None when the programme has none (QĐ 22 publishes none)."""
    book = ctx.content.eligibility
    if book is None or programme is None:
        return None
    for rule in book.rules:
        spec = rule.check.get("at_least")
        if programme in rule.programmes and "person" in rule.applicant and isinstance(spec, dict) and spec.get("field") == "age":
            parameter = ctx.content.parameters[spec["parameter"]]
            return int(parameter.number_or_first(ctx.today))
    return None


def sanity_min_age(ctx: Context) -> int:
    """With no programme known yet (or one without a minimum): the lowest minimum of any programme.
    Nobody younger can register under any of them; this is a sanity floor, not a rule."""
    ages = [programme_min_age(ctx, p) for p in (ctx.content.eligibility.programmes if ctx.content.eligibility else {})]
    return min((a for a in ages if a is not None), default=0)


def _too_young(ctx: Context, fields: dict) -> Reply | None:
    """After the programme is chosen: a year of birth under its minimum age is asked again."""
    minimum = programme_min_age(ctx, fields.get("programme"))
    year = fields.get("birth_year")
    if minimum is None or not isinstance(year, int) or ctx.today.year - year >= minimum:
        return None
    fields.pop("birth_year", None)
    return Reply(ctx.t("registration.invalid_birth_year_young", min_age=minimum, title=_programme_title(ctx, fields.get("programme"))))


def _programme_title(ctx: Context, programme: str | None) -> str:
    book = ctx.content.eligibility
    return book.programmes[programme].title if book and programme in book.programmes else ""


# -- asking ----------------------------------------------------------------------------------------


def next_step(draft: RegistrationDraft) -> RegistrationStep:
    fields = draft.fields
    if "registrant" not in fields:
        return RegistrationStep.WHO
    if fields["registrant"] == "relative" and "relationship" not in fields:
        return RegistrationStep.RELATIONSHIP
    if not draft.consent_id and not draft.amend:  # a sent registration's consent was given
        return RegistrationStep.CONSENT
    return RegistrationStep(next((f for f in fields_of(fields["registrant"]) if f not in fields), RegistrationStep.SUMMARY))


def _stop_button(ctx: Context) -> Button:
    return ctx.button("registration.stop", f"{PREFIX}:stop")


def ask(ctx: Context, state: ConversationState) -> Reply:
    """The question for the current step, with its buttons — the same after a detour or days later."""
    draft = _draft(state)
    step = state.step
    form = ctx.content.registration
    fields = draft.fields
    relative = fields.get("registrant") == "relative"
    pending = draft.pending or PendingAnswer()
    if step == RegistrationStep.WHO:
        return Reply(ctx.t("registration.ask_who"), (
            ctx.button("registration.who_self", f"{PREFIX}:who:self"),
            ctx.button("registration.who_relative", f"{PREFIX}:who:relative"),
            ctx.button("registration.who_business", f"{PREFIX}:who:business"),
            _stop_button(ctx),
        ))
    if step == RegistrationStep.RELATIONSHIP:
        return Reply(ctx.t("registration.ask_relationship"),
                     tuple(Button(c.label, f"{PREFIX}:rel:{c.value}") for c in form.relationships) + (_stop_button(ctx),))
    if step == RegistrationStep.CONSENT:
        # Two buttons, nothing pre-selected; silence is not consent.
        return Reply(consent_text(ctx), (
            ctx.button("registration.consent_yes", f"{PREFIX}:consent:yes"),
            ctx.button("registration.consent_no", f"{PREFIX}:consent:no"),
        ))
    if step in (RegistrationStep.PROVINCE, RegistrationStep.COMMUNE) and draft.offered:
        # The choices offered before (a detour, or back days later): the same buttons again.
        buttons = tuple(Button(label, payload) for label, payload in draft.offered)
        if step == RegistrationStep.PROVINCE:
            return Reply(ctx.t("places.province_pick"), buttons)
        return Reply(ctx.t("places.commune_pick", province=ctx.places.province_label(fields["province"])), buttons)
    if step == RegistrationStep.PROVINCE:
        return ask_province(ctx, PREFIX)
    if step == RegistrationStep.COMMUNE:
        return ask_commune(ctx, fields["province"], PREFIX)
    business = fields.get("registrant") == "business"
    if step == RegistrationStep.BUSINESS_KIND:
        return Reply(ctx.t("registration.ask_business_kind"),
                     tuple(Button(c.label, f"{PREFIX}:kind:{c.value}") for c in form.business_kinds) + (_stop_button(ctx),))
    if step == RegistrationStep.PROGRAMME:
        key = "business" if business else "relative" if relative else ""
        return Reply(ctx.t(f"registration.ask_programme_{key}" if key else "registration.ask_programme"),
                     tuple(Button(c.label, f"{PREFIX}:prog:{c.value}") for c in form.programmes) + (_stop_button(ctx),))
    if step == RegistrationStep.PURPOSE:
        return Reply(ctx.t("registration.ask_purpose"),
                     tuple(Button(c.label, f"{PREFIX}:purp:{c.value}") for c in form.purposes) + (_stop_button(ctx),))
    if step == RegistrationStep.SUMMARY:
        return summary(ctx, state)
    if step == RegistrationStep.CHANGE:
        return change_question(ctx, state)
    if step == RegistrationStep.CANCEL:
        return Reply(ctx.t("registration.cancel_confirm"), (
            ctx.button("registration.cancel_yes", f"{PREFIX}:cancelyes"),
            ctx.button("registration.cancel_no", f"{PREFIX}:cancelno"),
        ))
    if step == RegistrationStep.REPEAT:
        repeat = service.find_repeat(ctx, Details.model_validate(fields))
        if repeat is None:
            state.step = RegistrationStep.SUMMARY
            return summary(ctx, state)
        return Reply(ctx.t("registration.repeat_found", reference=service.show_reference(repeat.reference)), (
            ctx.button("registration.repeat_update", f"{PREFIX}:update:{repeat.id}"),
            ctx.button("registration.cancel", f"{PREFIX}:cancel"),
        ))
    if step == RegistrationStep.NAME_CONFIRM:
        return Reply(ctx.t("registration.confirm_name", name=pending.name or ""), (
            ctx.button("registration.confirm_name_yes", f"{PREFIX}:namok"),
            ctx.button("registration.confirm_name_retype", f"{PREFIX}:namretype"),
            _stop_button(ctx),
        ))
    if step == RegistrationStep.AMOUNT_RANGE:
        low, high = pending.low or 0, pending.high or 0
        text = ctx.t("registration.ask_amount_range", low=ctx.texts.money_words(low), high=ctx.texts.money_words(high))
        return Reply(text, (
            Button(ctx.texts.money_words(low), f"{PREFIX}:amt:{low}"),
            Button(ctx.texts.money_words(high), f"{PREFIX}:amt:{high}"),
            ctx.button("registration.unknown", f"{PREFIX}:unknown"),
        ))
    if step == RegistrationStep.EVENT_YEAR:
        key = "registration.ask_event_year_qd22" if fields.get("programme") == "qd22_2023" else "registration.ask_event_year_qd08"
        return Reply(ctx.t(key), (ctx.button("registration.unknown", f"{PREFIX}:unknown"), _stop_button(ctx)))
    if step == RegistrationStep.AMOUNT:
        key = "registration.ask_amount_business" if business else "registration.ask_amount"
        return Reply(ctx.t(key), (ctx.button("registration.unknown", f"{PREFIX}:unknown"), _stop_button(ctx)))
    buttons = (ctx.button("registration.skip", f"{PREFIX}:skip"),) if step in OPTIONAL else ()
    suffix = ("_relative" if relative and step in (RegistrationStep.NAME, RegistrationStep.BIRTH_YEAR)
              else "_business" if business and step in (RegistrationStep.NAME, RegistrationStep.DESCRIPTION) else "")
    return Reply(ctx.t(f"registration.ask_{step}{suffix}"), buttons + (_stop_button(ctx),))


def consent_text(ctx: Context) -> str:
    return ctx.content.registration.consent.text.strip().replace("{retention_months}", str(ctx.retention_months))


def advance(ctx: Context, state: ConversationState, before: list[Reply] | None = None) -> Result:
    """Moves to the next missing field (or back to the summary after a change) and asks it."""
    draft = _draft(state)
    state.flow = Flow.REGISTRATION
    before_workforce = BUSINESS_FIELDS[:BUSINESS_FIELDS.index("workforce_total")]
    reached = draft.consent_id and all(f in draft.fields for f in before_workforce)
    refused = _share_refused(ctx, draft.fields) if reached else None  # checked when the numbers' turn comes
    if refused is not None:
        before = [refused]
    capped = _enforce_cap(ctx, draft.fields)
    if capped is not None:  # an amount known before its programme or purpose (said earlier, carried over)
        before = [*(before or []), capped]
    summary_next = next_step(draft) == RegistrationStep.SUMMARY
    step = RegistrationStep.SUMMARY if draft.editing and draft.consent_id and summary_next else next_step(draft)
    if step != state.step:
        draft.offered = None
    draft.pending = None
    state.step = step
    if step == RegistrationStep.SUMMARY:
        draft.editing = False
    return Result((before or []) + [ask(ctx, state)])


def reprompt(ctx: Context, state: ConversationState, *, detour: bool = False) -> Reply | None:
    """The pending step again: after a question answered on the way (`detour`), or on return."""
    if state.registration is None or state.step is None:
        return None
    question = ask(ctx, state)
    if detour and state.step == RegistrationStep.CONSENT:
        # The notice was read just before the question on the way: only the choice again.
        question = Reply(ctx.t("registration.consent_again"), question.buttons)
    return continue_with(ctx, question)


def summary(ctx: Context, state: ConversationState) -> Reply:
    details = Details.model_validate(_draft(state).fields)
    lines = summary_lines(details, ctx.texts, ctx.places, ctx.content.registration, ctx.today)
    text = "\n".join([ctx.t("registration.summary_heading"), *lines, ctx.t("registration.summary_question")])
    amending = bool(_draft(state).amend)
    return Reply(text, (
        ctx.button("registration.confirm_amend" if amending else "registration.confirm", f"{PREFIX}:confirm"),
        ctx.button("registration.change", f"{PREFIX}:change"),
        ctx.button("registration.cancel", f"{PREFIX}:cancel"),
    ))


def change_question(ctx: Context, state: ConversationState) -> Reply:
    """Which field to change: one button per field."""
    registrant = _draft(state).fields.get("registrant")
    fields = ("registrant", *(f for f in fields_of(registrant) if f != "province"))
    buttons = tuple(Button(field_label(ctx.texts, f, registrant), f"{PREFIX}:edit:{f}") for f in fields)
    return Reply(ctx.t("registration.ask_change"), buttons + (ctx.button("registration.back_to_summary", f"{PREFIX}:edit:none"),))


def _noted(ctx: Context, state: ConversationState, field: str) -> Reply:
    """'Đã ghi năm sinh: 1998.' — what was understood, said back before the next question."""
    fields = _draft(state).fields
    if field == "registrant":
        details = Details.model_validate(fields)
        value = registrant_text(details, ctx.texts, ctx.content.registration)
    else:
        value = field_value(field, Details.model_validate(fields), ctx.texts, ctx.places, ctx.content.registration, ctx.today)
    label = field_label(ctx.texts, field, fields.get("registrant"))
    return Reply(ctx.t("registration.noted", label=label[:1].lower() + label[1:], value=value))


# -- buttons ---------------------------------------------------------------------------------------


def on_payload(ctx: Context, payload: str, state: ConversationState) -> Result:
    """Every registration button; one from an earlier step is answered with the current question."""
    parts = payload.split(":")
    action, value = parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""
    if action == "start":
        return start(ctx, state)
    if not ctx.has_storage:
        return Result([menu_reply(ctx, "registration.unavailable")])
    if action == "amend":
        return amend(ctx, state, value)
    if action == "restart":
        return begin(ctx, state)
    draft = state.registration
    if draft is None:
        done = state.registration_done
        if done and action in ("confirm", "update", "cancel", "cancelyes"):
            return Result([Reply(ctx.t("registration.already_sent", reference=service.show_reference(done)), menu_buttons(ctx))])
        return Result([menu_reply(ctx, "input.stale_button")])
    if action == "continue":
        if state.flow is Flow.REGISTRATION and state.step:
            return Result([ask(ctx, state)])
        return advance(ctx, state)
    if action == "stop":
        return pause(ctx, state)
    step = state.step if state.flow is Flow.REGISTRATION else None
    handler = BUTTONS.get(action)
    if handler is None or step not in handler[0]:
        return stale(ctx, state)
    if action in CHOICES and payload not in _offered_now(ctx, state):
        return stale(ctx, state)  # a value this step does not offer (a forged or rebuilt button): never stored
    return handler[1](ctx, state, value)


# Buttons that carry a value to store: only the exact payloads the current step offers are taken.
CHOICES = frozenset({"who", "rel", "consent", "prov", "comm", "prog", "purp", "kind", "edit", "update", "amt"})


def _offered_now(ctx: Context, state: ConversationState) -> set[str]:
    """The payloads the current step offers: its question's buttons (the same whenever it is asked
    again), and the places listed for it."""
    return _offered(state) | {b.payload for b in ask(ctx, state).buttons}


def stale(ctx: Context, state: ConversationState) -> Result:
    state.flow = Flow.REGISTRATION
    state.step = state.step or next_step(_draft(state))
    return Result([Reply(ctx.t("input.stale_button")), ask(ctx, state)])


def pause(ctx: Context, state: ConversationState) -> Result:
    """Stops for now: what was typed stays (encrypted) so it can be continued later."""
    state.flow, state.step = Flow.MENU, None
    if not _draft(state).consent_id:
        state.registration = None  # nothing agreed yet: nothing kept
    return Result([Reply(ctx.t("registration.paused"), menu_buttons(ctx))])


def _who(ctx: Context, state: ConversationState, value: str) -> Result:
    if value not in ("self", "relative", "business"):
        return stale(ctx, state)
    _set_registrant(_draft(state).fields, value)
    return advance(ctx, state)


def _set_registrant(fields: dict, registrant: str, relationship: str | None = None) -> None:
    """Who registers; a business borrows for its production (no purpose asked), a person chooses.
    The other kind's facts go: a person's years are not a business's, a business's name no person's."""
    was_business = fields.get("registrant") == "business"
    fields["registrant"] = registrant
    fields.pop("relationship", None)
    if relationship:
        fields["relationship"] = relationship
    for field in {*FIELDS, *BUSINESS_FIELDS} - set(fields_of(registrant)):
        fields.pop(field, None)
    if registrant == "business":
        fields["purpose"] = "business"
    elif was_business:
        fields.pop("purpose", None)


def _choice(field: str, options: str):
    """A button that sets one field to one of the offered values (anything else is stale)."""
    def handler(ctx: Context, state: ConversationState, value: str) -> Result:
        if value not in {c.value for c in getattr(ctx.content.registration, options)}:
            return stale(ctx, state)
        _draft(state).fields[field] = value
        return advance(ctx, state)
    return handler


def _programme(ctx: Context, state: ConversationState, value: str) -> Result:
    """The programme; a year of birth under its minimum age (the rules' parameter) is asked again."""
    if value not in {c.value for c in ctx.content.registration.programmes}:
        return stale(ctx, state)
    fields = _draft(state).fields
    fields["programme"] = value
    young = _too_young(ctx, fields)
    return advance(ctx, state, [young] if young else None)


def _consent(ctx: Context, state: ConversationState, value: str) -> Result:
    """Agreeing stores the consent record; declining ends kindly and keeps nothing."""
    if value != "yes":
        state.registration = None
        state.flow, state.step = Flow.MENU, None
        return Result([Reply(ctx.t("registration.declined"), menu_buttons(ctx))])
    form = ctx.content.registration.consent
    text_hash = hashlib.sha256(consent_text(ctx).encode("utf-8")).hexdigest()
    _draft(state).consent_id = service.record_consent(ctx, version=form.version, text_hash=text_hash)
    return advance(ctx, state, [Reply(ctx.t("registration.consent_thanks"))])


def _offered(state: ConversationState) -> set[str]:
    return {payload for _, payload in _draft(state).offered or []} | {b.payload for b in state.buttons}


def _place(ctx: Context, state: ConversationState, value: str) -> Result:
    """A province or commune button: the code must be one that was offered in this step."""
    kind = "prov" if state.step == RegistrationStep.PROVINCE else "comm"
    if f"{PREFIX}:{kind}:{value}" not in _offered(state) or not value.isdecimal():
        return stale(ctx, state)
    return _set_place(ctx, state, int(value))


def _set_place(ctx: Context, state: ConversationState, code: int, before: list[Reply] | None = None) -> Result:
    fields = _draft(state).fields
    if state.step == RegistrationStep.PROVINCE:
        fields["province"] = code
        fields.pop("commune", None)
    else:
        fields["commune"] = code
    return advance(ctx, state, before)


def _retype(ctx: Context, state: ConversationState, value: str) -> Result:
    _draft(state).offered = None
    return Result([ask(ctx, state)])


def _reprovince(ctx: Context, state: ConversationState, value: str) -> Result:
    draft = _draft(state)
    draft.fields.pop("province", None)
    draft.fields.pop("commune", None)
    draft.editing = True
    return advance(ctx, state)


def _skip(ctx: Context, state: ConversationState, value: str) -> Result:
    _draft(state).fields[_step(state)] = None
    return advance(ctx, state)


def _change(ctx: Context, state: ConversationState, value: str) -> Result:
    state.step = RegistrationStep.CHANGE
    return Result([change_question(ctx, state)])


def _edit(ctx: Context, state: ConversationState, value: str) -> Result:
    draft = _draft(state)
    if value == "registrant":
        # Who registers, asked again ("tôi đăng ký cho chính tôi" chosen by mistake); the answers
        # stay (_set_registrant drops what belongs to the other kind; a business's purpose is none).
        if draft.fields.pop("registrant", None) == "business":
            draft.fields.pop("purpose", None)
        draft.fields.pop("relationship", None)
        draft.editing = True
    elif value in fields_of(draft.fields.get("registrant")):
        # A changed field takes the ones that depend on it along: the year belongs to the
        # programme, the amount's cap to the programme and the purpose.
        for field in (value, *DEPENDENT.get(value, ())):
            draft.fields.pop(field, None)
        draft.editing = True
    return advance(ctx, state)


def _cancel(ctx: Context, state: ConversationState, value: str) -> Result:
    """'Hủy đăng ký': asked once more before anything is dropped."""
    state.step = RegistrationStep.CANCEL
    return Result([ask(ctx, state)])


def _cancel_yes(ctx: Context, state: ConversationState, value: str) -> Result:
    """Cancels before sending: the draft is dropped (the consent record stays as proof it was given).
    A correction cancelled leaves the sent registration as it was."""
    amending = _draft(state).amend
    state.registration = None
    state.flow, state.step = Flow.MENU, None
    return Result([Reply(ctx.t("registration.amend_cancelled" if amending else "registration.cancelled"), menu_buttons(ctx))])


def _cancel_no(ctx: Context, state: ConversationState, value: str) -> Result:
    state.step = RegistrationStep.SUMMARY
    return Result([ask(ctx, state)])


def _own_active(ctx: Context, registration_id: int):
    """This chat's own registration while it is active; None for anyone else's or an erased one."""
    row = registrations.get(session=ctx.session, registration_id=registration_id)
    if row is None or (row.channel, row.chat_id) != (ctx.channel, ctx.chat_id) or row.status not in registrations.ACTIVE:
        return None
    return row


def amend(ctx: Context, state: ConversationState, value: str) -> Result:
    """'Sửa hồ sơ' in "Hồ sơ của tôi": one field of a sent registration corrected without starting
    over; the summary confirms it. Only this chat's own registrations, while they are active."""
    row = _own_active(ctx, int(value)) if value.isdecimal() else None
    if row is None:
        return Result([menu_reply(ctx, "input.stale_button")])
    details = service.load_details(ctx.cipher, row)
    fields = details.model_dump()  # skipped fields included (as None): they are not asked again
    state.registration = RegistrationDraft(fields=fields, consent_id=row.consent_id, amend=row.id, original=dict(fields))
    state.flow, state.step = Flow.REGISTRATION, RegistrationStep.CHANGE
    return Result([Reply(ctx.t("registration.amend_intro", reference=service.show_reference(row.reference))), ask(ctx, state)])


def _amended(ctx: Context, state: ConversationState) -> Result:
    """The corrected registration saved over the sent one; reviewed ones go back to the officers."""
    draft = _draft(state)
    row = _own_active(ctx, draft.amend) if draft.amend is not None else None
    if row is None:
        state.registration = None
        state.flow, state.step = Flow.MENU, None
        return Result([menu_reply(ctx, "input.stale_button")])
    details = Details.model_validate(draft.fields)
    original, now = draft.original or {}, details.model_dump()
    changed = [f for f in ("registrant", "relationship", *ALL_FIELDS) if original.get(f) != now.get(f)]
    if not changed:
        return _done(ctx, state, row.reference, "registration.amend_nothing")
    before = service.amend(ctx, row, details, changed)
    key = "registration.amended" if before == registrations.PENDING else "registration.amended_review"
    return _done(ctx, state, row.reference, key)


def _confirm(ctx: Context, state: ConversationState, value: str) -> Result:
    """Sends it, unless the same phone is already registered in the same commune: then offer to update that one."""
    if _draft(state).amend:
        return _amended(ctx, state)
    details = Details.model_validate(_draft(state).fields)
    repeat = service.find_repeat(ctx, details)
    if repeat is not None:  # only this chat's own registrations: a phone number reveals nobody else's
        state.step = RegistrationStep.REPEAT
        return Result([ask(ctx, state)])
    if not limits.registrations_left(ctx):
        return _no_more_today(ctx, state)  # the draft stays: it can be sent tomorrow
    limits.count_today(ctx, limits.REGISTRATIONS)
    registration = service.submit(ctx, details, consent_id=_draft(state).consent_id)
    # No officer of the commune on this channel yet: it waits for them; said plainly, not "báo qua đây".
    team = details.commune is not None and officers.of_commune(session=ctx.session, commune_code=details.commune, roles=officers.POLICE)
    return _done(ctx, state, registration.reference, "registration.sent" if team else "registration.sent_no_officer")


def _no_more_today(ctx: Context, state: ConversationState) -> Result:
    """The day's new registrations are used up (LIMIT_REGISTRATIONS_PER_DAY); a draft is kept."""
    state.flow = Flow.MENU
    return Result([Reply(ctx.t("limits.registrations_today", count=ctx.limits.registrations_per_day), menu_buttons(ctx))])


def _update(ctx: Context, state: ConversationState, value: str) -> Result:
    details = Details.model_validate(_draft(state).fields)
    repeat = service.find_repeat(ctx, details)
    if repeat is None or str(repeat.id) != value:
        return stale(ctx, state)
    service.update(ctx, repeat, details, consent_id=_draft(state).consent_id)
    return _done(ctx, state, repeat.reference, "registration.updated")


def _done(ctx: Context, state: ConversationState, reference: str, key: str) -> Result:
    state.registration, state.registration_done = None, reference
    state.flow, state.step = Flow.MENU, None
    # What was said about the person went into this registration: a next one (for someone else)
    # starts from nothing, rather than from another person's situation.
    state.facts = Facts()
    buttons = (ctx.button("menu.item_my_records", "me:show"), back_to_menu(ctx))
    return Result([Reply(ctx.t(key, reference=service.show_reference(reference)), buttons)])


def _unknown(ctx: Context, state: ConversationState, value: str) -> Result:
    step = str(PARENT_STEP.get(_step(state), state.step))  # the field's name, a plain key of the fields
    fields = _draft(state).fields
    fields[step] = None
    if step == RegistrationStep.AMOUNT:
        fields.pop("amount_requested", None)
    return advance(ctx, state)


def _name_ok(ctx: Context, state: ConversationState, value: str) -> Result:
    """The odd-looking name, confirmed: stored as shown."""
    name = (_draft(state).pending or PendingAnswer()).name
    if not name:
        return stale(ctx, state)
    _draft(state).fields["name"] = name
    return advance(ctx, state)


def _name_retype(ctx: Context, state: ConversationState, value: str) -> Result:
    _draft(state).pending = None
    state.step = RegistrationStep.NAME
    return Result([ask(ctx, state)])


def _amount_choice(ctx: Context, state: ConversationState, value: str) -> Result:
    pending = _draft(state).pending or PendingAnswer()
    if not value.isdecimal() or int(value) not in (pending.low, pending.high):
        return stale(ctx, state)
    return _store_amount(ctx, state, int(value))


# action → (steps where it is valid, handler)
BUTTONS: dict[str, tuple[set[str], Callable[[Context, ConversationState, str], Result]]] = {
    "who": ({RegistrationStep.WHO}, _who),
    "rel": ({RegistrationStep.RELATIONSHIP}, _choice("relationship", "relationships")),
    "consent": ({RegistrationStep.CONSENT}, _consent),
    "prov": ({RegistrationStep.PROVINCE}, _place),
    "comm": ({RegistrationStep.COMMUNE}, _place),
    "retype": ({RegistrationStep.PROVINCE, RegistrationStep.COMMUNE}, _retype),
    "reprovince": ({RegistrationStep.COMMUNE}, _reprovince),
    "skip": (set(OPTIONAL), _skip),
    "unknown": ({RegistrationStep.EVENT_YEAR, RegistrationStep.AMOUNT, RegistrationStep.AMOUNT_RANGE}, _unknown),
    "prog": ({RegistrationStep.PROGRAMME}, _programme),
    "purp": ({RegistrationStep.PURPOSE}, _choice("purpose", "purposes")),
    "kind": ({RegistrationStep.BUSINESS_KIND}, _choice("business_kind", "business_kinds")),
    "change": ({RegistrationStep.SUMMARY}, _change),
    "edit": ({RegistrationStep.CHANGE}, _edit),
    "cancel": ({RegistrationStep.SUMMARY, RegistrationStep.REPEAT, RegistrationStep.CHANGE}, _cancel),
    "cancelyes": ({RegistrationStep.CANCEL}, _cancel_yes),
    "cancelno": ({RegistrationStep.CANCEL}, _cancel_no),
    "confirm": ({RegistrationStep.SUMMARY}, _confirm),
    "update": ({RegistrationStep.REPEAT}, _update),
    "namok": ({RegistrationStep.NAME_CONFIRM}, _name_ok),
    "namretype": ({RegistrationStep.NAME_CONFIRM}, _name_retype),
    "amt": ({RegistrationStep.AMOUNT_RANGE}, _amount_choice),
}


# -- going back one step ------------------------------------------------------------------------------


def back(ctx: Context, state: ConversationState) -> Result:
    """'quay lại', 'sửa câu trước': the previous question again, its answer cleared (the consent
    given stays given)."""
    draft = _draft(state)
    fields = draft.fields
    state.flow = Flow.REGISTRATION
    current = state.step or next_step(draft)
    draft.offered = None
    if current in PARENT_STEP:
        draft.pending = None
        state.step = PARENT_STEP[current]
        if state.step == RegistrationStep.SUMMARY:
            return Result([ask(ctx, state)])
        fields.pop(state.step, None)
        return Result([ask(ctx, state)])
    steps = order(fields)
    position = steps.index(current) if current in steps else len(steps)
    for step in reversed(steps[:position]):
        if step == RegistrationStep.CONSENT:
            continue
        if step == RegistrationStep.WHO and "registrant" in fields:
            if fields.pop("registrant", None) == "business":
                fields.pop("purpose", None)
            fields.pop("relationship", None)
        elif step == RegistrationStep.RELATIONSHIP and fields.get("registrant") == "relative" and "relationship" in fields:
            fields.pop("relationship", None)
        elif step in ALL_FIELDS and step in fields:
            fields.pop(step, None)
            if step == RegistrationStep.PROVINCE:
                fields.pop("commune", None)
            if step == RegistrationStep.AMOUNT:
                fields.pop("amount_requested", None)
        else:
            continue
        draft.editing = False
        state.step = step
        return Result([ask(ctx, state)])
    return Result([Reply(ctx.t("registration.back_first")), ask(ctx, state)])


# -- typed answers -------------------------------------------------------------------------------------


def _free_step(state: ConversationState) -> str | None:
    if state.flow is not Flow.REGISTRATION or state.registration is None:
        return None
    return state.step if state.step not in CHOICE_STEPS else None


def claims(ctx: Context, text: str, state: ConversationState) -> bool:
    """In a typed step, the text is the answer (a number where a name is asked gets an explanation),
    unless it is a button's label, a navigation word, or clearly a policy question."""
    step = _free_step(state)
    if step is None:
        return False
    if says_back(text) or (step in OPTIONAL and says_skip(text)):
        return True
    light = ctx.normalizer.light
    is_number = typed_number(text, light, ctx.normalizer.choice_words) is not None
    if resolve_button(text, state.buttons, light, ctx.normalizer.choice_words) is not None and (
        not is_number or step in (RegistrationStep.PROVINCE, RegistrationStep.COMMUNE) or step in NUMBERED_BUTTONS
    ):
        return False
    if step in STRUCTURED and not text.strip().endswith("?") and _reads(ctx, state, text):
        return True  # "sdt của tui là 0987 654 321" is the phone, whatever else it resembles
    if step in STRUCTURED and not _has_figure(text) and not says_skip(text) and not _reads(ctx, state, text):
        # No figure where one is asked: not this step's answer, so a request in words ("tôi muốn
        # xóa hết thông tin") or a question is heard (a plain wrong answer still gets the step's help).
        return False
    return not _is_aside(ctx, text)


def _has_figure(text: str) -> bool:
    """A figure typed or said in words ("0912…", "hai trăm triệu"): maybe this step's answer or a later one's."""
    return any(c.isdigit() for c in spelled_numbers(fold(text)))


def _reads(ctx: Context, state: ConversationState, text: str) -> bool:
    """Whether the structured step's reader takes the text (without storing anything)."""
    try:
        if state.step == RegistrationStep.BIRTH_YEAR:
            read_birth_year(text, ctx.today)
        elif state.step == RegistrationStep.PHONE:
            read_phone(text)
        elif state.step == RegistrationStep.AMOUNT:
            reading = read_amount(text)
            return reading.amount is not None or reading.is_range
        else:
            READERS[_step(state)](ctx, state, text)
    except Invalid:
        return False
    return True


def free_text(ctx: Context, text: str, state: ConversationState) -> bool:
    """The text answers the step ("đăng ký cho con tôi" at 'who'), so it is not a request for
    another flow."""
    if state.flow is not Flow.REGISTRATION or state.registration is None or state.step is None:
        return False
    if state.step in CHOICE_STEPS:
        return says_back(text) or _read_choice(ctx, state, text) is not None
    return claims(ctx, text, state)


def _is_aside(ctx: Context, text: str) -> bool:
    """'thoát', or a question the FAQ knows well: not an answer to the step."""
    words = ctx.normalizer.light(text)
    navigation = ctx.content.questions.navigation
    if any(words in navigation[k] for k in ("exit", "restart")):
        return True
    if text.strip().endswith("?"):
        return True
    if read_amount(text).amount is not None and not _asks(ctx, text):
        return False  # "hai trăm triệu", "200tr": an answer (to this step or another), not a question
    match = ctx.matcher.match(text)
    return match.status is Status.ANSWER and match.score >= ctx.content.matching.sure_threshold


def _is_question(ctx: Context, text: str) -> bool:
    """At a choice step, a reply that is no choice is a question when the FAQ recognises it at all."""
    if text.strip().endswith("?") or (ctx.triage is not None and ctx.triage.has_ask(text)):
        return True  # "hôm nay ngày 10 rồi, tháng này còn kịp không" at the consent step
    return ctx.matcher.match(text).status is not Status.FALLBACK


def on_text(ctx: Context, msg: Incoming, state: ConversationState) -> Result | None:
    """A typed answer for the current step; None when the text is something else (a question)."""
    if state.flow is not Flow.REGISTRATION or state.registration is None:
        return None
    text = msg.text
    words = ctx.normalizer.light(text)
    navigation = ctx.content.questions.navigation
    step = state.step
    told = ctx.message_facts.programme if ctx.message_facts is not None else None
    draft = state.registration
    if told in PROGRAMME_OF and "programme" not in draft.fields and not draft.editing and step != RegistrationStep.PROGRAMME:
        # "nó mới đi cai về" said on the way (at the consent, say): the programme is not asked later.
        draft.fields["programme"] = PROGRAMME_OF[told]
    if step == RegistrationStep.SUMMARY and read_summary(text) == "cancel":
        return _cancel(ctx, state, "")
    if says_back(text) and not (step == RegistrationStep.SUMMARY and read_summary(text) == "change"):
        return back(ctx, state)
    plain = fold(clean(text))
    correction = CORRECTION.match(plain)
    if correction and step not in (RegistrationStep.SUMMARY, RegistrationStep.CHANGE) and step not in CHOICE_STEPS:
        # "à lộn, số cuối là 8" at the next question: the previous answer again; with the new
        # value when the rest of the message is one ("à nhầm, sinh năm 97").
        result = back(ctx, state)
        rest = plain[correction.end():].strip(" ,.")
        if rest and _free_step(state) in STRUCTURED and _reads(ctx, state, rest):
            typed = _typed_field(ctx, state, rest)
            if typed is not None:
                return typed
        return result
    if words in navigation["exit"] and not (step in OPTIONAL and says_skip(text)):  # "để sau" at the village: left out
        return pause(ctx, state)
    if words in navigation["restart"]:
        return Result([Reply(ctx.t("registration.restart_confirm"), (
            ctx.button("registration.restart", f"{PREFIX}:restart"),
            ctx.button("registration.continue", f"{PREFIX}:continue"),
        ))])
    if step in CHOICE_STEPS:
        return _typed_choice(ctx, state, text)
    if step in STRUCTURED and not _has_figure(text) and not says_skip(text) and asks(ctx, text) and not _reads(ctx, state, text):
        return None  # "quên mất, tôi đang đăng ký đó phải ko" at the phone: answered, then the phone asked again
    return _typed_field(ctx, state, text)


# "à lộn", "à nhầm", "lộn rồi", "nhập sai": the answer just given was wrong.
# (Not "Nhâm Văn …", "Sái …": a bare "nham", "sai" opening a name is a name.)
CORRECTION = re.compile(r"^(?:(?:a|ay|u|o|ui) (?:lon|nham)|(?:lon|nham|sai) (?:roi|mat)|nhap sai|go sai|ghi sai)\b")


def _typed_field(ctx: Context, state: ConversationState, text: str) -> Result | None:
    step = _step(state)
    fields = _draft(state).fields
    if step in OPTIONAL and says_skip(text):
        return _skip(ctx, state, "")
    if step in (RegistrationStep.EVENT_YEAR, RegistrationStep.AMOUNT) and (says_unknown(text) or says_skip(text)):
        return _unknown(ctx, state, "")
    if text.strip().endswith("?"):
        return None  # a question on the way: answered, then the step asked again
    if step in FREE_STEPS and (noted := _ahead(ctx, state, text)):
        return _asked_again(ctx, state, noted)
    if step in FREE_STEPS and _tells_situation(ctx):
        # "cai tự nguyện ở nhà, có uống methadone nữa" where the village is asked: the situation
        # (the programme is kept), never an address or a name.
        return _asked_again(ctx, state, [_noted(ctx, state, "programme")] if "programme" in fields else [])
    if step not in STRUCTURED and _is_aside(ctx, text):
        return None  # a question on the way (not a name, a place or a village)
    if step in (RegistrationStep.PROVINCE, RegistrationStep.COMMUNE):
        return _typed_place(ctx, state, text)
    try:
        if step == RegistrationStep.NAME:
            return _typed_name(ctx, state, text)
        if step == RegistrationStep.BIRTH_YEAR:
            programme = fields.get("programme")
            minimum = programme_min_age(ctx, programme)
            try:
                fields["birth_year"] = read_birth_year(text, ctx.today, min_age=minimum if minimum is not None else sanity_min_age(ctx))
            except Invalid as exc:
                if exc.key == "registration.invalid_birth_year_young" and minimum is None:
                    raise Invalid("registration.invalid_birth_year_range") from None
                if exc.key == "registration.invalid_birth_year_young":
                    raise Invalid(exc.key, min_age=minimum, title=_programme_title(ctx, programme)) from None
                raise
            return advance(ctx, state, None if is_plain_year(text) else [_noted(ctx, state, "birth_year")])
        if step == RegistrationStep.PHONE:
            fields["phone"] = read_phone(text)
            typed_digits = "".join(ch for ch in text if ch.isdigit())
            return advance(ctx, state, None if typed_digits == text.strip() else [_noted(ctx, state, "phone")])
        if step == RegistrationStep.AMOUNT:
            return _typed_amount(ctx, state, text)
        if step == RegistrationStep.WORKFORCE_BENEFICIARIES:
            return _typed_beneficiaries(ctx, state, text)
        fields[step] = READERS[step](ctx, state, text)
        if step == RegistrationStep.EVENT_YEAR and not is_plain_year(text):
            return advance(ctx, state, [_noted(ctx, state, "event_year")])  # "năm ngoái": said back as the year
    except Invalid as exc:
        if step in STRUCTURED and (noted := _ahead(ctx, state, text)):
            return _asked_again(ctx, state, noted)
        if _tells_situation(ctx) and "programme" in fields:
            return _asked_again(ctx, state, [_noted(ctx, state, "programme")])
        if step in STRUCTURED and _is_aside(ctx, text):
            return None
        return Result([Reply(ctx.t(exc.key, **exc.values)), ask(ctx, state)])
    return advance(ctx, state)


# Signs that a typed reply answers a later question, not this one: "hai trăm triệu", "nó sinh năm 98",
# "nó tên Tâm", "ở xã Quỳ Hợp, Nghệ An", "để nó mua máy cày làm ruộng" (accent-free words).
_AHEAD_AMOUNT = re.compile(r"\b(?:trieu|ty|ti|nghin|ngan|cu)\b|\d\s*(?:tr|k)\b")
_AHEAD_BORN = re.compile(r"\b(?:sinh|sn|de)\s+(?:nam\s+)?\d|\b\d{1,2}\s+tuoi\b|\bsinh\s+(?:ngay|thang)\b")
_AHEAD_NAME = re.compile(r"\bten\b")
_AHEAD_PLACE = re.compile(r"\b(?:xa|phuong|thi tran|huyen|tinh|tp|thanh pho)\b")
_AHEAD_PURPOSE = re.compile(r"\b(?:de|vay|muon|tinh)\b")
_AFTER_TEN = re.compile(r"\b(?:tên|ten)(?:\s+(?:là|la))?\s+(\S.*)$", re.IGNORECASE)
_AHEAD_VILLAGE = re.compile(r"^(?:o |tai )?(?:thon|xom|ap|ban|to|khom|khu pho|doi|lang|to dan pho) \w+(?: \w+){0,3}$")
_AHEAD_SIGNS = (_AHEAD_AMOUNT, _AHEAD_BORN, _AHEAD_NAME, _AHEAD_PLACE, _AHEAD_PURPOSE, _AHEAD_VILLAGE, re.compile(r"\d{3}"))
# Free-text steps take almost anything as their answer: a reply with the sign of a later answer is
# read as that one first, and one telling the person's situation is never the answer (structured
# steps, a year or a phone, try their own reader first).
FREE_STEPS = frozenset({RegistrationStep.NAME, RegistrationStep.VILLAGE, RegistrationStep.BUSINESS_NAME,
                        RegistrationStep.PROVINCE, RegistrationStep.COMMUNE})


def _asks(ctx: Context, text: str) -> bool:
    """Whether the text asks something besides the figures it gives."""
    # "# triệu" asks inside a question; "hai trăm triệu" alone answers.
    return ctx.triage is not None and ctx.triage.has_ask(without_figures(clean(text)))


def _ahead(ctx: Context, state: ConversationState, text: str) -> list[Reply]:
    """An answer to a later question typed now ("hai trăm triệu" where the phone was asked, "nó
    sinh năm 98" at the name): kept and said back, so it is never asked; the caller asks the current
    question again. Only after consent (nothing is kept before it), never from a question, and only
    what a reader recognises with its sign (a unit, "sinh", "tên", a place word)."""
    draft = _draft(state)
    if not draft.consent_id or draft.editing or text.strip().endswith("?"):
        return []
    folded = " ".join(fold(clean(text)).split())
    if not any(sign.search(folded) for sign in _AHEAD_SIGNS):
        return []  # a plain name or village (most replies): nothing else to look for
    if _asks(ctx, text):
        return []
    fields, step = draft.fields, state.step
    open_fields = [f for f in fields_of(fields.get("registrant")) if f not in fields and f != step]
    taken: list[str] = []
    if "amount" in open_fields and _AHEAD_AMOUNT.search(folded):
        reading = read_amount(text)
        if reading.amount is not None and MIN_AMOUNT <= reading.amount <= MAX_AMOUNT:
            fields["amount"] = reading.amount
            taken.append("amount")
    if "birth_year" in open_fields and _AHEAD_BORN.search(folded):
        # The whole reply, or the part with the sign ("… tên Lô Văn Hùng, sinh năm 85").
        for part in (text, *(p for p in PLACE_PARTS.split(text) if _AHEAD_BORN.search(" ".join(fold(clean(p)).split())))):
            try:
                fields["birth_year"] = read_birth_year(part, ctx.today, min_age=sanity_min_age(ctx))
            except Invalid:
                continue
            taken.append("birth_year")
            break
    if "phone" in open_fields:
        try:
            fields["phone"] = read_phone(text)
            taken.append("phone")
        except Invalid:
            pass
    if "name" in open_fields and _AHEAD_NAME.search(folded):
        try:
            name = read_name(text)
        except Invalid:
            name = None
        if name is not None and not name_looks_odd(name) and fold(name) != folded:
            fields["name"] = name
            taken.append("name")
    if "province" in open_fields and step != RegistrationStep.COMMUNE and _AHEAD_PLACE.search(folded):
        province, commune = place_in_parts(ctx.places, text)
        if province is not None:
            fields["province"] = province.code
            if commune is not None:
                fields["commune"] = commune.code
            taken.append("commune" if commune is not None else "province")
    if "village" in open_fields and step != RegistrationStep.VILLAGE and _AHEAD_VILLAGE.match(folded):
        try:
            fields["village"] = read_free_text(text, limit=100)
            taken.append("village")
        except Invalid:
            pass
    if step == RegistrationStep.NAME and taken:
        # "chồng chị tên Lô Văn Hùng, sinh năm 85": the other part is the name asked.
        rest = [p for p in PLACE_PARTS.split(text) if p.strip() and not _ahead_sign(p)]
        after = _AFTER_TEN.search(rest[0]) if len(rest) == 1 else None  # "chồng chị tên Lô Văn Hùng"
        try:
            name = read_name(after.group(1) if after else rest[0]) if len(rest) == 1 else None
        except Invalid:
            name = None
        if name is not None and not name_looks_odd(name):
            fields["name"] = name
            taken.insert(0, "name")
    if "purpose" in open_fields and "programme" in fields and fields.get("registrant") != "business" and _AHEAD_PURPOSE.search(folded):
        choice = _read_choice(ctx, state, text, RegistrationStep.PURPOSE)
        if choice is not None:
            fields["purpose"] = choice[1]
            taken.append("purpose")
            if len(folded.split()) >= 3 and "description" not in fields:
                try:
                    fields["description"] = read_free_text(text)
                except Invalid:
                    pass
    if not taken:
        return []
    replies = [_noted(ctx, state, field) for field in taken]
    capped = _enforce_cap(ctx, fields)
    return [*replies, capped] if capped is not None else replies


def _tells_situation(ctx: Context) -> bool:
    """Whether the message tells the person's programme ("cai tự nguyện ở nhà", "nó mới ra tù")."""
    said = ctx.message_facts
    return said is not None and (said.programme in PROGRAMME_OF or said.rehab_completion is not None)


def _ahead_sign(text: str) -> bool:
    """Whether a part of the reply carries another field's sign (an amount, a birth year, a phone)."""
    folded = " ".join(fold(clean(text)).split())
    return bool(_AHEAD_AMOUNT.search(folded) or _AHEAD_BORN.search(folded) or re.search(r"\d{9,}", folded.replace(" ", "")))


def _asked_again(ctx: Context, state: ConversationState, noted: list[Reply]) -> Result:
    """The answers typed ahead said back; the current question again, or the next when the reply
    answered it too."""
    if state.step in _draft(state).fields:
        return advance(ctx, state, noted)
    return Result([*noted, ask(ctx, state)])


def _typed_beneficiaries(ctx: Context, state: ConversationState, text: str) -> Result:
    """How many of the workers are after rehab or prison: no more than the workforce, and a share
    the rules accept (the eligibility check's own rule and reason); otherwise the numbers again."""
    fields = _draft(state).fields
    part, total = _count(text), fields.get("workforce_total")
    if isinstance(total, int) and part > total:
        raise Invalid("registration.invalid_workforce_part", total=total)
    fields["workforce_beneficiaries"] = part
    noted = ctx.t("registration.noted_share", count=part, total=total, share=staff_share(total, part) or 0)
    return advance(ctx, state, [Reply(noted)])


def _share_refused(ctx: Context, fields: dict) -> Reply | None:
    """A business whose workforce (typed, or said earlier in the chat) does not meet the programme's
    share: the rule's own reason, and the numbers are asked again."""
    if fields.get("registrant") != "business" or fields.get("workforce_beneficiaries") is None:
        return None
    refusal = service.business_share_refusal(ctx, Details.model_validate(fields))
    if refusal is None:
        return None
    total, part = fields.pop("workforce_total", None), fields.pop("workforce_beneficiaries", None)
    share = staff_share(total, part) or 0
    return Reply(ctx.t("registration.business_share_low", share=share, reason=refusal),
                 (ctx.button("menu.item_officer", "ask:start"), _stop_button(ctx)))


# "cho thằng con trai tui", "đăng ký cho vợ tôi": for whom, said where the name was asked.
FOR_WHOM = re.compile(r"^(?:(?:da|vang|u|tui|toi|em|minh|tao|chi|anh|co|chu|bac|ba|me|ma|muon|xin|thi|la) )*"
                      r"(?:(?:dang ky|dk|vay|ghi|lam) )*cho ")


def _typed_name(ctx: Context, state: ConversationState, text: str) -> Result:
    """The name without its lead-in; an odd-looking one is confirmed before it is stored. "cho
    thằng con trai tui" is no name but says for whom: that is kept, and the name asked again."""
    try:
        name = read_name(text)
    except Invalid:
        name = None
    if (name is None or name_looks_odd(name)) and FOR_WHOM.match(fold(clean(text))):
        who = read_who(text, ctx.content.registration.relationships)
        if who is not None and (who[0] != "relative" or who[1] is not None):
            _set_registrant(_draft(state).fields, who[0], who[1])
            return Result([_noted(ctx, state, "registrant"), ask(ctx, state)])
    if name is None:
        name = read_name(text)  # the reason it is no name, said kindly
    if name_looks_odd(name) or exact_province(ctx.places, text) is not None:  # "nghe an": a place, or a name?
        _draft(state).pending = PendingAnswer(name=name)
        state.step = RegistrationStep.NAME_CONFIRM
        return Result([ask(ctx, state)])
    _draft(state).fields["name"] = name
    interpreted = fold(clean(text)) != fold(name)
    return advance(ctx, state, [_noted(ctx, state, "name")] if interpreted else None)


def _typed_place(ctx: Context, state: ConversationState, text: str) -> Result:
    """The name typed exactly (one place of that name): chosen and said. Otherwise up to three
    close names as buttons, kept for a detour or a later return."""
    fields = _draft(state).fields
    if state.step == RegistrationStep.PROVINCE:
        # "xã Quỳ Hợp, Nghệ An" typed at the province question: both taken, neither asked again.
        province, commune = place_in_parts(ctx.places, text)
        if province is not None and commune is None:
            return _set_place(ctx, state, province.code, [Reply(ctx.t("registration.place_chosen", place=province.name))])
        if province is not None and commune is not None:
            fields["province"], fields["commune"] = province.code, commune.code
            return advance(ctx, state, [Reply(ctx.t("registration.place_chosen", place=ctx.places.label(commune.code)))])
    exact, found = places.typed_place(ctx, fields["province"] if state.step == RegistrationStep.COMMUNE else None, text, PREFIX)
    if exact is not None:
        return _set_place(ctx, state, exact.code, [Reply(ctx.t("registration.place_chosen", place=found))])
    offered = places.offered_places(found, PREFIX, state.step)
    if offered:
        _draft(state).offered = offered
    return Result([found])


def _typed_amount(ctx: Context, state: ConversationState, text: str) -> Result:
    """'hai trăm triệu', '50tr', '1 tỷ 2'; a range ('30-50 triệu') asks which."""
    reading = read_amount(text)
    if reading.low is not None and reading.high is not None and reading.low >= MIN_AMOUNT and reading.high <= MAX_AMOUNT:  # a range
        _draft(state).pending = PendingAnswer(low=reading.low, high=reading.high)
        state.step = RegistrationStep.AMOUNT_RANGE
        return Result([ask(ctx, state)])
    if reading.amount is None or not MIN_AMOUNT <= reading.amount <= MAX_AMOUNT:
        raise Invalid("registration.invalid_amount")
    return _store_amount(ctx, state, reading.amount, noted=True)


def _store_amount(ctx: Context, state: ConversationState, amount: int, *, noted: bool = False) -> Result:
    """Above the programme's cap: say so, record the cap (and what was asked)."""
    fields = _draft(state).fields
    cap = service.cap_for(ctx, fields.get("programme"), fields.get("purpose"), business=fields.get("registrant") == "business")
    if cap is not None and amount > cap:
        fields["amount_requested"], fields["amount"] = amount, cap
        state.step = RegistrationStep.AMOUNT
        return advance(ctx, state, [_capped(ctx, fields, cap)])
    fields.pop("amount_requested", None)
    fields["amount"] = amount
    state.step = RegistrationStep.AMOUNT
    return advance(ctx, state, [_noted(ctx, state, "amount")] if noted else None)


def _read_choice(ctx: Context, state: ConversationState, text: str, step: str | None = None) -> tuple[str, str] | None:
    """The button a typed reply picks at a choice step (the current one, or `step`), as (action,
    value); None when unclear."""
    form = ctx.content.registration
    step = step or state.step
    if step == RegistrationStep.WHO:
        who = read_who(text, form.relationships)
        return ("who", f"{who[0]}:{who[1] or ''}") if who else None
    if step == RegistrationStep.RELATIONSHIP:
        value = read_relationship(text, form.relationships)
        return ("rel", value) if value else None
    if step in (RegistrationStep.PROGRAMME, RegistrationStep.PURPOSE, RegistrationStep.BUSINESS_KIND):
        action, choices = {RegistrationStep.PROGRAMME: ("prog", form.programmes), RegistrationStep.PURPOSE: ("purp", form.purposes),
                           RegistrationStep.BUSINESS_KIND: ("kind", form.business_kinds)}[RegistrationStep(step)]
        picked = pick_choice(text, choices)
        if picked is not None:
            return action, picked
        told = ctx.message_facts.programme if ctx.message_facts is not None else None
        if step == RegistrationStep.PROGRAMME and told in PROGRAMME_OF:
            return action, PROGRAMME_OF[told]  # "nó cai ở trung tâm", "ổng mới ở trỏng ra": the situation's words
        return None
    if step == RegistrationStep.SUMMARY:
        choice = read_summary(text)
        return (choice, "") if choice else None
    if step == RegistrationStep.CHANGE:
        field = _named_field(ctx, state, text)
        if field:
            return ("edit", field)
        said = read_summary(text)  # "ừ gửi đi", "không", "đúng rồi": nothing to change, the summary again
        return ("cancel", "") if said == "cancel" else ("edit", "none") if said else None
    answer = read_yes_no(text)
    if step == RegistrationStep.CANCEL and answer is None and read_summary(text) == "cancel":
        answer = True  # "hủy" again: yes, cancel
    if answer is None:
        return None
    if step == RegistrationStep.CONSENT:
        return ("consent", "yes" if answer else "no")
    if step == RegistrationStep.CANCEL:
        return ("cancelyes" if answer else "cancelno", "")
    if step == RegistrationStep.NAME_CONFIRM:
        return ("namok" if answer else "namretype", "")
    if step == RegistrationStep.REPEAT:
        repeat = service.find_repeat(ctx, Details.model_validate(_draft(state).fields))
        if repeat is None:
            return None
        return ("update", str(repeat.id)) if answer else ("cancel", "")
    return None


UNCLEAR: dict[str, str] = {
    RegistrationStep.WHO: "registration.unclear_who", RegistrationStep.RELATIONSHIP: "registration.unclear_relationship",
    RegistrationStep.CONSENT: "registration.unclear_consent", RegistrationStep.PROGRAMME: "registration.unclear_programme",
    RegistrationStep.PURPOSE: "registration.unclear_purpose", RegistrationStep.SUMMARY: "registration.unclear_summary",
    RegistrationStep.CHANGE: "registration.unclear_change", RegistrationStep.AMOUNT_RANGE: "registration.unclear_amount_range",
    RegistrationStep.BUSINESS_KIND: "registration.unclear_business_kind",
}


_EDIT_WORDS = frozenset({"sua", "doi", "lai", "thay", "muc", "cai", "phan", "ghi", "nham", "sai", "cho", "toi", "em", "minh", "tui",
                         "giup", "di", "a", "roi", "va", "cua"})


def _named_field(ctx: Context, state: ConversationState, text: str) -> str | None:
    """The one field a reply names ("họ tên", "sửa số tiền", "số đt"): its words are all in that
    field's label (edit words aside); None when none or several."""
    words = set(fold(clean(text)).split()) - _EDIT_WORDS
    if not words:
        return None
    registrant = _draft(state).fields.get("registrant")
    matches = [f for f in fields_of(registrant) if f != "province"
               and words <= set(fold(field_label(ctx.texts, f, registrant)).replace("/", " ").split())]
    return matches[0] if len(matches) == 1 else None


# "sửa số điện thoại thành 0987…", "đổi năm sinh là 1997", "sửa tên lại thành Lê Văn Ba".
_NEW_VALUE = re.compile(r"\s+(?:lại\s+)?(?:thành|thanh|là|la|sang)\s+(\S.*)$", re.IGNORECASE)


def _edit_with_value(text: str) -> tuple[str, str]:
    """A change asked for at the summary, split into the field's words and the new value (or "")."""
    found = _NEW_VALUE.search(text.strip())
    return (text[:found.start()], found.group(1).strip()) if found else (text, "")


def _typed_choice(ctx: Context, state: ConversationState, text: str) -> Result | None:
    """Words that pick a choice ('cho thằng con trai tui', 'vợ tôi', 'cai nghiện', 'nuôi heo',
    'dạ tui đồng ý', 'ừ gửi đi'). Unclear: the question again with an example; a policy
    question: None (answered, then the step asked again)."""
    step = _step(state)
    if step == RegistrationStep.NAME_CONFIRM and read_yes_no(text) is None:
        if says_retype(text):  # "hông phải, gõ lại": no, and the name asked again
            return on_payload(ctx, f"{PREFIX}:namretype", state)
        return _retyped_name(ctx, state, text)
    if step == RegistrationStep.SUMMARY and re.match(r"(?:sua|doi|thay|ghi nham|sai)\b", fold(clean(text)).strip()):
        named, value = _edit_with_value(text)
        field = _named_field(ctx, state, named)
        if field is not None:  # "sửa số tiền" at the summary: that field, asked again
            asked = _edit(ctx, state, field)
            if value and state.step not in CHOICE_STEPS:
                # "sửa số điện thoại thành 0987 000 111": the new value read as typed at that step
                return _typed_field(ctx, state, value) or asked
            return asked
    if step == RegistrationStep.AMOUNT_RANGE and read_yes_no(text) is None:
        reading = read_amount(text)
        if reading.amount is not None and MIN_AMOUNT <= reading.amount <= MAX_AMOUNT:
            return _store_amount(ctx, state, reading.amount, noted=True)
    choice = _read_choice(ctx, state, text)
    if choice is None:
        if noted := _ahead(ctx, state, text):
            return _asked_again(ctx, state, noted)
        if read_yes_no(text) is None and _is_question(ctx, text):
            return None  # a bare "dạ tui đồng ý" where a relationship is asked is no question: unclear
        unclear = ctx.t(UNCLEAR.get(step, "registration.unclear_yes_no"))
        question = ask(ctx, state)
        if step == RegistrationStep.CONSENT:
            # The notice was just read: its eight lines are not sent again, only the choice.
            return Result([Reply(unclear, question.buttons)])
        return Result([Reply(unclear), question])
    action, value = choice
    fields = _draft(state).fields
    if action == "who":
        registrant, _, relationship = value.partition(":")
        _set_registrant(fields, registrant, relationship or None)
        return advance(ctx, state, [_noted(ctx, state, "registrant")] if relationship else None)
    result = on_payload(ctx, f"{PREFIX}:{action}:{value}" if value else f"{PREFIX}:{action}", state)
    if action == "purp" and _describe(ctx, state, text):
        # The next question is asked anew: the description it would have asked is known now.
        return advance(ctx, state, [_noted(ctx, state, "description")])
    return result


def _describe(ctx: Context, state: ConversationState, text: str) -> bool:
    """'nuôi heo' at the purpose: business, and the plan is the description (not asked again).
    A bare choice ('kinh doanh', 'học nghề') is no description."""
    if state.registration is None:
        return False
    fields = _draft(state).fields
    typed = " ".join(fold(text).split())
    bare = {fold(c.label) for c in ctx.content.registration.purposes} | {p for c in ctx.content.registration.purposes for p in c.also}
    if "description" in fields or typed in bare or len(typed.split()) < 2:
        return False
    try:
        fields["description"] = read_free_text(text)
    except Invalid:
        return False
    return True


def _retyped_name(ctx: Context, state: ConversationState, text: str) -> Result | None:
    """At the name confirmation, a new name typed instead of yes or no."""
    if _is_aside(ctx, text):
        return None
    state.step = RegistrationStep.NAME
    _draft(state).pending = None
    try:
        return _typed_name(ctx, state, text)
    except Invalid as exc:
        return Result([Reply(ctx.t(exc.key, **exc.values)), ask(ctx, state)])
