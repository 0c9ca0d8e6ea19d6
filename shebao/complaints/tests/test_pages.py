"""The supervision and complaint pages: the person's on a phone, the staff queue
and case page, the transfer letter."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.complaints import services
from shebao.complaints.models import Complaint
from shebao.complaints.testing import OCTOBER, bill, contributions_officer, declare
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db


def english() -> Client:
    """A browser that chose English with the switch (the portals are Chinese by default)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def signed_in(user):
    client = english()
    client.force_login(user)
    return client


@pytest.fixture
def officer(area):
    return contributions_officer(area)


@pytest.fixture
def october_unpaid(officer, area, person, employer, employment):
    """Declared 9,000 for October, billed, never paid: overdue since 2026-11-16."""
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)


def text_of(response):
    return response.content.decode()


def phoned_in(officer):
    return services.complaint_record(
        actor=officer, kind="card_service", text="网点排队三小时。", channel="phone"
    )


# --- the person's pages ----------------------------------------------------------------


def test_the_supervision_page_highlights_october_and_offers_a_complaint(
    october_unpaid, individual, employer
):
    with translation.override("en"):
        response = signed_in(individual).get(reverse("web:my_supervision"))
    page = text_of(response)
    assert response.status_code == 200
    assert '<tr class="diff">' in page
    assert "2026-10" in page and "9000.00" in page and "945.00" in page
    assert "Your share billed, not paid" in page
    assert f"{reverse('web:my_complaint_new')}?employer={employer.pk}" in page


def test_complaining_from_the_table_ticks_the_flagged_months_and_files_them(
    october_unpaid, individual, employer
):
    client = signed_in(individual)
    form = client.get(reverse("web:my_complaint_new"), {"employer": employer.pk})
    page = text_of(form)
    assert 'value="2026-10"' in page and "checked" in page
    assert 'value="unpaid" selected' in page  # the kind the flag suggests

    response = client.post(
        reverse("web:my_complaint_new"),
        {"employer": employer.pk, "kind": "unpaid", "months": ["2026-10"], "text": "扣了没交。"},
    )

    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:my_complaint", args=[complaint.pk])
    assert [row["period"] for row in complaint.evidence] == ["2026-10"]
    progress = text_of(client.get(response["Location"]))
    assert complaint.reference in progress and "2026-10" in progress


def test_a_complaint_without_text_is_refused_at_the_field(october_unpaid, individual, employer):
    with translation.override("en"):
        response = signed_in(individual).post(
            reverse("web:my_complaint_new"),
            {"employer": employer.pk, "kind": "unpaid", "months": ["2026-10"], "text": " "},
        )
    assert response.status_code == 400
    assert "Say what happened." in text_of(response)
    assert not Complaint.objects.exists()


def test_my_complaints_show_progress_and_only_mine(officer, individual, employer, employment, area):
    mine = services.complaint_file(actor=individual, kind="unpaid", text="x", employer=employer)
    services.complaint_accept(actor=officer, complaint=mine)
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    someone = make_user("li", Role.INDIVIDUAL, area, person_id=other.pk)
    theirs = services.complaint_file(actor=someone, kind="card_service", text="y")

    client = signed_in(individual)
    with translation.override("en"):
        listing = text_of(client.get(reverse("web:my_complaints")))
        detail = text_of(client.get(reverse("web:my_complaint", args=[mine.pk])))
    assert mine.reference in listing and theirs.reference not in listing
    assert "Accepted" in detail and "Social insurance agency" in detail
    assert mine.deadline.isoformat() in detail
    assert client.get(reverse("web:my_complaint", args=[theirs.pk])).status_code == 404


def test_the_person_adds_a_comment_to_an_open_complaint(individual, employer, employment):
    mine = services.complaint_file(actor=individual, kind="unpaid", text="x", employer=employer)
    client = signed_in(individual)
    response = client.post(
        reverse("web:my_complaint", args=[mine.pk]), {"comment-note": "工资条已备好。"}
    )
    assert response.status_code == 302
    assert mine.events.latest("pk").note == "工资条已备好。"


