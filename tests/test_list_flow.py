"""From the police list to the bank, played through the real dispatcher and database: police
verify and reject, close the month's list, the commune People's Committee confirms it, the bank
receives it and records each outcome; every person is told each step and sees it in "Hồ sơ của tôi"."""

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from bot.vntime import vietnam_date
from storage import officers
from storage.db import transaction
from storage.models import AuditEntry, MonthlyList, RegistrationEvent, utcnow
from tests.registration_helpers import WIFE_ANSWERS, Chat, for_relative, inbox_of, officer_chat, registrations

pytestmark = pytest.mark.db


def answers(name: str, phone: str, programme: str = "Người sau cai nghiện ma túy"):
    steps = list(WIFE_ANSWERS)
    steps[2], steps[4], steps[9] = ("type", name), ("type", phone), ("press", programme)
    return steps


def register(app, chat_id: str, name: str, phone: str, programme: str = "Người sau cai nghiện ma túy") -> Chat:
    chat = for_relative(app, chat_id)
    chat.answer(answers(name, phone, programme))
    chat.press("Đúng, gửi đăng ký")
    assert "Mã đăng ký của bạn" in chat.text, chat.text
    return chat


def bound(app, chat_id: str, role: str, communes=(17035,)) -> Chat:
    now = utcnow()
    with transaction(app.engine) as session:
        code = officers.create_invite(session=session, commune_code=communes[0], role=role, now=now,
                                      expires_at=now + timedelta(hours=1), more_communes=list(communes[1:]))
    chat = Chat(app, chat_id)
    chat.say(f"/canbo {code}")
    assert "Đã kích hoạt tài khoản cán bộ" in chat.text, chat.text
    return chat


def sheet_rows(document) -> list[tuple]:
    return list(load_workbook(io.BytesIO(document.content)).active.iter_rows(values_only=True))


def by_name(app, name: str):
    from bot.registration.service import load_details

    return next(r for r in registrations(app) if r.details and load_details(app.dispatcher.cipher, r).name == name)


