"""The officers' side: invites, own communes only, decisions told to the registrant, the monthly
list, questions relayed both ways, data rights, the audit trail."""

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.registration.demo import fill
from storage import officers, registrations as registration_repo
from storage.db import transaction
from storage.models import AuditEntry, RegistrationEvent, utcnow
from tests.registration_helpers import Chat, inbox_of, invite, officer_chat, register_for_husband, registrations

pytestmark = pytest.mark.db


def demo(app, commune=17035, n=12):
    with transaction(app.engine) as session:
        fill(session=session, cipher=app.dispatcher.cipher, commune_code=commune, province_code=40 if commune == 17035 else 14,
             count=n, now=utcnow())


def test_an_invite_code_binds_one_chat_once_and_then_never_again(app):
    code = invite(app)
    first = Chat(app, "o1")
    first.say(f"/canbo {code}")
    assert "Xã Quỳ Hợp" in first.text and "chờ xác minh" in first.text
    second = Chat(app, "o2")
    second.say(f"/canbo {code}")
    assert "Mã mời không đúng, đã dùng hoặc đã hết hạn" in second.text
    second.say("/canbo")
    assert "không có quyền" in second.text


def test_an_expired_invite_is_refused_and_a_deep_link_works_like_the_command(app):
    from bot.types import Kind
    from tests.conftest import make_message, run

    expired = invite(app, hours=-1)
    chat = Chat(app, "o3")
    chat.say(f"/canbo {expired}")
    assert "hết hạn" in chat.text
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="o4", payload=invite(app))))
    assert "Đã kích hoạt tài khoản cán bộ" in replies[0].text


def test_an_officer_verifies_and_the_registrant_is_told_and_sees_the_new_status(app):
    wife = register_for_husband(app)
    officer = officer_chat(app)
    officer.press("Danh sách chờ xác minh")
    officer.press(officer.labels[0])
    assert "Tran Van Binh" in officer.text and "0912 345 678" in officer.text
    officer.press("Xác minh")
    assert "Đã xác minh" in officer.text
    [row] = registrations(app)
    assert row.status == "verified"
    [notice] = inbox_of(app, "wife")
    assert "đã xác minh" in notice
    wife.tap("me:show")
    assert "đã xác minh, có trong danh sách" in wife.text and "công an xã đã xác minh" in wife.text
    officer.tap(f"off:ok:{row.id}")  # the same button again
    assert "đã ở trạng thái" in officer.text
    assert len(inbox_of(app, "wife")) == 1


def test_not_eligible_with_a_typed_reason_and_more_information_reach_the_registrant(app):
    register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app)
    officer.tap(f"off:info:{row.id}")
    officer.say("Xin mang giấy xác nhận cư trú lên trụ sở công an xã")
    assert "Đã gửi yêu cầu bổ sung" in officer.text
    officer.tap(f"off:no:{row.id}")
    officer.press("Lý do khác")
    officer.say("Đã chuyển khẩu đi nơi khác")
    notices = inbox_of(app, "wife")
    assert "giấy xác nhận cư trú" in notices[0] and "Đã chuyển khẩu đi nơi khác" in notices[1]
    assert registrations(app)[0].status == "rejected"
    with transaction(app.engine) as session:
        notes = session.exec(select(RegistrationEvent.note).where(RegistrationEvent.note.is_not(None))).all()
    assert notes and all("chuyển khẩu" not in n for n in notes)  # notes are encrypted too


def test_officers_see_only_their_own_communes_and_anyone_else_gets_no_access(app):
    register_for_husband(app)
    [row] = registrations(app)
    other = officer_chat(app, "o-sonla", commune=3646)
    for payload in (f"off:open:{row.id}", f"off:ok:{row.id}", "off:list:17035:0", "off:export:17035:2026-11", "off:qs:17035"):
        other.tap(payload)
        assert "không có quyền" in other.text, payload
    stranger = Chat(app, "stranger")
    stranger.tap(f"off:ok:{row.id}")
    assert "không có quyền" in stranger.text
    assert registrations(app)[0].status == "pending"


