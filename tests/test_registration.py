"""Registration of loan interest in a chat: consent, one field per turn, summary, reference code."""

import hashlib
import json
import re

import pytest
from sqlmodel import select

from bot.state import ConversationState
from bot.vntime import vietnam_date
from storage import repo
from storage.db import transaction
from storage.models import Consent, utcnow
from tests.registration_helpers import (
    WIFE_ANSWERS,
    Chat,
    consented,
    fill_for_husband,
    for_relative,
    officer_chat,
    register_for_husband,
    registrations,
)

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
    assert saved_state(app, "c2").registration is None


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
    chat.answer(WIFE_ANSWERS[2:13])
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


def test_who_registers_can_be_changed_at_the_summary_and_the_answers_stay(app):
    """A wife who pressed "for a relative" for herself: the registrant is one of the fields to change."""
    chat = fill_for_husband(app, "c8r")
    chat.press("Sửa một mục")
    chat.press("Người đăng ký")
    assert "Ai là người cần vay?" in chat.last[-1].text
    chat.press("Tôi đăng ký cho chính tôi")
    assert "Bạn kiểm tra lại thông tin" in chat.text and "0912" in chat.text  # nothing else asked again
    assert "chồng" not in chat.last[-1].text.lower()


def test_a_field_named_in_words_at_the_summary_or_the_change_question_is_asked_again(app):
    chat = fill_for_husband(app, "c8b")
    chat.say("sửa số tiền")
    assert "bao nhiêu" in chat.last[-1].text  # the amount, asked again: no policy answer, no summary pasted
    chat.say("70 triệu")
    assert "Bạn kiểm tra lại thông tin" in chat.text and "70.000.000" in chat.text
    chat.press("Sửa một mục")
    chat.say("họ tên")  # "Họ và tên"
    assert "Họ và tên" in chat.last[-1].text and "Bạn kiểm tra lại" not in chat.last[-1].text


@pytest.mark.parametrize("typed, shown", [("sửa số điện thoại thành 0987 000 111", "0987 000 111"),
                                          ("đổi năm sinh là 1990", "1990"), ("sửa họ tên lại thành Lê Văn Ba", "Lê Văn Ba")])
def test_a_change_with_its_new_value_at_the_summary_is_made_at_once(app, typed, shown):
    chat = fill_for_husband(app, "c8d")
    chat.say(typed)
    assert "Bạn kiểm tra lại thông tin" in chat.last[-1].text and shown in chat.last[-1].text


@pytest.mark.parametrize("typed", ["ừ gửi đi", "không", "đúng rồi"])
def test_nothing_to_change_said_in_words_at_the_change_question_shows_the_summary_again(app, typed):
    chat = fill_for_husband(app, "c8c")
    chat.press("Sửa một mục")
    chat.say(typed)
    assert "Bạn kiểm tra lại thông tin" in chat.last[-1].text and "Căn cứ" not in chat.text
    assert registrations(app) == []  # shown again to be sent, never sent unseen


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
    assert state.registration.fields["programme"] == "qd08_2026"
    assert state.registration.fields["purpose"] == "business"


def test_the_draft_is_encrypted_in_the_saved_conversation(app):
    chat = consented(app, "c11")
    chat.say("Lê Văn Ba")
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id="c11")
    assert "Lê Văn Ba" not in raw and json.loads(app.dispatcher.cipher.decrypt(raw))["registration"]["fields"]["name"] == "Lê Văn Ba"


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
    assert saved_state(app, "c12").registration.fields["name"] == "Lê Văn Ba"


def test_a_bare_number_presses_the_skip_or_not_sure_button_where_there_is_one(app):
    chat = consented(app, "r1")
    chat.answer(WIFE_ANSWERS[2:8])
    chat.say("1")  # village: [1] Bỏ qua
    assert "chương trình nào" in chat.text
    chat.answer(WIFE_ANSWERS[9:13])
    chat.say("1")  # amount: [1] Chưa rõ — not 1 million
    assert "Số định danh" in chat.text
    assert saved_state(app, "r1").registration.fields["amount"] is None