def test_the_whole_way_from_the_police_to_the_bank(app):
    an = register(app, "an", "le van an", "0912 111 001")
    binh = register(app, "binh", "tran van binh", "0912 111 002")
    cuong = register(app, "cuong", "pham van cuong", "0912 111 003", "Người đã chấp hành xong án phạt tù")
    police = officer_chat(app)
    committee = bound(app, "committee", "committee")
    bank = bound(app, "bank", "bank", communes=(17035, 17059))
    assert "Ngân hàng Chính sách xã hội" in bank.text and "Xã Quỳ Hợp" in bank.text and "Xã Tam Hợp" in bank.text

    # Police: verify An by opening the registration, Bình by typing the reference, reject Cường.
    police.tap(f"off:open:{by_name(app, 'Le Van An').id}")
    police.press("Xác minh")
    assert "Đã xác minh" in police.text
    police.press("Trang cán bộ")
    police.press("Danh sách chờ xác minh")
    police.press("Xác minh nhiều hồ sơ")
    police.say(by_name(app, "Tran Van Binh").reference)
    assert "Đã xác minh 1 hồ sơ" in police.text
    police.tap(f"off:open:{by_name(app, 'Pham Van Cuong').id}")
    police.press("Chưa đủ điều kiện")
    reasons = police.labels
    assert not any("cai nghiện" in r for r in reasons), reasons  # a person after prison is never told that
    assert any("chấp hành xong án phạt tù" in r for r in reasons)
    police.press("Không cư trú hợp pháp tại xã")
    assert by_name(app, "Pham Van Cuong").status == "rejected"

    # Police close the month's list: the two verified people, only the form's columns.
    police.press("Trang cán bộ")
    police.press("Chốt danh sách tháng")
    assert "2 người" in police.text
    onward = sheet_rows(police.last[-1].document)
    form = app.brain.content.registration.export
    assert list(onward[1]) == [c.header for c in form.columns]
    names = [r[1] for r in onward[2:]]
    assert sorted(names) == ["Le Van An", "Tran Van Binh"] and "Pham Van Cuong" not in repr(onward)
    assert "0912" not in repr(onward) and "Số điện thoại" not in onward[1] and "Trạng thái" not in onward[1]
    assert not any("NỘI BỘ" in str(c) for r in onward for c in r if c)

    # The committee is told, with the list attached, and confirms it.
    [notice] = [json.loads(n) for n in inbox_of(app, "committee")]
    assert "2 người" in notice[0]["text"] and notice[0]["document"]
    committee.say("/canbo")
    committee.press("Danh sách tháng")
    committee.press("Tháng ")
    committee.press("Xác nhận danh sách")
    committee.say("abc")
    assert "Chưa đọc được" in committee.text  # kind, and the step waits for the line again
    today = vietnam_date(utcnow())
    committee.say(f"Nguyễn Văn An; Phó Chủ tịch UBND xã; {today:%d/%m/%Y}")
    assert "Đã xác nhận danh sách" in committee.text

    # The bank gets the confirmed list, receives it, and records one loan granted and one not.
    [bank_notice] = [json.loads(n) for n in inbox_of(app, "bank")]
    bank_sheet = load_workbook(io.BytesIO(__import__("base64").b64decode(bank_notice[0]["document"]["content"]))).active
    assert sorted(r[1] for r in list(bank_sheet.iter_rows(values_only=True))[2:]) == ["Le Van An", "Tran Van Binh"]
    bank.say("/canbo")
    bank.press("Danh sách tháng")
    bank.press("Tháng ")
    bank.press("Đã nhận danh sách")
    assert "2 hồ sơ chờ ghi kết quả" in bank.text
    bank.press(next(label for label in bank.labels if "Le Van An" in label))
    bank.press("Đã cho vay")
    bank.say(f"50 triệu; {today:%d/%m/%Y}")
    assert "đã được cho vay" in bank.text
    bank.press(next(label for label in bank.labels if "Tran Van Binh" in label))
    bank.press("Chưa cho vay")
    bank.say("Hộ gia đình chưa có người đại diện ký vay")
    assert "Ngân hàng chưa cho vay" in bank.text

    # Each person was told every step, in order, and sees it in "Hồ sơ của tôi".
    told = {name: "\n".join(json.loads(n)[0]["text"] for n in inbox_of(app, name)) for name in ("an", "binh", "cuong")}
    for step in ("đã xác minh", "đưa bạn vào danh sách tháng", "UBND xã đã xác nhận", "đã nhận hồ sơ"):
        assert step in told["an"] and step in told["binh"], step
    assert "đã cho vay 50.000.000 đ" in told["an"] and "chưa cho vay" in told["binh"]
    assert "chưa có người đại diện" in told["binh"]
    assert "Không cư trú" in told["cuong"] and "danh sách tháng" not in told["cuong"]
    an.tap("me:show")
    for line in ("đã gửi đăng ký", "công an xã đã xác minh", "công an xã đưa vào danh sách tháng", "UBND xã xác nhận danh sách",
                 "Ngân hàng Chính sách xã hội nhận hồ sơ", "Ngân hàng cho vay: 50.000.000 đ", "đã được cho vay"):
        assert line in an.text, line
    binh.tap("me:show")
    assert "Ngân hàng chưa cho vay" in binh.text and "chưa có người đại diện" in binh.text
    cuong.tap("me:show")
    assert "chưa đủ điều kiện" in cuong.text and "danh sách tháng" not in cuong.text

    # Every step has its actor and time in the audit log; the list names who signed (encrypted).
    with transaction(app.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]
        [row] = session.exec(select(MonthlyList)).all()
        events = session.exec(select(RegistrationEvent.action, RegistrationEvent.actor)
                              .where(RegistrationEvent.registration_id == by_name(app, "Le Van An").id)).all()
    assert {"decide:verified", "decide:rejected", "list:close", "list:confirm", "list:receive", "outcome:granted",
            "outcome:not_granted"} <= set(actions)
    assert row.status == "received" and "Nguyễn" not in row.signer
    assert [a for a, _ in events] == ["created", "verified", "proposed", "confirmed", "received", "granted"]
    assert all(actor.startswith("officer:") for a, actor in events if a != "created")


def test_roles_are_checked_on_every_step(app):
    register(app, "p1", "le van an", "0912 111 001")
    [row] = registrations(app)
    police = officer_chat(app)
    committee = bound(app, "committee", "committee")
    bank = bound(app, "bank", "bank")
    other_committee = bound(app, "committee-2", "committee", communes=(3646,))
    for chat in (committee, bank):  # neither reviews registrations nor closes the police's list
        for payload in (f"off:ok:{row.id}", f"off:open:{row.id}", "off:list:17035:0", "lst:close:17035", "off:export:17035:2026-12"):
            chat.tap(payload)
            assert "không có quyền" in chat.text, (chat.chat_id, payload)
    police.tap(f"off:ok:{row.id}")
    police.tap("lst:close:17035")
    with transaction(app.engine) as session:
        [lst] = session.exec(select(MonthlyList)).all()
    for chat, payload in ((police, f"lst:confirm:{lst.id}"), (bank, f"lst:confirm:{lst.id}"), (other_committee, f"lst:confirm:{lst.id}"),
                          (bank, f"lst:view:{lst.id}"), (bank, f"lst:receive:{lst.id}"), (committee, f"lst:receive:{lst.id}")):
        chat.tap(payload)
        assert "không có quyền" in chat.text or "không còn chờ" in chat.text, (chat.chat_id, payload)
    assert registrations(app)[0].status == "proposed"


