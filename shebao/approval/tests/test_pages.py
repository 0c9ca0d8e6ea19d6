"""The approval pages: the area applies on its page, the ministry decides on the
same page, sees its queue and every area; strangers get 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.approval import services
from shebao.approval.models import ApplicationStatus, AreaApplication, DrillRecord, ExtraCondition
from shebao.approval.testing import prepared_application
from shebao.registry.models import AreaStatus

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def page(application, action=""):
    if action:
        return reverse(f"web:approval_{action}", args=[application.pk])
    return reverse("web:approval_application", args=[application.pk])


def test_the_area_applies_through_its_pages(ready_area, area_admin):
    client = signed_in(area_admin)
    home = client.get(reverse("web:approval"))
    assert home.status_code == 200
    assert b'id="new-application"' in home.content

    started = client.post(
        reverse("web:approval_new"), {"kind": "initial", "vendor": "金卡", "note": "首次"}
    )
    application = AreaApplication.objects.get()
    assert started.status_code == 302 and started["Location"] == page(application)

    uploaded = client.post(
        page(application, "document_new"),
        {"kind": "preparation_report", "file": SimpleUploadedFile("筹备报告.pdf", b"%PDF report")},
    )
    assert uploaded.status_code == 302
    document = application.documents.get()
    assert document.name == "筹备报告.pdf" and document.version == 1

    detail = client.get(page(application))
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "筹备报告.pdf" in text and 'id="submit"' in text
    # Live results of the checks are on the page: the backup is fresh, no drill yet.
    assert 'class="item item-met"' in text and 'class="item item-not_met"' in text

    item = application.items.get(code="b.evidence")
    recorded = client.post(
        reverse("web:approval_item", args=[application.pk, item.pk]),
        {f"item{item.pk}-status": "met", f"item{item.pk}-evidence": "技术人员 6 名"},
    )
    assert recorded.status_code == 302 and recorded["Location"].endswith(f"#item-{item.pk}")
    item.refresh_from_db()
    assert item.status == "met" and item.evidence == "技术人员 6 名"

    missing = client.post(
        reverse("web:approval_item", args=[application.pk, item.pk]),
        {f"item{item.pk}-status": "met", f"item{item.pk}-evidence": ""},
    )
    assert missing.status_code == 400

    submitted = client.post(page(application, "submit"))
    assert submitted.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    after = client.get(page(application)).content.decode()
    assert 'id="submit"' not in after and 'id="upload"' not in after


def test_a_refused_submission_says_why(ready_area, area_admin):
    application = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    with translation.override("en"):
        response = signed_in(area_admin).post(page(application, "submit"))
    assert response.status_code == 400
    assert b"Attach the preparation report before submitting." in response.content


def test_the_ministry_decides_on_the_application_page(ready_area, area_admin, ministry):
    application = prepared_application(area_admin, ready_area, drill=False)
    services.application_submit(actor=area_admin, application=application)
    client = signed_in(ministry)
    queue = client.get(reverse("web:approval_queue"))
    assert page(application).encode() in queue.content
    assert b'id="decide"' in client.get(page(application)).content

    refused = client.post(
        page(application, "decide"), {"action": "approve", "issuer_id": "320100A1"}
    )
    assert refused.status_code == 400
    assert b"d.drill" in refused.content
    overridden = client.post(
        page(application, "decide"),
        {"action": "approve", "issuer_id": "320100A1", "override_reason": "演练下月补做"},
    )
    assert overridden.status_code == 302
    ready_area.refresh_from_db()
    assert ready_area.status == AreaStatus.APPROVED and ready_area.issuer_id == "320100A1"


def test_the_ministry_rejects_with_reasons(ready_area, area_admin, ministry):
    application = prepared_application(area_admin, ready_area)
    services.application_submit(actor=area_admin, application=application)
    client = signed_in(ministry)
    assert client.post(page(application, "decide"), {"action": "reject"}).status_code == 400
    done = client.post(page(application, "decide"), {"action": "reject", "reasons": "材料不全"})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert "材料不全" in signed_in(area_admin).get(page(application)).content.decode()


def test_the_overview_lists_every_area_with_national_totals(ready_area, other_area, ministry):
    response = signed_in(ministry).get(reverse("web:approval_overview"))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="area-320100"' in text and 'id="area-110100"' in text and 'id="national"' in text


def test_a_change_of_card_face_goes_to_re_approval(ready_area, area_admin, ministry):
    application = prepared_application(area_admin, ready_area)
    services.application_submit(actor=area_admin, application=application)
    services.application_approve(actor=ministry, application=application, issuer_id="320100A1")
    client = signed_in(area_admin)
    response = client.post(
        reverse("web:approval_change"),
        {"kind": "card_face", "file": SimpleUploadedFile("卡面v2.pdf", b"%PDF v2")},
    )
    reapproval = AreaApplication.objects.get(kind="reapproval")
    assert response.status_code == 302 and response["Location"] == page(reapproval)
    home = client.get(reverse("web:approval")).content.decode()
    assert 'id="holds"' in home


def test_drills_are_recorded_and_listed(ready_area, area_admin, auditor):
    client = signed_in(area_admin)
    response = client.post(
        reverse("web:approval_drills"),
        {
            "kind": "mass_freeze",
            "done_on": "2026-01-10",
            "outcome": "passed",
            "evidence": "冻结演练",
        },
    )
    assert response.status_code == 302
    assert DrillRecord.objects.get().evidence == "冻结演练"
    listing = signed_in(auditor).get(reverse("web:approval_drills"))
    assert "冻结演练" in listing.content.decode() and b'id="new-drill"' not in listing.content
    assert signed_in(auditor).post(reverse("web:approval_drills"), {}).status_code == 404


def test_extra_conditions_page(ministry, ready_area, area_admin):
    client = signed_in(ministry)
    response = client.post(
        reverse("web:approval_conditions"), {"title": "接入全国平台", "areas": "320100"}
    )
    assert response.status_code == 302
    condition = ExtraCondition.objects.get()
    assert not condition.all_areas and list(condition.areas.all()) == [ready_area]
    client.post(reverse("web:approval_condition_toggle", args=[condition.pk]), {"active": "0"})
    condition.refresh_from_db()
    assert not condition.active
    assert (
        signed_in(area_admin).post(reverse("web:approval_conditions"), {"title": "x"}).status_code
        == 404
    )


def test_documents_download_for_the_area_and_the_ministry_only(
    ready_area, area_admin, ministry, other_area
):
    application = prepared_application(area_admin, ready_area)
    document = application.documents.get(kind="card_face")
    url = reverse("web:approval_document", args=[document.pk])
    response = signed_in(ministry).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF card_face of 320100"
    assert "attachment" in response["Content-Disposition"]
    stranger_admin = make_user("otheradmin", Role.AREA_ADMIN, other_area)
    assert signed_in(stranger_admin).get(url).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["approval", "approval_queue", "approval_overview", "approval_conditions", "approval_drills"],
)
def test_who_may_not_see_gets_404(name, owner, stranger, area_admin):
    for user in (owner, stranger):
        assert signed_in(user).get(reverse(f"web:{name}")).status_code == 404
    if name in ("approval_queue", "approval_overview"):
        assert signed_in(area_admin).get(reverse(f"web:{name}")).status_code == 404


def test_another_areas_application_is_404(ready_area, area_admin, other_area):
    application = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    stranger_admin = make_user("otheradmin", Role.AREA_ADMIN, other_area)
    client = signed_in(stranger_admin)
    assert client.get(page(application)).status_code == 404
    assert client.post(page(application, "submit")).status_code == 404
    assert client.post(page(application, "withdraw")).status_code == 404
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
