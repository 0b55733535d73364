"""Content is validated: a curator's mistake is rejected with a message naming the file and entry."""

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.app import build_brain
from bot.content_tools import check_content
from bot.state import ConversationState
from content import CONTENT_DIR, ContentError, load_content
from content.models import Programme
from tests.conftest import make_message

GOOD = {
    "id": "x.one",
    "programme": "qd08",
    "question": "Câu hỏi thử nghiệm?",
    "phrasings": ["một", "hai ba", "bốn năm", "sáu bảy"],
    "answer": "Mỗi người được vay tối đa {qd08.max_individual}.",
    "reference": "QĐ 08/2026/QĐ-TTg",
    "reviewed": "2026-11-22",
}


@pytest.fixture
def content_copy(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, root, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return root


def add_entry(root: Path, **changes) -> None:
    entry = {**GOOD, **changes}
    (root / "faq" / "zz_test.yaml").write_text(yaml.safe_dump([entry], allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"id": None}, "zz_test.yaml, entry"),
        ({"related": ["does.not.exist"]}, "related entry does.not.exist does not exist"),
        ({"answer": "Vay tối đa {qd08.no_such_figure}."}, "unknown parameter {qd08.no_such_figure}"),
        ({"phrasings": ["chỉ một"]}, "phrasings"),
        ({"programme": "qd99"}, "programme"),
    ],
)
def test_invalid_entries_are_rejected_with_a_clear_message(content_copy, changes, message):
    add_entry(content_copy, **changes)
    with pytest.raises(ContentError, match=message.replace("{", r"\{").replace("}", r"\}")):
        load_content(content_copy)


def test_check_reports_a_walkthrough_question_on_an_unknown_field(content_copy):
    path = content_copy / "eligibility" / "questions.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("field: resides_locally", "field: lives_here"), encoding="utf-8")
    report = check_content(build_brain(load_content(content_copy)), today=date(2026, 11, 22))
    assert any("eligibility question residence: unknown field lives_here" in e for e in report.errors)


def test_duplicate_ids_are_rejected(content_copy):
    first_id = load_content(content_copy).faq[0].id
    add_entry(content_copy, id=first_id)
    with pytest.raises(ContentError, match=f"duplicate id {first_id}"):
        load_content(content_copy)


def test_check_reports_literal_figures_and_over_long_answers(content_copy):
    add_entry(content_copy, answer="Được vay 200 triệu đồng. " + "Rất dài. " * 120)
    report = check_content(build_brain(load_content(content_copy)), today=date(2026, 11, 22))
    assert any("x.one: answer is" in e for e in report.errors)
    assert any("x.one: figure '200 triệu'" in e for e in report.errors)


def test_check_reports_a_phrasing_that_belongs_to_another_entry(content_copy):
    # A curator pasted an interest-rate phrasing into an unrelated entry.
    add_entry(content_copy, phrasings=["mot hai ba", "bon nam sau", "bay tam chin", "lãi suất vay là bao nhiêu"])
    report = check_content(build_brain(load_content(content_copy)), today=date(2026, 11, 22))
    assert any(e.startswith("x.one: phrasing") and "matches" in e for e in report.errors)


def test_shipped_content_covers_the_brief(brain):
    faq = brain.content.faq
    assert len(faq) >= 80
    assert all(len(e.phrasings) >= 4 for e in faq)
    programmes = {e.programme for e in faq}
    assert {Programme.QD08, Programme.QD22, Programme.NOT_COVERED} <= programmes


def test_figures_follow_the_dated_parameters(brain):
    qd08_cap = brain.content.parameters["qd08.max_individual"]
    assert qd08_cap.at(date(2026, 4, 30)) is None  # QĐ 08 not yet in force
    assert qd08_cap.at(date(2026, 5, 1)) == 200_000_000


@pytest.mark.parametrize("question", ["thời hạn vay là mấy năm", "vay bao nhieu thi phai the chap tai san"])
def test_unconfirmed_facts_are_never_stated_as_numbers(brain, ctx, question):
    """Loan term and collateral thresholds are unconfirmed in the brief: the answer points to NHCSXH."""
    result = brain.router.handle(ctx, make_message(question), ConversationState())
    assert result.outcome.status == "answer"
    body = result.replies[0].text.split("Căn cứ")[0]
    assert not re.search(r"\d+\s*(năm|tháng)", body)
    assert re.search(r"NHCSXH|Ngân hàng Chính sách", body)


def test_rejection_reasons_fit_the_persons_programme(brain):
    form = brain.content.registration
    after_prison, after_rehab = form.reasons_for("qd22_2023"), form.reasons_for("qd08_2026")
    assert not any("cai nghiện" in r for r in after_prison)
    assert any("chấp hành xong án phạt tù" in r for r in after_prison)
    assert any("cai nghiện" in r for r in after_rehab) and not any("án phạt tù" in r for r in after_rehab)


def test_a_key_written_twice_is_refused_not_silently_dropped(tmp_path):
    """YAML keeps the last of two equal keys: a second `rate:` cue would erase the first unseen."""
    from content.loader import ContentError, _read_yaml

    path = tmp_path / "topics.yaml"
    path.write_text("cues:\n  rate:\n    phrases: [lai suat]\n  rate:\n    phrases: [cho khong]\n", encoding="utf-8")
    with pytest.raises(ContentError, match="'rate' appears twice"):
        _read_yaml(path)
    path.write_text("base: &b {a: 1}\ncase:\n  <<: *b\n  a: 2\n", encoding="utf-8")
    assert _read_yaml(path)["case"] == {"a": 2}  # a merge key's override is meant


def test_a_copy_with_other_parameters_renders_its_own_figures_and_leaves_the_original_s():
    import dataclasses
    from datetime import date

    from bot.i18n import texts

    content = load_content()
    vi = texts("vi")
    day = date(2026, 11, 22)
    assert content.render("{qd08.min_age}", when=day, texts=vi).startswith("12")
    raised = content.parameters["qd08.min_age"].model_copy(update={"values": {date(2026, 5, 1): 15}})
    copy = dataclasses.replace(content, parameters={**content.parameters, "qd08.min_age": raised})
    assert copy.render("{qd08.min_age}", when=day, texts=vi).startswith("15")
    assert content.render("{qd08.min_age}", when=day, texts=vi).startswith("12")
