"""The live checks of conditions (a)–(d) go green and red with the facts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from shebao.approval import checks, services
from shebao.approval.checks import CHECKS, Check, CheckResult, register, run_check, run_checks
from shebao.approval.models import DrillOutcome
from shebao.approval.testing import fake_backup, upload
from shebao.audit.models import AuditEvent
from shebao.registry.area_settings import CATALOGUE, SettingSpec
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import AreaSetting
from shebao.registry.services import person_register

pytestmark = pytest.mark.django_db


def result(code, area) -> CheckResult:
    return run_check(CHECKS[code], area)


def test_the_database_answers(area):
    assert result("a.database", area).ok


def test_a_backup_too_old_turns_the_check_red(area, settings, tmp_path):
    settings.SHEBAO_BACKUP_DIR = str(tmp_path / "old")
    fake_backup(tmp_path / "old", age=dt.timedelta(days=2))
    red = result("a.backup", area)
    assert not red.ok
    assert red.evidence["max_age_days"] == 1 and red.evidence["age_hours"] >= 48

    # The area allows 3 days: the same backup is recent enough.
    AreaSetting.objects.create(
        area=area, key="approval_backup_max_age_days", value=3, valid_from=dt.date(2020, 1, 1)
    )
    assert result("a.backup", area).ok


def test_no_verified_backup_is_red(area, settings, tmp_path):
    settings.SHEBAO_BACKUP_DIR = str(tmp_path / "none")
    assert not result("a.backup", area).ok
    fake_backup(tmp_path / "none", ok=False)  # made, but failed its verification
    assert not result("a.backup", area).ok
    fake_backup(tmp_path / "none", age=dt.timedelta(hours=3))
    assert result("a.backup", area).ok


def test_a_broken_audit_chain_turns_the_check_red(area, owner, other_area, stranger):
    for sequence in range(1, 4):
        person_register(
            actor=owner,
            area=area,
            id_number=make_identity_number("320106", dt.date(1985, 3, 2), sequence),
            name=f"测试{sequence}",
        )
    person_register(
        actor=stranger,
        area=other_area,
        id_number=make_identity_number("110105", dt.date(1990, 1, 1), 1),
        name="北京人",
    )
    green = result("a.audit_chain", area)
    assert green.ok
    assert green.evidence["checked"] == AuditEvent.objects.filter(chain="320100").count() >= 3

    AuditEvent.objects.filter(chain="320100", seq=2).update(actor_name="someone else")
    red = result("a.audit_chain", area)
    assert not red.ok and red.evidence["seq"] == 2
    # Only the area's own chain counts: another area's break is not this area's.
    assert result("a.audit_chain", other_area).ok


def test_the_endpoints_respond(area):
    green = result("a.endpoints", area)
    assert green.ok, green.detail
    assert green.evidence["answers"]["/api/v1/openapi.json"] == "resolves"
    assert green.evidence["answers"]["/verify/"] == 200


def test_an_endpoint_that_does_not_answer_turns_the_check_red(area, monkeypatch):
    monkeypatch.setattr(checks, "ENDPOINTS", (*checks.ENDPOINTS, ("/no-such-page/", 200)))
    red = result("a.endpoints", area)
    assert not red.ok and red.evidence["failing"] == ["/no-such-page/"]
    monkeypatch.setattr(checks, "API_DESCRIPTION", "/api/v9/openapi.json")
    assert "/api/v9/openapi.json" in result("a.endpoints", area).evidence["failing"]


def test_outlets_registered_and_active(area):
    assert not result("b.outlets", area).ok
    outlet = area.outlets.create(code="WD001", name="玄武", active=False)
    assert not result("b.outlets", area).ok
    outlet.active = True
    outlet.save()
    assert result("b.outlets", area).evidence == {"active": 1, "total": 1}


def test_documents_on_file(area, area_admin):
    application = services.application_create(actor=area_admin, area=area, kind="initial")
    assert result("c.card_design_documents", area).evidence["missing"] == [
        "card_face",
        "file_structure",
    ]
    upload(area_admin, application, "card_face")
    upload(area_admin, application, "card_face", b"second")
    upload(area_admin, application, "file_structure")
    green = result("c.card_design_documents", area)
    assert green.ok and green.evidence["versions"] == {"card_face": 2, "file_structure": 1}
    assert not result("d.local_rules", area).ok
    upload(area_admin, application, "local_rules")
    assert result("d.local_rules", area).ok


def drill(area, admin, *, days_ago, outcome=DrillOutcome.PASSED):
    return services.drill_record(
        actor=admin,
        area=area,
        kind="read_only",
        done_at=timezone.now() - dt.timedelta(days=days_ago),
        outcome=outcome,
        evidence="只读模式演练",
    )


def test_a_drill_in_the_last_six_months(area, area_admin):
    assert not result("d.drill", area).ok
    drill(area, area_admin, days_ago=200)
    assert not result("d.drill", area).ok  # older than 6 months
    drill(area, area_admin, days_ago=20, outcome=DrillOutcome.FAILED)
    assert not result("d.drill", area).ok  # a failed drill proves nothing
    AreaSetting.objects.create(
        area=area, key="approval_drill_max_age_months", value=12, valid_from=dt.date(2020, 1, 1)
    )
    assert result("d.drill", area).ok  # the 200-day-old one counts within 12 months
    AreaSetting.objects.all().delete()
    drill(area, area_admin, days_ago=20)
    assert result("d.drill", area).ok


def test_a_drill_cannot_be_in_the_future(area, area_admin):
    from shebao.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        drill(area, area_admin, days_ago=-1)


def test_internal_control_settings_must_be_on(area, monkeypatch):
    monkeypatch.setitem(
        CATALOGUE,
        "separation_custodian_issuer",
        SettingSpec("separation_custodian_issuer", True, bool, "custodian is not issuer"),
    )
    green = result("d.internal_control", area)
    assert green.ok and green.evidence["settings"]["separation_custodian_issuer"] is True
    AreaSetting.objects.create(
        area=area, key="separation_custodian_issuer", value=False, valid_from=dt.date(2020, 1, 1)
    )
    red = result("d.internal_control", area)
    assert not red.ok and "separation_custodian_issuer" in red.detail


def test_a_check_that_fails_is_red_and_the_others_still_run(area, monkeypatch):
    def broken(area):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setitem(CHECKS, "a.broken", Check("a.broken", "a", "broken", broken))
    results = run_checks(area)
    assert not results["a.broken"].ok and "ZeroDivisionError" in results["a.broken"].detail
    assert results["a.database"].ok


def test_a_check_another_app_registers_joins_the_checklist(area, area_admin, monkeypatch):
    saved = dict(CHECKS)
    try:

        @register("b.trained_staff", condition="b", title="Trained staff at every outlet")
        def trained_staff(area):
            return CheckResult(True, "3 trained officers", {"officers": 3})

        trained_staff.__module__ = "shebao.plans.checks"
        CHECKS["b.trained_staff"] = Check(
            "b.trained_staff", "b", "Trained staff at every outlet", trained_staff
        )
        application = services.application_create(actor=area_admin, area=area, kind="initial")
        codes = set(application.items.values_list("code", flat=True))
        # Condition b is checked by its own app now: no hand-written evidence for it.
        assert "b.trained_staff" in codes and "b.evidence" not in codes
        assert "c.evidence" in codes
    finally:
        CHECKS.clear()
        CHECKS.update(saved)


def test_register_refuses_an_unknown_condition():
    with pytest.raises(ValueError):
        register("f.nothing", condition="f", title="x")
