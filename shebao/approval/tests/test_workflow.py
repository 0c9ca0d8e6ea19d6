"""The approval of an issuing area, worked through: the area applies with its
documents and evidence, the system checks what it can, the ministry decides;
only then can cards be produced."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.conf import settings

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.approval import services
from shebao.approval.models import (
    ApplicationStatus,
    AreaApplication,
    ConditionItem,
    ItemSource,
    ItemStatus,
    ReapprovalHold,
)
from shebao.approval.testing import evidence_everything, prepared_application, upload
from shebao.audit.models import AuditEvent
from shebao.cards import production
from shebao.cards.bench import approved_cards
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.models import AreaStatus

pytestmark = pytest.mark.django_db


def actions(area_code: str) -> list[str]:
    return list(
        AuditEvent.objects.filter(chain=area_code).order_by("seq").values_list("action", flat=True)
    )


@pytest.fixture
def approved_by_ministry(ready_area, area_admin, ministry):
    """Area A approved through the workflow, with the vendor 金卡 on file."""
    application = prepared_application(area_admin, ready_area)
    services.application_submit(actor=area_admin, application=application)
    services.application_approve(actor=ministry, application=application, issuer_id="320100A1")
    ready_area.refresh_from_db()
    return ready_area


def test_it_refuses_production_before_approval_and_allows_it_after(
    ready_area, area_admin, ministry, card_officer, second_officer
):
    approved_cards(ready_area, 3, submitted_by=card_officer, approved_by=second_officer)
    with pytest.raises(Conflict) as refused:
        production.batch_create(actor=card_officer, area=ready_area, vendor="金卡")
    assert refused.value.code == "area_not_approved"

    application = prepared_application(area_admin, ready_area)
    submitted = services.application_submit(actor=area_admin, application=application)
    assert submitted.status == ApplicationStatus.SUBMITTED
    items = {item.code: item for item in submitted.items.all()}
    assert {
        "a.database",
        "a.backup",
        "a.endpoints",
        "a.audit_chain",
        "b.outlets",
        "d.drill",
    } <= set(items)
    assert all(item.status == ItemStatus.MET for item in items.values()), {
        code: (item.status, item.evidence) for code, item in items.items()
    }
    assert items["a.backup"].checked_by == area_admin

    # Submitting does not approve: production is still refused.
    with pytest.raises(Conflict):
        production.batch_create(actor=card_officer, area=ready_area, vendor="金卡")

    approved = services.application_approve(
        actor=ministry, application=application, issuer_id="320100A1", reasons="条件具备"
    )
    ready_area.refresh_from_db()
    assert ready_area.status == AreaStatus.APPROVED and ready_area.issuer_id == "320100A1"
    assert approved.status == ApplicationStatus.APPROVED and approved.issuer_id == "320100A1"
    assert ConditionItem.objects.get(application=approved, code="a.backup").checked_by == ministry

    batch = production.batch_create(actor=card_officer, area=ready_area, vendor="金卡")
    assert batch.card_count == 3
    assert actions("320100")[-1] == "card_batch.create"
    assert "approval.application.approve" in actions("320100")
    assert AuditEvent.objects.filter(chain="000000", action="area.approve").exists()


def test_it_refuses_approval_while_an_item_is_not_met(ready_area, area_admin, ministry):
    application = prepared_application(area_admin, ready_area, drill=False)
    services.application_submit(actor=area_admin, application=application)
    assert application.items.get(code="d.drill").status == ItemStatus.NOT_MET

    with pytest.raises(Conflict) as refused:
        services.application_approve(actor=ministry, application=application, issuer_id="320100A1")
    assert refused.value.code == "conditions_not_met"
    assert refused.value.detail == {"unmet": ["d.drill"]}
    ready_area.refresh_from_db()
    assert ready_area.status == AreaStatus.PREPARING


def test_the_ministry_may_override_with_a_written_reason_that_is_audited(
    ready_area, area_admin, ministry
):
    application = prepared_application(area_admin, ready_area, drill=False)
    services.application_submit(actor=area_admin, application=application)
    approved = services.application_approve(
        actor=ministry,
        application=application,
        issuer_id="320100A1",
        override_reason="演练已排期于下月，先行批准",
    )
    assert approved.override_reason == "演练已排期于下月，先行批准"
    event = AuditEvent.objects.get(chain="320100", action="approval.application.approve")
    after = event.after or {}
    assert after["override_reason"] == "演练已排期于下月，先行批准"
    assert after["unmet"] == ["d.drill"]


def test_it_rejects_with_reasons_and_the_area_applies_again(ready_area, area_admin, ministry):
    application = prepared_application(area_admin, ready_area)
    services.application_submit(actor=area_admin, application=application)
    with pytest.raises(InvalidInput) as no_reasons:
        services.application_reject(actor=ministry, application=application, reasons=" ")
    assert no_reasons.value.field == "reasons"

    rejected = services.application_reject(
        actor=ministry, application=application, reasons="实施方案缺少成本测算"
    )
    assert rejected.status == ApplicationStatus.REJECTED
    assert rejected.reasons == "实施方案缺少成本测算" and rejected.decided_by == ministry
    ready_area.refresh_from_db()
    assert ready_area.status == AreaStatus.PREPARING and ready_area.issuer_id is None
    with pytest.raises(Conflict) as again:
        services.application_approve(actor=ministry, application=rejected, issuer_id="X")
    assert again.value.code == "application_state"

    second = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    assert second.status == ApplicationStatus.DRAFT
    assert actions("320100").count("approval.application.reject") == 1


def test_only_one_approval_application_is_open_at_a_time(ready_area, area_admin):
    services.application_create(actor=area_admin, area=ready_area, kind="initial")
    with pytest.raises(Conflict) as refused:
        services.application_create(actor=area_admin, area=ready_area, kind="initial")
    assert refused.value.code == "application_open"


def test_an_initial_application_needs_the_preparation_report(ready_area, area_admin):
    application = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    upload(area_admin, application, "card_face")
    with pytest.raises(Conflict) as refused:
        services.application_submit(actor=area_admin, application=application)
    assert refused.value.code == "preparation_report_missing"


def test_who_may_apply_and_who_may_decide(ready_area, area_admin, ministry, owner, other_area):
    with pytest.raises(Forbidden):
        services.application_create(actor=owner, area=ready_area, kind="initial")
    with pytest.raises(Forbidden):
        services.application_create(actor=ministry, area=ready_area, kind="initial")
    other_admin = make_user("otheradmin", Role.AREA_ADMIN, other_area)
    with pytest.raises(Forbidden):
        services.application_create(actor=other_admin, area=ready_area, kind="initial")
    application = prepared_application(area_admin, ready_area)
    services.application_submit(actor=area_admin, application=application)
    with pytest.raises(Forbidden):
        services.application_approve(
            actor=area_admin, application=application, issuer_id="320100A1"
        )
    with pytest.raises(Forbidden):
        services.application_reject(actor=other_admin, application=application, reasons="x")


# --- documents ------------------------------------------------------------------------


def test_documents_are_kept_by_checksum_and_a_new_version_is_a_new_row(ready_area, area_admin):
    application = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    first = upload(area_admin, application, "card_face", b"face one")
    second = upload(area_admin, application, "card_face", b"face two")
    again = upload(area_admin, application, "card_face", b"face one")
    assert [first.version, second.version, again.version] == [1, 2, 3]
    assert first.sha256 == hashlib.sha256(b"face one").hexdigest() == again.sha256
    assert first.path == again.path == f"320100/{first.sha256}"
    stored = Path(settings.APPROVAL_DOCUMENTS_DIR) / first.path
    assert stored.read_bytes() == b"face one"
    assert (Path(settings.APPROVAL_DOCUMENTS_DIR) / second.path).read_bytes() == b"face two"
    assert actions("320100").count("approval.document.upload") == 3


def test_it_refuses_empty_and_oversized_files_and_uploads_after_submission(
    ready_area, area_admin, settings
):
    application = prepared_application(area_admin, ready_area)
    with pytest.raises(InvalidInput) as empty:
        upload(area_admin, application, "other", b"")
    assert empty.value.code in ("file_empty",)
    settings.APPROVAL_DOCUMENT_MAX_BYTES = 10
    with pytest.raises(InvalidInput) as large:
        upload(area_admin, application, "other", b"x" * 11)
    assert large.value.code == "file_too_large"
    settings.APPROVAL_DOCUMENT_MAX_BYTES = 1000
    services.application_submit(actor=area_admin, application=application)
    with pytest.raises(Conflict) as late:
        upload(area_admin, application, "other", b"late")
    assert late.value.code == "application_not_draft"


def test_the_system_checked_items_cannot_be_entered_by_hand(ready_area, area_admin):
    application = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    item = application.items.get(code="a.backup")
    with pytest.raises(Conflict) as refused:
        services.item_record(actor=area_admin, item=item, status="met", evidence="trust me")
    assert refused.value.code == "item_checked_by_system"
    manual = application.items.get(code="b.evidence")
    with pytest.raises(InvalidInput):
        services.item_record(actor=area_admin, item=manual, status="met", evidence="")
    recorded = services.item_record(
        actor=area_admin, item=manual, status="met", evidence="持证技术人员 6 名，读卡器 12 台"
    )
    assert recorded.checked_by == area_admin and recorded.status == ItemStatus.MET


# --- after approval: re-approval and filings ---------------------------------------------


def test_a_new_card_face_stops_production_until_re_approval(
    approved_by_ministry, area_admin, ministry, card_officer, second_officer
):
    area = approved_by_ministry
    approved_cards(area, 2, submitted_by=card_officer, approved_by=second_officer)
    document = services.area_change_card_face(
        actor=area_admin, area=area, name="新版卡面.pdf", data=b"%PDF face v2"
    )
    assert document.version == 2
    reapproval = document.application
    assert reapproval.kind == "reapproval" and reapproval.status == ApplicationStatus.DRAFT
    assert ReapprovalHold.objects.filter(area=area, lifted_at__isnull=True).count() == 1

    with pytest.raises(Conflict) as refused:
        production.batch_create(actor=card_officer, area=area, vendor="金卡")
    assert refused.value.code == "reapproval_required"

    # A second change joins the same draft application.
    structure = services.area_change_file_structure(
        actor=area_admin, area=area, name="文件结构.xml", data=b"<mf/>"
    )
    assert structure.application == reapproval
    evidence_everything(area_admin, reapproval)
    services.application_submit(actor=area_admin, application=reapproval)
    with pytest.raises(Conflict):
        production.batch_create(actor=card_officer, area=area, vendor="金卡")

    approved = services.application_approve(actor=ministry, application=reapproval)
    assert approved.issuer_id == "320100A1"
    area.refresh_from_db()
    assert area.issuer_id == "320100A1"
    assert not ReapprovalHold.objects.filter(area=area, lifted_at__isnull=True).exists()
    assert ReapprovalHold.objects.filter(lifted_by_application=approved).count() == 2
    assert production.batch_create(actor=card_officer, area=area, vendor="金卡").card_count == 2


def test_withdrawing_the_change_lifts_its_hold(approved_by_ministry, area_admin):
    document = services.area_change_card_face(
        actor=area_admin, area=approved_by_ministry, name="face.pdf", data=b"v2"
    )
    services.application_withdraw(actor=area_admin, application=document.application)
    assert not ReapprovalHold.objects.filter(lifted_at__isnull=True).exists()


def test_a_card_face_change_before_approval_belongs_to_the_application(ready_area, area_admin):
    with pytest.raises(Conflict) as refused:
        services.area_change_card_face(actor=area_admin, area=ready_area, name="f.pdf", data=b"x")
    assert refused.value.code == "area_not_approved"


def test_a_vendor_never_filed_is_refused_until_filed(
    approved_by_ministry, area_admin, ministry, card_officer, second_officer
):
    area = approved_by_ministry
    approved_cards(area, 2, submitted_by=card_officer, approved_by=second_officer)
    with pytest.raises(Conflict) as refused:
        production.batch_create(actor=card_officer, area=area, vendor="华虹卡商")
    assert refused.value.code == "vendor_not_filed" and refused.value.field == "vendor"

    filing = services.application_create(
        actor=area_admin, area=area, kind="filing", vendor="华虹卡商", note="更换制卡商"
    )
    assert not filing.items.exists()  # a filing has no checklist
    # A draft is not filed yet; a submitted filing is, without waiting for the ministry.
    with pytest.raises(Conflict):
        production.batch_create(actor=card_officer, area=area, vendor="华虹卡商")
    services.application_submit(actor=area_admin, application=filing)
    batch = production.batch_create(actor=card_officer, area=area, vendor=" 华虹卡商 ", limit=1)
    assert batch.card_count == 1

    acknowledged = services.filing_acknowledge(actor=ministry, application=filing, reasons="已备案")
    assert acknowledged.status == ApplicationStatus.APPROVED
    with pytest.raises(Conflict) as not_approval:
        services.application_approve(actor=ministry, application=filing)
    assert not_approval.value.code in ("filing_not_approved",)


def test_a_filing_of_added_volume_and_an_empty_filing(approved_by_ministry, area_admin):
    volume = services.application_create(
        actor=area_admin, area=approved_by_ministry, kind="filing", added_volume=50000
    )
    assert volume.added_volume == 50000
    with pytest.raises(InvalidInput) as empty:
        services.application_create(actor=area_admin, area=approved_by_ministry, kind="filing")
    assert empty.value.code == "filing_empty"


def test_a_rejected_filing_no_longer_counts(
    approved_by_ministry, area_admin, ministry, card_officer, second_officer
):
    approved_cards(approved_by_ministry, 1, submitted_by=card_officer, approved_by=second_officer)
    filing = services.application_create(
        actor=area_admin, area=approved_by_ministry, kind="filing", vendor="华虹卡商"
    )
    services.application_submit(actor=area_admin, application=filing)
    services.application_reject(actor=ministry, application=filing, reasons="资质不符")
    with pytest.raises(Conflict) as refused:
        production.batch_create(actor=card_officer, area=approved_by_ministry, vendor="华虹卡商")
    assert refused.value.code == "vendor_not_filed"


def test_an_area_approved_before_the_workflow_is_not_held_to_filings(
    approved_area, card_officer, second_officer
):
    approved_cards(approved_area, 1, submitted_by=card_officer, approved_by=second_officer)
    assert (
        production.batch_create(actor=card_officer, area=approved_area, vendor="任意").card_count
        == 1
    )


# --- extra conditions (e) -----------------------------------------------------------


def test_extra_conditions_join_the_checklists_they_apply_to(
    ready_area, other_area, area_admin, ministry
):
    application = prepared_application(area_admin, ready_area)
    everywhere = services.extra_condition_create(
        actor=ministry, title="接入全国社保卡服务平台", description="完成联调测试"
    )
    elsewhere = services.extra_condition_create(
        actor=ministry, title="北京专项条件", area_codes=[other_area.code]
    )
    codes = set(application.items.values_list("code", flat=True))
    assert everywhere.item_code in codes and elsewhere.item_code not in codes
    item = application.items.get(code=everywhere.item_code)
    assert item.source == ItemSource.EXTRA and item.condition == "e"

    services.application_submit(actor=area_admin, application=application)
    with pytest.raises(Conflict) as refused:
        services.application_approve(actor=ministry, application=application, issuer_id="320100A1")
    assert refused.value.detail == {"unmet": [everywhere.item_code]}

    # A new application starts with the condition in its checklist.
    services.application_withdraw(actor=area_admin, application=application)
    fresh = services.application_create(actor=area_admin, area=ready_area, kind="initial")
    assert fresh.items.filter(code=everywhere.item_code).exists()
    services.extra_condition_set_active(actor=ministry, condition=everywhere, active=False)
    assert not fresh.items.filter(code=everywhere.item_code).exists()
    # The withdrawn application keeps its history.
    assert application.items.filter(code=everywhere.item_code).exists()
    assert AuditEvent.objects.filter(
        chain="000000", action="approval.extra_condition.deactivate"
    ).exists()


def test_only_the_ministry_sets_extra_conditions(area_admin, other_area, ministry):
    with pytest.raises(Forbidden):
        services.extra_condition_create(actor=area_admin, title="x")
    with pytest.raises(InvalidInput) as unknown:
        services.extra_condition_create(actor=ministry, title="x", area_codes=["999999"])
    assert unknown.value.code == "area_unknown"


def test_every_step_is_in_the_audit_chain(approved_by_ministry):
    recorded = actions("320100")
    for action in (
        "approval.application.create",
        "approval.document.upload",
        "approval.drill.record",
        "approval.item.record",
        "approval.application.submit",
        "approval.application.approve",
    ):
        assert action in recorded, action
    assert AreaApplication.objects.get().status == ApplicationStatus.APPROVED
