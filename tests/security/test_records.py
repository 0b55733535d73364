"""Item 3 of issue 13: the unanswered-question record and the deduplication records keep nothing
that identifies anyone. Numbers with any separators (or read out in words) and names in any case
are masked in what curators see; the record is encrypted at rest anyway (lower-case names are
ordinary words, so masking alone cannot be trusted); update ids are keyed hashes; times are days."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.privacy import redact_question
from storage import repo
from storage.db import transaction
from storage.models import InboxUpdate, ProcessedUpdate, UnansweredQuestion
from tests.conftest import make_message, run

# (the question, what must not survive the mask)
NUMBERS = [
    ("sđt 0912/345/679 mới ra tù", "345"), ("sdt 0912_345_679 vay được không", "345"),
    ("số tôi 0912-345-679", "345"), ("0912.345.679 là số của em", "345"), ("gọi 0912 345 679 nhé", "345"),
    ("số (0912) 345 679", "345"), ("+84 912 345 679 hỏi vay", "345"), ("+84-912-345-679", "345"),
    ("sdt:0912345679", "345"), ("sdt0912345679 vay", "345"), ("0912,345,679 gọi lại", "345"),
    ("số 0 9 1 2 3 4 5 6 7 9", "3 4 5"), ("0912 / 345 / 679", "345"), ("0912__345__679", "345"),
    ("0912 - 345 - 679", "345"), ("0912\\345\\679", "345"), ("0912|345|679", "345"), ("0912~345~679", "345"),
    ("cccd 038/090/012/345", "012"), ("cccd 038090012345 có vay được không", "012"), ("cmnd 186_123_456", "123"),
    ("CCCD: 038.090.012.345", "012"), ("số định danh 038 090 012 345", "012"), ("id 038-090-012-345", "012"),
    ("số em là không chín một hai ba bốn năm sáu bảy chín", "ba bốn năm"),
    ("khong chin mot hai ba bon nam sau bay chin", "ba bon nam"),
    ("sdt không chín một hai, ba bốn năm, sáu bảy chín", "ba bốn năm"),
    ("số 09 một hai 345 sáu bảy 9", "345"), ("gọi không 9 một 2 ba 4 năm 6", "ba 4 năm"),
    ("KHÔNG CHÍN MỘT HAI BA BỐN NĂM SÁU", "BA BỐN NĂM"), ("số *0912*345*679*", "345"), ("0912#345#679", "345"),
]
NAMES = [
    ("tôi tên nguyễn văn minh hỏi vay", "minh"), ("tên tôi là trần thị hoa, vay được không", "hoa"),
    ("ho ten tran thi hoa muon vay", "hoa"), ("họ và tên: lê văn tám", "tám"), ("họ tên bùi thị lan mới ra trại", "lan"),
    ("tên em là hùng, sau cai nghiện", "hùng"), ("ten la binh, ra tu nam 2023", "binh"),
    ("con tôi tên là vũ văn quang", "quang"), ("chồng tôi là hoàng văn dũng ra tù", "dũng"),
    ("TÔI TÊN NGUYỄN VĂN MINH", "MINH"), ("tôi là Nguyễn Văn Minh", "Minh"), ("nguyen van minh hoi vay von", "minh"),
    ("huỳnh thị mai hỏi về lãi suất", "mai"), ("võ văn kiệt có được vay", "kiệt"), ("đặng thị thu cần vay", "thu"),
    ("tên của tôi là minh", "minh"), ("Tên: Phạm Thị Hoà", "Hoà"), ("anh Trần Văn Bình hỏi", "Bình"),
    ("tên nó là tuấn, sinh năm 98", "tuấn"), ("Tran Van Binh xin vay", "Binh"),
]


@pytest.mark.parametrize("text,secret", NUMBERS + NAMES)
def test_numbers_with_any_separators_and_names_of_any_case_are_masked(text, secret):
    masked = redact_question(text)
    assert secret.lower() not in masked.lower(), masked
    assert not re.search(r"\d{6,}", masked), masked


def test_there_are_at_least_fifty_adversarial_forms():
    assert len(NUMBERS) + len(NAMES) >= 50


@pytest.mark.parametrize("text", ["vay 50 triệu được không", "hồ sơ cần những gì", "năm 2023 ra tù vay được không",
                                  "phạm tội ma túy có được vay", "trồng ngô có được vay không"])
def test_ordinary_questions_keep_their_words(text):
    assert redact_question(text) == text


@pytest.mark.db
def test_the_unanswered_record_is_encrypted_keyed_by_a_hash_and_dated_to_the_day(app):
    run(app.dispatcher.dispatch(make_message("tôi tên minh hỏi thời tiết ngày mai thế nào", chat_id="u1")))
    with transaction(app.engine) as session:
        row = session.exec(select(UnansweredQuestion)).one()
        shown = repo.list_unanswered(session=session, cipher=app.dispatcher.cipher)[0]
    assert "thời tiết" not in row.text and "thoi tiet" not in row.key and re.fullmatch(r"[0-9a-f]{64}", row.key)
    assert "thời tiết" in shown.text and "minh" not in shown.text
    for moment in (row.first_seen, row.last_seen):
        local = moment.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Ho_Chi_Minh"))
        assert (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


@pytest.mark.db
def test_update_ids_are_stored_as_keyed_hashes(app):
    """A Zalo update id holds the user id; neither the deduplication record nor the inbox keeps it."""
    from tests.security.erase_session import MemoryChannel

    channel = MemoryChannel(app)
    run(app.dispatcher.dispatch(make_message("xin chào", chat_id="zalo-98765", update_id="zalo-98765:m1")))

    async def through_the_inbox():
        await channel.accept("zalo-98765:m2", {"id": "zalo-98765:m2", "chat": "zalo-98765", "text": "xin chào"})
        import asyncio

        await asyncio.gather(*list(channel.tasks))

    run(through_the_inbox())
    with transaction(app.engine) as session:
        ids = [r.update_id for r in session.exec(select(ProcessedUpdate))] + [r.update_id for r in session.exec(select(InboxUpdate))]
    assert len(ids) == 3 and all("98765" not in i and re.fullmatch(r"[0-9a-f]{64}", i) for i in ids)
    # And a repeated delivery is still noticed.
    assert run(app.dispatcher.dispatch(make_message("xin chào", chat_id="zalo-98765", update_id="zalo-98765:m1"))) == []
