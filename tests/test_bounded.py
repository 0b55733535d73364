"""What the bot keeps in memory stays bounded, however much traffic comes: the understanding's
caches of recent texts, the n-gram look-ups, and the channel's queues (one task per chat, not one
per update). Behaviour, not timing: counts of what is held, read after the traffic."""

from __future__ import annotations

import pytest

from bot.nlu import linear, normalize
from bot.nlu.normalize import RECENT
from tests.test_telegram import Harness, fake, message_update  # noqa: F401 - the stand-in fixture


def test_a_flood_of_different_messages_leaves_at_most_the_caches_bounds_in_memory(brain):
    """Three times as many different messages as the caches hold: each holds at most its bound
    (a flood of long messages used to leave 4,096 of them, several megabytes, in memory)."""
    story = ("chong toi di cai nghien bat buoc hai nam, ve tu thang {n}, muon vay von nuoi heo, "
             "cho hoi duoc vay bao nhieu va lam giay to o dau")
    for n in range(3 * RECENT):
        brain.ask(story.format(n=n))
    caches = {
        "normalised texts": brain.normalizer._cache, "light forms": brain.normalizer.light,
        "routing views": brain.triage.views, "FAQ matches": brain.matcher.match,
        "cleaned texts": normalize._clean, "folded texts": normalize.fold,
    }
    for name, cache in caches.items():
        assert cache.cache_info().currsize <= cache.cache_info().maxsize, name
        assert cache.cache_info().maxsize <= 1024, name
    assert normalize._clean.cache_info().currsize == RECENT  # full, and no more


def test_the_ngram_lookups_forget_words_beyond_their_bound(brain, monkeypatch):
    monkeypatch.setattr(linear, "WORDS_KEPT", 50)
    if brain.triage.crisis_model is None:
        pytest.skip("scikit-learn and a cached model are missing: no n-gram model")
    features = brain.triage.crisis_model.features
    before = features("ban muon vay von bao nhieu")
    for n in range(200):
        features(" ".join(f"tu{n}x{k}" for k in range(5)))
        assert len(features._known) <= 50
    after = features("ban muon vay von bao nhieu")  # the same figures after forgetting
    assert before[0].tolist() == after[0].tolist() and before[1].tolist() == after[1].tolist()


@pytest.mark.db
async def test_a_flood_from_one_chat_waits_in_one_queue_and_leaves_nothing_behind(settings, brain, engine, fake):  # noqa: F811
    """60 updates from one chat at once: one task works through them (not one task each), every
    one is answered, and afterwards no queue, task, lock or row in flight is left."""
    async with Harness(settings.model_copy(update={"limit_messages_per_minute": 0}), brain, engine, fake) as bot:
        fake.stall_after = 0  # the first reply is held at the stand-in: the others wait behind it
        for n in range(60):
            assert await bot.post(message_update(9000 + n, f"cau hoi so {n}: lai suat bao nhieu")) == 200
        if bot.channel.shared:  # PostgreSQL (several workers): the chat's next update is leased when one is done
            assert sum(len(waiting) for waiting in bot.channel._waiting.values()) == 59
        else:  # one process: the chat's queue
            assert list(bot.channel._queues) == ["telegram:777"] and len(bot.channel._queues["telegram:777"]) == 59
        assert len(bot.channel.tasks) == 1  # one task for the 60 updates
        fake.release_stalled()  # answered 502: the chat's queue sends it again, then the rest
        await fake.wait_for("sendMessage", 60, timeout=60)
        await bot.channel.idle()
        assert bot.channel._queues == {} and bot.channel._waiting == {} and bot.channel.in_flight == set()
        assert not bot.channel.tasks
        assert len(bot.channel.locks._locks) == 0  # the per-chat locks are forgotten too
        assert len(fake.sent("sendMessage")) == 60


def test_the_web_pages_keep_the_decrypted_lists_of_a_bounded_number_of_communes(app, monkeypatch):
    """An admin reading many communes' lists: beyond the bound, the least recently used goes."""
    from bot.registration import worklist
    from bot.vntime import vietnam_date
    from storage.db import transaction
    from storage.models import utcnow

    monkeypatch.setattr(worklist, "HELD_KEPT", 3)
    with transaction(app.engine) as session:
        ctx = app.brain.context(lang="vi", today=vietnam_date(utcnow()), session=session, now=utcnow(),
                                cipher=app.dispatcher.cipher)
        for commune in (17035, 17059, 17062, 17065, 17068):
            worklist._held(ctx, commune)
        held = worklist._HELD[app.dispatcher.cipher]
        assert len(held) == 3 and {key[1] for key in held} == {17062, 17065, 17068}
