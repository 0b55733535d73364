"""Typed conversation state, saved as JSON with the conversation (never pickled, never only in memory)."""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.nlu.facts import Facts
from bot.types import Button

log = logging.getLogger(__name__)


class Flow(StrEnum):
    """Where the person is. Multi-step flows add their own values here."""

    MENU = "menu"
    FAQ = "faq"
    ELIGIBILITY = "eligibility"
    REGISTRATION = "registration"
    HANDOFF = "handoff"  # "Gặp cán bộ": a question for the commune's officers
    OFFICER = "officer"  # an officer typing a reason, a note or a reply


class ConversationState(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    flow: Flow = Flow.MENU
    step: str | None = None
    # Per-feature data, JSON only (e.g. the eligibility answers so far under "eligibility").
    data: dict[str, Any] = Field(default_factory=dict)
    # The last buttons shown: a typed "2", "Có" or "co" is resolved against them.
    buttons: list[Button] = Field(default_factory=list)
    # What the person said about their situation (programme, for whom, age, years…), across turns.
    facts: Facts = Field(default_factory=Facts)
    locale: str | None = None
    last_seen: datetime | None = None

    @property
    def is_new(self) -> bool:
        return self.last_seen is None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_defaults=True)

    @classmethod
    def from_json(cls, raw: str | None) -> "ConversationState":
        if not raw:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            # A state from an older version that no longer fits: start over rather than fail.
            log.warning("conversation state could not be read; starting a fresh conversation")
            return cls()
