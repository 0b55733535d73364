"""Phone-width screenshots of the officers' web pages (docs/web-*.png), in Debian's chromium, with
fictional registrations (every name "Mẫu"/"Thử", numbers 0900 000 xxx).

    python docs/make_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from selenium.webdriver.common.by import By

    from bot.app import build_app
    from bot.settings import Settings
    from standins.web import Server, bind, people
    from tests.browser import PHONE, chrome

    app = build_app(Settings(_env_file=None, data_dir=Path(tempfile.mkdtemp(prefix="web-shots-")), limit_messages_per_minute=0))
    rows = people(app, n=40)
    officer = bind(app)
    browser = chrome()
    if browser is None:
        print("chromium and chromedriver are needed (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 1

    def shot(name: str) -> None:
        """The whole page at the phone's width, from its top (a phone's metrics, as tall as the page)."""
        metrics = {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1, "mobile": True}
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": min(max(height, PHONE[1]), 2400)})
        browser.execute_script("window.scrollTo(0, 0)")
        path = ROOT / "docs" / f"web-{name}.png"
        path.write_bytes(browser.get_screenshot_as_png())
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        print(path.relative_to(ROOT))

    try:
        with Server(app) as server:
            browser.get(server.link(officer))
            shot("login")
            browser.find_element(By.ID, "login").click()
            browser.find_element(By.CLASS_NAME, "figures")
            shot("home")
            browser.get(f"{server.url}/web/registrations?status=pending")
            shot("registrations")
            browser.get(f"{server.url}/web/registrations?q=thi+mau")
            shot("search")
            waiting = next(r for r in rows if r.status == "needs_info")
            browser.get(f"{server.url}/web/registrations/{waiting.id}")
            for summary in browser.find_elements(By.TAG_NAME, "summary")[:1]:
                summary.click()
            shot("registration")
            browser.get(f"{server.url}/web/lists")
            shot("lists")
            browser.get(f"{server.url}/web/reports")
            shot("reports")
    finally:
        browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