def test_an_absurd_amount_is_asked_again_and_two_hundred_million_in_words_is_understood(app):
    chat = consented(app, "r2")
    chat.answer(WIFE_ANSWERS[2:13])
    chat.say("9" * 40)
    assert "chưa đọc được số tiền" in chat.text
    chat.say("2 trăm triệu")
    assert "Số định danh" in chat.text
    assert saved_state(app, "r2").registration.fields["amount"] == 200_000_000


def test_the_register_button_pressed_again_mid_way_keeps_the_answers(app):
    chat = consented(app, "r3")
    chat.say("Lê Văn Ba")
    chat.tap("reg:start")
    assert "sinh năm nào" in chat.text
    assert saved_state(app, "r3").registration.fields["name"] == "Lê Văn Ba"


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
    chat = for_relative(app, "r5")
    chat.say("mẹ chồng tôi")
    assert saved_state(app, "r5").registration.fields["relationship"] == "other"


def test_another_chat_with_the_same_phone_learns_nothing_and_officers_see_a_possible_duplicate(app):
    from tests.registration_helpers import officer_chat

    register_for_husband(app, "first")
    register_for_husband(app, "someone-else")  # no "already registered" offer: a new registration
    assert len(registrations(app)) == 2
    officer = officer_chat(app)
    officer.tap(f"off:open:{registrations(app)[1].id}")
    assert "có thể trùng" in officer.text


# -- in the person's own words ---------------------------------------------------------------------


def mother(app, chat_id: str) -> Chat:
    """A mother who has said who registers and agreed, in her words."""
    chat = Chat(app, chat_id)
    chat.tap("reg:start")
    chat.say("cho thằng con trai tui")
    chat.say("dạ tui đồng ý")
    assert "Họ và tên của người cần vay" in chat.last[-1].text, chat.text
    return chat


def test_a_mother_says_who_registers_and_agrees_in_her_words_and_is_told_what_was_understood(app):
    chat = Chat(app, "w1")
    chat.tap("reg:start")
    chat.say("cho thằng con trai tui")
    assert "Đã ghi người đăng ký: người thân (bố hoặc mẹ)" in chat.text
    assert chat.labels == ["Tôi đồng ý", "Không đồng ý"]  # the relationship is known: not asked
    chat.say("dạ tui đồng ý")
    assert len(consents(app)) == 1
    fields = saved_state(app, "w1").registration.fields
    assert fields["registrant"] == "relative" and fields["relationship"] == "parent"


def test_tui_la_ma_no_at_the_relationship_question_is_the_parent(app):
    chat = Chat(app, "w2")
    chat.tap("reg:start")
    chat.say("cho người nhà")
    assert "Bạn là gì của người cần vay?" in chat.text
    chat.say("tui là má nó")
    assert saved_state(app, "w2").registration.fields["relationship"] == "parent"


def test_a_register_request_typed_at_the_who_question_is_its_answer_not_a_restart(app):
    chat = Chat(app, "w3")
    chat.tap("reg:start")
    chat.say("đăng ký cho con tôi")
    assert chat.labels == ["Tôi đồng ý", "Không đồng ý"], chat.text
    assert saved_state(app, "w3").registration.fields["relationship"] == "parent"


def test_a_name_after_a_lead_in_is_stored_without_it_and_said_back(app):
    chat = mother(app, "w4")
    chat.say("tên nó là Trần Văn Hùng")
    assert "Đã ghi họ và tên: Trần Văn Hùng." in chat.text
    assert saved_state(app, "w4").registration.fields["name"] == "Trần Văn Hùng"


def test_an_odd_looking_name_is_confirmed_before_it_is_stored(app):
    chat = mother(app, "w5")
    chat.say("tui là má nó")
    assert "Tôi ghi họ tên là “Má Nó”. Đúng không?" in chat.text
    assert "name" not in saved_state(app, "w5").registration.fields
    chat.say("không")
    assert "Họ và tên của người cần vay" in chat.last[-1].text
    chat.say("Hùng")
    assert "“Hùng”" in chat.text
    chat.say("đúng")
    assert saved_state(app, "w5").registration.fields["name"] == "Hùng"
    assert "sinh năm nào" in chat.text