def test_staff_and_strangers_do_not_get_the_persons_pages(officer, individual):
    for user in (officer,):
        client = signed_in(user)
        assert client.get(reverse("web:my_supervision")).status_code == 404
        assert client.get(reverse("web:my_complaints")).status_code == 404


# --- staff pages -------------------------------------------------------------------------


def test_the_queue_lists_the_overdue_first(officer, area_admin):
    on_time, late = phoned_in(officer), phoned_in(officer)
    Complaint.objects.filter(pk=late.pk).update(deadline=dt.date(2026, 1, 1))
    with translation.override("en"):
        page = text_of(signed_in(area_admin).get(reverse("web:complaints")))
    assert page.index(late.reference) < page.index(on_time.reference)
    assert 'class="overdue-row"' in page


def test_the_case_page_offers_what_the_table_allows_and_the_action_runs(officer, area_admin):
    case = phoned_in(officer)
    client = signed_in(area_admin)
    page = text_of(client.get(reverse("web:complaint", args=[case.pk])))
    for slug in ("assign", "accept", "reject", "transfer", "comment"):
        assert f'id="action-{slug}"' in page
    for slug in ("resolve", "investigate"):
        assert f'id="action-{slug}"' not in page

    response = client.post(
        reverse("web:complaint_action", args=[case.pk, "accept"]), {"accept-note": "受理。"}
    )
    assert response.status_code == 302
    assert Complaint.objects.get(pk=case.pk).status == "accepted"

    refused = client.post(reverse("web:complaint_action", args=[case.pk, "accept"]), {})
    assert refused.status_code == 400
    assert Complaint.objects.get(pk=case.pk).status == "accepted"


def test_resolving_without_an_outcome_is_refused_at_the_field(officer):
    case = phoned_in(officer)
    services.complaint_accept(actor=officer, complaint=case)
    with translation.override("en"):
        response = signed_in(officer).post(
            reverse("web:complaint_action", args=[case.pk, "resolve"]), {"resolve-outcome": ""}
        )
    assert response.status_code == 400
    assert "Write the outcome for the complainant." in text_of(response)


def test_a_transfer_leads_to_the_printable_letter(officer, other_area, individual):
    case = phoned_in(officer)
    response = signed_in(officer).post(
        reverse("web:complaint_action", args=[case.pk, "transfer"]),
        {"transfer-to_area": other_area.code, "transfer-reason": "属北京管辖。"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:complaint_letter", args=[case.pk])
    letter = text_of(signed_in(officer).get(response["Location"]))
    continuation = Complaint.objects.get(transferred_from=case)
    assert case.reference in letter and continuation.reference in letter
    assert "属北京管辖。" in letter
    beijing = make_user("bj", Role.CONTRIBUTIONS_OFFICER, other_area)
    assert (
        signed_in(beijing).get(reverse("web:complaint_letter", args=[continuation.pk])).status_code
        == 200
    )
    # Nobody else reads it.
    assert (
        signed_in(beijing).get(reverse("web:complaint_letter", args=[case.pk])).status_code == 404
    )


def test_staff_record_a_phone_complaint(officer, person, employer):
    response = signed_in(officer).post(
        reverse("web:complaint_new"),
        {
            "channel": "phone",
            "kind": "undeclared",
            "id_number": person.id_number,
            "credit_code": employer.credit_code,
            "text": "来电反映单位未申报。",
        },
    )
    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert (complaint.person, complaint.employer, complaint.channel) == (person, employer, "phone")


def test_the_staff_pages_are_closed_to_others(officer, stranger, colleague, individual):
    case = phoned_in(officer)
    for user in (stranger, colleague, individual):
        client = signed_in(user)
        assert client.get(reverse("web:complaints")).status_code == 404
        assert client.get(reverse("web:complaint", args=[case.pk])).status_code == 404
        response = client.post(reverse("web:complaint_action", args=[case.pk, "accept"]), {})
        assert response.status_code == 404
    assert Complaint.objects.get(pk=case.pk).status == "received"
    assert english().get(reverse("web:complaints")).status_code == 302  # to the sign-in
