"""Registration of loan interest in a chat: consent, one field per turn, summary, reference code."""

import hashlib
import json

import pytest
from sqlmodel import select

from bot.state import ConversationState
from storage import repo
from storage.db import transaction
from storage.models import Consent
from tests.registration_helpers import WIFE_ANSWERS, Chat, consented, fill_for_husband, register_for_husband, registrations

pytestmark = pytest.mark.db


def consents(app) -> list[Consent]:
    with transaction(app.engine) as session:
        return list(session.exec(select(Consent)))


def saved_state(app, chat_id: str) -> ConversationState:
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id=chat_id)
    return ConversationState.from_json(app.dispatcher.cipher.decrypt(raw))


def test_a_wife_registers_her_husband_and_gets_a_reference_code_easy_to_read_aloud(app):
    chat = register_for_husband(app)
    [row] = registrations(app)
    assert row.status == "pending" and row.commune_code == 17035 and row.province_code == 40
    shown = chat.text.split("Mã đăng ký của bạn: ")[1].split()[0]
    assert shown.replace("-", "") == row.reference and len(row.reference) == 6
    assert not set(row.reference) & set("0O1IL")
    details = app.dispatcher.cipher.unseal(row.details)
    assert details["name"] == "Tran Van Binh" and details["phone"] == "0912345678"
    assert details["registrant"] == "relative" and details["relationship"] == "spouse"
    assert "Tran Van Binh" not in row.details and "0912345678" not in row.details  # encrypted at rest


def test_consent_comes_before_any_personal_question_and_its_record_names_the_exact_text(app):
    chat = Chat(app, "c1")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    consent_text = chat.last[-1].text
    assert chat.labels == ["Tôi đồng ý", "Không đồng ý"]
    for duty in ("Thu thập", "Để làm gì", "Ai được xem", "Lưu bao lâu", "Quyền của bạn", "24 tháng"):
        assert duty in consent_text
    assert consents(app) == []  # showing it records nothing
    chat.press("Tôi đồng ý")
    [record] = consents(app)
    assert record.text_hash == hashlib.sha256(consent_text.encode("utf-8")).hexdigest()
    assert record.text_version == app.brain.content.registration.consent.version
    assert "Họ và tên" in chat.text


def test_declining_ends_kindly_and_stores_nothing(app):
    chat = Chat(app, "c2")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký cho chính tôi")
    chat.say("không đồng ý")
    assert "Tôi không lưu thông tin nào" in chat.text
    assert consents(app) == [] and registrations(app) == []
    assert "registration" not in saved_state(app, "c2").data


def test_each_field_is_re_asked_with_the_reason_when_wrong(app):
    chat = consented(app, "c3")
    chat.say("1990")
    assert "Tên không có chữ số" in chat.text and "Họ và tên" in chat.last[-1].text
    chat.say("Lê Văn Ba")
    chat.say("năm ngoái")
    assert "chưa đọc được năm sinh" in chat.text
    chat.say("1990")
    chat.say("0123")
    assert "Số điện thoại chưa đúng" in chat.text
    chat.say("😀")
    assert "Số điện thoại chưa đúng" in chat.text
    chat.say("x" * 10_000)
    assert "Số điện thoại chưa đúng" in chat.text
    chat.say("+84 987 654 321")
    assert "tỉnh hoặc thành phố" in chat.text


def test_an_amount_above_the_cap_is_said_and_the_cap_recorded(app):
    chat = consented(app, "c4")
    chat.answer(WIFE_ANSWERS[2:14])
    chat.say("1,5 tỷ")
    assert "tối đa" in chat.text and "200 triệu đồng" in chat.text
    chat.press("Bỏ qua")
    chat.press("Đúng, gửi đăng ký")
    details = app.dispatcher.cipher.unseal(registrations(app)[0].details)
    assert details["amount"] == 200_000_000 and details["amount_requested"] == 1_500_000_000


def test_pressing_send_twice_registers_once(app):
    chat = register_for_husband(app)
    chat.tap("reg:confirm")
    assert "đã được gửi" in chat.text
    assert len(registrations(app)) == 1


def test_someone_who_leaves_mid_way_continues_days_later_where_they_stopped(app):
    chat = consented(app, "c5")
    chat.say("Lê Văn Ba")
    chat.press("Dừng, để sau")
    assert "Đã dừng" in chat.text
    chat.tap("reg:start")
    assert "đăng ký dở" in chat.text
    chat.press("Làm tiếp")
    assert "sinh năm nào" in chat.text


def test_a_policy_question_mid_way_is_answered_and_the_field_asked_again(app):
    chat = consented(app, "c6")
    chat.say("lãi suất bao nhiêu?")
    assert "6,24%" in chat.text
    assert "Họ và tên" in chat.last[-1].text


def test_a_stale_button_from_an_earlier_step_gets_the_current_question(app):
    chat = consented(app, "c7")
    chat.tap("reg:prog:qd08_2026")
    assert "Nút này đã cũ" in chat.text and "Họ và tên" in chat.last[-1].text


def test_summary_lets_one_field_be_changed(app):
    register_for_husband(app, "c8")
    chat = fill_for_husband(app, "c8")
    chat.press("Sửa một mục")
    chat.press("Số điện thoại")
    chat.say("0987 000 111")
    assert "Bạn kiểm tra lại thông tin" in chat.text and "0987 000 111" in chat.text


