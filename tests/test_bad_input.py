"""Bad input never crashes, never corrupts the state, and always gets a kind reply."""

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from bot.state import ConversationState, EligibilityProgress, Flow
from bot.types import Button, Kind
from tests.conftest import make_message, press, run

NASTY = [
    "",
    "   \n\t ",
    "a" * 10_000,
    "lãi suất " * 1_500,
    "😀😀😀",
    "\x00\x01\x07\x1b[31m",
    "\u202eكم الفائدة\u202c",
    "<b>lãi suất</b> <script>alert(1)</script>",
    "**vay** _tối đa_ [link](http://x)",
    "'; DROP TABLE conversations; --",
    "1' OR '1'='1",
    "\ufeff\u200b\u200d",
    "１２３",
    "99",
]


@pytest.mark.db
@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_nasty_text_gets_a_kind_reply_and_the_menu_still_works(app, text):
    replies = run(app.dispatcher.dispatch(make_message(text)))
    assert replies and all(r.text.strip() for r in replies)
    assert all(len(r.text) < 2000 for r in replies)
    # The conversation still works afterwards.
    replies = run(app.dispatcher.dispatch(make_message("menu")))
    assert [b.payload for b in replies[-1].buttons][0] == "menu:faq"


@pytest.mark.db
@pytest.mark.parametrize("kind", [Kind.STICKER, Kind.PHOTO, Kind.VOICE, Kind.FILE, Kind.OTHER])
def test_stickers_photos_and_voice_keep_the_choices_offered(app, kind):
    run(app.dispatcher.dispatch(make_message("menu")))
    replies = run(app.dispatcher.dispatch(make_message(kind=kind)))
    assert "chỉ đọc được tin nhắn chữ" in replies[0].text
    assert [b.payload for b in replies[0].buttons][0] == "menu:faq"
    # The typed number still refers to the same menu.
    assert run(app.dispatcher.dispatch(make_message("1")))[0].text.startswith("Bạn cứ gõ câu hỏi")


def _states(brain):
    entry = brain.content.faq[0].id
    yield ConversationState()
    yield ConversationState(flow=Flow.FAQ, buttons=[Button("Về menu", "menu:show")], last_seen=None)
    for asked, answers in (
        (["for_whom"], {"for_whom": "self"}),
        (["for_whom", "background", "rehab_completion"],
         {"for_whom": "relative", "background": "after_rehab", "rehab_completion": "voluntary"}),
        (["for_whom", "staff_background", "established"],
         {"for_whom": "business", "background": "after_prison", "legally_established": True}),
    ):
        yield ConversationState(flow=Flow.ELIGIBILITY, eligibility=EligibilityProgress(answers=answers, asked=asked))
    yield ConversationState(
        flow=Flow.MENU,
        buttons=[Button("Hỏi đáp chính sách", "menu:faq"), Button(brain.content.faq[0].question, f"faq:{entry}")],
    )


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), which=st.integers(min_value=0, max_value=5))
def test_random_unicode_in_every_state_gets_replies_and_a_valid_state(brain, ctx, text, which):
    state = list(_states(brain))[which]
    result = brain.router.handle(ctx, make_message(text), state)
    assert result.replies and all(r.text.strip() for r in result.replies)
    ConversationState.model_validate_json(state.to_json())


@pytest.mark.db
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=200), min_size=1, max_size=6))
def test_random_unicode_through_dispatch_never_loses_the_conversation(app, texts):
    """Real dispatch, real database (PostgreSQL in CI): random messages, then the menu still works."""
    chat = str(abs(hash(tuple(texts))))
    for text in texts:
        replies = run(app.dispatcher.dispatch(make_message(text, chat_id=chat)))
        assert replies and "thử lại sau" not in replies[0].text
    replies = run(app.dispatcher.dispatch(make_message("menu", chat_id=chat)))
    assert [b.payload for b in replies[-1].buttons][0] == "menu:faq"


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.text(max_size=80))
def test_random_button_payloads_never_crash(brain, ctx, payload):
    result = brain.router.handle(ctx, press(payload), ConversationState())
    assert result.replies