def test_a_revoked_officer_loses_access_at_the_next_press(app):
    officer = officer_chat(app)
    with transaction(app.engine) as session:
        [bound] = officers.all_officers(session=session)
        officers.revoke(session=session, officer_id=bound.id, now=utcnow())
    officer.tap("off:list:17035:0")
    assert "không có quyền" in officer.text


def test_the_pending_list_is_paginated_and_counts_the_commune(app):
    demo(app, n=30)
    officer = officer_chat(app)
    assert "15 đăng ký chờ xác minh" in officer.text
    officer.press("Danh sách chờ xác minh")
    first_page = [label for label in officer.labels if "·" in label]
    assert len(first_page) == 5 and "Trang sau" in officer.labels
    officer.press("Trang sau")
    second_page = [label for label in officer.labels if "·" in label]
    assert len(second_page) == 5 and not set(first_page) & set(second_page)


def test_the_police_working_list_arrives_as_an_xlsx_marked_internal_with_the_content_columns(app):
    demo(app)
    officer = officer_chat(app)
    officer.press("Xuất danh sách tháng này")
    assert "nội bộ" in officer.text
    document = officer.last[-1].document
    assert document.filename.endswith(".xlsx") and document.filename.startswith("noi-bo-")
    sheet = load_workbook(io.BytesIO(document.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "NỘI BỘ" in rows[0][0] and "không gửi" in rows[0][0]
    headers = [c.header for c in app.brain.content.registration.working_export.columns]
    assert list(rows[1]) == headers
    verified = [r for r in rows[2:] if r[10] == "đã xác minh, có trong danh sách"]
    assert verified and all(r[1] and r[3].startswith("0900") for r in verified)


def test_a_question_reaches_the_communes_officers_and_the_reply_comes_back(app):
    officer = officer_chat(app)
    person = Chat(app, "asker")
    person.tap("ask:start")
    person.say("nghe an")  # typed exactly: chosen, and said
    assert "Đã chọn: Nghệ An" in person.text
    person.say("quy hop")
    assert "Đã chọn: Xã Quỳ Hợp, Nghệ An" in person.text
    person.say("Tôi cần mang giấy tờ gì khi đăng ký?")
    person.press("Có, để lại số")
    person.say("0912 000 111")
    assert "Đã chuyển câu hỏi" in person.text
    assert "Câu hỏi mới số" in inbox_of(app, "officer")[0]
    assert "giấy tờ" not in inbox_of(app, "officer")[0]  # the notice names no content
    officer.tap("off:qs:17035")
    officer.press("Số ")
    assert "giấy tờ gì" in officer.text and "0912000111" in officer.text
    officer.press("Trả lời")
    officer.say("Anh/chị mang CCCD và quyết định quản lý sau cai nghiện.")
    assert "Đã gửi câu trả lời" in officer.text
    assert "mang CCCD" in inbox_of(app, "asker")[0]


def test_a_question_without_sharing_the_phone_shows_no_phone(app):
    officer = officer_chat(app)
    register_for_husband(app, "p2")
    person = Chat(app, "p2")
    person.tap("ask:start")  # the commune is known from the registration
    person.say("Bao giờ có kết quả?")
    person.press("Không, trả lời qua đây")
    officer.tap("off:qs:17035")
    officer.press("Số ")
    assert "người hỏi không để lại" in officer.text and "0912" not in officer.text


def test_deleting_my_data_removes_the_name_from_the_officers_list_and_the_export(app):
    person = register_for_husband(app)
    officer = officer_chat(app)
    officer.press("Danh sách chờ xác minh")
    assert any("Tran Van Binh" in label for label in officer.labels)
    person.tap("me:data")
    assert "Tran Van Binh" in person.text
    person.tap("me:delete")
    person.press("Có, xóa dữ liệu")
    assert "Đã xóa dữ liệu" in person.text
    officer.tap("off:list:17035:0")
    assert "Tran Van Binh" not in officer.text + "".join(officer.labels)
    [row] = registrations(app)
    assert row.details is None and row.phone_index is None and row.status == "deleted" and row.reference
    officer.press("Trang cán bộ")
    officer.press("Xuất danh sách tháng này")
    assert "0 người" in officer.text
    person.tap("me:data")
    assert "không giữ thông tin cá nhân" in person.text


def test_withdrawing_consent_stops_review_and_erases_the_personal_fields(app):
    person = register_for_husband(app)
    person.tap("me:withdraw")
    person.press("Có, rút lại đồng ý")
    [row] = registrations(app)
    assert row.status == "withdrawn" and row.details is None


def test_retention_purge_erases_old_registrations_and_keeps_a_stub(app):
    from bot.registration.service import purge

    register_for_husband(app)
    with transaction(app.engine) as session:
        assert purge(session=session, before=utcnow() - timedelta(days=1), now=utcnow()) == 0
        assert purge(session=session, before=utcnow() + timedelta(days=1), now=utcnow()) == 1
    [row] = registrations(app)
    assert row.details is None and row.reference


def test_the_audit_log_records_views_decisions_and_exports_without_personal_values(app):
    register_for_husband(app)
    officer = officer_chat(app)
    officer.press("Danh sách chờ xác minh")
    officer.press(officer.labels[0])
    officer.press("Xác minh")
    officer.press("Trang cán bộ")
    officer.press("Xuất danh sách tháng này")
    with transaction(app.engine) as session:
        entries = session.exec(select(AuditEntry)).all()
    actions = {e.action for e in entries}
    assert {"bind", "view_list", "view", "decide:verified", "export"} <= actions
    dump = repr([(e.actor, e.action, e.detail) for e in entries])
    assert "Tran" not in dump and "0912" not in dump


def test_pending_counts_follow_decisions(app):
    demo(app, n=6)
    with transaction(app.engine) as session:
        counts = registration_repo.count_by_status(session=session, commune_code=17035)
    assert counts == {"pending": 2, "verified": 2, "needs_info": 1, "rejected": 1}


def test_an_officer_typing_quay_lai_cancels_instead_of_sending_it_as_a_reason(app):
    register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app)
    officer.tap(f"off:other:{row.id}")
    officer.say("thoát")
    assert "Đã hủy" in officer.text
    assert registrations(app)[0].status == "pending" and inbox_of(app, "wife") == []


def test_a_reason_typed_an_hour_later_is_not_taken_as_a_rejection(app):
    from bot.state import ConversationState
    from storage import repo

    register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app)
    officer.tap(f"off:other:{row.id}")
    with transaction(app.engine) as session:  # the officer walked away for two hours
        raw = repo.load_state(session=session, channel="test", chat_id="officer")
        state = ConversationState.from_json(app.dispatcher.cipher.decrypt(raw))
        state.officer.since = utcnow() - timedelta(hours=2)
        repo.save_state(session=session, channel="test", chat_id="officer", state=app.dispatcher.cipher.encrypt(state.to_json()),
                        now=utcnow())
    officer.say("lãi suất bao nhiêu")
    assert "6,24%" in officer.text
    assert registrations(app)[0].status == "pending"


