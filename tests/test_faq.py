"""The FAQ as a person experiences it: answers with the right facts however the question is typed,
suggestions when unsure, an honest fallback otherwise. Quality is measured on two question sets:
the shared development set and an independently written hold-out set."""

from pathlib import Path

import pytest

from bot.content_tools import evaluate
from bot.state import ConversationState
from tests.conftest import make_message, press

DATA = Path(__file__).parent / "data"


def ask(brain, ctx, question: str):
    result = brain.router.handle(ctx, make_message(question), ConversationState())
    return result.outcome, "\n".join(r.text for r in result.replies), result.replies


@pytest.mark.parametrize(
    "question, must_contain",
    [
        ("vay tối đa bao nhiêu", "200 triệu"),
        ("vay toi da bao nhieu", "200 triệu"),
        ("ls bn", "6,24%"),
        ("lãi xuất bao nhiêu", "6,24%"),
        ("laix suaats vay voons", "6,24%"),
        ("ra tù được vay bao nhiêu", "100 triệu"),
        ("cong ty co nguoi sau cai nghien vay toi da bn", "2 tỷ"),
        ("đăng ký vay ở đâu", "Công an"),
        ("mấy tuổi thì được vay", "12 tuổi"),
    ],
)
def test_answers_carry_the_fact_and_the_legal_reference(brain, ctx, question, must_contain):
    outcome, text, _ = ask(brain, ctx, question)
    assert outcome.status == "answer", (question, outcome)
    assert must_contain in text
    assert "Căn cứ: " in text


def test_a_long_rambling_message_still_gets_the_answer(brain, ctx):
    question = (
        "chào anh, em năm nay 30 tuổi, trước em đi cai bắt buộc về được 3 năm rồi, giờ em ở nhà phụ mẹ bán hàng "
        "nhưng muốn vay ít vốn để nuôi bò, cho em hỏi là vay được nhiều nhất bao nhiêu tiền ạ"
    )
    outcome, text, _ = ask(brain, ctx, question)
    assert outcome.status in ("answer", "suggest")
    assert "200 triệu" in text or any("bao nhiêu" in s for s in outcome.suggestions)


@pytest.mark.parametrize("question", ["hôm nay trời mưa không", "tỷ giá đô la hôm nay", "cách làm giàu nhanh"])
def test_off_topic_questions_get_an_honest_answer_without_loan_figures(brain, ctx, question):
    outcome, text, replies = ask(brain, ctx, question)
    assert outcome.status != "answer" or outcome.entry.startswith(("notcovered.", "bot.", "intent:"))
    for figure in ("200 triệu", "6,24%", "100 triệu", "10 năm"):
        assert figure not in text
    if outcome.status == "fallback" and outcome.entry is None:
        assert "Công an xã/phường" in text
        assert [b.payload for b in replies[-1].buttons][0] == "menu:faq"
    elif outcome.status == "fallback":
        # Routed before retrieval: "not my field", with the way to an officer and the menu.
        assert outcome.entry.startswith("route:") and "vay vốn" in text
        assert [b.payload for b in replies[-1].buttons] == ["ask:start", "menu:show"]


@pytest.mark.parametrize("question", ["metadon", "thu tuc"])
def test_unsure_questions_get_at_most_three_suggestions_that_lead_to_answers(brain, ctx, question):
    outcome, text, replies = ask(brain, ctx, question)
    assert outcome.status == "suggest" and text.startswith("Tôi chưa chắc đã hiểu đúng")
    suggestion_buttons = [b for b in replies[-1].buttons if b.payload.startswith("faq:") and b.payload != "faq:none"]
    assert 1 <= len(suggestion_buttons) <= 3
    assert [b.label for b in suggestion_buttons] == list(outcome.suggestions)
    result = brain.router.handle(ctx, press(suggestion_buttons[0].payload), ConversationState())
    assert result.outcome.status == "answer" and "Căn cứ: " in result.replies[0].text


