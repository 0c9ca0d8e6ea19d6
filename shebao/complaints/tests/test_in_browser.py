"""Supervision and complaints in a real browser: the person on a phone finds the
unpaid month, complains about it and follows the case; the officer handles it
at a desk."""

from __future__ import annotations

import pytest

from shebao.complaints.models import Complaint
from shebao.complaints.testing import OCTOBER, bill, contributions_officer, declare
from shebao.web.tests.browser.fixtures import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # conftest.PASSWORD


def test_a_person_complains_about_an_unpaid_month_and_the_officer_handles_it(
    phone,
    desk,
    individual,
    person,
    employer,
    employment,
    area,
):
    officer = contributions_officer(area, password=PASSWORD)
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)

    for page in (phone, desk):
        page.set_default_timeout(60_000)  # the live server's first answer is slow
    sign_in(phone, individual.username, PASSWORD)
    phone.goto("/my/supervision/")
    shot(phone, "person-supervision")
    assert phone.locator("tr.diff").count() == 1
    phone.locator(".to-question a.button").first.click()
    phone.wait_for_load_state()
    assert phone.locator("input[name=months][value='2026-10']").is_checked()
    phone.fill("textarea[name=text]", "工资条显示扣了社保费，但没有缴纳。")
    shot(phone, "person-complaint-form")
    with phone.expect_navigation():
        phone.click("main form button[type=submit]")
    complaint = Complaint.objects.get()
    assert f"/my/complaints/{complaint.pk}/" in phone.url
    shot(phone, "person-complaint-filed")

    sign_in(desk, officer.username, PASSWORD)
    desk.goto("/complaints/")
    shot(desk, "staff-complaint-queue")
    desk.click(f"text={complaint.reference}")
    desk.wait_for_load_state()
    with desk.expect_navigation():
        desk.click("#action-accept button[type=submit]")
    desk.fill("#action-resolve textarea", "单位已于12月补缴10月社保费及滞纳金。")
    with desk.expect_navigation():
        desk.click("#action-resolve button[type=submit]")
    shot(desk, "staff-complaint-case")
    complaint.refresh_from_db()
    assert complaint.status == "resolved"

    phone.goto(f"/my/complaints/{complaint.pk}/")
    assert "单位已于12月补缴10月社保费及滞纳金。" in phone.content()
    shot(phone, "person-complaint-resolved")
