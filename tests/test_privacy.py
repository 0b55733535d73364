"""No personal data or tokens in records or logs."""

import logging

import pytest

from bot.privacy import RedactingFormatter, redact, redact_question
from storage import repo
from storage.db import transaction
from tests.conftest import make_message, run


@pytest.mark.parametrize("number", ["0912345678", "0912 345 678", "0912.345.678", "+84 (912) 345-678", "001234567890"])
def test_phone_and_id_numbers_are_masked(number):
    assert "345" not in redact(f"số của tôi là {number} nhé")


def test_names_and_places_are_masked_in_unanswered_questions():
    masked = redact_question("tôi tên Nguyễn Văn Minh ở thôn 3 xã Yên Lạc hỏi thời tiết")
    assert "Nguyễn" not in masked and "Yên Lạc" not in masked and "thời tiết" in masked


def test_tracebacks_and_tokens_are_masked_in_logs_but_not_the_timestamp():
    formatter = RedactingFormatter("%(asctime)s %(message)s")
    try:
        raise ValueError("user 0912345678 token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info())
    out = formatter.format(record)
    assert "0912345678" not in out and "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw" not in out and "ValueError" in out
    assert out[:2] in ("19", "20")  # the timestamp is intact


def test_redaction_of_huge_digit_runs_is_fast():
    import time

    start = time.perf_counter()
    redact("1" * 40_000 + "a")
    assert time.perf_counter() - start < 0.5


@pytest.mark.db
@pytest.mark.parametrize("text", ["thời tiết\x00 hôm nay", "thoi tiet \x1b[31m mai", "\u202ethời tiết\u202c"])
def test_control_characters_are_stored_cleaned_and_get_a_real_reply(app, text):
    replies = run(app.dispatcher.dispatch(make_message(text)))
    assert "thử lại sau" not in replies[0].text
    with transaction(app.engine) as session:
        rows = repo.list_unanswered(session=session, cipher=app.dispatcher.cipher)
    assert rows and all("\x00" not in r.text and "\x1b" not in r.text for r in rows)


def test_logs_never_carry_chat_or_update_ids(app, caplog):
    """On Zalo the update id contains the user's id: log lines name the inbox row instead."""
    msg = make_message("xin chao", chat_id="zalo-user-98765", update_id="zalo-user-98765:m1")
    with caplog.at_level(logging.DEBUG):
        run(app.dispatcher.dispatch(msg))
        run(app.dispatcher.dispatch(msg))  # a repeat is logged
    assert caplog.records and "zalo-user-98765" not in caplog.text


def test_the_log_scan_finds_a_phone_an_id_and_a_token():
    from tests.log_scan import scan

    planted = ["sent to 0912 345 678", "id 001088012345", "token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "fine line"]
    assert [line.split(":")[0] for line in scan(planted)] == ["phone number", "ID number", "bot token"]
