"""Buttons are only ever what the bot offered: a payload with a value the current step does not
offer (typed by hand into a client, rebuilt from an old one) is answered as an old button and
nothing is stored. The programme's cap holds on every path an amount can come by."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.registration.service import load_details
from storage.db import transaction
from storage.models import ReminderTask
from tests.registration_helpers import Chat, consented, fill_for_husband, officer_chat, registrations
from tests.security.conversation import draft_fields, saved_state

pytestmark = pytest.mark.db

STALE = "Nút này đã cũ"
SELF_TO_PROGRAMME = [("type", "tran van binh"), ("type", "1988"), ("type", "0912.345.678"), ("type", "nghe an"),
                     ("type", "qui hop"), ("press", "Xã Quỳ Hợp"), ("press", "Bỏ qua")]


def at_programme(app, chat_id: str) -> Chat:
    chat = consented(app, chat_id)
    chat.answer(SELF_TO_PROGRAMME)
    assert "chương trình nào" in chat.text, chat.text
    return chat


def assert_refused(app, chat: Chat, payload: str) -> None:
    before = draft_fields(app, chat.chat_id)
    chat.tap(payload)
    assert STALE in chat.text, (payload, chat.text)
    assert draft_fields(app, chat.chat_id) == before, payload


@pytest.mark.parametrize("payload", ["reg:who:admin", "reg:who:self:extra", "reg:who:"])
def test_a_forged_answer_to_who_is_borrowing_is_not_stored(app, payload):
    chat = Chat(app, "who")
    chat.tap("reg:start")
    assert_refused(app, chat, payload)
    assert "registrant" not in draft_fields(app, "who")


@pytest.mark.parametrize("payload", ["reg:rel:boss", "reg:rel:spouse:x", "reg:rel:"])
def test_a_forged_relationship_is_not_stored(app, payload):
    chat = Chat(app, "rel")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký giúp người thân")
    assert_refused(app, chat, payload)
    chat.press("Vợ hoặc chồng")  # the offered one still works
    assert draft_fields(app, "rel")["relationship"] == "spouse"


@pytest.mark.parametrize("payload", ["reg:prog:qd99_2030", "reg:prog:qd08_2026:1", "reg:purp:business", "reg:kind:sme"])
def test_a_forged_programme_or_a_choice_of_another_step_is_not_stored(app, payload):
    chat = at_programme(app, "prog")
    assert_refused(app, chat, payload)
    assert "programme" not in draft_fields(app, "prog")


@pytest.mark.parametrize("payload", ["reg:comm:99999", "reg:prov:1", "reg:comm:-1"])
def test_a_commune_that_was_not_listed_is_not_stored(app, payload):
    chat = consented(app, "place")
    chat.answer(SELF_TO_PROGRAMME[:5])
    assert "Xã Quỳ Hợp" in chat.labels
    assert_refused(app, chat, payload)
    assert "commune" not in draft_fields(app, "place")


def test_a_forged_field_to_change_and_a_forged_consent_are_refused(app):
    chat = consented(app, "edit")
    fields = draft_fields(app, "edit")
    assert_refused(app, chat, "reg:consent:yes")  # not the consent step any more
    wife = fill_for_husband(app, "wife")
    wife.press("Sửa một mục")
    assert_refused(app, wife, "reg:edit:province")  # not among the fields offered to change
    assert_refused(app, wife, "reg:edit:consent_id")
    assert draft_fields(app, "edit") == fields


def test_a_forged_amount_button_is_not_stored(app):
    chat = at_programme(app, "amt")
    chat.press("Người sau cai nghiện ma túy")
    chat.say("2023")
    chat.press("Sản xuất, kinh doanh")
    chat.press("Bỏ qua")
    chat.say("khoảng 30 đến 50 triệu")
    assert any(label.startswith("30 triệu") for label in chat.labels), chat.labels
    assert_refused(app, chat, "reg:amt:5000000000")
    assert_refused(app, chat, "reg:amt:40000000")
    assert "amount" not in draft_fields(app, "amt")


def test_an_amount_said_before_the_programme_is_known_is_capped_when_it_is(app):
    chat = Chat(app, "said")
    chat.say("tôi muốn vay 900 triệu để nuôi bò")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    chat.press("Tôi đồng ý")
    chat.answer(SELF_TO_PROGRAMME)
    chat.press("Người sau cai nghiện ma túy")
    assert "Mức vay tối đa" in chat.text and "200 triệu" in chat.text
    fields = draft_fields(app, "said")
    assert (fields["amount"], fields["amount_requested"]) == (200_000_000, 900_000_000)


def test_an_amount_said_earlier_is_stored_capped_when_the_registration_is_sent(app):
    chat = Chat(app, "check")
    chat.say("tôi muốn vay 900 triệu để nuôi bò")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    chat.press("Tôi đồng ý")
    chat.answer(SELF_TO_PROGRAMME)
    chat.press("Người sau cai nghiện ma túy")
    chat.say("2023")
    while "Bạn kiểm tra lại thông tin" not in chat.text:
        chat.press("Bỏ qua")
    chat.press("Đúng, gửi đăng ký")
    [row] = registrations(app)
    details = load_details(app.dispatcher.cipher, row)
    assert details.amount == 200_000_000 and details.amount_requested == 900_000_000


def test_a_correction_never_stores_an_amount_above_the_cap(app):
    from tests.registration_helpers import register_for_husband

    wife = register_for_husband(app)
    [row] = registrations(app)
    wife.tap(f"reg:amend:{row.id}")
    wife.press("Số tiền")
    wife.say("5 tỷ")
    assert "Mức vay tối đa" in wife.text
    wife.press("Đúng, lưu thay đổi")
    details = load_details(app.dispatcher.cipher, registrations(app)[0])
    assert details.amount == 200_000_000


def test_the_last_guard_caps_an_amount_that_reached_the_summary_above_the_cap(app):
    """Whatever a future path forgets, the service never writes an amount above the cap."""
    from bot.registration import service
    from bot.registration.record import Details

    wife = fill_for_husband(app, "wife")
    state = saved_state(app, "wife")
    details = Details.model_validate({**state.registration.fields, "amount": 3_000_000_000})
    assert wife.text  # the summary is shown
    capped = service._within_cap(_context(app), details)
    assert capped.amount == 200_000_000 and capped.amount_requested == 3_000_000_000


def _context(app):
    from tests.conftest import make_message

    captured = {}

    def spy(session, state, now, msg):
        captured["ctx"] = real(session, state, now, msg)
        return captured["ctx"]

    real = app.dispatcher.make_context
    app.dispatcher.make_context = spy
    try:
        app.dispatcher.process(make_message("menu", chat_id="spy"))
    finally:
        app.dispatcher.make_context = real
    return captured["ctx"]


def test_a_forged_eligibility_answer_is_refused(app):
    chat = Chat(app, "elig")
    chat.tap("elig:start")
    question = next(b.payload for b in chat.last[-1].buttons if b.payload.startswith("elig:a:"))
    _, _, qid, _ = question.split(":")
    before = dict(saved_state(app, "elig").eligibility.answers)
    for forged in (f"elig:a:{qid}:-1", f"elig:a:{qid}:99", f"elig:a:{qid}:x"):
        chat.tap(forged)
        assert STALE in chat.text, forged
    assert saved_state(app, "elig").eligibility.answers == before


def test_a_forged_answer_to_sharing_the_phone_is_refused(app):
    chat = Chat(app, "share")
    chat.tap("ask:start")
    chat.say("nghe an")
    chat.say("qui hop")
    if "Xã Quỳ Hợp" in chat.labels:
        chat.press("Xã Quỳ Hợp")
    chat.say("Tôi cần giấy tờ gì?")
    assert "ask:share:yes" in [b.payload for b in chat.last[-1].buttons]
    chat.tap("ask:share:maybe")
    assert STALE in chat.text
    assert saved_state(app, "share").handoff is not None  # nothing sent


def test_a_reminder_answer_for_a_date_the_deadline_does_not_fall_on_is_not_stored(app):
    officer = officer_chat(app, "officer-r")
    from storage import officers

    with transaction(app.engine) as session:
        [binding] = officers.of_chat(session=session, channel="test", chat_id="officer-r")
    deadline_id = _a_deadline_id(app)
    for period in ("2099-02-30", "1999-01-01", "soon"):
        officer.tap(f"rem:done:{deadline_id}:{period}:{binding.id}")
        assert STALE in officer.text, period
    with transaction(app.engine) as session:
        assert list(session.exec(select(ReminderTask))) == []


def _a_deadline_id(app) -> str:
    ctx = _context(app)
    return ctx.content.calendar.deadlines[0].id
