"""Statements on the portal: the holder's page, the PDF, the person page and the
batch page for staff, and the public verify page (what it reveals, PDF uploads,
its rate limit)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent
from shebao.inquiry import pdf, services
from shebao.inquiry.models import Statement, StatementBatch
from shebao.inquiry.statements import display_code, parse
from shebao.inquiry.testing import record_of_2025

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer(area):
    return make_user("stmt-officer", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def statement(area, person, employer, employment, cashier, individual):
    record_of_2025(person, employer, cashier)
    return services.statement_request(actor=individual, person=person)


def english() -> Client:
    """A browser that chose English with the switch (the portals are Chinese by default)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def signed_in(user):
    client = english()
    client.force_login(user)
    return client


def verify_page(code, client=None):
    return (client or english()).get(reverse("web:statement_verify", args=[code]))


# --- the holder ------------------------------------------------------------------------


def test_the_holder_gets_a_statement_as_of_today_and_downloads_its_pdf(person, individual):
    client = signed_in(individual)
    assert client.get(reverse("web:my_statements")).status_code == 200
    response = client.post(reverse("web:my_statements"), {"action": "request"})
    made = Statement.objects.get(person=person)
    assert response["Location"] == reverse("web:my_statements") + f"#statement-{made.pk}"
    page = client.get(reverse("web:my_statements")).content.decode()
    assert display_code(made.code) in page
    assert reverse("web:statement_pdf", args=[made.pk]) in page
    download = client.get(reverse("web:statement_pdf", args=[made.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF-")
    assert f"statement-{made.year}-{made.code}.pdf" in download["Content-Disposition"]
    assert not AccessEvent.objects.exists()


def test_the_holder_chooses_what_to_share(statement, individual):
    client = signed_in(individual)
    response = client.post(
        reverse("web:my_statements"),
        {"action": "share", "statement": statement.pk, "fields": ["account", "months"]},
    )
    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.shared_fields == ["account", "months"]


@pytest.mark.parametrize("who", ["officer", "owner", "employer_user"])
def test_my_statements_is_the_holders_page_only(request, who):
    client = signed_in(request.getfixturevalue(who))
    assert client.get(reverse("web:my_statements")).status_code == 404


def test_the_pdf_is_not_found_for_a_stranger_and_needs_a_sign_in(statement, stranger):
    url = reverse("web:statement_pdf", args=[statement.pk])
    assert signed_in(stranger).get(url).status_code == 404
    assert english().get(url).status_code == 302


def test_a_damaged_record_is_not_printed(statement, individual):
    Statement.objects.filter(pk=statement.pk).update(digest="0" * 64)
    response = signed_in(individual).get(reverse("web:statement_pdf", args=[statement.pk]))
    assert response.status_code == 409


# --- staff -----------------------------------------------------------------------------


def test_staff_see_a_persons_statements_and_make_one_at_the_counter(statement, person, officer):
    client = signed_in(officer)
    page = client.get(reverse("web:person", args=[person.pk])).content.decode()
    assert 'id="person-statements"' in page and display_code(statement.code) in page
    assert reverse("web:person_statement_new", args=[person.pk]) in page
    response = client.post(reverse("web:person_statement_new", args=[person.pk]))
    assert response["Location"] == reverse("web:person", args=[person.pk]) + "#statements"
    assert Statement.objects.filter(person=person, created_by=officer).count() == 1
    client.get(reverse("web:statement_pdf", args=[statement.pk]))
    assert AccessEvent.objects.filter(actor=officer, action="statement.pdf").exists()


def test_an_auditor_reads_but_makes_no_statement(statement, person, auditor):
    client = signed_in(auditor)
    page = client.get(reverse("web:person", args=[person.pk])).content.decode()
    assert display_code(statement.code) in page
    assert reverse("web:person_statement_new", args=[person.pk]) not in page
    assert client.post(reverse("web:person_statement_new", args=[person.pk])).status_code == 404


def test_the_person_page_shows_no_statements_to_those_who_may_not_read_them(statement, owner):
    page = signed_in(owner).get(reverse("web:person", args=[statement.person_id]))
    assert 'id="person-statements"' not in page.content.decode()


def test_the_batch_page_starts_the_yearly_batch_as_a_job(area, person, officer):
    client = signed_in(officer)
    assert client.get(reverse("web:statement_batches")).status_code == 200
    response = client.post(reverse("web:statement_batches"), {"year": 2025})
    assert response.status_code == 302 and "/jobs/" in response["Location"]
    batch = StatementBatch.objects.get()
    assert (batch.year, batch.done, batch.total) == (2025, 1, 1)
    job_page = client.get(response["Location"]).content.decode()
    assert 'id="job-result"' in job_page
    listed = client.get(reverse("web:statement_batches")).content.decode()
    assert 'id="batches"' in listed and "1 / 1" in listed


def test_the_batch_form_refuses_a_year_not_over(officer):
    with translation.override("en"):
        response = signed_in(officer).post(reverse("web:statement_batches"), {"year": 2026})
    assert response.status_code == 400
    assert "after the year has ended" in response.content.decode()
    assert not StatementBatch.objects.exists()


@pytest.mark.parametrize("who", ["owner", "stranger", "individual"])
def test_the_batch_page_is_for_statement_staff(request, who):
    client = signed_in(request.getfixturevalue(who))
    assert client.get(reverse("web:statement_batches")).status_code == 404
    assert client.post(reverse("web:statement_batches"), {"year": 2025}).status_code == 404


def test_an_auditor_sees_the_batches_but_starts_none(auditor):
    client = signed_in(auditor)
    page = client.get(reverse("web:statement_batches"))
    assert page.status_code == 200 and page.context["form"] is None
    assert client.post(reverse("web:statement_batches"), {"year": 2025}).status_code == 404


# --- the public check --------------------------------------------------------------------


def test_the_verify_page_says_genuine_and_shows_only_the_shared_fields(statement, person):
    with translation.override("en"):
        response = verify_page(statement.code)
    text = response.content.decode()
    assert response.status_code == 200 and "Genuine" in text
    assert "张*" in text and "3201**********3314" in text and 'id="shared-totals"' in text
    content = parse(statement.canonical)
    for secret in (
        person.name,
        person.id_number,
        person.phone,
        "1985-03-02",
        "南京钟山科技有限公司",
        content["account"]["balance"],
        content["eligibility"]["retirement_month"],
    ):
        assert secret not in text, secret
    assert response["Cache-Control"] == "no-store"


def test_what_the_holder_shares_appears_on_the_verify_page(statement, individual, person):
    services.statement_share(
        actor=individual, statement=statement, fields=["full_name", "account", "employers"]
    )
    text = verify_page(statement.code).content.decode()
    assert person.name in text and 'id="shared-account"' in text
    assert "南京钟山科技有限公司" in text
    assert person.id_number not in text


def test_an_unknown_or_altered_statement_is_not_genuine(statement):
    with translation.override("en"):
        unknown = verify_page("ABCDEFGHIJKLMNOP").content.decode()
        Statement.objects.filter(pk=statement.pk).update(
            canonical=statement.canonical.replace("张伟", "张三")
        )
        altered = verify_page(statement.code).content.decode()
    assert "Not genuine or unknown" in unknown and "No statement has this code" in unknown
    assert "Not genuine or unknown" in altered and "张" not in altered.split('id="verdict"')[1]


def test_the_form_takes_a_code_as_typed(statement):
    typed = display_code(statement.code).lower()
    response = english().get(reverse("web:statement_verify_form"), {"code": typed})
    assert response["Location"] == reverse("web:statement_verify", args=[statement.code])
    assert "✓" in english().get(response["Location"]).content.decode()


def test_the_form_checks_an_uploaded_pdf(statement):
    data = pdf.render(
        parse(statement.canonical),
        canonical=statement.canonical,
        signature=bytes(statement.signature),
        verify_url="http://testserver/verify/x",
    )
    url = reverse("web:statement_verify_form")
    genuine = english().post(url, {"file": SimpleUploadedFile("s.pdf", data)})
    assert genuine.status_code == 200 and genuine.context["result"].genuine
    forged_content = statement.canonical.replace('"balance":"', '"balance":"9')
    forged = pdf.render(
        parse(forged_content),
        canonical=forged_content,
        signature=bytes(statement.signature),
        verify_url="http://testserver/verify/x",
    )
    refused = english().post(url, {"file": SimpleUploadedFile("s.pdf", forged)})
    assert refused.context["result"].reason == "pdf_altered"
    assert not refused.context["result"].genuine


def test_the_pdf_qr_code_and_page_point_to_the_verify_address(statement, individual, settings):
    settings.SITE_URL = "https://si.nanjing.example"
    response = signed_in(individual).get(reverse("web:statement_pdf", args=[statement.pk]))
    from io import BytesIO

    from pypdf import PdfReader

    text = PdfReader(BytesIO(response.content)).pages[-1].extract_text()
    assert "https://si.nanjing.example/verify/" in text


def test_the_verify_page_is_rate_limited_per_address(statement, settings):
    settings.STATEMENT_VERIFY_LIMIT = 2
    client = Client(REMOTE_ADDR="192.0.2.10")
    assert verify_page(statement.code, client).status_code == 200
    assert verify_page(statement.code, client).status_code == 200
    throttled = verify_page(statement.code, client)
    assert throttled.status_code == 429 and throttled.context["result"] is None
    upload = client.post(
        reverse("web:statement_verify_form"), {"file": SimpleUploadedFile("s.pdf", b"%PDF-")}
    )
    assert upload.status_code == 429
    assert verify_page(statement.code, Client(REMOTE_ADDR="192.0.2.11")).status_code == 200
