"""`python -m bot report`: the JSON contract and the XLSX's small counts, run as a real process on
the run's database (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

import io
import json
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from bot.app import build_app
from bot.vntime import vietnam_date
from storage.db import make_engine
from storage.models import utcnow
from tests.conftest import subprocess_database_url
from tests.registration_helpers import officer_chat
from tests.test_cli import bot
from tests.test_list_flow import bound, register

pytestmark = pytest.mark.db

CONTRACT = {"commune", "from", "to", "registrations", "by_status", "by_programme", "by_purpose", "requested_vnd", "granted_vnd",
            "median_days"}


@pytest.fixture
def cli_app(tmp_path, settings, brain):
    """An app on the database the `python -m bot` processes of this test use."""
    engine = make_engine(subprocess_database_url(tmp_path))
    yield build_app(settings, brain=brain, engine=engine)
    engine.dispose()


def play(app) -> None:
    """Three people registered; police verify two and reject one; list closed and confirmed; the
    bank grants one loan and not the other; a fourth person deleted their data."""
    from tests.test_list_flow import by_name

    register(app, "an", "le van an", "0912 111 001")
    register(app, "binh", "tran van binh", "0912 111 002")
    register(app, "cuong", "pham van cuong", "0912 111 003", "Người đã chấp hành xong án phạt tù")
    gone = register(app, "dung", "do van dung", "0912 111 004")
    gone.tap("me:delete")
    gone.press("Có, xóa dữ liệu")
    police = officer_chat(app)
    police.tap(f"off:okall:17035:{by_name(app, 'Le Van An').id}-{by_name(app, 'Tran Van Binh').id}")
    police.tap(f"off:no:{by_name(app, 'Pham Van Cuong').id}")
    police.press("Không cư trú hợp pháp tại xã")
    police.tap("lst:close:17035")
    committee = bound(app, "committee", "committee")
    committee.say("/canbo")
    committee.press("Danh sách tháng")
    committee.press("Tháng ")
    committee.press("Xác nhận danh sách")
    committee.say(f"Nguyễn Văn An; Chủ tịch UBND xã; {vietnam_date(utcnow()):%d/%m/%Y}")
    bank = bound(app, "bank", "bank")
    bank.say("/canbo")
    bank.press("Danh sách tháng")
    bank.press("Tháng ")
    bank.press("Đã nhận danh sách")
    bank.tap(f"lst:grant:{by_name(app, 'Le Van An').id}")
    bank.say("50 triệu")
    bank.tap(f"lst:deny:{by_name(app, 'Tran Van Binh').id}")
    bank.say("Chưa đủ hồ sơ")


def period() -> tuple[str, str]:
    today = vietnam_date(utcnow())
    return (today - timedelta(days=30)).isoformat(), today.isoformat()


def test_report_json_contract(cli_app, tmp_path):
    play(cli_app)
    start, end = period()
    result = bot("report", "--commune", "17035", "--from", start, "--to", end, "--json", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= CONTRACT
    assert report["commune"] == 17035 and report["from"] == start and report["to"] == end
    assert report["registrations"] == 4
    for key in ("by_status", "by_programme", "by_purpose"):
        assert sum(report[key].values()) == report["registrations"], key
    assert {k: v for k, v in report["by_status"].items() if v} == {"granted": 1, "not_granted": 1, "rejected": 1, "deleted": 1}
    assert report["by_programme"] == {"qd08_2026": 2, "qd22_2023": 1, "unknown": 1}
    assert report["by_purpose"]["business"] == 3 and report["by_purpose"]["unknown"] == 1
    assert (report["verified"], report["confirmed"], report["granted"]) == (2, 2, 1)
    assert report["requested_vnd"] == 150_000_000 and report["granted_vnd"] == 50_000_000
    assert set(report["median_days"]) == {"verified", "proposed", "confirmed", "received", "decided"}
    assert all(isinstance(v, (int, float)) and 0 <= v < 1 for v in report["median_days"].values())
    # A period before anything was registered: zeros that still add up.
    empty = json.loads(bot("report", "--commune", "17035", "--from", "2020-01-01", "--to", "2020-06-30", "--json",
                           data_dir=tmp_path).stdout)
    assert empty["registrations"] == 0 and sum(empty["by_status"].values()) == 0 and empty["median_days"]["verified"] is None
    # The province's report holds the commune's figures.
    province = json.loads(bot("report", "--province", "40", "--from", start, "--to", end, "--json", data_dir=tmp_path).stdout)
    assert province["commune"] is None and province["province"] == 40 and province["registrations"] == 4


def test_report_xlsx_shows_counts_under_three_as_less_than_three(cli_app, tmp_path):
    play(cli_app)
    start, end = period()
    out = tmp_path / "r.xlsx"
    result = bot("report", "--commune", "17035", "--from", start, "--to", end, "--out", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {r[0].strip(): r[1] for r in load_workbook(io.BytesIO(out.read_bytes())).active.iter_rows(values_only=True)
            if r and r[0] and len(r) > 1}
    assert rows["Số đăng ký trong kỳ"] == 4
    assert rows["Người sau cai nghiện ma túy"] == "< 3" and rows["Người đã chấp hành xong án phạt tù"] == "< 3"
    assert rows["Sản xuất, kinh doanh"] == 3
    assert rows["Đã được cho vay"] == "< 3" and rows["Số tiền đã cho vay, đồng"] == 50_000_000
    assert "0912" not in repr(rows) and "Le Van An" not in repr(rows)


def test_report_refuses_bad_input_kindly(tmp_path):
    assert bot("report", "--commune", "17035", "--from", "2026-13-01", "--to", "2026-12-31", data_dir=tmp_path).returncode == 2
    assert bot("report", "--from", "2026-01-01", "--to", "2026-12-31", data_dir=tmp_path).returncode == 2
    assert bot("report", "--commune", "17035", "--from", "2026-12-31", "--to", "2026-01-01", data_dir=tmp_path).returncode == 2


def test_report_figures_follow_every_change_in_the_same_process(app, brain):
    """The figures a page shows are kept between reads (only changed registrations read again):
    each step, each new registration and an erasure shows at the next read."""
    from bot.registration import report
    from storage.db import transaction
    from tests.test_list_flow import by_name

    start, end = (vietnam_date(utcnow()) - timedelta(days=1)), vietnam_date(utcnow())

    def figures() -> dict:
        with transaction(app.engine) as session:
            return report.build(session=session, cipher=app.dispatcher.cipher, form=brain.content.registration,
                                communes=[17035], start=start, end=end, commune=17035)

    register(app, "an", "le van an", "0912 111 001")
    first = figures()
    assert first["registrations"] == 1 and first["by_status"]["pending"] == 1 and first["requested_vnd"] == 50_000_000
    assert first["by_month"] == {f"{end:%Y-%m}": 1} or sum(first["by_month"].values()) == 1
    gone = register(app, "dung", "do van dung", "0912 111 004")
    assert figures()["registrations"] == 2
    police = officer_chat(app)
    police.tap(f"off:ok:{by_name(app, 'Le Van An').id}")
    after = figures()
    assert after["by_status"]["verified"] == 1 and after["verified"] == 1 and after["median_days"]["verified"] is not None
    gone.tap("me:delete")
    gone.press("Có, xóa dữ liệu")
    erased = figures()
    assert erased["by_status"]["deleted"] == 1 and erased["by_status"]["pending"] == 0
    assert erased["requested_vnd"] == 50_000_000 and erased["by_programme"]["unknown"] == 1
