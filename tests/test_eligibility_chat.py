"""The eligibility walkthrough as people use it: typed without accents, at most 8 questions,
back / restart / stop, a FAQ question in the middle, and coming back days later."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.types import Kind
from tests.conftest import make_message, press, run

TRANSCRIPTS = Path(__file__).parent / "data" / "transcripts"
ROOT = Path(__file__).resolve().parent.parent
from tests.test_cli import _env  # noqa: E402 - the database of the run (PostgreSQL when TEST_DATABASE_URL is set)


def chat_script(name: str, tmp_path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--script", str(TRANSCRIPTS / name)],
        capture_output=True, text=True, cwd=tmp_path, env=_env(tmp_path), timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def questions_asked(transcript: str) -> int:
    # Every walkthrough question offers a "Thoát" button.
    return len(re.findall(r"\] Thoát$", transcript, flags=re.M))


def test_a_mother_checking_for_her_16_year_old_son_is_told_he_is_likely_eligible(tmp_path):
    out = chat_script("mother-son-16.txt", tmp_path)
    assert "Người thân của bạn có thể đủ điều kiện vay theo QĐ 08/2026/QĐ-TTg, tối đa 200 triệu đồng." in out
    assert "Căn cứ: QĐ 08/2026/QĐ-TTg" in out
    assert "người thân của bạn" in out.split("Bạn: cho con trai toi")[1]  # wording follows the first answer
    assert questions_asked(out) <= 8
    assert "Đây chưa phải quyết định cho vay" in out  # never "you will get a loan"


def test_a_man_11_years_after_his_decision_is_not_eligible_with_the_rule_and_a_next_step(tmp_path):
    out = chat_script("man-11-years.txt", tmp_path)
    assert "Theo quy định hiện hành, bạn chưa đủ điều kiện vay theo QĐ 08/2026/QĐ-TTg." in out
    assert "không được quá 10 năm" in out and "QĐ 08/2026/QĐ-TTg, Điều 4" in out
    assert "NĐ 338/2025/NĐ-CP" in out  # the next step: job-creation loans
    assert questions_asked(out) <= 8


def test_someone_who_does_not_remember_is_told_an_officer_needs_to_check(tmp_path):
    out = chat_script("does-not-remember.txt", tmp_path)
    assert "Cần cán bộ kiểm tra thêm" in out
    assert "Quyết định quản lý sau cai nghiện" in out.split("Cần cán bộ kiểm tra thêm")[1]
    assert questions_asked(out) <= 8


@pytest.mark.db
def test_back_restart_stop_and_continue_days_later(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    send("kiem tra dieu kien")
    send("ban than")
    replies = send("cai nghien")
    assert "hình thức nào" in replies[-1].text
    replies = send("quay lai")
    assert "thuộc trường hợp nào" in replies[-1].text  # the previous question again
    send("cai nghien")
    replies = send("thoat")
    assert "Đã dừng kiểm tra" in replies[-1].text
    # Days later, from the menu: offered to continue where they stopped.
    replies = run(app.dispatcher.dispatch(press("elig:start")))
    assert "Lần trước bạn đã trả lời 2 câu hỏi" in replies[-1].text
    replies = send("1")  # Tiếp tục
    assert "hình thức nào" in replies[-1].text
    replies = send("lam lai")
    assert "hỏi cho bản thân hay cho người thân" in replies[-1].text


@pytest.mark.db
def test_a_policy_question_in_the_middle_is_answered_and_the_question_asked_again(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    send("kiem tra dieu kien")
    send("ban than")
    replies = send("lãi suất bao nhiêu")
    assert "6,24%" in replies[0].text
    assert "Để tiếp tục kiểm tra điều kiện vay" in replies[-1].text
    replies = send("cai nghien")  # and the walkthrough goes on
    assert "hình thức nào" in replies[-1].text


@pytest.mark.db
def test_a_story_typed_at_a_question_answers_it_and_the_questions_it_covers(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    send("kiem tra dieu kien")
    replies = send("em mới cai về")  # for whom? yourself, after rehab: both answered at once
    assert "ghi nhận" in replies[0].text
    assert "hình thức nào" in replies[-1].text
    assert "Chia sẻ" not in replies[0].text and "chia sẻ" not in replies[0].text  # not the FAQ's "thank you for sharing"


@pytest.mark.db
def test_a_correction_mid_check_asks_the_other_programmes_questions(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    for text in ("kiem tra dieu kien", "ban than", "cai nghien", "tu nguyen"):
        send(text)
    replies = send("à nhầm, ra tù chứ không phải cai")
    assert "sửa lại" in replies[0].text
    assert "chấp hành xong án phạt tù" in replies[-1].text  # the prison questions, not the rehab ones
    for text in ("co", "2 năm", "co", "chăn nuôi", "50 triệu"):
        replies = send(text)
    assert "QĐ 22/2023/QĐ-TTg" in replies[-1].text and "QĐ 08/2026" not in replies[-1].text.split("Căn cứ")[0]


@pytest.mark.db
def test_a_year_corrected_mid_check_is_asked_again_from_there(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    for text in ("kiem tra dieu kien", "ban than", "ra tu", "co", "nam 2024"):
        replies = send(text)
    replies = send("xin lỗi em nói lộn, em ra tù năm 2015")
    assert "sửa lại" in replies[0].text
    assert "chưa đủ điều kiện" in replies[-1].text  # out 11 years: past the 5-year window


@pytest.mark.db
def test_a_fact_told_that_no_pending_question_asks_is_noted_not_answered_with_a_faq_entry(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    for text in ("kiem tra dieu kien", "ban than", "ra tu"):
        send(text)
    replies = send("35 tuoi")  # no age question after prison: noted, the certificate asked again
    assert "ghi nhận" in replies[0].text and "giấy chứng nhận" in replies[-1].text
    assert "12 tuổi" not in "\n".join(r.text for r in replies)  # not the rehab programme's age rule


@pytest.mark.db
def test_typed_quantities_are_not_taken_for_button_numbers(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    for text in ("kiem tra dieu kien", "ban than", "cai nghien", "bat buoc"):
        send(text)
    replies = send("3 năm")  # three years, not button 3 ("Hơn 10 năm")
    assert "bao nhiêu tuổi" in replies[-1].text


@pytest.mark.db
def test_a_stale_answer_button_pressed_twice_gets_the_current_question(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    send("kiem tra dieu kien")
    run(app.dispatcher.dispatch(press("elig:a:for_whom:0")))
    for _ in range(2):
        replies = run(app.dispatcher.dispatch(press("elig:a:for_whom:1")))
        assert "Nút này đã cũ" in replies[0].text
        assert "thuộc trường hợp nào" in replies[-1].text


@pytest.mark.db
def test_a_business_owner_gets_the_business_questions(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    send("kiem tra dieu kien")
    replies = send("cong ty")
    assert "sử dụng lao động" in replies[-1].text
    send("sau cai nghien")
    send("co")
    send("20")
    send("2")
    send("co")
    replies = send("1,5 ty")
    assert "Cơ sở của bạn có thể đủ điều kiện vay theo QĐ 08/2026/QĐ-TTg, tối đa 2 tỷ đồng." in replies[-1].text


@pytest.mark.db
def test_reopening_mid_walkthrough_shows_the_pending_question(app):
    send = lambda text: run(app.dispatcher.dispatch(make_message(text)))
    send("kiem tra dieu kien")
    send("ban than")
    replies = run(app.dispatcher.dispatch(make_message(kind=Kind.OPEN)))
    assert "quay lại" in replies[0].text
    assert "thuộc trường hợp nào" in replies[-1].text
    assert send("1")[-1].text.startswith("Bạn đã hoàn thành hình thức nào")  # "1" is the first option shown


@pytest.mark.parametrize(
    "question, typed, expected",
    [
        ("for_whom", "cho vo toi", "relative"), ("for_whom", "cho bo toi", "relative"), ("for_whom", "cho em trai", "relative"),
        ("for_whom", "toi", "self"), ("for_whom", "cty cua toi", "business"),
        ("rehab_completion", "cai tai nha", "voluntary"), ("rehab_completion", "metadon", "substitution_treatment"),
        ("residence", "co, o xa nay", True), ("residence", "khong o day", False), ("residence", "co nha", True),
        ("outstanding_training_loan", "khong co", False), ("outstanding_training_loan", "chua vay", False),
        ("purpose", "trong rau", "business"), ("purpose", "hoc nghe sua xe", "vocational_training"),
        ("release_time", "vua ra", [0.0, 5.0]), ("decision_time", "hon 10 nam", (10.01, 80.0)),
        ("decision_time", "ko nho", None), ("release_certificate", "mat roi", False),
    ],
)
def test_answers_typed_the_way_people_type_them(brain, ctx, question, typed, expected):
    from handlers.eligibility import parse_answer

    spec = next(q for q in brain.content.questions.questions if q.id == question)
    found, value = parse_answer(ctx, spec, typed)
    assert found and value == expected


@pytest.mark.db
def test_no_decision_yet_is_not_counted_as_a_recent_one_and_an_old_one_is_told_to_hurry(app):
    def walk(chat_id, when):
        send = lambda text: run(app.dispatcher.dispatch(make_message(text, chat_id=chat_id)))
        for text in ("kiem tra dieu kien", "ban than", "cai nghien", "bat buoc", when, "25", "co", "lam an", "50 trieu"):
            replies = send(text)
        return "\n".join(r.text for r in replies)

    # "Came back last month, no decision yet": the window cannot be counted, an officer checks.
    text = walk("e1", "e moi ve thang truoc a, chua co quyet dinh gi het")
    assert "Cần cán bộ" in text and "đến nay không quá 10 năm" not in text and "gần hết thời hạn" not in text
    # A decision of 2017 is still in the window, a year from its end: register soon.
    text = walk("e2", "năm 2017")
    assert "đến nay không quá 10 năm" in text and "gần hết thời hạn" in text
    text = walk("e3", "năm 2022")
    assert "gần hết thời hạn" not in text
