"""The emergency plan's read-only mode in a real browser: the area administrator
switches it on with a reason from the emergency page, a registrar then finds
every page saying so and a registration refused with that reason, and the
administrator switches it off again."""

from __future__ import annotations

import pytest

from conftest import PASSWORD
from shebao.core import maintenance
from shebao.registry.models import Person
from shebao.web.tests.browser.fixtures import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASON = "机房断电演练"


@pytest.fixture(autouse=True)
def writable_afterwards():
    yield
    maintenance.remove_flag()  # a failed test must not leave the next ones read-only


def test_the_administrator_puts_the_system_in_read_only_mode_and_back(
    browser, live_server, desk, area_admin, owner
):
    desk.set_default_timeout(60_000)  # the live server's first answer is slow
    sign_in(desk, area_admin.username, PASSWORD)
    desk.goto("/emergency/")
    assert desk.locator("#read-only .state-active").count() == 1
    desk.fill("#read-only input[name=reason], #read-only textarea[name=reason]", REASON)
    with desk.expect_navigation():
        desk.click("#read-only button.danger")
    shot(desk, "emergency-read-only")
    assert desk.locator("#read-only .flag.bad").count() == 1
    assert REASON in desk.locator("p.notice.read-only").inner_text()
    assert (maintenance.read_only_state() or {}).get("reason") == REASON

    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    registrar = context.new_page()
    registrar.set_default_timeout(60_000)
    try:
        sign_in(registrar, owner.username, PASSWORD)
        assert REASON in registrar.locator("p.notice.read-only").inner_text()
        registrar.goto("/persons/new/")
        registrar.fill("input[name=id_number]", "320106198503023314")
        registrar.fill("input[name=name]", "张伟")
        with registrar.expect_navigation():
            registrar.click("main form button[type=submit]")
        shot(registrar, "emergency-write-refused")
        assert REASON in registrar.locator("main p.error[role=alert]").inner_text()
        assert not Person.objects.exists()
    finally:
        context.close()

    with desk.expect_navigation():
        desk.click("#read-only form button[type=submit]")
    assert desk.locator("#read-only .state-active").count() == 1
    assert desk.locator("p.notice.read-only").count() == 0
    assert maintenance.read_only_state() is None