def test_years_phones_amounts_and_skips_in_her_words(app):
    chat = mother(app, "w6")
    chat.answer([("type", "tên nó là Trần Văn Hùng"), ("type", "nó sinh năm 98")])
    assert "Đã ghi năm sinh: 1998." in chat.text
    chat.say("sdt của tui là 0987 654 321")
    assert "Đã ghi số điện thoại: 0987 654 321." in chat.text
    chat.answer([("type", "nghệ an"), ("type", "quỳ hợp")])
    assert "Đã chọn: Xã Quỳ Hợp, Nghệ An." in chat.text
    chat.say("thôi khỏi")
    assert "chương trình nào" in chat.text
    chat.answer([("type", "cai nghiện"), ("type", "năm 2023"), ("type", "nuôi heo")])
    assert "Đã ghi mô tả: nuôi heo." in chat.text and "bao nhiêu" in chat.last[-1].text
    chat.say("hai trăm triệu")
    assert "Đã ghi số tiền đề nghị: 200.000.000 đ." in chat.text
    chat.say("không có")
    assert "Bạn kiểm tra lại thông tin" in chat.text
    fields = saved_state(app, "w6").registration.fields
    assert (fields["birth_year"], fields["phone"], fields["amount"], fields["village"], fields["id_number"]) == (
        1998, "0987654321", 200_000_000, None, None)
    assert fields["purpose"] == "business" and fields["description"] == "nuôi heo"
    chat.say("ừ gửi đi")
    assert "Mã đăng ký của bạn" in chat.text


def test_a_range_of_amounts_is_asked_about_never_stored_as_their_sum(app):
    chat = consented(app, "w7")
    chat.answer(WIFE_ANSWERS[2:13])
    chat.say("30-50 triệu")
    assert "Bạn ghi từ 30 triệu đồng đến 50 triệu đồng" in chat.text
    assert chat.labels[:2] == ["30 triệu đồng", "50 triệu đồng"]
    assert "amount" not in saved_state(app, "w7").registration.fields
    chat.press("50 triệu đồng")
    assert saved_state(app, "w7").registration.fields["amount"] == 50_000_000
    assert "Số định danh" in chat.text


def test_a_range_answered_by_typing_one_amount_takes_it(app):
    chat = consented(app, "w8")
    chat.answer(WIFE_ANSWERS[2:13])
    chat.say("từ 30 tới 50tr")
    chat.say("40 triệu")
    assert saved_state(app, "w8").registration.fields["amount"] == 40_000_000


def test_an_unclear_reply_at_a_choice_is_asked_again_once_with_an_example(app):
    chat = Chat(app, "w9")
    chat.tap("reg:start")
    chat.say("abc xyz")
    assert "Bạn gõ ví dụ: “cho tôi” hoặc “cho con trai tôi”" in chat.text
    assert chat.labels[:2] == ["Tôi đăng ký cho chính tôi", "Tôi đăng ký giúp người thân"]
    chat.say("cho tôi")
    chat.say("hmm để xem")
    assert "Bạn gõ “đồng ý” hoặc “không đồng ý”" in chat.text and consents(app) == []
    assert "xin đọc kỹ" not in chat.text  # the notice just read is not sent again, only the choice
    assert chat.labels[:2] == ["Tôi đồng ý", "Không đồng ý"]


def test_a_mother_s_own_words_are_taken_once_the_programme_on_the_way_and_commune_with_province(app):
    chat = Chat(app, "m1")
    chat.say("đăng ký vay")
    chat.say("tui đăng ký cho thằng con trai tui")
    chat.say("nó mới đi cai về")  # at the consent question: noted, the consent asked again
    chat.say("dạ tui đồng ý")
    chat.say("Nguyễn Văn Tèo")
    chat.say("nó sinh năm 98")
    chat.say("0912345678")
    chat.say("xã Quỳ Hợp, Nghệ An")  # typed at the province question
    fields = saved_state(app, "m1").registration.fields
    assert fields["programme"] == "qd08_2026" and fields["birth_year"] == 1998
    assert fields["province"] and fields["commune"] and "Quỳ Hợp" in chat.text
    chat.say("bỏ qua")
    assert "chương trình nào" not in chat.text


