"""Reading a chat's saved conversation state in tests (it is encrypted at rest)."""

from __future__ import annotations

from bot.state import ConversationState
from storage import repo
from storage.db import transaction


def saved_state(app, chat_id: str, channel: str = "test") -> ConversationState:
    with transaction(app.engine) as session:
        raw = repo.load_state(session=session, channel=channel, chat_id=chat_id)
    return ConversationState.from_json(app.dispatcher.cipher.decrypt(raw) if raw else None)


def draft_fields(app, chat_id: str) -> dict:
    state = saved_state(app, chat_id)
    return dict(state.registration.fields) if state.registration else {}