def test_nothing_an_officer_does_brings_back_deleted_data(app):
    person = register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app)
    officer.tap(f"off:note:{row.id}")
    person.tap("me:delete")
    person.press("Có, xóa dữ liệu")
    officer.say("Đã gọi điện")
    assert "không còn" in officer.text
    for payload in (f"off:open:{row.id}", f"off:ok:{row.id}", f"off:info:{row.id}"):
        officer.tap(payload)
        assert "không còn" in officer.text
    assert registrations(app)[0].status == "deleted" and inbox_of(app, "wife") == []


def test_typed_formulas_leave_the_export_as_plain_text(app):
    from bot.registration.export import month_rows
    from bot.vntime import vietnam_date
    from tests.registration_helpers import WIFE_ANSWERS, consented

    chat = consented(app, "f1")
    chat.answer(WIFE_ANSWERS[2:8])
    chat.say("=HYPERLINK(\"http://x\",\"y\")")
    chat.answer(WIFE_ANSWERS[9:])
    chat.press("Đúng, gửi đăng ký")
    now = utcnow()
    with transaction(app.engine) as session:
        _, table = month_rows(session=session, cipher=app.dispatcher.cipher,
                              texts=app.brain.context(lang="vi", today=vietnam_date(now)).texts,
                              places=app.brain.places, form=app.brain.content.registration, commune_code=17035,
                              year=vietnam_date(now).year, month=vietnam_date(now).month, today=vietnam_date(now))
    residence = table[0].index("Nơi cư trú")
    assert table[1][residence].startswith("'=HYPERLINK")


