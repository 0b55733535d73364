"""The registration acceptance, run as people and operators would: real processes, one database."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from tests.test_cli import ROOT, bot

TRANSCRIPTS = ROOT / "tests/data/transcripts"
pytestmark = pytest.mark.db  # real processes on the run's database (PostgreSQL in the PostgreSQL pass)


def this_month() -> str:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")


def database_bytes(workdir: Path) -> bytes:
    from tests.conftest import database_dump

    return database_dump(workdir)


def test_demo_data_exports_names_and_phones_that_are_nowhere_in_plain_text_in_the_database(tmp_path):
    made = bot("demo-data", "--commune", "17035", "--n", "12", data_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "list.xlsx"
    exported = bot("export", "--commune", "17035", "--month", this_month(), "--out", str(out), data_dir=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    header = rows[1]
    name, phone, status = header.index("Họ và tên"), header.index("Số điện thoại"), header.index("Trạng thái")
    verified = [r for r in rows[2:] if r[status].startswith("đã xác minh")]
    assert verified and all(r[name] and r[phone] for r in verified)
    stored = database_bytes(tmp_path)
    for row in rows[2:]:
        assert row[name].encode() not in stored and row[phone].encode() not in stored
    csv_out = tmp_path / "list.csv"
    assert bot("export", "--commune", "17035", "--month", this_month(), "--out", str(csv_out), data_dir=tmp_path).returncode == 0
    title, header = csv_out.read_text(encoding="utf-8-sig").splitlines()[:2]
    assert "NỘI BỘ" in title and header.startswith("STT,Họ và tên,Năm sinh")


def test_wife_registers_officer_verifies_she_sees_it_then_deletes_her_data(tmp_path):
    wife = bot("chat", "--user", "wife", "--script", str(TRANSCRIPTS / "registration-wife.txt"), data_dir=tmp_path)
    assert wife.returncode == 0, wife.stderr
    out = wife.stdout
    for seen in ("Bạn là gì của người cần vay?", "Bạn có đồng ý không?", "Tên không có chữ số", "chưa đọc được năm sinh",
                 "Số điện thoại chưa đúng", "Xã Quỳ Hợp", "Bạn kiểm tra lại thông tin", "Mã đăng ký của bạn"):
        assert seen in out, seen
    reference = out.split("Mã đăng ký của bạn: ")[1].split()[0]

    invited = bot("officers", "invite", "--commune", "17035", data_dir=tmp_path)
    code = invited.stdout.splitlines()[1].strip()
    script = (TRANSCRIPTS / "officer-verify.txt").read_text(encoding="utf-8").replace("{code}", code)
    officer = bot("chat", "--user", "officer", "--script", "-", stdin=script, data_dir=tmp_path)
    assert "Đã kích hoạt tài khoản cán bộ" in officer.stdout
    assert f"Đã xác minh đăng ký {reference}" in officer.stdout
    second = bot("chat", "--user", "officer2", "--script", "-", stdin=f"/canbo {code}\n", data_dir=tmp_path)
    assert second.stdout.count("Mã mời không đúng") == 1

    back = bot("chat", "--user", "wife", "--script", "-", stdin="/hoso\n", data_dir=tmp_path)
    assert "đã xác minh" in back.stdout and reference in back.stdout

    deleted = bot("chat", "--user", "wife", "--script", str(TRANSCRIPTS / "delete-data.txt"), data_dir=tmp_path)
    assert "Đã xóa dữ liệu" in deleted.stdout, deleted.stdout
    listed = bot("chat", "--user", "officer", "--script", "-", stdin="/canbo\n#1\n", data_dir=tmp_path)
    assert "Tran Van Binh" not in listed.stdout
    assert b"Tran Van Binh" not in database_bytes(tmp_path)


def test_officers_list_and_revoke(tmp_path):
    code = bot("officers", "invite", "--commune", "3646", "--role", "admin", data_dir=tmp_path).stdout.splitlines()[1]
    bot("chat", "--user", "o", "--script", "-", stdin=f"/canbo {code}\n", data_dir=tmp_path)
    listed = bot("officers", "list", data_dir=tmp_path)
    assert "admin" in listed.stdout and "Phường Tô Hiệu, Sơn La (3646)" in listed.stdout
    officer_id = listed.stdout.split()[0]
    assert bot("officers", "revoke", officer_id, data_dir=tmp_path).returncode == 0
    assert "không có quyền" in bot("chat", "--user", "o", "--script", "-", stdin="/canbo\n", data_dir=tmp_path).stdout
    assert bot("officers", "invite", "--commune", "999999", data_dir=tmp_path).returncode == 2


def test_keys_rotate_re_encrypts_so_the_old_key_can_be_dropped(tmp_path):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    bot("demo-data", "--commune", "17035", "--n", "3", data_dir=tmp_path, extra_env={"DATA_ENCRYPTION_KEYS": old})
    rotated = bot("keys", "rotate", data_dir=tmp_path, extra_env={"DATA_ENCRYPTION_KEYS": f"{new},{old}"})
    assert "registrations: 3 re-encrypted" in rotated.stdout, rotated.stderr
    out = tmp_path / "l.csv"
    bot("export", "--commune", "17035", "--month", this_month(), "--out", str(out), data_dir=tmp_path,
        extra_env={"DATA_ENCRYPTION_KEYS": new})
    assert "Mẫu" in out.read_text(encoding="utf-8-sig")


def test_a_bank_office_is_invited_for_several_communes_and_others_for_one(tmp_path):
    result = bot("officers", "invite", "--role", "bank", "--commune", "17035", "--commune", "17059", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Xã Quỳ Hợp, Xã Tam Hợp (bank)" in result.stdout
    refused = bot("officers", "invite", "--role", "committee", "--commune", "17035", "--commune", "17059", data_dir=tmp_path)
    assert refused.returncode == 2 and "Only a bank office" in refused.stderr


def test_export_onward_needs_a_closed_list(tmp_path):
    bot("demo-data", "--commune", "17035", "--n", "3", data_dir=tmp_path)
    out = tmp_path / "onward.xlsx"
    result = bot("export", "--commune", "17035", "--month", this_month(), "--onward", "--out", str(out), data_dir=tmp_path)
    assert result.returncode == 1 and "not been closed" in result.stderr and not out.exists()
