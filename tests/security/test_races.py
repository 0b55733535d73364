"""Things done twice at the same instant happen once: an invite binds one chat, a registration
gets one decision (and the person one notice), a question one answer, a reminder one answer."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from storage import reminders as ledger
from storage.db import transaction
from storage.models import Officer, OfficerInvite, OfficerQuestion, RegistrationEvent, ReminderTask, utcnow
from tests.conftest import make_message, press
from tests.registration_helpers import Chat, inbox_of, invite, officer_chat, register_for_husband, registrations
from tests.security.race_helpers import at_once, text_of

pytestmark = pytest.mark.db

CHATS_PER_CODE = 12


def bindings(app) -> list[Officer]:
    with transaction(app.engine) as session:
        return list(session.exec(select(Officer)))


def test_an_invite_code_sent_by_many_chats_at_the_same_instant_binds_exactly_one(app):
    codes = [invite(app) for _ in range(3)]
    for n, code in enumerate(codes):
        replies = at_once(app, [make_message(f"/canbo {code}", chat_id=f"guess-{n}-{i}") for i in range(CHATS_PER_CODE)])
        bound = [r for r in replies if "Đã kích hoạt tài khoản cán bộ" in text_of(r)]
        refused = [r for r in replies if "Mã mời không đúng, đã dùng hoặc đã hết hạn" in text_of(r)]
        assert (len(bound), len(refused)) == (1, CHATS_PER_CODE - 1)
    assert len(bindings(app)) == len(codes)
    with transaction(app.engine) as session:
        invites = list(session.exec(select(OfficerInvite)))
    assert all(i.used_at is not None and i.officer_id is not None for i in invites)
    assert sorted(i.officer_id for i in invites) == sorted(o.id for o in bindings(app))


def _two_officers_with_the_registration_open(app):
    register_for_husband(app)
    [row] = registrations(app)
    first, second = officer_chat(app, "officer-a"), officer_chat(app, "officer-b")
    for chat in (first, second):
        chat.tap(f"off:open:{row.id}")
        assert "Tran Van Binh" in chat.text
    return row, first, second


def _payload(chat: Chat, label: str) -> str:
    return next(b.payload for r in chat.last for b in r.buttons if b.label.startswith(label))


def test_two_officers_deciding_at_once_the_first_wins_and_the_person_gets_one_notice(app):
    row, first, second = _two_officers_with_the_registration_open(app)
    verify = _payload(first, "Xác minh")
    second.press("Chưa đủ điều kiện")
    reason = second.labels[0]
    reject = _payload(second, reason)
    replies = at_once(app, [press(verify, chat_id="officer-a"), press(reject, chat_id="officer-b")])
    texts = [text_of(r) for r in replies]
    told = [t for t in texts if "đã được xử lý trước đó" in t]
    assert len(told) == 1, texts
    [winner] = [t for t in texts if t not in told]
    [final] = registrations(app)
    assert final.status == ("verified" if "Đã xác minh" in winner else "rejected")
    [notice] = inbox_of(app, "wife")
    assert ("đã xác minh" in notice) == (final.status == "verified")
    with transaction(app.engine) as session:
        decisions = list(session.exec(select(RegistrationEvent).where(RegistrationEvent.registration_id == row.id,
                                                                      RegistrationEvent.action.in_(("verified", "rejected")))))
    assert len(decisions) == 1


def test_a_decision_from_a_registration_shown_before_another_officers_decision_is_refused(app):
    """The same race, one after the other: the second officer's screen is out of date."""
    row, first, second = _two_officers_with_the_registration_open(app)
    first.press("Cần bổ sung thông tin")
    first.say("Xin mang giấy xác nhận cư trú")
    assert "Đã gửi yêu cầu bổ sung" in first.text
    second.press("Xác minh")
    assert "đã được xử lý trước đó" in second.text and "cần bổ sung" in second.text
    assert second.labels[0] == "Mở hồ sơ"
    [final] = registrations(app)
    assert final.status == "needs_info"
    assert len(inbox_of(app, "wife")) == 1
    second.press("Mở hồ sơ")
    second.press("Xác minh")  # seen afresh: the decision is the officer's to make
    assert "Đã xác minh" in second.text
    assert len(inbox_of(app, "wife")) == 2