def test_a_mother_who_told_her_story_first_is_asked_only_what_is_missing_in_whatever_order_she_answers(app):
    chat = Chat(app, "m2")
    chat.say("chào cán bộ, con trai tui mới cai nghiện ở trung tâm về hồi tháng 3")  # "cán bộ" is no "bố"
    chat.say("tui muốn đăng ký cho nó vay")
    assert chat.labels[:2] == ["Tôi đồng ý", "Không đồng ý"]  # who and the relationship came from her story
    chat.say("dạ tui đồng ý")
    chat.say("nó tên Nguyễn Văn Tâm")
    chat.say("nó sinh năm 98")
    assert "Số điện thoại" in chat.last[-1].text
    chat.say("hai trăm triệu")  # the amount, typed where the phone is asked: kept, the phone asked again
    assert "Đã ghi số tiền đề nghị: 200.000.000 đ." in chat.text and "Số điện thoại" in chat.last[-1].text
    chat.say("để nó mua máy cày làm ruộng")
    assert "Đã ghi mục đích vay: Sản xuất, kinh doanh." in chat.text and "Số điện thoại" in chat.last[-1].text
    chat.say("0912345678")
    chat.say("xã Quỳ Hợp, Nghệ An")
    chat.say("xóm 3")
    assert "Số định danh" in chat.last[-1].text  # "về hồi tháng 3" gave the year: not asked
    chat.say("bỏ qua")
    fields = saved_state(app, "m2").registration.fields
    assert fields["relationship"] == "parent" and fields["programme"] == "qd08_2026" and fields["event_year"] == vietnam_date(utcnow()).year
    assert fields["amount"] == 200_000_000 and fields["purpose"] == "business" and fields["description"] == "để nó mua máy cày làm ruộng"
    assert "Bạn kiểm tra lại thông tin" in chat.text  # nothing she said was asked again


def test_a_bare_yes_where_a_relationship_is_asked_is_asked_again_not_answered_as_a_question(app):
    chat = Chat(app, "m3")
    chat.say("đăng ký vay")
    chat.press("Tôi đăng ký giúp người thân")
    chat.say("dạ tui đồng ý")
    assert "Tôi chưa rõ" in chat.text and "Bạn là gì của người cần vay" in chat.last[-1].text
    assert "Luật Bảo vệ dữ liệu" not in chat.text


def test_nothing_typed_ahead_is_kept_before_consent_and_a_question_with_an_amount_is_answered(app):
    chat = Chat(app, "m4")
    chat.say("đăng ký vay")
    chat.say("cho tôi")
    chat.say("tôi sinh năm 95")  # at the consent question
    assert "birth_year" not in saved_state(app, "m4").registration.fields
    chat.say("đồng ý")
    chat.say("Lê Thị Hoa")
    chat.say("vay 300 triệu được không")  # a question at the year of birth, not an answer
    assert "amount" not in saved_state(app, "m4").registration.fields


def test_a_province_merged_away_in_2025_is_found_under_its_old_name_and_both_are_said(app):
    chat = consented(app, "m5")
    chat.answer([("type", "Trần Văn Hai"), ("type", "1990"), ("type", "0912345678")])
    chat.say("soc trang")
    assert "Đã chọn: Thành phố Cần Thơ (gồm Sóc Trăng cũ)." in chat.text
    chat.say("long phu")
    assert saved_state(app, "m5").registration.fields["commune"] == 31639  # Xã Long Phú, now in Cần Thơ


def test_an_old_province_name_written_with_a_hyphen_is_said_back_whichever_way_it_is_typed(app):
    chat = consented(app, "m5b")
    chat.answer([("type", "Trần Văn Hai"), ("type", "1990"), ("type", "0912345678")])
    chat.say("ba ria vung tau")  # the list writes it "Bà Rịa - Vũng Tàu"
    assert "(gồm Bà Rịa - Vũng Tàu cũ)" in chat.text


