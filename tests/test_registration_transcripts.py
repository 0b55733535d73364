"""Registrations typed in people's own words, played line by line through the console channel
(as `python -m bot chat --script FILE` does), then checked in the stored, encrypted record."""

import io
from pathlib import Path

import pytest

from bot.channels.console import ConsoleChannel
from bot.i18n import texts
from bot.registration import service
from tests.conftest import run
from tests.registration_helpers import registrations

pytestmark = pytest.mark.db

TRANSCRIPTS = Path(__file__).parent / "data" / "transcripts"


def play(app, name: str, chat_id: str) -> tuple[list[str], str]:
    """The script's lines and the transcript the console printed."""
    lines = (TRANSCRIPTS / name).read_text(encoding="utf-8").splitlines()
    out = io.StringIO()
    run(ConsoleChannel(app.dispatcher, texts("vi"), out, chat_id=chat_id).script(lines))
    return lines, out.getvalue()


def turns(transcript: str) -> list[str]:
    """What the bot said after each message of the person (the greeting first)."""
    return transcript.split("\nBạn: ")


def questions(transcript: str) -> list[str]:
    """The last thing the bot said in each turn: the question it is waiting on."""
    last = []
    for turn in turns(transcript)[1:]:
        said = turn.split("\nTrợ lý: ")
        last.append(said[-1].split("\n  [")[0])
    return last


def re_asks(transcript: str) -> int:
    """Turns that end on the same question as the turn before (asked again), or that explain
    what was not understood."""
    asked = questions(transcript)
    again = sum(1 for before, now in zip(asked, asked[1:], strict=False) if before == now)
    unclear = sum(turn.count(marker) for turn in turns(transcript)[1:]
                  for marker in ("Tôi chưa", "chưa đúng", "chưa hợp lý", "Bạn gõ “", "Đúng không?"))
    return again + unclear


def test_a_mother_registers_her_son_in_her_own_words_in_at_most_16_messages(app):
    lines, out = play(app, "mother-registers-son.txt", "mother")
    for words in ("dạ tui đồng ý", "nó sinh năm 98", "sdt của tui là 0987 654 321", "hai trăm triệu", "thôi khỏi", "ừ gửi đi",
                  "tên nó là Trần Văn Hùng", "cho thằng con trai tui", "tui là má nó"):
        assert any(words in line for line in lines), words
    assert len(lines) <= 16
    assert re_asks(out) <= 1, out
    assert "Mã đăng ký của bạn" in out, out
    [row] = registrations(app)
    details = service.load_details(app.dispatcher.cipher, row)
    assert details.name == "Trần Văn Hùng"
    assert details.birth_year == 1998
    assert details.phone == "0987654321"
    assert details.amount == 200_000_000 and details.amount_requested is None
    assert details.registrant == "relative" and details.relationship == "parent"
    assert row.commune_code == 17035 and details.programme == "qd08_2026"


def test_the_mothers_export_holds_her_sons_registration_as_a_relatives(app):
    from bot.registration.export import month_rows
    from bot.vntime import vietnam_date
    from storage.db import transaction
    from storage.models import utcnow

    play(app, "mother-registers-son.txt", "mother")
    today = vietnam_date(utcnow())
    with transaction(app.engine) as session:
        _, table = month_rows(session=session, cipher=app.dispatcher.cipher, texts=texts("vi"), places=app.brain.places,
                              form=app.brain.content.registration, commune_code=17035, year=today.year, month=today.month,
                              today=today)
    header, row = table[0], table[1]
    value = dict(zip(header, row, strict=True))
    assert value["Họ và tên"] == "Trần Văn Hùng" and str(value["Năm sinh"]) == "1998"
    assert "0987" in str(value["Số điện thoại"]) and "654" in str(value["Số điện thoại"])
    assert "200" in str(value["Số tiền đề nghị"])
    assert value["Người đăng ký"].startswith("người thân")


def test_the_re_ask_count_sees_a_question_asked_again():
    """The measure itself: a wrong phone asked again counts."""
    transcript = ("Trợ lý: Xin chào\nBạn: 0123\nTrợ lý: Số điện thoại chưa đúng.\nTrợ lý: Số điện thoại?\n"
                  "Bạn: 0987654321\nTrợ lý: Tỉnh nào?")
    assert re_asks(transcript) == 1
