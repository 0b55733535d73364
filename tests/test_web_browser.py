"""The officers' web pages in a real browser: Debian's chromium, headless at a phone's width,
driven by Selenium. Skipped where chromium or chromedriver is missing (.ci/run installs both)."""

from __future__ import annotations

import pytest

from standins.web import TAM_HOP, Server, bind, people
from storage import registrations
from storage.db import transaction
from storage.models import Registration
from tests.browser import chrome

pytestmark = pytest.mark.db
By = pytest.importorskip("selenium.webdriver.common.by", reason="selenium is not installed").By


@pytest.fixture(scope="module")
def browser():
    driver = chrome()
    if driver is None:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    yield driver
    driver.quit()


@pytest.fixture
def served(app, browser):
    browser.delete_all_cookies()
    with Server(app) as server:
        yield server


def click(browser, element) -> None:
    """Clicks something that loads a page, and waits until the new page has replaced the old one."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_) -> bool:
        try:
            return expected_conditions.staleness_of(old)(browser)
        except WebDriverException:
            # Mid-navigation chromedriver may answer "Node with given id does not belong to the
            # document" instead of "stale": the old page is gone either way.
            return True

    WebDriverWait(browser, 30).until(replaced)
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")


def body(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def log_in(browser, server, officer_id: int) -> str:
    link = server.link(officer_id)
    browser.get(link)
    click(browser, browser.find_element(By.ID, "login"))
    assert "Việc hôm nay" in body(browser)
    return link


def status_of(app, registration_id: int) -> str:
    with transaction(app.engine) as session:
        return session.get(Registration, registration_id).status


def test_login_by_link_and_the_same_link_refused_the_second_time(app, browser, served):
    people(app, n=6)
    link = log_in(browser, served, bind(app))
    assert "chờ xác minh" in body(browser) and "Hạn sắp tới" in body(browser)
    browser.delete_all_cookies()
    browser.get(link)
    assert "Link không còn dùng được" in body(browser)
    assert not browser.find_elements(By.ID, "login")


def test_search_verify_one_and_verify_several(app, browser, served):
    rows = people(app, n=12)
    waiting = [r for r in rows if r.status in (registrations.PENDING, registrations.NEEDS_INFO)]
    log_in(browser, served, bind(app))
    click(browser, browser.find_element(By.LINK_TEXT, "Đăng ký"))
    search = browser.find_element(By.ID, "q")
    search.send_keys(waiting[0].reference)
    click(browser, browser.find_element(By.ID, "search"))
    assert "1 hồ sơ" in body(browser)
    click(browser, browser.find_element(By.PARTIAL_LINK_TEXT, waiting[0].reference[:3]))
    click(browser, browser.find_element(By.ID, "verify"))
    assert "Đã xác minh. Người đăng ký đã được báo." in body(browser)
    assert browser.find_element(By.ID, "status").text.startswith("đã xác minh")
    assert status_of(app, waiting[0].id) == registrations.VERIFIED

    browser.get(f"{served.url}/web/registrations?status=pending")
    boxes = browser.find_elements(By.CSS_SELECTOR, "input[name=id]")
    assert len(boxes) >= 2
    picked = [int(b.get_attribute("value")) for b in boxes[:2]]
    for box in boxes[:2]:
        box.click()
    click(browser, browser.find_element(By.ID, "verify-selected"))
    assert "Đã xác minh 2 hồ sơ." in body(browser)
    assert all(status_of(app, i) == registrations.VERIFIED for i in picked)
    assert "status=pending" in browser.current_url  # back to the same filter


def test_another_communes_registration_is_refused(app, browser, served):
    theirs = people(app, commune=TAM_HOP, n=3)
    log_in(browser, served, bind(app))
    browser.get(f"{served.url}/web/registrations/{theirs[0].id}")
    assert "Không có quyền" in body(browser) and theirs[0].reference not in browser.page_source


def test_a_post_without_the_csrf_token_is_refused(app, browser, served):
    rows = people(app, n=6)
    waiting = next(r for r in rows if r.status == registrations.PENDING)
    log_in(browser, served, bind(app))
    browser.get(f"{served.url}/web/registrations/{waiting.id}")
    # The page's own form, its token taken out (as a form posted from another site would be).
    browser.execute_script("document.querySelectorAll('input[name=csrf]').forEach(function (e) { e.remove(); });")
    click(browser, browser.find_element(By.ID, "verify"))
    assert "Yêu cầu không hợp lệ" in body(browser)
    assert status_of(app, waiting.id) == registrations.PENDING


def test_logout(app, browser, served):
    log_in(browser, served, bind(app))
    click(browser, browser.find_element(By.XPATH, "//button[text()='Đăng xuất']"))
    assert "Anh/chị đã đăng xuất" in body(browser)
    browser.get(f"{served.url}/web/registrations")
    assert "Cần đăng nhập" in body(browser)
