"""Correcting one field of a sent registration from "Hồ sơ của tôi", without registering again:
audited, a reviewed registration goes back to review, and the commune's officers are told."""

import pytest

from bot.registration import service
from storage import officers as officer_store, registrations as store
from storage.db import transaction
from tests.registration_helpers import Chat, inbox_of, officer_chat, register_for_husband, registrations

pytestmark = pytest.mark.db


def details_of(app):
    [row] = registrations(app)
    return row, service.load_details(app.dispatcher.cipher, row)


def test_one_field_is_corrected_from_my_records_in_a_few_messages_and_the_rest_stays(app):
    wife = register_for_husband(app)
    before_row, before = details_of(app)
    wife.tap("me:show")
    wife.press("Sửa hồ sơ")
    assert "chọn mục cần sửa" in wife.text
    wife.press("Số tiền đề nghị")
    wife.say("70 triệu")
    assert "Bạn kiểm tra lại thông tin" in wife.text and "70.000.000 đ" in wife.text
    wife.press("Đúng, lưu thay đổi")
    assert "Đã lưu thay đổi cho hồ sơ" in wife.text
    row, after = details_of(app)
    assert row.id == before_row.id and row.reference == before_row.reference and len(registrations(app)) == 1
    assert after.amount == 70_000_000
    assert after.model_dump(exclude={"amount"}) == before.model_dump(exclude={"amount"})
    with transaction(app.engine) as session:
        actions = [e.action for e in store.events(session=session, registration_id=row.id)]
        audit = [a.action for a in officer_store.audit_entries(session=session)]
    assert actions[-1] == "edited" and "edit:amount" in audit
    wife.tap("me:show")
    assert "bạn đã sửa thông tin" in wife.text


def test_a_verified_registration_corrected_goes_back_to_review_and_the_officer_is_told(app):
    wife = register_for_husband(app)
    officer = officer_chat(app)
    [row] = registrations(app)
    officer.tap(f"off:ok:{row.id}")
    assert registrations(app)[0].status == "verified"
    wife.tap("me:show")
    wife.press("Sửa hồ sơ")
    wife.press("Số điện thoại")
    wife.say("0988 777 666")
    wife.press("Đúng, lưu thay đổi")
    assert "chuyển lại “chờ xem xét”" in wife.text
    row = registrations(app)[0]
    assert row.status == "pending" and row.decided_at is None
    assert service.load_details(app.dispatcher.cipher, row).phone == "0988777666"
    notices = inbox_of(app, "officer")
    assert any("vừa được người đăng ký sửa thông tin" in n and "off:open:" in n for n in notices), notices
    # The new phone is what a repeat registration is found by.
    with transaction(app.engine) as session:
        assert store.find_repeat(session=session, phone_indexes=app.dispatcher.cipher.blind_indexes("0988777666"),
                                 commune_code=row.commune_code) is not None


def test_nothing_changed_or_cancelled_leaves_the_registration_as_it_was(app):
    wife = register_for_husband(app)
    row, before = details_of(app)
    wife.tap("me:show")
    wife.press("Sửa hồ sơ")
    wife.press("Không sửa gì")
    wife.press("Đúng, lưu thay đổi")
    assert "Không có gì thay đổi" in wife.text
    wife.tap("me:show")
    wife.press("Sửa hồ sơ")
    wife.press("Họ và tên")
    wife.say("Trần Văn Bình")
    wife.press("Hủy đăng ký")
    wife.press("Có, hủy")
    assert "Đã bỏ các thay đổi" in wife.text
    row_after, after = details_of(app)
    assert after == before and row_after.status == row.status
    with transaction(app.engine) as session:
        assert "edited" not in [e.action for e in store.events(session=session, registration_id=row.id)]


def test_only_the_registrants_own_active_registration_can_be_corrected(app):
    register_for_husband(app)
    [row] = registrations(app)
    stranger = Chat(app, "stranger")
    stranger.tap(f"reg:amend:{row.id}")
    assert "chọn mục cần sửa" not in stranger.text and "Bạn kiểm tra lại thông tin" not in stranger.text
    owner = Chat(app, "wife")
    owner.tap("me:withdraw:yes")
    owner.tap(f"reg:amend:{row.id}")
    assert "chọn mục cần sửa" not in owner.text


def test_correcting_is_asked_for_in_words(app):
    wife = register_for_husband(app)
    wife.say("tôi muốn sửa thông tin")
    assert any(b.payload.startswith("reg:amend:") for r in wife.last for b in r.buttons), wife.text


@pytest.mark.parametrize("typed, registrant, relationship", [
    ("tui muốn đăng ký vay cho tui", "self", None), ("dang ky vay cho toi", "self", None),
    ("đăng ký vay cho con trai tôi", "relative", "parent"), ("đăng ký vay cho chồng em", "relative", "spouse"),
    ("đăng ký vay cho công ty tui", "business", None),
])
def test_who_registers_is_read_from_the_request_itself(app, typed, registrant, relationship):
    from tests.test_registration import saved_state

    chat = Chat(app, f"req-{len(typed)}")
    chat.say(typed)
    fields = saved_state(app, chat.chat_id).registration.fields
    assert fields["registrant"] == registrant and fields.get("relationship") == relationship
    assert "Ai là người cần vay?" not in chat.text
