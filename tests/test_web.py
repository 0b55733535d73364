"""The officers' web pages over real HTTP (httpx against the aiohttp server on 127.0.0.1): the
login link, the session cookie, CSRF, the security headers, role and commune scoping, the audit.
The same flows in a real browser are in tests/test_web_browser.py."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from standins.web import QUY_HOP, TAM_HOP, Server, bind, log_in, people
from storage import officers, registrations
from storage.db import transaction
from storage.models import AuditEntry, Registration, WebSession, utcnow
from tests.conftest import subprocess_database_url
from tests.registration_helpers import inbox_of

pytestmark = pytest.mark.db


@pytest.fixture
def served(app):
    with Server(app) as server:
        yield server


def logged_in(server, officer_id: int) -> httpx.Client:
    client = httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)
    link = server.link(officer_id)
    assert "Đăng nhập" in client.get(link).text
    home = log_in(client, link)
    assert home.status_code == 200 and "Việc hôm nay" in home.text, home.text
    return client


def csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)


def audit_actions(app) -> list[str]:
    with transaction(app.engine) as session:
        return [a.action for a in session.exec(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_login_link_works_once_and_sets_a_strict_http_only_cookie(app, served):
    officer = bind(app)
    client = httpx.Client(base_url=served.url, timeout=30)
    link = served.link(officer)
    token = link.split("t=")[1]
    assert client.get(link).status_code == 200  # showing the page uses nothing up (link previews)
    # Another site posting the link (without the page's cookie and CSRF token) is refused and spends nothing.
    forged = httpx.post(f"{served.url}/web/login", data={"t": token, "csrf": csrf(client.get(link))})
    assert forged.status_code == 403 and "web_login" not in audit_actions(app)
    page = client.get(link)
    logged = client.post("/web/login", data={"t": token, "csrf": csrf(page)})
    assert logged.status_code == 303
    cookie = logged.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # PUBLIC_BASE_URL is not https
    # The same link again, even from its own page with a valid cookie and token: refused.
    again = httpx.post(f"{served.url}/web/login", data={"t": token, "csrf": csrf(page)}, cookies={"login": page.cookies["login"]})
    assert again.status_code == 403 and "đã được dùng hoặc đã hết hạn" in again.text
    assert httpx.get(link).status_code == 403
    with transaction(app.engine) as session:  # only hashes are stored
        stored = session.exec(select(WebSession)).one()
        assert stored.token_hash not in cookie and token not in stored.token_hash
    assert "web_login" in audit_actions(app)


def test_an_expired_link_or_an_idle_session_or_a_revoked_binding_lets_nobody_in(app, served):
    officer = bind(app)
    link = served.link(officer)
    client = httpx.Client(base_url=served.url, timeout=30)
    page = client.get(link)  # the page was open; the link expires before the button is pressed
    with transaction(app.engine) as session:
        from storage.models import WebLogin

        row = session.exec(select(WebLogin)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    expired = client.post("/web/login", data={"t": link.split("t=")[1], "csrf": csrf(page)})
    assert expired.status_code == 403 and "đã được dùng hoặc đã hết hạn" in expired.text

    client = logged_in(served, officer)
    with transaction(app.engine) as session:
        row = session.exec(select(WebSession)).one()
        row.last_seen_at = utcnow() - timedelta(hours=8, minutes=1)  # WEB_SESSION_IDLE_HOURS defaults to 8
        session.add(row)
    assert client.get("/web/").status_code == 401

    client = logged_in(served, officer)
    assert client.get("/web/").status_code == 200
    with transaction(app.engine) as session:
        officers.revoke(session=session, officer_id=officer, now=utcnow())
    page = client.get("/web/")
    assert page.status_code == 401 and "Phiên làm việc đã kết thúc" in page.text


def test_pages_carry_the_security_headers(app, served):
    client = logged_in(served, bind(app))
    page = client.get("/web/registrations")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in page.text and "style=" not in page.text and "http" not in page.text.split("<body>")[1]
    css = client.get("/web/static/web.css")
    assert css.status_code == 200 and "font-family" in css.text
    assert client.get("/web/nothing-here").headers["content-security-policy"] == csp


def test_a_post_without_the_csrf_token_changes_nothing(app, served):
    officer = bind(app)
    rows = people(app)
    waiting = next(r for r in rows if r.status == registrations.PENDING)
    client = logged_in(served, officer)
    refused = client.post(f"/web/registrations/{waiting.id}/decide", data={"decision": "verified"})
    assert refused.status_code == 403 and "Yêu cầu không hợp lệ" in refused.text
    forged = client.post(f"/web/registrations/{waiting.id}/decide", data={"decision": "verified", "csrf": "0" * 64})
    assert forged.status_code == 403
    with transaction(app.engine) as session:
        assert session.get(Registration, waiting.id).status == registrations.PENDING
    assert client.post("/web/logout").status_code == 403  # logging out is a POST too
    assert client.get("/web/").status_code == 200
    # Every refused token is audited: the decision, and the logout posted without one.
    assert audit_actions(app).count("web_csrf_refused") >= 3


def test_search_verify_one_and_several_tell_each_person_and_are_audited(app, served):
    officer = bind(app)
    rows = people(app, n=12)
    client = logged_in(served, officer)
    found = client.get("/web/registrations", params={"q": rows[0].reference})
    assert "1 hồ sơ" in found.text and rows[0].reference[:3] in found.text
    by_name = client.get("/web/registrations", params={"q": "mau 05"})  # accents optional
    assert "Văn Mẫu 05" in by_name.text and "Thị Thử 02" not in by_name.text
    by_phone = client.get("/web/registrations", params={"q": "0900 000 003"})
    assert "Văn Thử 03" in by_phone.text

    waiting = [r for r in rows if r.status in (registrations.PENDING, registrations.NEEDS_INFO)]
    one = client.get(f"/web/registrations/{waiting[0].id}")
    done = client.post(f"/web/registrations/{waiting[0].id}/decide",
                       data={"decision": "verified", "version": str(waiting[0].version), "csrf": csrf(one)})
    assert "Đã xác minh. Người đăng ký đã được báo." in done.text
    listed = client.get("/web/registrations", params={"status": "pending"})
    several = client.post("/web/registrations/verify", data={"id": [str(r.id) for r in waiting[1:]] + [str(waiting[0].id)],
                                                           "csrf": csrf(listed), "back": "status=pending"})
    assert f"Đã xác minh {len(waiting) - 1} hồ sơ." in several.text and "1 hồ sơ bỏ qua" in several.text
    with transaction(app.engine) as session:
        assert all(session.get(Registration, r.id).status == registrations.VERIFIED for r in waiting)
    assert any("đã được xác minh" in text or "xác minh" in text for text in inbox_of(app, waiting[0].chat_id, "demo"))
    actions = audit_actions(app)
    assert "search" in actions and "view" in actions and actions.count("decide:verified") == len(waiting)


def test_another_communes_registration_and_the_committees_view_of_the_queue_are_refused(app, served):
    officer = bind(app)
    theirs = people(app, commune=TAM_HOP, n=3)
    client = logged_in(served, officer)
    page = client.get(f"/web/registrations/{theirs[0].id}")
    assert page.status_code == 403 and "Không có quyền" in page.text and theirs[0].reference not in page.text
    post = client.get("/web/registrations")
    refused = client.post(f"/web/registrations/{theirs[0].id}/decide", data={"decision": "verified", "csrf": csrf(post)})
    assert refused.status_code == 403
    several = client.post("/web/registrations/verify", data={"id": [str(theirs[0].id)], "csrf": csrf(post)})
    assert "Đã xác minh 0 hồ sơ." in several.text
    assert "Không tìm thấy hồ sơ nào" in client.get("/web/registrations", params={"q": theirs[0].reference}).text
    with transaction(app.engine) as session:
        assert session.get(Registration, theirs[0].id).status == theirs[0].status

    committee = logged_in(served, bind(app, role="committee", chat_id="web-committee"))
    assert committee.get("/web/registrations").status_code == 403
    assert committee.get(f"/web/registrations/{theirs[0].id}").status_code == 403


def test_logout_ends_the_session(app, served):
    client = logged_in(served, bind(app))
    home = client.get("/web/")
    out = client.post("/web/logout", data={"csrf": csrf(home)})
    assert out.status_code == 200 and "Anh/chị đã đăng xuất" in out.text
    assert client.get("/web/").status_code == 401
    assert "web_logout" in audit_actions(app)


def test_the_cli_prints_a_login_link_on_its_last_line(tmp_path):
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": subprocess_database_url(tmp_path), "PUBLIC_BASE_URL": "https://bot.example.vn",
           "PATH": "/usr/bin:/bin"}
    invite = subprocess.run([sys.executable, "-m", "bot", "officers", "invite", "--commune", str(QUY_HOP)], env=env,
                            capture_output=True, text=True, check=True)
    code = invite.stdout.splitlines()[1]
    from tests.conftest import subprocess_engine

    engine = subprocess_engine(tmp_path)  # the subprocess's key ring: chat ids are sealed
    with transaction(engine) as session:
        officer_id = officers.redeem_invite(session=session, code=code, channel="test", chat_id="cli-officer", now=utcnow())[0].id
    engine.dispose()
    listing = subprocess.run([sys.executable, "-m", "bot", "officers", "list"], env=env, capture_output=True, text=True, check=True)
    assert listing.stdout.split()[0] == str(officer_id)
    out = subprocess.run([sys.executable, "-m", "bot", "officers", "login-link", str(officer_id)], env=env,
                         capture_output=True, text=True, check=True)
    assert re.fullmatch(r"https://bot\.example\.vn/web/login\?t=[\w-]{40,}", out.stdout.splitlines()[-1])
    missing = subprocess.run([sys.executable, "-m", "bot", "officers", "login-link", "999"], env=env, capture_output=True, text=True)
    assert missing.returncode == 1


def test_the_officer_menu_sends_a_one_time_link_for_the_binding(app, settings, served):
    from tests.registration_helpers import Chat, officer_chat

    settings.public_base_url = served.url
    officer = officer_chat(app, "web-chat")
    assert "Mở trang quản lý" in officer.labels
    officer.press("Mở trang quản lý")
    assert "dùng một lần, trong 10 phút" in officer.text and "Xã Quỳ Hợp" in officer.text
    link = re.search(r"http://\S+", officer.text).group(0)
    client = httpx.Client(base_url=served.url, follow_redirects=True, timeout=30)
    assert "Việc hôm nay" in log_in(client, link).text
    officer.say("/web")
    assert re.search(r"http://\S+", officer.text).group(0) != link  # a new link each time
    stranger = Chat(app, "not-an-officer")
    stranger.say("/web")
    assert "http" not in stranger.text
    settings.public_base_url = ""
    officer.say("/web")
    assert "chưa được bật" in officer.text


def test_the_months_list_from_the_police_to_the_bank_on_the_web(app, served):
    import io

    from openpyxl import load_workbook

    rows = people(app, n=12)
    verified = [r for r in rows if r.status == registrations.VERIFIED]
    police = logged_in(served, bind(app))
    committee = logged_in(served, bind(app, role="committee", chat_id="web-committee"))
    bank_id = bind(app, role="bank", chat_id="web-bank")
    bank = logged_in(served, bank_id)

    page = police.get("/web/lists")
    assert f"{len(verified)} người đã xác minh" in page.text
    working = police.get("/web/export", params={"fmt": "csv"})
    assert working.headers["content-disposition"].startswith("attachment") and "noi-bo" in working.headers["content-disposition"]
    assert working.headers["cache-control"] == "no-store"
    assert committee.get("/web/export").status_code == 403  # the working list stays with the police
    assert committee.post("/web/lists/close", data={"csrf": csrf(committee.get("/web/lists"))}).status_code == 403
    closed = police.post("/web/lists/close", data={"csrf": csrf(page)})
    assert "Đã chốt danh sách" in closed.text and f"{len(verified)} người" in closed.text
    list_id = int(re.search(r"/web/lists/(\d+)/export", closed.text).group(1))
    assert bank.get(f"/web/lists/{list_id}").status_code == 403  # the bank never sees an unconfirmed list

    shown = committee.get(f"/web/lists/{list_id}")
    assert "Xác nhận danh sách" in shown.text
    future = committee.post(f"/web/lists/{list_id}/confirm", data={"signer": "Nguyễn Văn Ký", "title": "Phó Chủ tịch UBND xã",
                                                                   "signed_on": "2099-01-01", "csrf": csrf(shown)})
    assert "không sau hôm nay" in future.text
    confirmed = committee.post(f"/web/lists/{list_id}/confirm", data={"signer": "Nguyễn Văn Ký", "title": "Phó Chủ tịch UBND xã",
                                                                      "signed_on": "", "csrf": csrf(shown)})
    assert "Đã xác nhận danh sách" in confirmed.text and "Người ký: Nguyễn Văn Ký" in confirmed.text

    shown = bank.get(f"/web/lists/{list_id}")
    received = bank.post(f"/web/lists/{list_id}/receive", data={"csrf": csrf(shown)})
    assert "Đã ghi nhận ngân hàng nhận danh sách" in received.text
    onward = bank.get(f"/web/lists/{list_id}/export", params={"fmt": "xlsx"})
    sheet = list(load_workbook(io.BytesIO(onward.content)).active.iter_rows(values_only=True))
    assert sum(1 for line in sheet if any(r.reference in str(line) or
                                          f"{r.reference[:3]}-{r.reference[3:]}" in str(line) for r in verified)) == len(verified)
    first, second = verified[0], verified[1]
    granted = bank.post(f"/web/registrations/{first.id}/outcome", data={"outcome": "granted", "amount": "50 triệu", "on": "",
                                                                       "csrf": csrf(received)})
    assert "Đã ghi kết quả" in granted.text and "Đã cho vay 50.000.000 đ" in granted.text
    denied = bank.post(f"/web/registrations/{second.id}/outcome", data={"outcome": "not_granted", "reason": "Hết nguồn vốn quý này",
                                                                       "csrf": csrf(received)})
    assert "Đã ghi kết quả" in denied.text
    assert police.post(f"/web/registrations/{verified[2].id}/outcome",
                       data={"outcome": "person_withdrew", "csrf": csrf(police.get("/web/"))}).status_code == 403
    with transaction(app.engine) as session:
        assert session.get(Registration, first.id).status == registrations.GRANTED
        assert session.get(Registration, second.id).status == registrations.NOT_GRANTED
    assert any("50.000.000" in text for text in inbox_of(app, first.chat_id, "demo"))
    actions = audit_actions(app)
    for action in ("list:close", "list:confirm", "list:receive", "outcome:granted", "outcome:not_granted", "export", "export_onward",
                   "list:view"):
        assert action in actions, action

    elsewhere = logged_in(served, bind(app, role="committee", commune=TAM_HOP, chat_id="web-committee-2"))
    assert elsewhere.get(f"/web/lists/{list_id}").status_code == 403
    assert elsewhere.get(f"/web/lists/{list_id}/export").status_code == 403


def test_the_reports_page_draws_its_charts_on_the_server_and_gives_the_xlsx(app, served):
    people(app, n=20)
    bank = logged_in(served, bind(app, role="bank", chat_id="web-bank"))
    page = bank.get("/web/reports")
    assert page.status_code == 200 and page.text.count("<svg") == 5 and "<script" not in page.text
    assert "Đăng ký theo tháng" in page.text and "Số tiền đề nghị và đã cho vay" in page.text
    figures = re.findall(r'<div class="figure"><b>(\d+)</b>', page.text)
    assert figures[0] == "20"
    narrow = bank.get("/web/reports", params={"from": "2020-01-01", "to": "2020-01-31"})
    assert re.findall(r'<div class="figure"><b>(\d+)</b>', narrow.text)[0] == "0"
    xlsx = bank.get("/web/reports/xlsx")
    assert xlsx.content[:2] == b"PK" and "attachment" in xlsx.headers["content-disposition"]
    assert audit_actions(app).count("report") == 3


def test_peoples_questions_answered_on_the_web_reach_the_person(app, served):
    with transaction(app.engine) as session:
        cipher = app.dispatcher.cipher
        mine = registrations.add_question(session=session, channel="test", chat_id="asker", commune_code=QUY_HOP,
                                          question=cipher.encrypt("Tôi cần giấy tờ gì để vay?"), phone=None, now=utcnow()).id
        theirs = registrations.add_question(session=session, channel="test", chat_id="other", commune_code=TAM_HOP,
                                            question=cipher.encrypt("Hỏi xã khác"), phone=None, now=utcnow()).id
    police = logged_in(served, bind(app))
    listing = police.get("/web/questions")
    assert "Tôi cần giấy tờ gì để vay?" in listing.text and "Hỏi xã khác" not in listing.text
    assert police.get(f"/web/questions/{theirs}").status_code == 403
    shown = police.get(f"/web/questions/{mine}")
    done = police.post(f"/web/questions/{mine}/reply", data={"answer": "Anh/chị mang CCCD đến công an xã.", "csrf": csrf(shown)})
    assert "Đã gửi câu trả lời." in done.text and "Không có câu hỏi nào chưa trả lời." in done.text
    assert any("mang CCCD" in text for text in inbox_of(app, "asker"))
    assert "answer_question" in audit_actions(app)
    bank = logged_in(served, bind(app, role="bank", chat_id="web-bank"))
    assert bank.get("/web/questions").status_code == 403


def test_the_admin_invites_revokes_and_searches_the_audit_log_of_their_own_commune_only(app, served):
    admin = logged_in(served, bind(app, role="admin", chat_id="web-admin"))
    colleague = bind(app, chat_id="web-colleague")
    other = logged_in(served, colleague)
    elsewhere = bind(app, commune=TAM_HOP, chat_id="web-elsewhere")
    page = admin.get("/web/admin")
    assert f"Số {colleague}: Công an xã" in page.text and f"Số {elsewhere}:" not in page.text
    made = admin.post("/web/admin/invite", data={"role": "committee", "csrf": csrf(page)})
    code = re.search(r'id="invite-code">([A-Z0-9]+)<', made.text).group(1)
    with transaction(app.engine) as session:
        bound = officers.redeem_invite(session=session, code=code, channel="test", chat_id="new-committee", now=utcnow())
        assert bound[0].role == "committee" and bound[0].commune_code == QUY_HOP
    assert admin.post(f"/web/admin/officers/{elsewhere}/revoke", data={"csrf": csrf(page)}).status_code == 403
    revoked = admin.post(f"/web/admin/officers/{colleague}/revoke", data={"csrf": csrf(page)})
    assert "Đã thu hồi tài khoản" in revoked.text
    assert other.get("/web/").status_code == 401  # the revoked binding's browser session ended
    log = admin.get("/web/admin", params={"action": "web_login"})
    assert log.text.count("web_login") >= 2 and "revoke" not in log.text.split("Nhật ký")[1]
    assert logged_in(served, bind(app, chat_id="web-plain")).get("/web/admin").status_code == 403


def test_a_bank_office_serving_two_communes_switches_between_them(app, served):
    now = utcnow()
    with transaction(app.engine) as session:
        code = officers.create_invite(session=session, commune_code=QUY_HOP, role="bank", now=now,
                                      expires_at=now + timedelta(hours=1), more_communes=[TAM_HOP])
        first, second = officers.redeem_invite(session=session, code=code, channel="test", chat_id="web-bank-2", now=now)[:2]
        first_id, second_id = first.id, second.id
    police_elsewhere = bind(app, role="bank", commune=TAM_HOP, chat_id="another-bank")
    bank = logged_in(served, first_id)
    home = bank.get("/web/")
    assert "Quỳ Hợp" in home.text.split("</header>")[0] and f'value="{second_id}"' in home.text
    moved = bank.post("/web/switch", data={"to": str(second_id), "csrf": csrf(home)})
    assert moved.status_code == 200 and "Tam Hợp" in moved.text.split("</header>")[0]
    assert f'value="{first_id}"' in moved.text  # and back
    # Another chat's binding, or no CSRF token: refused, the session stays where it was.
    assert bank.post("/web/switch", data={"to": str(police_elsewhere), "csrf": csrf(moved)}).status_code == 403
    assert bank.post("/web/switch", data={"to": str(first_id)}).status_code == 403
    assert "Tam Hợp" in bank.get("/web/").text.split("</header>")[0]
    assert "web_switch" in audit_actions(app) and "web_switch_refused" in audit_actions(app)
    # A police officer with one commune sees no switch.
    assert 'action="/web/switch"' not in logged_in(served, bind(app)).get("/web/").text