def test_a_wife_s_replies_with_more_than_was_asked_go_to_their_own_fields(app):
    chat = Chat(app, "m6")
    chat.say("đăng ký vay")
    chat.say("cho chồng tôi")
    chat.say("đồng ý")
    chat.say("chồng chị tên Lô Văn Hùng, sinh năm 85")  # the name and the year at once
    fields = saved_state(app, "m6").registration.fields
    assert fields["name"] == "Lô Văn Hùng" and fields["birth_year"] == 1985 and "Số điện thoại" in chat.last[-1].text
    chat.say("bản Mới")  # the village, typed where the phone is asked: kept for later
    assert saved_state(app, "m6").registration.fields["village"] == "bản Mới" and "Số điện thoại" in chat.last[-1].text
    chat.say("0912345678")
    chat.say("cai tự nguyện ở nhà, có uống methadone nữa")  # the situation, where the province is asked
    fields = saved_state(app, "m6").registration.fields
    assert fields["programme"] == "qd08_2026" and "province" not in fields and "tỉnh hoặc thành phố" in chat.last[-1].text
    chat.say("nghe an")
    chat.say("quy hop")
    assert "village" in saved_state(app, "m6").registration.fields and "Thôn" not in chat.last[-1].text


def test_a_place_typed_at_the_name_is_confirmed_not_stored_and_tau_is_i(app):
    chat = Chat(app, "m7")
    chat.say("đăng ký vay")
    chat.say("cho tau")  # Nghệ Tĩnh "tau": myself
    assert chat.labels[:2] == ["Tôi đồng ý", "Không đồng ý"]
    chat.say("đồng ý")
    chat.say("nghe an")
    assert "Tôi ghi họ tên là “Nghe An”. Đúng không?" in chat.text and "name" not in saved_state(app, "m7").registration.fields


# -- navigation ---------------------------------------------------------------------------------------


def test_quay_lai_goes_back_one_step_and_stays_in_the_registration(app):
    chat = consented(app, "n1")
    chat.say("Lê Văn Ba")
    chat.say("1990")
    assert "Số điện thoại" in chat.last[-1].text
    chat.say("quay lại")
    assert "sinh năm nào" in chat.last[-1].text
    state = saved_state(app, "n1")
    assert state.flow == "registration" and "birth_year" not in state.registration.fields
    chat.say("sửa câu trước")
    assert "Họ và tên" in chat.last[-1].text
    chat.say("Lê Văn Bá")
    chat.say("1991")
    fields = saved_state(app, "n1").registration.fields
    assert fields["name"] == "Lê Văn Bá" and fields["birth_year"] == 1991


def test_going_back_before_the_first_question_says_so(app):
    chat = Chat(app, "n2")
    chat.tap("reg:start")
    chat.say("quay lại")
    assert "Đây là câu hỏi đầu tiên." in chat.text and "Ai là người cần vay?" in chat.last[-1].text


def test_going_back_from_the_first_field_skips_the_consent_already_given(app):
    chat = consented(app, "n3")
    chat.say("quay lại")
    assert "Ai là người cần vay?" in chat.last[-1].text
    chat.press("Tôi đăng ký cho chính tôi")
    assert "Họ và tên" in chat.last[-1].text and len(consents(app)) == 1


def test_cancel_at_the_summary_asks_before_discarding(app):
    chat = fill_for_husband(app, "n4")
    chat.press("Hủy đăng ký")
    assert "Hủy đăng ký này?" in chat.text
    assert saved_state(app, "n4").registration is not None  # nothing dropped yet
    chat.press("Không, quay lại")
    assert "Bạn kiểm tra lại thông tin" in chat.text
    chat.say("hủy")
    assert "Hủy đăng ký này?" in chat.text
    chat.say("có")
    assert "Đã hủy" in chat.text and saved_state(app, "n4").registration is None
    assert registrations(app) == []


def test_a_returning_user_at_the_repeat_question_sees_it_with_its_buttons_not_a_raw_key(app):
    from bot.types import Kind
    from tests.conftest import make_message, run

    register_for_husband(app, "n5")
    chat = fill_for_husband(app, "n5")
    chat.press("Đúng, gửi đăng ký")
    assert "đã đăng ký ở xã này" in chat.text
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="n5")))
    assert "registration.ask_repeat" not in replies[-1].text and "đã đăng ký ở xã này" in replies[-1].text
    assert [b.label for b in replies[-1].buttons] == ["Cập nhật đăng ký cũ", "Hủy đăng ký"]