def test_a_forged_version_in_a_decision_button_changes_nothing(app):
    row, first, _ = _two_officers_with_the_registration_open(app)
    first.tap(f"off:ok:{row.id}:{10**30}")
    assert "Nút này đã cũ" in first.text
    assert registrations(app)[0].status == "pending" and inbox_of(app, "wife") == []


def test_a_correction_sent_while_an_officer_verifies_always_goes_back_for_review(app):
    wife = register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app, "officer-a")
    officer.tap(f"off:open:{row.id}")
    verify = _payload(officer, "Xác minh")
    wife.tap(f"reg:amend:{row.id}")
    wife.press("Số tiền")
    wife.say("40 triệu")
    confirm = _payload(wife, "Đúng, lưu")
    at_once(app, [press(verify, chat_id="officer-a"), press(confirm, chat_id="wife")])
    [final] = registrations(app)
    # Either the officer verified first and the correction sent it back for review, or the
    # correction came first and the officer's out-of-date screen was refused: never "verified"
    # with details the officer did not see.
    assert final.status == "pending"
    with transaction(app.engine) as session:
        actions = [e.action for e in session.exec(select(RegistrationEvent).where(RegistrationEvent.registration_id == row.id)
                                                  .order_by(RegistrationEvent.id))]
    assert actions[-1] == "edited"


def test_withdrawing_while_an_officer_decides_leaves_nothing_readable(app):
    wife = register_for_husband(app)
    [row] = registrations(app)
    officer = officer_chat(app, "officer-a")
    officer.tap(f"off:open:{row.id}")
    verify = _payload(officer, "Xác minh")
    wife.tap("me:withdraw")
    withdraw = _payload(wife, wife.labels[0])
    at_once(app, [press(verify, chat_id="officer-a"), press(withdraw, chat_id="wife")])
    [final] = registrations(app)
    assert final.status == "withdrawn" and final.details is None and final.phone_index is None


def test_two_officers_answering_one_question_at_once_send_the_person_one_answer(app):
    person = Chat(app, "asker")
    first, second = officer_chat(app, "officer-a"), officer_chat(app, "officer-b")
    person.tap("ask:start")
    person.say("nghe an")
    person.say("qui hop")
    if "Xã Quỳ Hợp" in person.labels:
        person.press("Xã Quỳ Hợp")
    person.say("Tôi cần giấy tờ gì để vay?")
    person.press("Không")
    with transaction(app.engine) as session:
        [question] = list(session.exec(select(OfficerQuestion)))
    for chat in (first, second):
        chat.tap(f"off:reply:{question.id}")
    replies = at_once(app, [make_message("Anh mang căn cước lên xã", chat_id="officer-a"),
                            make_message("Chị mang sổ hộ khẩu lên xã", chat_id="officer-b")])
    texts = [text_of(r) for r in replies]
    assert sum("Câu hỏi này đã được trả lời" in t for t in texts) == 1, texts
    answers = [n for n in inbox_of(app, "asker") if "mang" in n]
    assert len(answers) == 1


def test_a_reminder_marked_done_twice_at_once_is_recorded_once_without_an_error(engine):
    from storage.db import migrate

    migrate(engine)
    barrier, errors = threading.Barrier(6), []

    def done(i: int) -> None:
        barrier.wait()
        try:
            with transaction(engine) as session:
                ledger.mark_task(session=session, deadline_id="report", period="2026-12-05", officer_id=7, now=utcnow(),
                                 done=i % 2 == 0, snoozed_until=utcnow() if i % 2 else None)
        except Exception as exc:  # an IntegrityError here was the race
            errors.append(exc)

    threads = [threading.Thread(target=done, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with transaction(engine) as session:
        [task] = list(session.exec(select(ReminderTask)))
    assert task.done_at is not None and task.snoozed_until is not None
