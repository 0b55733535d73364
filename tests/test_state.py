"""The typed conversation state: each flow's draft and steps, conversations saved by the older
untyped version (a `data` dict), drafts that no longer fit, and erasing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.nlu.facts import Facts
from bot.registration.record import BUSINESS_FIELDS, FIELDS
from bot.state import (
    ConversationState,
    EligibilityProgress,
    FaqMemory,
    Flow,
    HandoffDraft,
    HandoffStep,
    OfficerStep,
    OfficerTyping,
    PendingAnswer,
    RegistrationDraft,
    RegistrationStep,
)
from storage import repo
from storage.db import transaction
from tests.registration_helpers import Chat, consented

SINCE = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)

# A conversation saved by the version before typed drafts: a registration half-done (name given,
# the year of birth asked), an eligibility check, the FAQ's memory and an officer's typing time.
OLD_SHAPE = json.dumps({
    "flow": "registration",
    "step": "birth_year",
    "data": {
        "registration": {"fields": {"registrant": "self", "name": "Lê Văn Ba"}, "consent_id": 1},
        "registration_done": "K7QX2M",
        "eligibility": {"answers": {"for_whom": "self", "background": "after_rehab"}, "asked": ["for_whom", "background"],
                        "done": False, "known": ["background"], "declined": ["age"]},
        "handoff": {"province": 40, "commune": 17035, "offered": [["Xã Quỳ Hợp", "ask:comm:17035"]]},
        "officer_typing_since": SINCE.isoformat(),
        "faq_last": "lãi suất bao nhiêu",
        "faq_place": "em ra trại rồi vay được không",
    },
    "buttons": [{"label": "Dừng lại", "payload": "reg:stop"}],
    "last_seen": "2026-03-02T08:31:00+00:00",
}, ensure_ascii=False)


def save(app, chat_id: str, state: ConversationState | str) -> None:
    raw = state if isinstance(state, str) else state.to_json()
    with transaction(app.engine) as session:
        repo.save_state(session=session, channel="test", chat_id=chat_id, state=app.dispatcher.cipher.encrypt(raw),
                        now=datetime.now(UTC))


def saved(app, chat_id: str) -> ConversationState:
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id=chat_id)
    return ConversationState.from_json(app.dispatcher.cipher.decrypt(raw))


# -- steps -------------------------------------------------------------------------------------------------


def test_step_values_are_the_strings_stored_before():
    assert {f for f in (*FIELDS, *BUSINESS_FIELDS)} <= {s.value for s in RegistrationStep}
    assert {"who", "relationship", "consent", "name_confirm", "amount_range", "summary", "change", "cancel",
            "repeat"} <= set(RegistrationStep)
    assert [s.value for s in HandoffStep] == ["province", "commune", "question", "share", "phone"]
    assert [s.value for s in OfficerStep] == ["reason", "info", "note", "reply", "search", "bulk", "sign", "return", "grant", "deny"]


def test_a_step_enum_is_stored_as_its_plain_string():
    state = ConversationState(flow=Flow.REGISTRATION)
    state.step = RegistrationStep.AMOUNT_RANGE
    assert state.step == "amount_range" and type(state.step) is str
    assert json.loads(state.to_json())["step"] == "amount_range"


# -- each flow's draft, saved and read back --------------------------------------------------------------------


DRAFTS = {
    "eligibility": EligibilityProgress(answers={"for_whom": "relative", "age": 17, "years_since_release": [2, 3], "purpose": None},
                                       asked=["for_whom", "age", "released", "purpose"], done=True, known=["age"], declined=["background"]),
    "registration": RegistrationDraft(
        fields={"registrant": "relative", "relationship": "spouse", "name": "Trần Văn Bình", "village": None, "amount": 50_000_000},
        consent_id=7, amend=3, original={"name": "Tran Van Binh"}, editing=True,
        offered=[("Xã Quỳ Hợp", "reg:comm:17035")], pending=PendingAnswer(low=30_000_000, high=50_000_000),
    ),
    "registration_done": "K7QX2M",
    "handoff": HandoffDraft(province=40, commune=17035, question="Hồ sơ cần những gì?", share=True,
                            offered=[("Nghệ An", "ask:prov:40")]),
    "officer": OfficerTyping(since=SINCE),
    "faq": FaqMemory(last_question="lãi suất bao nhiêu", pending_place="ra trại rồi vay được không"),
}


@pytest.mark.parametrize("name", DRAFTS)
def test_each_flows_draft_round_trips_through_json(name):
    state = ConversationState(flow=Flow.REGISTRATION, step=RegistrationStep.PHONE, **{name: DRAFTS[name]})
    raw = state.to_json()
    assert "data" not in json.loads(raw)
    again = ConversationState.from_json(raw)
    assert again == state and getattr(again, name) == DRAFTS[name]


def test_a_fresh_state_saves_as_an_empty_object():
    assert ConversationState().to_json() == "{}"
    assert ConversationState.from_json("{}") == ConversationState()


# -- conversations saved by the older version -------------------------------------------------------------------


def test_an_old_state_moves_every_data_key_into_the_typed_attributes():
    state = ConversationState.from_json(OLD_SHAPE)
    assert (state.flow, state.step) == (Flow.REGISTRATION, "birth_year")
    assert state.registration == RegistrationDraft(fields={"registrant": "self", "name": "Lê Văn Ba"}, consent_id=1)
    assert state.registration_done == "K7QX2M"
    assert state.eligibility == EligibilityProgress(answers={"for_whom": "self", "background": "after_rehab"},
                                                    asked=["for_whom", "background"], known=["background"], declined=["age"])
    assert state.handoff == HandoffDraft(province=40, commune=17035, offered=[("Xã Quỳ Hợp", "ask:comm:17035")])
    assert state.officer == OfficerTyping(since=SINCE)
    assert state.faq == FaqMemory(last_question="lãi suất bao nhiêu", pending_place="em ra trại rồi vay được không")
    assert "data" not in json.loads(state.to_json())
    assert ConversationState.from_json(state.to_json()) == state


def test_an_old_draft_with_its_pending_answer_keeps_it():
    old = {"flow": "registration", "step": "name_confirm",
           "data": {"registration": {"fields": {"registrant": "self"}, "consent_id": 2, "pending": {"name": "Ba 3"},
                                     "editing": True}}}
    state = ConversationState.from_json(json.dumps(old))
    assert state.registration.pending == PendingAnswer(name="Ba 3") and state.registration.editing


@pytest.mark.db
def test_a_registration_saved_half_done_by_the_old_version_continues_at_the_same_step(app):
    save(app, "old1", OLD_SHAPE)
    chat = Chat(app, "old1")
    chat.say("1988")
    assert "Số điện thoại để công an xã liên hệ" in chat.text
    state = saved(app, "old1")
    assert state.step == RegistrationStep.PHONE
    assert state.registration.fields == {"registrant": "self", "name": "Lê Văn Ba", "birth_year": 1988}
    assert state.registration.consent_id == 1
    assert state.eligibility.answers == {"for_whom": "self", "background": "after_rehab"}


@pytest.mark.parametrize("draft", [
    {"registration": {"fields": ["not", "a", "dict"]}},
    {"registration": {"fields": {"registrant": "self"}, "consent_id": "not a number"}},
    {"registration": "a string"},
    {"registration": {"fields": {}, "pending": {"low": "thirty"}}},
])
def test_an_old_registration_draft_that_no_longer_fits_starts_afresh_and_keeps_the_rest(draft):
    old = {"flow": "registration", "step": "name", "data": {**draft, "faq_last": "lãi suất bao nhiêu"},
           "facts": {"programme": "qd08"}}
    state = ConversationState.from_json(json.dumps(old))
    assert state.registration is None and (state.flow, state.step) == (Flow.MENU, None)
    assert state.faq.last_question == "lãi suất bao nhiêu" and state.facts.programme == "qd08"


def test_an_unreadable_draft_of_another_flow_leaves_the_current_flow_alone():
    old = {"flow": "registration", "step": "phone",
           "data": {"registration": {"fields": {"registrant": "self"}, "consent_id": 1},
                    "eligibility": {"answers": "broken"}, "handoff": {"province": "Nghệ An"},
                    "officer_typing_since": "yesterday", "faq_last": ["x"]}}
    state = ConversationState.from_json(json.dumps(old))
    assert (state.flow, state.step) == (Flow.REGISTRATION, "phone") and state.registration.consent_id == 1
    assert state.eligibility is None and state.handoff is None and state.officer is None and state.faq == FaqMemory()


def test_unknown_keys_in_an_old_data_dict_are_dropped():
    state = ConversationState.from_json(json.dumps({"flow": "faq", "data": {"something_else": {"a": 1}, "x": 2}}))
    assert state == ConversationState(flow=Flow.FAQ)
    assert ConversationState.from_json(json.dumps({"data": "not a dict"})) == ConversationState()


def test_a_new_shape_draft_that_does_not_fit_is_dropped_too():
    state = ConversationState.from_json(json.dumps({"flow": "handoff", "step": "question", "handoff": {"commune": "abc"},
                                                    "locale": "vi"}))
    assert state.handoff is None and state.flow is Flow.MENU and state.locale == "vi"


@pytest.mark.db
def test_a_broken_old_draft_still_gets_a_calm_reply_and_a_state_that_loads(app):
    old = {"flow": "registration", "step": "birth_year", "data": {"registration": {"fields": 42}}}
    save(app, "old2", json.dumps(old))
    chat = Chat(app, "old2")
    chat.say("lãi suất bao nhiêu")
    assert "thử lại sau" not in chat.text and "6,24%" in chat.text
    assert saved(app, "old2").registration is None


# -- erasing ------------------------------------------------------------------------------------------------------


def full_state() -> ConversationState:
    return ConversationState(flow=Flow.MENU, facts=Facts(programme="qd08", who="self"), **DRAFTS)


def test_forgetting_everything_leaves_nothing_but_where_the_chat_is():
    state = full_state()
    state.forget(everything=True)
    kept = {"flow", "step", "buttons", "locale", "last_seen"}  # no answer of the person's
    fresh = ConversationState()
    for name in ConversationState.model_fields.keys() - kept:
        assert getattr(state, name) == getattr(fresh, name), name


@pytest.mark.db
def test_deleting_my_data_clears_every_draft_in_the_saved_state(app):
    save(app, "e1", full_state())
    Chat(app, "e1").tap("me:delete:yes")
    state = saved(app, "e1")
    assert state.registration is None and state.registration_done is None and state.handoff is None
    assert state.eligibility is None and state.officer is None and state.faq == FaqMemory() and state.facts.empty


@pytest.mark.db
def test_withdrawing_consent_clears_the_registration_and_question_drafts_only(app):
    chat = consented(app, "e2")
    chat.say("Lê Văn Ba")
    assert saved(app, "e2").registration.fields["name"] == "Lê Văn Ba"
    state = saved(app, "e2")
    state.eligibility, state.handoff, state.faq = DRAFTS["eligibility"], DRAFTS["handoff"], DRAFTS["faq"]
    save(app, "e2", state)
    chat.tap("me:withdraw:yes")
    state = saved(app, "e2")
    assert state.registration is None and state.registration_done is None and state.handoff is None
    assert state.eligibility == DRAFTS["eligibility"] and state.faq == DRAFTS["faq"]