def test_the_offered_places_are_shown_again_after_a_question_and_on_return(app):
    from bot.types import Kind
    from tests.conftest import make_message, run

    chat = consented(app, "n6")
    chat.answer(WIFE_ANSWERS[2:5])
    chat.say("nghe")
    offered = chat.labels
    assert "Nghệ An" in offered
    chat.say("lãi suất bao nhiêu?")
    assert "6,24%" in chat.text and chat.labels == offered
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="n6")))
    assert [b.label for b in replies[-1].buttons] == offered
    chat.last = replies
    chat.press("Nghệ An")
    assert "xã hoặc phường nào của Nghệ An" in chat.text


@pytest.mark.parametrize("step_answers, expected", [
    ([], "Ai là người cần vay?"),
    ([("press", "Tôi đăng ký giúp người thân")], "Bạn là gì của người cần vay?"),
    ([("press", "Tôi đăng ký giúp người thân"), ("press", "Con")], "Bạn có đồng ý không?"),
])
def test_a_returning_user_gets_the_pending_question_and_its_buttons(app, step_answers, expected):
    from bot.types import Kind
    from tests.conftest import make_message, run

    chat = Chat(app, "n7")
    chat.tap("reg:start")
    chat.answer(step_answers)
    before = chat.labels
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="n7")))
    assert expected in replies[-1].text and [b.label for b in replies[-1].buttons] == before


# -- the rules and the registration agree -----------------------------------------------------------------


def test_a_14_year_old_the_rules_accept_can_be_registered(app):
    """The check says a 14-year-old may qualify (QĐ 08: from 12): the registration takes him."""
    chat = mother(app, "a1")
    chat.say("Trần Văn Hùng")
    chat.say("2012")
    assert "Số điện thoại" in chat.last[-1].text, chat.text
    assert saved_state(app, "a1").registration.fields["birth_year"] == 2012


def test_a_child_under_the_rules_minimum_is_told_the_rules_age_once_the_programme_is_known(app):
    chat = fill_for_husband(app, "a2")  # QĐ 08
    chat.press("Sửa một mục")
    chat.press("Năm sinh")
    chat.say("2016")
    assert "Người vay theo QĐ 08/2026/QĐ-TTg cần từ đủ 12 tuổi" in chat.text
    assert "16 tuổi" not in chat.text
    chat.say("2014")  # 11 or 12 this year: the rules do not refuse it, an officer checks
    assert "Bạn kiểm tra lại thông tin" in chat.text


def test_choosing_qd08_after_a_year_under_its_minimum_asks_the_year_again(app):
    chat = consented(app, "a3")
    chat.answer(WIFE_ANSWERS[2:3])
    chat.say("2014")
    chat.answer(WIFE_ANSWERS[4:8] + [("press", "Bỏ qua")])
    state = saved_state(app, "a3")
    state.registration.fields["birth_year"] = 2016  # as if the floor were lower than QĐ 08's minimum
    with transaction(app.engine) as session:
        repo.save_state(session=session, channel="test", chat_id="a3", state=app.dispatcher.cipher.encrypt(state.to_json()),
                        now=state.last_seen)
    chat.tap("reg:prog:qd08_2026")
    assert "cần từ đủ 12 tuổi" in chat.text and "sinh năm nào" in chat.last[-1].text


def test_the_registration_uses_the_rules_minimum_age_parameter(brain):
    """One figure: content/policy/parameters.yaml qd08.min_age, for the rules and the registration."""
    import dataclasses
    from datetime import date

    from bot.app import build_brain
    from bot.eligibility.engine import Profile
    from handlers.registration import programme_min_age

    today = date(2026, 11, 22)
    ctx = brain.context(lang="vi", today=today)
    assert programme_min_age(ctx, "qd08_2026") == 12 and programme_min_age(ctx, "qd22_2023") is None
    content = brain.content
    raised = content.parameters["qd08.min_age"].model_copy(update={"values": {date(2026, 5, 1): 15}})
    changed = build_brain(dataclasses.replace(content, parameters={**content.parameters, "qd08.min_age": raised}))
    ctx = changed.context(lang="vi", today=today)
    assert programme_min_age(ctx, "qd08_2026") == 15
    result = changed.eligibility.evaluate(Profile(applicant="person", background="after_rehab", age=14), on=today, texts=ctx.texts,
                                          subject="bạn")
    assert "qd08.min_age" in result.failed


