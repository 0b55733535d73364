"""Debian's chromium driven by Selenium through Debian's chromedriver (no driver downloaded),
headless, at a phone's width. `chrome()` is None where either is missing."""

from __future__ import annotations

import shutil

PHONE = (390, 844)


def chrome(width: int = PHONE[0], height: int = PHONE[1]):
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                 "--disable-extensions", "--disable-background-networking", "--disable-sync", "--disable-component-update",
                 "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)