def test_the_same_phone_and_commune_again_updates_the_first_registration(app):
    register_for_husband(app, "c9")
    chat = fill_for_husband(app, "c9", WIFE_ANSWERS[:-2] + [("type", "80 triệu"), ("press", "Bỏ qua")])
    chat.press("Đúng, gửi đăng ký")
    assert "đã đăng ký ở xã này" in chat.text
    chat.press("Cập nhật đăng ký cũ")
    assert "Đã cập nhật" in chat.text
    [row] = registrations(app)
    assert app.dispatcher.cipher.unseal(row.details)["amount"] == 80_000_000


def test_an_eligibility_result_pre_fills_the_registration(app):
    chat = Chat(app, "c10")
    chat.tap("elig:start")
    for answer in ("cho bản thân", "sau cai nghiện", "tự nguyện", "năm 2023", "có", "30", "có", "kinh doanh", "50 triệu"):
        chat.say(answer)
    chat.press("Đăng ký")
    assert "Ai là người cần vay" not in chat.text  # who is known from the check
    chat.press("Tôi đồng ý")
    state = saved_state(app, "c10")
    assert state.data["registration"]["fields"]["programme"] == "qd08_2026"
    assert state.data["registration"]["fields"]["purpose"] == "business"


def test_the_draft_is_encrypted_in_the_saved_conversation(app):
    chat = consented(app, "c11")
    chat.say("Lê Văn Ba")
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id="c11")
    assert "Lê Văn Ba" not in raw and json.loads(app.dispatcher.cipher.decrypt(raw))["data"]["registration"]["fields"]["name"] == "Lê Văn Ba"


def test_a_whole_registration_and_decision_log_no_personal_data(app, caplog):
    import logging

    from tests.registration_helpers import officer_chat

    caplog.set_level(logging.DEBUG)
    register_for_husband(app)
    officer = officer_chat(app)
    officer.tap(f"off:no:{registrations(app)[0].id}")
    officer.press("Lý do khác")
    officer.say("Đã chuyển khẩu")
    logged = caplog.text
    for personal in ("Tran Van Binh", "0912345678", "0912.345.678", "345", "Đã chuyển khẩu", "ban mong"):
        assert personal not in logged


def test_a_sticker_or_photo_mid_way_gets_a_kind_word_and_loses_nothing(app):
    from bot.types import Kind
    from tests.conftest import make_message, run

    chat = consented(app, "c12")
    chat.say("Lê Văn Ba")
    for kind in (Kind.STICKER, Kind.PHOTO, Kind.VOICE):
        replies = run(app.dispatcher.dispatch(make_message(kind=kind, chat_id="c12")))
        assert "chỉ đọc được tin nhắn chữ" in replies[0].text
    chat.say("1990")
    assert "Số điện thoại" in chat.text
    assert saved_state(app, "c12").data["registration"]["fields"]["name"] == "Lê Văn Ba"


def test_a_bare_number_presses_the_skip_or_not_sure_button_where_there_is_one(app):
    chat = consented(app, "r1")
    chat.answer(WIFE_ANSWERS[2:9])
    chat.say("1")  # village: [1] Bỏ qua
    assert "chương trình nào" in chat.text
    chat.answer(WIFE_ANSWERS[10:14])
    chat.say("1")  # amount: [1] Chưa rõ — not 1 million
    assert "Số định danh" in chat.text
    assert saved_state(app, "r1").data["registration"]["fields"]["amount"] is None


def test_an_absurd_amount_is_asked_again_and_two_hundred_million_in_words_is_understood(app):
    chat = consented(app, "r2")
    chat.answer(WIFE_ANSWERS[2:14])
    chat.say("9" * 40)
    assert "chưa đọc được số tiền" in chat.text
    chat.say("2 trăm triệu")
    assert "Số định danh" in chat.text
    assert saved_state(app, "r2").data["registration"]["fields"]["amount"] == 200_000_000


def test_the_register_button_pressed_again_mid_way_keeps_the_answers(app):
    chat = consented(app, "r3")
    chat.say("Lê Văn Ba")
    chat.tap("reg:start")
    assert "sinh năm nào" in chat.text
    assert saved_state(app, "r3").data["registration"]["fields"]["name"] == "Lê Văn Ba"


def test_changing_the_programme_asks_again_for_the_year_and_the_amount(app):
    register_for_husband(app, "r4")
    chat = fill_for_husband(app, "r4")
    chat.press("Sửa một mục")
    chat.press("Chương trình")
    chat.press("Người đã chấp hành xong án phạt tù")
    assert "Chấp hành xong án phạt tù năm nào" in chat.text
    chat.say("2024")
    assert "bao nhiêu" in chat.text


def test_an_in_law_is_not_taken_for_a_spouse(app):
    chat = Chat(app, "r5")
    chat.tap("reg:start")
    chat.press("Tôi đăng ký giúp người thân")
    chat.say("mẹ chồng tôi")
    assert saved_state(app, "r5").data["registration"]["fields"]["relationship"] == "other"


def test_another_chat_with_the_same_phone_learns_nothing_and_officers_see_a_possible_duplicate(app):
    from tests.registration_helpers import officer_chat

    register_for_husband(app, "first")
    register_for_husband(app, "someone-else")  # no "already registered" offer: a new registration
    assert len(registrations(app)) == 2
    officer = officer_chat(app)
    officer.tap(f"off:open:{registrations(app)[1].id}")
    assert "có thể trùng" in officer.text