def test_a_returned_list_goes_back_to_the_police_and_can_be_closed_again(app):
    person = register(app, "p1", "le van an", "0912 111 001")
    [row] = registrations(app)
    police = officer_chat(app)
    committee = bound(app, "committee", "committee")
    police.tap(f"off:ok:{row.id}")
    police.tap("lst:close:17035")
    with transaction(app.engine) as session:
        [lst] = session.exec(select(MonthlyList)).all()
    committee.tap(f"lst:return:{lst.id}")
    committee.say("Thiếu xác nhận cư trú của một người")
    assert "Đã trả lại" in committee.text
    assert registrations(app)[0].status == "verified"
    assert any("Thiếu xác nhận cư trú" in n for n in inbox_of(app, "officer"))
    assert "đề nghị công an xã xem lại" in inbox_of(app, "p1")[-1]
    police.tap("lst:close:17035")
    assert "1 người" in police.text and registrations(app)[0].status == "proposed"
    person.tap("me:show")
    assert "UBND xã trả lại danh sách để xem lại" in person.text


def test_an_officer_undoes_a_decision_within_ten_minutes_and_not_after(app):
    register(app, "p1", "le van an", "0912 111 001")
    [row] = registrations(app)
    police = officer_chat(app)
    police.tap(f"off:ok:{row.id}")
    police.press("Trang cán bộ")
    police.press("Hủy quyết định vừa rồi")
    assert "trở lại “chờ xác minh”" in police.text
    assert registrations(app)[0].status == "pending"
    assert "đã hủy quyết định" in inbox_of(app, "p1")[-1]
    police.tap(f"off:ok:{row.id}")
    app.dispatcher.clock = lambda: utcnow() + timedelta(minutes=11)
    police.tap("off:undo:17035")
    assert "Không có quyết định" in police.text and registrations(app)[0].status == "verified"


def test_search_by_reference_phone_and_name_and_filters(app):
    register(app, "p1", "lê văn an", "0912 111 001")
    register(app, "p2", "trần văn bình", "0912 111 002", "Người đã chấp hành xong án phạt tù")
    police = officer_chat(app)
    binh = next(r for r in registrations(app) if r.chat_id == "p2")
    for typed in (binh.reference[:3] + "-" + binh.reference[3:], "0912.111.002", "binh", "Trần Văn"):
        police.press("Trang cán bộ") if "Trang cán bộ" in police.labels else police.say("/canbo")
        police.press("Tìm hồ sơ")
        police.say(typed)
        found = [label for label in police.labels if "·" in label]
        assert found and all("Trần Văn Bình" in label for label in found), (typed, police.labels)
    police.say("/canbo")
    police.press("Lọc hồ sơ")
    police.press("Người đã chấp hành xong án phạt tù")
    assert [label for label in police.labels if "·" in label] == [label for label in police.labels if "Trần Văn Bình" in label]
    police.say("/canbo")
    police.press("Lọc hồ sơ")
    police.press("Trạng thái: chờ xác minh")
    assert "2 hồ sơ khớp" in police.text


def test_the_rules_flags_show_on_a_registration(app, ctx):
    from bot.registration.record import Details
    from bot.registration.worklist import flags

    today = ctx.today
    assert flags(ctx, Details(programme="qd08_2026", event_year=today.year - 10), today) == ["gần hết 10 năm"]
    assert flags(ctx, Details(programme="qd22_2023", event_year=today.year - 7), today) == ["quá 5 năm"]
    assert flags(ctx, Details(programme="qd22_2023", event_year=today.year - 2), today) == []
    assert "vượt mức tối đa" in flags(ctx, Details(programme="qd08_2026", amount=100_000_000, amount_requested=500_000_000), today)
    assert flags(ctx, Details(programme="qd08_2026", purpose="vocational_training"), today) == ["cần giấy xác nhận"]