# faq-dev: the shared development set (the targets). faq-blind: written blind to the
# content in the same style as the dev set. faq-holdout: written blind too, but heavier on long
# stories and several questions in one message. Each is held at (or near) its measured level so
# that a change that makes matching worse fails here.
@pytest.mark.parametrize(
    "set_name, min_correct, max_false",
    [("faq-dev.jsonl", 0.95, 0.02), ("faq-blind.jsonl", 0.85, 0.03), ("faq-holdout.jsonl", 0.78, 0.04),
     ("faq-dev2.jsonl", 0.90, 0.02), ("faq-blind2-a.jsonl", 0.95, 0.02), ("core-blind.jsonl", 0.97, 0.02),
     ("faq-blind3.jsonl", 0.93, 0.03), ("faq-blind4.jsonl", 0.92, 0.02), ("faq-blind5.jsonl", 0.90, 0.03)],
)
def test_quality_on_question_sets(brain, ctx, set_name, min_correct, max_false):
    def answer(question):
        outcome, text, _ = ask(brain, ctx, question)
        return outcome.status, outcome.entry, text

    report = evaluate(answer, DATA / set_name, DATA / "facts.json")
    assert report.correct_rate >= min_correct, f"{set_name}: correct {report.correct_rate:.1%}"
    assert report.false_rate <= max_false, f"{set_name}: false answers {report.false_rate:.1%}"


@pytest.mark.parametrize("question", ["vay", "Vay?"])
def test_a_vague_on_topic_question_gets_the_common_questions_not_a_dead_end(brain, ctx, question):
    outcome, text, replies = ask(brain, ctx, question)
    assert outcome.status == "suggest" and text.startswith("Bạn muốn hỏi cụ thể")
    assert 1 <= len(outcome.suggestions) <= 3
    assert [b.label for b in replies[-1].buttons][: len(outcome.suggestions)] == list(outcome.suggestions)


def test_an_off_topic_question_is_not_taken_for_a_vague_one(brain, ctx):
    outcome, text, _ = ask(brain, ctx, "hôm nay trời mưa không")
    assert outcome.status == "fallback" and outcome.entry == "route:chit_chat" and "xin phép không trả lời" in text
    outcome, text, _ = ask(brain, ctx, "cách nuôi cá koi đẹp")
    assert outcome.status == "fallback" and "chưa có câu trả lời" in text


@pytest.mark.parametrize("set_name", ["faq-dev2.jsonl", "faq-blind2-a.jsonl", "faq-blind2-b.jsonl"])
def test_every_crisis_line_of_the_sets_gets_help_and_no_loan_figure(brain, ctx, set_name):
    import json
    import re

    from bot.content_tools import fold_answer

    spec = json.loads((DATA / "facts.json").read_text(encoding="utf-8"))
    helped = re.compile(spec["facts"]["crisis_help"])
    strong = [re.compile(spec["facts"][f]) for f in spec["strong"]]
    cases = [json.loads(line) for line in (DATA / set_name).read_text(encoding="utf-8").splitlines() if line.strip()]
    missed = []
    for case in (c for c in cases if c.get("crisis")):
        _, text, _ = ask(brain, ctx, case["q"])
        folded = fold_answer(text)
        if not helped.search(folded) or any(p.search(folded) for p in strong):
            missed.append(case["q"])
    # The hold-out set (never read while tuning) is held to its measured level.
    allowed = 1 if set_name.endswith("-b.jsonl") else 0
    assert len(missed) <= allowed, missed


@pytest.mark.parametrize("set_name, minimum", [("dialogues-dev.jsonl", 0.95), ("dialogues-blind-a.jsonl", 0.95),
                                               ("dialogues-blind3.jsonl", 0.95), ("dialogues-blind4.jsonl", 0.95),
                                               ("dialogues-blind5.jsonl", 0.95)])
def test_multi_turn_dialogues_are_answered_in_context(brain, ctx, set_name, minimum):
    """Each dialogue played in one conversation; only the reply to the last turn is scored (as
    ../shared/eval/score_dialogues.py does through the console)."""
    import json
    import re

    from bot.content_tools import fold_answer

    spec = json.loads((DATA / "facts.json").read_text(encoding="utf-8"))
    facts = {name: re.compile(p) for name, p in spec["facts"].items()}
    dialogues = [json.loads(line) for line in (DATA / set_name).read_text(encoding="utf-8").splitlines() if line.strip()]
    right, failed = 0, []
    for dialogue in dialogues:
        state = ConversationState()
        for turn in dialogue["turns"]:
            result = brain.router.handle(ctx, make_message(turn), state)
        text = fold_answer("\n".join(r.text for r in result.replies))
        needed = all(any(facts[f].search(text) for f in (n if isinstance(n, list) else [n])) for n in dialogue["need"])
        ok = needed and not any(facts[f].search(text) for f in dialogue.get("forbid", []))
        right += ok
        failed += [] if ok else [dialogue["id"]]
    assert right / len(dialogues) >= minimum, f"{set_name}: {right}/{len(dialogues)} {failed}"