def test_no_year_of_birth_the_rules_accept_is_refused(brain):
    """For every year: if the rules' age check does not fail for that year's ages, the
    registration takes the year (QĐ 08), and for QĐ 22 only the sanity range applies."""
    from datetime import date

    from bot.eligibility.engine import Profile
    from bot.registration.fields import Invalid, read_birth_year
    from handlers.registration import programme_min_age, sanity_min_age

    today = date(2026, 11, 22)
    ctx = brain.context(lang="vi", today=today)
    minimum = programme_min_age(ctx, "qd08_2026")
    for year in range(today.year - 100, today.year + 1):
        ages = (float(today.year - year - 1), float(today.year - year))
        result = brain.eligibility.evaluate(Profile(applicant="person", background="after_rehab", age=ages), on=today,
                                            texts=ctx.texts, subject="bạn")
        try:
            read_birth_year(str(year), today, min_age=minimum)
            taken = True
        except Invalid:
            taken = False
        assert taken == ("qd08.min_age" not in result.failed), year
    assert sanity_min_age(ctx) <= minimum


def test_an_amount_carried_over_from_the_check_is_capped_and_the_person_told(app):
    chat = Chat(app, "a4")
    chat.tap("elig:start")
    for answer in ("cho bản thân", "sau cai nghiện", "tự nguyện", "năm 2023", "có", "30", "có", "kinh doanh", "500 triệu"):
        chat.say(answer)
    chat.press("Đăng ký")
    assert "tối đa" in chat.text and "200 triệu đồng" in chat.text, chat.text
    fields = saved_state(app, "a4").registration.fields
    assert fields["amount"] == 200_000_000 and fields["amount_requested"] == 500_000_000


def test_a_policy_question_at_the_village_is_answered_not_stored_as_the_village(app):
    chat = consented(app, "q1")
    chat.answer(WIFE_ANSWERS[2:8])
    assert "Thôn, bản" in chat.last[-1].text
    chat.say("lãi suất bao nhiêu")
    assert "6,24%" in chat.text and "Thôn, bản" in chat.last[-1].text
    assert "village" not in saved_state(app, "q1").registration.fields


def test_a_wife_who_says_anh_in_the_southern_way_is_not_taken_for_his_sister(app):
    # "chồng em đi tù về" then "đăng ký cho ảnh" ("him"): folded, "ảnh" is "anh" (a brother).
    chat = Chat(app, "m7")
    chat.say("chồng em đi tù về được 4 năm rồi")
    chat.say("em muon dang ky cho ảnh")
    fields = saved_state(app, "m7").registration.fields
    assert fields.get("registrant") == "relative" and fields.get("relationship") in (None, "spouse")
    assert fields.get("relationship") == "spouse"  # what she said before


def test_a_correction_of_the_answer_just_given_asks_it_again_or_takes_the_new_value(app):
    chat = consented(app, "m8")
    chat.answer([("type", "Trần Văn Hai"), ("type", "1990"), ("type", "0912345677")])
    chat.say("à lộn, số cuối là 8")  # at the province question: the phone again, not a province
    assert "Số điện thoại" in chat.last[-1].text and "tỉnh" not in chat.last[-1].text
    chat.say("0912345678")
    assert saved_state(app, "m8").registration.fields["phone"] == "0912345678"


def test_a_correction_that_carries_the_new_value_takes_it(app):
    chat = consented(app, "m10")
    chat.answer([("type", "Trần Văn Hai"), ("type", "1990")])
    chat.say("à nhầm, sinh năm 1991")  # at the phone question: the year again, with its new value
    fields = saved_state(app, "m10").registration.fields
    assert fields.get("birth_year") == 1991 and "Số điện thoại" in chat.last[-1].text


def test_a_name_that_begins_like_a_correction_is_a_name(app):
    chat = consented(app, "m9")
    chat.say("Nhâm Văn Lộn")
    assert saved_state(app, "m9").registration.fields.get("name") == "Nhâm Văn Lộn"


