"""Three journeys through the portal in a real browser: a person reads a paid month
and checks their statement, an employer sends a declaration file, a consultant
answers and publishes a question that anyone then finds."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.complaints.testing import OCTOBER, bill, contributions_officer, declare, pay
from shebao.consultation.models import QuestionStatus, Topic
from shebao.consultation.services import question_ask
from shebao.consultation.testing import HOUSING_FUND, HOUSING_FUND_ANSWER, HOUSING_FUND_BASIS
from shebao.contributions.models import DeclarationLine
from shebao.core.errors import InvalidInput
from shebao.inquiry.history import STATUS_LABELS, Status
from shebao.inquiry.models import Statement
from shebao.inquiry.statements import display_code
from shebao.registry.identifiers import parse_identity_number
from shebao.web.tests.browser.fixtures import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # conftest.PASSWORD
# The check character of 320106198503023314 is 4: with 5 it is no identity number.
BAD_ID_NUMBER = "320106198503023315"


def test_a_person_reads_a_paid_month_and_checks_their_statement(
    phone, tmp_path, individual, person, employer, employment, area, cashier
):
    officer = contributions_officer(area, password=PASSWORD)
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)
    pay(cashier, employer, OCTOBER, dt.date(2026, 11, 10))

    phone.set_default_timeout(60_000)  # the live server's first answer is slow
    sign_in(phone, individual.username, PASSWORD)
    phone.goto("/my/")
    shot(phone, "journey-person-home")
    assert person.name in phone.locator("main h1").inner_text()

    phone.goto("/my/contributions/")
    shot(phone, "journey-person-contributions")
    october = phone.locator("tr#m-2026-10")
    assert october.locator(".status").first.inner_text() == str(STATUS_LABELS[Status.PAID])
    assert employer.name in october.inner_text()

    phone.goto("/my/statements/")
    with phone.expect_navigation():
        phone.click("main form.toolbar button[type=submit]")
    statement = Statement.objects.get(person=person)
    section = phone.locator(f"#statement-{statement.pk}")
    assert display_code(statement.code) in section.inner_text()
    shot(phone, "journey-person-statements")
    with phone.expect_download() as info:
        section.locator("a[download]").click()
    download = info.value
    saved = tmp_path / "statement.pdf"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    phone.goto(f"/verify/{statement.code}")
    shot(phone, "journey-verify-code")
    verdict = phone.locator("#verdict")
    assert "valid" in (verdict.get_attribute("class") or "").split()
    assert person.name[0] in verdict.inner_text()

    phone.goto("/verify/")
    phone.set_input_files("input[name=file]", str(saved))
    with phone.expect_navigation():
        phone.click("form[enctype='multipart/form-data'] button[type=submit]")
    shot(phone, "journey-verify-pdf")
    verdict = phone.locator("#verdict")
    assert "valid" in (verdict.get_attribute("class") or "").split()
    assert display_code(statement.code) in verdict.inner_text()


def test_an_employer_sends_a_declaration_with_a_good_and_a_bad_row(
    desk, tmp_path, employer_user, employer, person, employment, area
):
    contributions_officer(area)  # the area's policy for 2026
    with pytest.raises(InvalidInput) as refused:
        parse_identity_number(BAD_ID_NUMBER)
    upload = tmp_path / "wages.csv"
    upload.write_text(
        f"身份证号码,姓名,月工资\n{person.id_number},{person.name},9000\n{BAD_ID_NUMBER},李四,8000\n",
        encoding="utf-8",
    )

    desk.set_default_timeout(60_000)
    sign_in(desk, employer_user.username, PASSWORD)
    desk.goto("/declarations/")
    shot(desk, "journey-employer-declaration-form")
    desk.fill("input[name=period]", "2026-10")
    desk.set_input_files("input[name=file]", str(upload))
    with desk.expect_navigation():
        desk.click("main form button[type=submit]")
    assert "/jobs/" in desk.url
    shot(desk, "journey-employer-declaration-job")
    tiles = desk.locator("#job-result .tile b").all_inner_texts()
    assert tiles == ["2", "1", "0", "1"]  # read, kept, unchanged, refused

    with desk.expect_navigation():
        desk.locator("#job-links a").first.click()
    shot(desk, "journey-employer-declaration-result")
    refused_rows = desk.locator("table.list tbody tr")
    assert refused_rows.count() == 1
    cells = refused_rows.first.locator("td").all_inner_texts()
    assert cells[0] == "3"  # the file's third line
    assert cells[3] == str(refused.value.message)
    declared = DeclarationLine.objects.get()
    assert (declared.person_id, declared.period) == (person.pk, OCTOBER)


def test_a_consultant_answers_and_publishes_a_question_that_anyone_then_finds(
    desk, phone, individual, area
):
    consultant = make_user("consultant", Role.CONSULTANT, area)
    Topic.objects.get_or_create(
        code="contributions", defaults={"name_zh": "社保缴费", "name_en": "Contributions"}
    )
    question = question_ask(actor=individual, **HOUSING_FUND)

    desk.set_default_timeout(60_000)
    sign_in(desk, consultant.username, PASSWORD)
    desk.goto("/consultation/queue/")
    shot(desk, "journey-consultant-queue")
    assert HOUSING_FUND["title"] in desk.locator("table.queue").inner_text()
    with desk.expect_navigation():
        desk.click(f"table.queue a[href='/consultation/{question.pk}/answer/']")

    desk.select_option("select[name=topic]", "contributions")
    assert desk.input_value("input[name=title_zh]") == HOUSING_FUND["title"]
    for name, text in HOUSING_FUND_ANSWER.items():
        desk.fill(f"[name={name}]", text)
    for name in ("law_zh", "law_en", "article_zh", "article_en", "text_zh", "text_en"):
        desk.fill(f"[name=basis-0-{name}]", getattr(HOUSING_FUND_BASIS, name))
    desk.check("input[name=basis-0-is_summary]")
    shot(desk, "journey-consultant-answer-form")
    with desk.expect_navigation():
        desk.click("main form button[name=save]")
    assert desk.url.endswith(f"/consultation/{question.pk}/")
    assert HOUSING_FUND_ANSWER["analysis_zh"] in desk.content()
    with desk.expect_navigation():
        desk.click(f"form[action='/consultation/{question.pk}/publish/'] button")
    shot(desk, "journey-consultant-published")
    question.refresh_from_db()
    assert question.status == QuestionStatus.PUBLISHED
    assert question.legal_basis.get().law_zh == HOUSING_FUND_BASIS.law_zh

    phone.set_default_timeout(60_000)
    phone.goto("/consultation/?q=住房公积金 房贷")
    shot(phone, "journey-public-search")
    results = phone.locator("ol.results li.result")
    assert results.count() == 1
    link = results.first.locator("h3 a")
    assert link.get_attribute("href") == f"/consultation/{question.pk}/"