def test_a_person_can_answer_yes_by_typing_and_ask_another_commune(app):
    officer_chat(app, "o-sonla", commune=3646)
    register_for_husband(app, "p3")  # registered in Quỳ Hợp
    person = Chat(app, "p3")
    person.tap("ask:start")
    person.press("Hỏi cán bộ xã khác")
    person.say("son la")
    person.say("to hieu")
    person.say("Tôi chuyển về đây ở, đăng ký thế nào?")
    person.say("có")
    person.say("0912 111 222")
    assert "Đã chuyển câu hỏi tới cán bộ Phường Tô Hiệu" in person.text
    assert inbox_of(app, "o-sonla")


def test_a_reason_typed_where_the_bot_invites_it_is_taken_as_the_decision(app):
    """'Chọn lý do, hoặc gõ lý do khác:' — the typed reason used to get a FAQ answer and no decision."""
    register_for_husband(app)
    officer = officer_chat(app)
    officer.press("Danh sách chờ xác minh")
    officer.press(officer.labels[0])
    officer.press("Chưa đủ điều kiện")
    assert "gõ lý do khác" in officer.text
    officer.say("Không cư trú tại xã này")
    assert "Đã ghi “chưa đủ điều kiện”" in officer.text
    assert registrations(app)[0].status == "rejected"
    assert "Không cư trú tại xã này" in inbox_of(app, "wife")[0]


def test_a_reason_picked_by_its_number_is_that_reason(app):
    register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app)
    officer.tap(f"off:no:{row.id}")
    officer.say("số 2")
    assert registrations(app)[0].status == "rejected"
    assert app.brain.content.registration.rejection_reasons[1] in inbox_of(app, "wife")[0]


@pytest.mark.parametrize("typed", ["/start", "menu", "Menu", "/menu"])
def test_start_and_menu_open_the_officer_menu_for_a_bound_officer(app, typed):
    officer = officer_chat(app)
    officer.say(typed)
    assert "Việc của cán bộ" in officer.text
    assert "Menu cho người dân" in officer.labels
    officer.press("Menu cho người dân")
    assert "Bạn cần giúp gì?" in officer.text
    assert "Việc của cán bộ" not in Chat(app, "citizen").say(typed)[-1].text


def test_opening_the_chat_as_a_bound_officer_shows_the_officer_menu(app):
    from bot.types import Kind
    from tests.conftest import make_message, run

    officer_chat(app)
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="officer")))
    assert "Việc của cán bộ" in replies[-1].text
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="someone")))
    assert "Việc của cán bộ" not in replies[-1].text


def test_an_officers_typed_reply_info_and_note_are_taken_even_when_they_look_like_questions(app):
    register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app)
    officer.tap(f"off:note:{row.id}")
    officer.say("Lãi suất bao nhiêu thì đã giải thích qua điện thoại")
    assert "Đã lưu ghi chú" in officer.text
    officer.tap(f"off:info:{row.id}")
    officer.say("Vay bao nhiêu? Xin ghi rõ số tiền")
    assert "Đã gửi yêu cầu bổ sung" in officer.text and registrations(app)[0].status == "needs_info"


def test_a_question_for_officers_in_the_persons_own_words(app):
    officer = officer_chat(app)
    person = Chat(app, "own-words")
    person.tap("ask:start")
    person.say("nghệ an")
    person.say("quỳ hợp")
    person.say("Khi nào có kết quả?")
    assert "số điện thoại" in person.text
    person.say("dạ có")
    person.say("số của tôi là 0912 000 111 ạ")
    assert "Đã chuyển câu hỏi" in person.text
    officer.tap("off:qs:17035")
    officer.press("Số ")
    assert "0912000111" in officer.text


def test_the_communes_offered_to_a_person_asking_come_back_after_a_detour(app):
    person = Chat(app, "detour")
    person.tap("ask:start")
    person.say("nghệ an")
    person.say("chau")
    offered = person.labels
    person.say("lãi suất bao nhiêu?")
    assert person.labels == offered
    person.press(offered[0])
    assert "Bạn muốn hỏi cán bộ" in person.text
