"""Personal rights record statements: what they say (DOMAIN §5), that they are
signed and verifiable, what the verify answer reveals, the PDF, and the rules of
who may ask, share and read."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from pypdf import PdfReader

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AccessEvent, AuditEvent
from shebao.audit.services import audit_verify
from shebao.core.errors import Forbidden, InvalidInput, NotFound
from shebao.inquiry import pdf, selectors, services
from shebao.inquiry.models import Statement, StatementKind
from shebao.inquiry.statements import (
    digest_of,
    display_code,
    mask_name,
    normalize_code,
    parse,
    signature_valid,
)
from shebao.inquiry.testing import record_of_2025

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer(area):
    return make_user("stmt-officer", Role.CONTRIBUTIONS_OFFICER, area)


@pytest.fixture
def world(area, person, employer, employment, cashier):
    record_of_2025(person, employer, cashier)
    return person


@pytest.fixture
def yearly(world, area, officer):
    services.statement_batch_run(actor=officer, area=area, year=2025)
    return Statement.objects.get(person=world, kind=StatementKind.YEARLY)


def render(statement, url="https://shebao.example/verify/X"):
    return pdf.render(
        parse(statement.canonical),
        canonical=statement.canonical,
        signature=bytes(statement.signature),
        verify_url=url,
    )


# --- what the statement says --------------------------------------------------------------


def test_it_states_the_year_month_by_month_with_paid_unpaid_and_assessed_months(yearly):
    content = parse(yearly.canonical)
    months = content["months"]
    assert [row["month"] for row in months] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert {row["status"] for row in months[:10]} == {"paid"}
    assert (months[10]["status"], months[10]["assessed"]) == ("unpaid", False)
    assert (months[11]["status"], months[11]["assessed"]) == ("assessed", True)
    assert months[0]["employer"] == "南京钟山科技有限公司"
    assert months[0]["base"] == "9000.00"
    assert months[0]["insurances"] == {
        "pension": ["1440.00", "720.00"],
        "unemployment": ["45.00", "45.00"],
    }
    assert content["totals"] == {
        "employer": "17820.00",
        "individual": "9180.00",
        "total": "27000.00",
        "paid": "22500.00",
        "unpaid": "4500.00",
        "pension_months_in_year": 12,
        "pension_months": 22,
    }


def test_it_states_the_arrears_contribution_years_account_and_eligibility(yearly):
    content = parse(yearly.canonical)
    arrears = content["arrears"]
    assert [row["month"] for row in arrears["months"]] == ["2025-11", "2025-12"]
    assert (arrears["employer_share"], arrears["individual_share"]) == ("2970.00", "1530.00")
    pension = next(row for row in content["insurances"] if row["insurance"] == "pension")
    assert pension == {"insurance": "pension", "months": 22, "years": "1.83", "months_in_year": 10}
    assert content["account"] == {
        "balance": "16084.53",  # 22 × 720.00 + 94.32 + 150.21
        "credited_in_year": "7350.21",  # 10 × 720.00 + the interest of 2025
        "interest_in_year": "150.21",
        "contributions_in_year": "7200.00",
        "cumulative_contributions": "15840.00",
        "cumulative_interest": "244.53",
    }
    # A man born 1985-03 retires in 2048-03 at 63, when 20 years are the minimum;
    # 22 months of unemployment insurance give up to 12 months of benefit.
    assert content["eligibility"] == {
        "scheme": "man",
        "retirement_month": "2048-03",
        "retirement_age": [63, 0],
        "retirement_reached": False,
        "minimum_years": "20",
        "pension_months": 22,
        "pension_months_missing": 218,
        "unemployment_benefit_months": 12,
    }


def test_it_states_the_registration_data_of_the_person_and_the_employer(yearly, person):
    content = parse(yearly.canonical)
    assert content["person"] == {
        "name": "张伟",
        "id_number": "320106198503023314",
        "sex": "M",
        "birth_date": "1985-03-02",
        "status": "active",
        "registered_on": "2005-01-01",
    }
    assert content["employments"] == [
        {
            "employer": {
                "name": "南京钟山科技有限公司",
                "credit_code": "91320100MA1MXK7A0G",
                "registered_on": "2015-03-10",
            },
            "start_date": "2016-05-01",
            "end_date": None,
            "registered_on": "2016-05-10",
            "late_registration": False,
        }
    ]
    assert (content["kind"], content["year"], content["code"]) == ("yearly", 2025, yearly.code)
    assert content["key"] == yearly.key.key_id


def test_the_content_is_canonical_and_signed_by_the_area_key(yearly):
    canonical = yearly.canonical
    assert canonical == json.dumps(
        parse(canonical), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert yearly.digest == digest_of(canonical) and len(yearly.digest) == 64
    assert yearly.key.area_id == "320100"
    assert signature_valid(yearly.key.public_key, canonical, bytes(yearly.signature))
    assert not signature_valid(yearly.key.public_key, canonical + " ", bytes(yearly.signature))


# --- verification --------------------------------------------------------------------


def test_a_genuine_code_verifies_and_shows_only_the_default_shared_fields(yearly):
    result = selectors.statement_verify(yearly.code, address=ADDRESS)
    assert (result.genuine, result.reason) == (True, "ok")
    assert result.shared == {
        "area": {"code": "320100", "name": "南京市"},
        "kind": "yearly",
        "year": 2025,
        "as_of": yearly.as_of.isoformat(),
        "issued_at": parse(yearly.canonical)["issued_at"],
        "name": "张*",
        "id_number": "3201**********3314",
        "totals": parse(yearly.canonical)["totals"],
    }


def test_a_code_is_accepted_as_people_type_it(yearly):
    typed = display_code(yearly.code).lower().replace("o", "0")
    assert normalize_code(typed) == yearly.code
    assert selectors.statement_verify(f" {typed} ", address=ADDRESS).genuine


@pytest.mark.parametrize("code", ["ABCDEFGHIJKLMNOP", "short", "", "A" * 200])
def test_an_unknown_code_is_not_genuine(yearly, code):
    result = selectors.statement_verify(code, address=ADDRESS)
    assert (result.genuine, result.reason, result.shared) == (False, "unknown_code", {})


def test_a_statement_changed_in_the_database_fails(yearly):
    altered = yearly.canonical.replace('"balance":"16084.53"', '"balance":"96084.53"')
    assert altered != yearly.canonical
    Statement.objects.filter(pk=yearly.pk).update(canonical=altered)
    assert selectors.statement_verify(yearly.code, address=ADDRESS).reason == "record_altered"
    # Recomputing the digest does not help: the signature is over the content.
    Statement.objects.filter(pk=yearly.pk).update(digest=digest_of(altered))
    result = selectors.statement_verify(yearly.code, address=ADDRESS)
    assert (result.genuine, result.reason, result.shared) == (False, "record_altered", {})


def test_a_signature_of_another_statement_fails(yearly, world, individual):
    other = services.statement_request(actor=individual, person=world)
    Statement.objects.filter(pk=yearly.pk).update(signature=bytes(other.signature))
    assert selectors.statement_verify(yearly.code, address=ADDRESS).reason == "record_altered"


def test_the_holder_chooses_what_the_verify_page_shows(yearly, individual):
    services.statement_share(
        actor=individual, statement=yearly, fields=["account", "full_name", "eligibility"]
    )
    shared = selectors.statement_verify(yearly.code, address=ADDRESS).shared
    assert shared["name"] == "张伟"
    assert shared["account"]["balance"] == "16084.53"
    assert shared["eligibility"]["retirement_month"] == "2048-03"
    assert "totals" not in shared and "months" not in shared
    assert shared["id_number"] == "3201**********3314"  # never in full
    event = AuditEvent.objects.get(action="statement.share")
    assert event.before == {"shared_fields": ["totals"]}
    assert event.after == {"shared_fields": ["full_name", "account", "eligibility"]}


def test_only_known_fields_may_be_shared_and_only_by_the_holder(yearly, individual, officer):
    with pytest.raises(InvalidInput) as refused:
        services.statement_share(actor=individual, statement=yearly, fields=["phone"])
    assert refused.value.code == "share_field_unknown"
    with pytest.raises(Forbidden):
        services.statement_share(actor=officer, statement=yearly, fields=[])


def test_the_public_check_is_rate_limited_per_address(yearly, settings):
    settings.STATEMENT_VERIFY_LIMIT = 3
    for _ in range(3):
        assert selectors.statement_verify(yearly.code, address=ADDRESS).genuine
    with pytest.raises(selectors.VerifyThrottled) as refused:
        selectors.statement_verify(yearly.code, address=ADDRESS)
    assert (refused.value.status, refused.value.code) == (429, "throttled")
    with pytest.raises(selectors.VerifyThrottled):
        selectors.statement_verify_pdf(b"%PDF-", address=ADDRESS)
    assert selectors.statement_verify(yearly.code, address="198.51.100.1").genuine


# --- the PDF -------------------------------------------------------------------------


def test_the_pdf_embeds_a_cjk_font_the_code_and_the_signed_content(yearly):
    data = render(yearly)
    reader = PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "张伟" in text and "南京钟山科技有限公司" in text
    assert display_code(yearly.code) in text
    resources: list[Any] = [page["/Resources"] for page in reader.pages]
    fonts = [font.get_object() for found in resources for font in found["/Font"].values()]
    descendants = [f["/DescendantFonts"][0].get_object() for f in fonts if "/DescendantFonts" in f]
    assert descendants and all("/FontFile2" in d["/FontDescriptor"] for d in descendants)
    assert reader.metadata is not None and reader.metadata["/Subject"] == yearly.code
    embedded = json.loads(reader.attachments[pdf.ATTACHMENT][0])
    assert embedded["canonical"] == yearly.canonical
    assert embedded["key"] == yearly.key.key_id


def test_a_statement_pdf_verifies(yearly):
    result = selectors.statement_verify_pdf(render(yearly), address=ADDRESS)
    assert (result.genuine, result.reason, result.code) == (True, "ok", yearly.code)
    assert result.shared["name"] == "张*"


def test_a_pdf_whose_embedded_content_was_changed_fails(yearly):
    altered = yearly.canonical.replace('"paid":"22500.00"', '"paid":"27000.00"')
    assert altered != yearly.canonical
    forged = pdf.render(
        parse(altered),
        canonical=altered,
        signature=bytes(yearly.signature),
        verify_url="https://shebao.example/verify/X",
    )
    result = selectors.statement_verify_pdf(forged, address=ADDRESS)
    assert (result.genuine, result.reason, result.shared) == (False, "pdf_altered", {})


def test_a_genuine_pdf_of_a_record_altered_since_fails(yearly):
    data = render(yearly)
    Statement.objects.filter(pk=yearly.pk).update(digest="0" * 64)
    assert selectors.statement_verify_pdf(data, address=ADDRESS).reason == "pdf_not_on_record"


def test_a_pdf_without_a_statement_and_a_file_that_is_no_pdf_fail(yearly):
    from fpdf import FPDF

    plain = FPDF()
    plain.add_page()
    empty = bytes(plain.output())
    assert selectors.statement_verify_pdf(empty, address=ADDRESS).reason == (
        "pdf_without_statement"
    )
    assert selectors.statement_verify_pdf(b"GIF89a", address=ADDRESS).reason == "pdf_unreadable"
    assert selectors.statement_verify_pdf(b"%PDF-1.4 junk", address=ADDRESS).reason in (
        "pdf_unreadable",
        "pdf_without_statement",
    )


def test_without_a_font_the_pdf_is_refused_with_a_clear_message(yearly, settings):
    settings.PDF_FONT = "/nonexistent/font.ttc"
    with pytest.raises(pdf.PdfFontMissing) as refused:
        render(yearly)
    assert (refused.value.status, refused.value.code) == (503, "pdf_font_missing")


# --- on request, and who may ------------------------------------------------------------


def test_the_holder_asks_for_a_statement_as_of_today_free_and_audited(world, individual):
    statement = services.statement_request(actor=individual, person=world)
    today = timezone.localdate()
    assert (statement.kind, statement.year, statement.as_of) == ("on_request", today.year, today)
    assert statement.created_by == individual and statement.shared_fields == ["totals"]
    assert AuditEvent.objects.filter(action="statement.request", subject_id=str(statement.pk))
    assert not AccessEvent.objects.exists()  # one's own record is no third party's look
    again = services.statement_request(actor=individual, person=world)
    assert again.code != statement.code
    assert audit_verify()[1] == []


def test_a_holder_asks_only_for_their_own_statement(area, world, individual):
    from shebao.registry.models import Person

    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    with pytest.raises(Forbidden):
        services.statement_request(actor=individual, person=other)


def test_staff_at_the_counter_make_one_and_the_look_is_logged(world, officer):
    statement = services.statement_request(actor=officer, person=world)
    assert statement.created_by == officer
    assert AccessEvent.objects.filter(
        actor=officer, action="statement.request", person_ids=[world.pk]
    ).exists()


@pytest.mark.parametrize("who", ["stranger", "owner", "cashier"])
def test_others_may_not_make_statements(world, request, who):
    with pytest.raises(Forbidden):
        services.statement_request(actor=request.getfixturevalue(who), person=world)


def test_staff_reading_a_statement_are_logged_the_holder_is_not(yearly, officer, individual):
    selectors.statement_get(individual, yearly.pk, purpose="statement.pdf")
    assert not AccessEvent.objects.exists()
    selectors.statement_get(officer, yearly.pk, purpose="statement.pdf")
    logged = AccessEvent.objects.get()
    assert (logged.actor, logged.action, logged.person_ids) == (
        officer,
        "statement.pdf",
        [yearly.person_id],
    )


def test_a_stranger_finds_no_statement(yearly, stranger, other_area):
    reader = make_user("reader-bj", Role.AUDITOR, other_area)
    for someone in (stranger, reader):
        assert not selectors.statements_for(someone).exists()
        with pytest.raises(NotFound):
            selectors.statement_get(someone, yearly.pk)


def test_mask_name():
    assert (mask_name("张伟"), mask_name("欧阳娜娜"), mask_name("")) == ("张*", "欧***", "")