def test_the_sent_message_says_plainly_when_no_officer_of_the_commune_uses_the_channel(app):
    chat = register_for_husband(app, "w-none")
    assert "chưa có cán bộ dùng kênh này" in chat.text and "báo kết quả qua đây" not in chat.text
    officer_chat(app, "off-1", commune=17035)
    chat = register_for_husband(app, "w-some")
    assert "báo kết quả qua đây" in chat.text and "chưa có cán bộ" not in chat.text


def test_a_mother_telling_everything_in_her_first_message_is_asked_only_what_is_missing(app):
    chat = Chat(app, "story-mother")
    chat.say("tôi muốn đăng ký vay cho con trai tôi, nó cai nghiện xong năm ngoái, nó sinh năm 98, muốn vay hai trăm triệu nuôi bò")
    assert "Tôi đồng ý" in chat.labels  # the registration started, straight to the consent: she said who she is
    chat.say("dạ tui đồng ý")
    chat.say("Trần Văn Lợi")
    chat.say("0912345678")
    chat.say("nghệ an")
    chat.say("quỳ hợp")
    chat.press("Bỏ qua")
    chat.press("Bỏ qua")  # the description
    chat.press("Bỏ qua")  # the identity number
    summary = chat.text
    for told in ("bố hoặc mẹ", "Trần Văn Lợi", "1998", "Người sau cai nghiện ma túy", "năm 2025", "Sản xuất, kinh doanh", "200.000.000 đ"):
        assert told in summary, told
    for asked in ("sinh năm nào", "bao nhiêu", "chương trình nào", "Vay để làm gì", "là gì của người cần vay"):
        assert asked not in summary


def test_a_name_with_a_common_family_name_and_the_birth_year_in_one_reply_are_both_kept(app):
    chat = consented(app, "tran-name")
    chat.say("nó tên Trần Văn Lợi, sinh năm 98")  # "Trần" is a name here, not the loan ceiling
    assert "Đã ghi họ và tên: Trần Văn Lợi" in chat.text and "Đã ghi năm sinh: 1998" in chat.text


def test_the_programme_told_in_the_persons_own_words_at_its_step_is_understood(app):
    chat = consented(app, "prog-words")
    for answer in ("Trần Văn Lợi", "1998", "0912345678", "nghệ an", "quỳ hợp"):
        chat.say(answer)
    chat.press("Bỏ qua")
    assert "chương trình nào" in chat.text
    chat.say("nó cai ở trung tâm")
    assert "Quyết định quản lý sau cai nghiện có từ năm nào" in chat.text


def test_the_year_of_the_decision_said_as_last_year_is_said_back_as_a_year(app):
    chat = for_relative(app, "m5")
    chat.answer([*WIFE_ANSWERS[:10], ("type", "năm ngoái")])
    assert re.search(r"Đã ghi [^:]+: năm 20\d\d", chat.text), chat.text
    assert saved_state(app, "m5").registration.fields["event_year"] == vietnam_date(utcnow()).year - 1


@pytest.mark.db
def test_at_the_phone_a_request_or_a_question_in_words_is_heard_not_called_a_wrong_number(app):
    chat = consented(app, "words-at-phone")
    chat.say("Nguyễn Văn An")
    chat.say("1990")
    assert "Số điện thoại" in chat.text
    chat.say("ma cho hoi vay xong bao lau phai tra")  # a question: answered, then the phone again
    assert "chưa đúng" not in chat.text and "Thời hạn vay" in chat.text and "Số điện thoại" in chat.last[-1].text
    chat.say("toi muon xoa het thong tin")  # a request in words: the erase screen, not "wrong number"
    assert "Xóa dữ liệu" in chat.text and "chưa đúng" not in chat.text


@pytest.mark.db
def test_de_sau_typed_at_a_step_pauses_like_its_button(app):
    chat = consented(app, "later")
    chat.say("Nguyễn Văn An")
    chat.say("1990")
    chat.say("để sau")
    assert "chưa đúng" not in chat.text
    assert saved_state(app, "later").registration is not None  # kept for later


@pytest.mark.parametrize("typed", ["dung r", "dc r", "chuan r"])
def test_yes_in_chat_shorthand_at_the_summary_sends(typed):
    from bot.registration.fields import read_summary

    assert read_summary(typed) == "confirm"
