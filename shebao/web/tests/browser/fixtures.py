"""End-to-end tests in a real browser: Debian's headless Chromium driven by Playwright.

The browser is the machine's own (`/usr/bin/chromium`, installed by `make
test`); Playwright's package only drives it and never downloads one. Each
test signs in through the login page like a person would, and `shot()` saves
a screenshot of the page under `var/screenshots/` for a human to look at.

Playwright's synchronous API runs an event loop in the test's thread, so the
test's own database calls (fixtures) are allowed explicitly here.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.VAR_DIR) / "screenshots"
# Flags for a machine without a display or outside network: no sandbox (tests
# run as root in CI), no GPU, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("SHEBAO_CHROMIUM") or shutil.which("chromium") or ""
    if not path:
        pytest.fail(
            "Browser tests need Debian's chromium (apt-get install chromium), which `make test` "
            "installs; or set SHEBAO_CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[Any]:
    """A page the size of a phone, in Chinese (the portal's default)."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.fixture
def desk(browser: Any, live_server: Any) -> Iterator[Any]:
    """A page the size of a staff desktop."""
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    if "/login/" in page.url:
        alert = page.locator("[role=alert]")
        why = alert.first.inner_text() if alert.count() else page.content()[:2000]
        pytest.fail(f"sign-in as {username} failed: {why}", pytrace=False)


def shot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
