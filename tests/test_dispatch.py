"""Dispatch: deduplication, one update at a time per conversation, state saved with the handler's
writes, and a conversation that survives a restart. Runs on SQLite and, in CI, on PostgreSQL."""

import asyncio

import pytest
from pydantic import SecretStr
from sqlmodel import select

from bot.app import build_app
from bot.state import ConversationState
from bot.types import Kind
from storage import repo
from storage.db import transaction
from storage.models import ProcessedUpdate
from tests.conftest import make_message, press, run

pytestmark = pytest.mark.db


def test_a_repeated_delivery_is_answered_once(app):
    msg = make_message("lãi suất bao nhiêu")
    first = run(app.dispatcher.dispatch(msg))
    second = run(app.dispatcher.dispatch(msg))
    assert first and "6,24%" in first[0].text
    assert second == []


def test_the_same_update_id_on_another_channel_is_a_different_update(app):
    run(app.dispatcher.dispatch(make_message("xin chào", update_id="7")))
    replies = run(app.dispatcher.dispatch(make_message("xin chào", update_id="7", channel="other")))
    assert replies


def test_concurrent_updates_of_one_chat_are_processed_in_order(app):
    """Two messages arriving together: the second sees the state the first left (a typed '1')."""

    async def burst():
        menu = make_message("menu")
        choose = make_message("1")
        return await asyncio.gather(app.dispatcher.dispatch(menu), app.dispatcher.dispatch(choose))

    menu_replies, choice_replies = run(burst())
    assert [b.payload for b in menu_replies[-1].buttons][0] == "menu:faq"
    # "1" was resolved against the menu that the first update showed: the FAQ prompt.
    assert choice_replies[0].text.startswith("Bạn cứ gõ câu hỏi")


def test_state_and_writes_roll_back_together_when_a_handler_fails(app, monkeypatch):
    run(app.dispatcher.dispatch(make_message("menu")))
    before = _state(app)

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.brain.router, "handle", broken)
    msg = make_message("2")
    replies = run(app.dispatcher.dispatch(msg))
    assert "thử lại" in replies[0].text
    assert _state(app) == before
    with transaction(app.engine) as session:
        key = app.dispatcher.cipher.update_key(msg.channel, msg.update_id)
        claimed = session.exec(select(ProcessedUpdate).where(ProcessedUpdate.update_id == key)).first()
    assert claimed is None  # not marked processed: a redelivery will be handled for real
    monkeypatch.undo()
    assert run(app.dispatcher.dispatch(msg))


def test_conversation_continues_after_a_restart(settings, brain, engine):
    first = build_app(settings, brain=brain, engine=engine)
    run(first.dispatcher.dispatch(make_message("menu", chat_id="7")))
    # A new process on the same database: the person is welcomed back with the same choices.
    second = build_app(settings, brain=brain, engine=engine)
    replies = run(second.dispatcher.dispatch(make_message(kind=Kind.OPEN, chat_id="7")))
    assert "quay lại" in replies[0].text
    assert [b.label for b in replies[-1].buttons][:2] == ["Hỏi đáp chính sách", "Kiểm tra điều kiện vay"]
    # and a typed number still refers to the menu shown before the restart
    replies = run(second.dispatcher.dispatch(make_message("1", chat_id="7")))
    assert replies[0].text.startswith("Bạn cứ gõ câu hỏi")


def test_unanswered_questions_are_recorded_as_redacted_text_with_counts(app):
    for chat in ("1", "2"):
        run(app.dispatcher.dispatch(make_message("số tôi 0912 345 678 hỏi về thời tiết ngày mai", chat_id=chat)))
    with transaction(app.engine) as session:
        rows = repo.list_unanswered(session=session, cipher=app.dispatcher.cipher)
    assert len(rows) == 1 and rows[0].count == 2
    assert "0912" not in rows[0].text and "345" not in rows[0].text and "[số]" in rows[0].text


def test_database_outage_gets_a_kind_message_and_loses_nothing(app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    run(app.dispatcher.dispatch(make_message("menu")))

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(repo, "load_state", down)
    replies = run(app.dispatcher.dispatch(make_message("2")))
    assert "thử lại sau" in replies[0].text
    monkeypatch.undo()
    replies = run(app.dispatcher.dispatch(make_message("1")))
    assert replies[0].text.startswith("Bạn cứ gõ câu hỏi")


def test_a_stale_button_pressed_twice_gets_a_sensible_answer(app):
    for _ in range(2):
        replies = run(app.dispatcher.dispatch(press("reg:step-that-no-longer-exists")))
        assert "Nút này đã cũ" in replies[0].text
        assert replies[0].buttons


def _state(app) -> ConversationState:
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id="42")
    return ConversationState.from_json(app.dispatcher.cipher.decrypt(raw))


def test_conversation_state_is_encrypted_at_rest(app, settings):
    for text in ("kiem tra dieu kien", "ban than", "cai nghien", "bat buoc"):
        run(app.dispatcher.dispatch(make_message(text)))
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id="42")
    assert "after_rehab" not in raw and "compulsory" not in raw and "eligibility" not in raw
    assert _state(app).eligibility.answers["rehab_completion"] == "compulsory"
    key_file = settings.data_dir / "encryption.key"
    assert key_file.exists() and (key_file.stat().st_mode & 0o777) == 0o600


def test_keys_rotate_and_old_state_still_opens(settings, brain, engine):
    from cryptography.fernet import Fernet

    from storage.crypto import Cipher

    old, new = Fernet.generate_key(), Fernet.generate_key()
    first = build_app(settings.model_copy(update={"data_encryption_keys": SecretStr(old.decode())}), brain=brain, engine=engine)
    run(first.dispatcher.dispatch(make_message("menu", chat_id="9")))
    rotated = build_app(
        settings.model_copy(update={"data_encryption_keys": SecretStr(f"{new.decode()},{old.decode()}")}), brain=brain, engine=engine
    )
    replies = run(rotated.dispatcher.dispatch(make_message("1", chat_id="9")))
    assert replies[0].text.startswith("Bạn cứ gõ câu hỏi")  # the state written with the old key was read
    with transaction(engine) as session:
        raw = repo.load_state(session=session, channel="test", chat_id="9")
    assert Cipher([new]).decrypt(raw) is not None  # and re-saved with the new key


def test_old_deduplication_records_are_pruned_at_start_up(settings, brain, engine):
    from datetime import timedelta

    from storage.models import utcnow

    app = build_app(settings, brain=brain, engine=engine)
    with transaction(app.engine) as session:
        repo.claim_update(session=session, channel="test", update_id="old", now=utcnow() - timedelta(days=40))
        repo.claim_update(session=session, channel="test", update_id="new", now=utcnow())
    build_app(settings, brain=brain, engine=engine)
    with transaction(app.engine) as session:
        left = {row.update_id for row in session.exec(select(ProcessedUpdate))}
    assert left == {"new"}


def test_production_refuses_to_start_without_encryption_keys(tmp_path):
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="DATA_ENCRYPTION_KEYS"):
        Settings(_env_file=None, environment="production", data_dir=tmp_path)


def test_a_number_beyond_the_choices_says_which_numbers_work_and_keeps_them(app):
    run(app.dispatcher.dispatch(make_message("menu")))
    replies = run(app.dispatcher.dispatch(make_message("7")))
    assert replies[0].text == "Bạn chọn một số từ 1 đến 5 nhé."
    assert [b.payload for b in replies[0].buttons][0] == "menu:faq"
    assert run(app.dispatcher.dispatch(make_message("chọn số 1")))[0].text.startswith("Bạn cứ gõ câu hỏi")
