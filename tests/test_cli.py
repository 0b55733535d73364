"""The command-line contract, run as a person or a curator would: real processes, real database."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from standins.processes import clean_env

ROOT = Path(__file__).resolve().parent.parent


def _env(data_dir: Path, extra: dict | None = None) -> dict:
    """The environment of a fresh install: no locale or tokens from the caller; the database is
    the test run's (SQLite under `data_dir`, or a PostgreSQL schema of its own when
    TEST_DATABASE_URL is set, so the PostgreSQL pass runs these processes on PostgreSQL)."""
    from tests.conftest import subprocess_database_url

    return clean_env(data_dir, subprocess_database_url(data_dir), extra)


def bot(*args, stdin: str | None = None, data_dir: Path, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = _env(data_dir, extra_env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True, cwd=data_dir, env=env, timeout=120
    )


@pytest.fixture
def workdir(tmp_path):
    return tmp_path


def test_ask_prints_the_answer_with_its_reference(workdir):
    result = bot("ask", "lai suat vay bao nhieu", data_dir=workdir)
    assert result.returncode == 0, result.stderr
    assert "6,24%" in result.stdout and "Căn cứ:" in result.stdout


def test_ask_json_single_question(workdir):
    result = bot("ask", "--json", "vay toi da bao nhieu", data_dir=workdir)
    out = json.loads(result.stdout)
    assert set(out) == {"status", "entry", "score", "text", "suggestions"}
    assert out["status"] == "answer" and "200 triệu" in out["text"] and out["entry"]


def test_ask_json_batch_reads_one_question_per_line_in_order(workdir):
    questions = ["ls bn", "hôm nay trời mưa không", "", "xin chào"]
    result = bot("ask", "--json", stdin="\n".join(questions) + "\n", data_dir=workdir)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(questions)
    assert lines[0]["status"] == "answer" and "6,24%" in lines[0]["text"]
    assert lines[1]["status"] == "fallback" and lines[1]["entry"] == "route:chit_chat"
    assert lines[2]["status"] == "fallback"
    assert lines[3]["entry"] == "intent:greeting"


def test_chat_script_transcript(workdir):
    """Greeting, menu, a question without accents, a press on a suggestion, the answer with its reference."""
    result = bot("chat", "--script", str(ROOT / "tests/data/demo-script.txt"), data_dir=workdir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("Xin chào") < out.index("[1] Hỏi đáp chính sách") < out.index("Bạn: 1")
    suggestion = out.index("Có phải bạn muốn hỏi")
    assert out.index("Bạn: metadon") < suggestion
    pressed = out.index("Bạn: [1] Điều trị bằng thuốc thay thế")
    answer = out[pressed:]
    assert "methadone" in answer and "Căn cứ: QĐ 08/2026/QĐ-TTg" in answer
    assert "6,24%" in out  # "ls bn" typed in teencode
    assert "Traceback" not in result.stderr


@pytest.mark.db
def test_chat_resumes_where_it_was_after_the_process_is_killed(workdir):
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, cwd=workdir, env=_env(workdir),
    )
    proc.stdin.write("menu\n")
    proc.stdin.flush()
    # wait until the menu has been shown, then kill the process without any goodbye
    seen, deadline = "", time.monotonic() + 30
    while "[4]" not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stdout.readline()
    assert "[4]" in seen, "the menu never appeared"
    proc.kill()
    proc.wait(timeout=10)
    result = bot("chat", stdin="1\n", data_dir=workdir)
    assert "Chào bạn quay lại" in result.stdout
    assert "Bạn cứ gõ câu hỏi" in result.stdout  # "1" still meant the first menu item


def test_content_check_passes_on_the_shipped_content(workdir):
    result = bot("content", "check", data_dir=workdir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 errors" in result.stdout


def test_content_unanswered_lists_questions_with_counts(workdir):
    script = workdir / "s.txt"
    script.write_text("thời tiết hôm nay thế nào\nthoi tiet hom nay the nao\n", encoding="utf-8")
    bot("chat", "--script", str(script), data_dir=workdir)
    result = bot("content", "unanswered", data_dir=workdir)
    assert result.returncode == 0
    first = result.stdout.splitlines()[0]
    assert first.split()[0] == "2" and "thời tiết" in first


def test_english_locale_is_selectable(workdir):
    result = bot("--locale", "en", "ask", "xin chao", data_dir=workdir)
    assert "Hello!" in result.stdout and "Policy questions" in result.stdout


def test_run_without_any_channel_configured_starts_the_console(workdir):
    result = bot("run", stdin="ls bn\n", data_dir=workdir)
    assert result.returncode == 0
    assert "starting the console" in result.stderr
    assert "Xin chào" in result.stdout and "6,24%" in result.stdout
