"""Complaints (SIL art. 82): filing with the record as evidence, the status table,
transfer in writing, who sees what, deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.audit.services import audit_verify
from shebao.complaints import selectors, services
from shebao.complaints.lifecycle import NEW, OPERATIONS, TRANSITIONS, Op, allowed_operations
from shebao.complaints.models import Complaint, ComplaintEvent, ComplaintStatus
from shebao.complaints.testing import AFTER_DUE, OCTOBER, bill, contributions_officer, declare
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from shebao.registry.identifiers import make_credit_code
from shebao.registry.models import Employer, Person
from shebao.registry.services import area_setting_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(area):
    return contributions_officer(area)


@pytest.fixture
def october_unpaid(officer, area, person, employer, employment):
    """The employer declared 9,000 for October and has not paid the bill."""
    declare(officer, employer, person, OCTOBER, "9000")
    bill(officer, area, OCTOBER)


def file_unpaid(individual, employer, **options):
    return services.complaint_file(
        actor=individual,
        kind="unpaid",
        text="单位扣了我的社保费但没有缴纳。",
        employer=employer,
        **options,
    )


def phoned_in(officer, **options):
    """A complaint about card service, taken by phone, for nobody in particular."""
    fields = {"kind": "card_service", "text": "网点排队三小时。", "channel": "phone", **options}
    return services.complaint_record(actor=officer, **fields)


def fresh(complaint):
    return Complaint.objects.get(pk=complaint.pk)


# --- filing -------------------------------------------------------------------------


def test_filing_from_the_supervision_table_keeps_the_flagged_months_as_evidence(
    october_unpaid, individual, employer, person
):
    complaint = file_unpaid(individual, employer, months=[OCTOBER], on=AFTER_DUE)

    assert complaint.evidence == [
        {
            "period": "2026-10",
            "employer_id": employer.pk,
            "employer_name": employer.name,
            "credit_code": employer.credit_code,
            "employed": True,
            "declared_wage": "9000.00",
            "billed_employer": "2115.00",
            "billed_individual": "945.00",
            "bill_id": complaint.evidence[0]["bill_id"],
            "due_on": "2026-11-15",
            "paid": False,
            "flags": ["withheld_unpaid"],
        }
    ]
    assert (complaint.person, complaint.employer, complaint.status, complaint.channel) == (
        person,
        employer,
        "received",
        "online",
    )
    year = timezone.localdate().year
    assert complaint.reference == f"320100-{year}-000001"
    event = complaint.events.get()
    assert (event.operation, event.from_status, event.to_status) == ("file", "", "received")
    assert AuditEvent.objects.filter(action="complaint.file", subject_id=str(complaint.pk)).exists()


def test_references_are_sequential_per_area_and_year(officer, area):
    first, second = phoned_in(officer), phoned_in(officer)
    year = timezone.localdate().year
    assert [first.reference, second.reference] == [
        f"320100-{year}-000001",
        f"320100-{year}-000002",
    ]


def test_a_month_the_record_does_not_flag_cannot_be_attached(
    october_unpaid, cashier, individual, employer
):
    with pytest.raises(InvalidInput) as refused:
        file_unpaid(individual, employer, months=[OCTOBER], on=dt.date(2026, 11, 1))
    assert (refused.value.code, refused.value.field) == ("month_not_flagged", "months")
    assert "2026-10" in refused.value.message
    assert not Complaint.objects.exists()


def test_a_person_complains_only_about_their_own_employers_unless_the_kind_is_other(
    individual, area
):
    stranger_employer = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7C0"),
        name="别人家的公司",
        established_on=dt.date(2010, 1, 1),
        registered_on=dt.date(2010, 1, 1),
    )
    with pytest.raises(Forbidden) as refused:
        file_unpaid(individual, stranger_employer)
    assert refused.value.code == "not_your_employer"

    other = services.complaint_file(
        actor=individual, kind="other", text="这家公司拖欠工资。", employer=stranger_employer
    )
    assert (other.kind, other.evidence) == ("other", [])


def test_a_complaint_about_an_employer_must_name_one(individual):
    with pytest.raises(InvalidInput) as refused:
        services.complaint_file(actor=individual, kind="unpaid", text="x")
    assert refused.value.code == "employer_required"
    card = services.complaint_file(actor=individual, kind="card_service", text="卡片迟迟未发。")
    assert card.employer is None


def test_staff_record_a_complaint_by_phone_even_anonymously(officer, employer):
    anonymous = services.complaint_record(
        actor=officer,
        kind="undeclared",
        text="匿名举报：该公司二十名员工未参保。",
        channel="phone",
        employer=employer,
    )
    assert (anonymous.person, anonymous.complainant_name, anonymous.channel) == (
        None,
        "",
        "phone",
    )
    assert anonymous.events.get().operation == "record"
    with pytest.raises(InvalidInput) as refused:
        services.complaint_record(actor=officer, kind="other", text="x", channel="online")
    assert refused.value.code == "channel"


def test_only_those_who_may_file_or_record_do(individual, colleague, stranger, employer):
    with pytest.raises(Forbidden):
        services.complaint_file(actor=colleague, kind="other", text="x")
    with pytest.raises(Forbidden):
        services.complaint_record(actor=individual, kind="other", text="x", channel="phone")
    with pytest.raises(Forbidden):
        services.complaint_record(
            actor=make_user("c2", Role.CONTRIBUTIONS_OFFICER, stranger.area),
            kind="unpaid",
            text="x",
            channel="phone",
            employer=employer,
        )


# --- the status table ------------------------------------------------------------------


def test_the_table_closes_resolved_rejected_and_transferred_cases_for_good():
    for status in (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED, ComplaintStatus.TRANSFERRED):
        assert allowed_operations(status) == []
    assert allowed_operations(NEW) == [Op.FILE, Op.RECORD, Op.TRANSFER_IN]
    assert all(op in OPERATIONS for _status, op in TRANSITIONS)


# The services of the table's operations, each with what it needs.
ACT = {
    Op.ACCEPT: lambda actor, case, ctx: services.complaint_accept(actor=actor, complaint=case),
    Op.INVESTIGATE: lambda actor, case, ctx: services.complaint_investigate(
        actor=actor, complaint=case
    ),
    Op.RESOLVE: lambda actor, case, ctx: services.complaint_resolve(
        actor=actor, complaint=case, outcome="已责令单位补缴。"
    ),
    Op.REJECT: lambda actor, case, ctx: services.complaint_reject(
        actor=actor, complaint=case, reason="不属于社会保险事项。"
    ),
    Op.TRANSFER: lambda actor, case, ctx: services.complaint_transfer(
        actor=actor, complaint=case, to_area=ctx["other_area"], reason="单位注册地在北京。"
    ),
    Op.COMMENT: lambda actor, case, ctx: services.complaint_comment(
        actor=actor, complaint=case, note="已电话联系投诉人。"
    ),
    Op.ASSIGN: lambda actor, case, ctx: services.complaint_assign(
        actor=actor, complaint=case, assignee=ctx["officer"]
    ),
}
# How to bring a new case into each status.
PATHS = {
    ComplaintStatus.RECEIVED: [],
    ComplaintStatus.ACCEPTED: [Op.ACCEPT],
    ComplaintStatus.INVESTIGATING: [Op.ACCEPT, Op.INVESTIGATE],
    ComplaintStatus.RESOLVED: [Op.ACCEPT, Op.RESOLVE],
    ComplaintStatus.REJECTED: [Op.REJECT],
    ComplaintStatus.TRANSFERRED: [Op.TRANSFER],
}


@pytest.mark.parametrize("status", list(PATHS))
@pytest.mark.parametrize("operation", list(ACT))
def test_every_service_follows_the_table(status, operation, area_admin, officer, other_area):
    ctx = {"other_area": other_area, "officer": officer}
    case = phoned_in(officer)
    for step in PATHS[status]:
        ACT[step](area_admin, fresh(case), ctx)
    case = fresh(case)
    assert case.status == status
    events = case.events.count()

    if (status, operation) in TRANSITIONS:
        ACT[operation](area_admin, case, ctx)
        assert fresh(case).status == TRANSITIONS[(status, operation)]
        assert case.events.count() == events + 1
    else:
        with pytest.raises(Conflict) as refused:
            ACT[operation](area_admin, case, ctx)
        assert refused.value.code == "invalid_transition"
        assert fresh(case).status == status
        assert case.events.count() == events


def test_a_received_case_is_accepted_before_it_is_resolved(officer):
    case = phoned_in(officer)
    with pytest.raises(Conflict) as refused:
        services.complaint_resolve(actor=officer, complaint=case, outcome="x")
    with translation.override("en"):
        assert "Accept" in refused.value.message


def test_the_history_is_every_step_in_order(area_admin, officer, individual, employer, employment):
    case = file_unpaid(individual, employer)
    services.complaint_assign(actor=area_admin, complaint=case, assignee=officer)
    services.complaint_accept(actor=officer, complaint=case, note="属本区管辖。")
    services.complaint_comment(actor=individual, complaint=case, note="补充：工资条已上传。")
    services.complaint_investigate(actor=officer, complaint=case)
    services.complaint_resolve(actor=officer, complaint=case, outcome="单位已补缴10月社保费。")

    history = list(selectors.complaint_history(case))
    assert [(e.operation, e.from_status, e.to_status) for e in history] == [
        ("file", "", "received"),
        ("assign", "received", "received"),
        ("accept", "received", "accepted"),
        ("comment", "accepted", "accepted"),
        ("investigate", "accepted", "investigating"),
        ("resolve", "investigating", "resolved"),
    ]
    assert [e.actor for e in history] == [
        individual,
        area_admin,
        officer,
        individual,
        officer,
        officer,
    ]
    case = fresh(case)
    assert (case.outcome, case.closed_at is not None) == ("单位已补缴10月社保费。", True)
    assert audit_verify()[1] == []


# --- who acts ------------------------------------------------------------------------------


def test_only_staff_of_the_handling_area_resolve(officer, stranger, other_area):
    case = phoned_in(officer)
    services.complaint_accept(actor=officer, complaint=case)
    outsider = make_user("c9", Role.CONTRIBUTIONS_OFFICER, other_area)
    for actor in (stranger, outsider):
        with pytest.raises(Forbidden):
            services.complaint_resolve(actor=actor, complaint=case, outcome="x")
    assert fresh(case).status == "accepted"


def test_once_assigned_only_the_assignee_or_the_administrator_acts(officer, area_admin, area):
    case = phoned_in(officer)
    services.complaint_accept(actor=officer, complaint=case)  # takes the case
    assert fresh(case).assignee == officer
    second = make_user("contrib2", Role.CONTRIBUTIONS_OFFICER, area)
    with pytest.raises(Forbidden) as refused:
        services.complaint_resolve(actor=second, complaint=case, outcome="x")
    assert refused.value.code == "not_assignee"
    services.complaint_resolve(actor=area_admin, complaint=case, outcome="已处理。")
    assert fresh(case).status == "resolved"


def test_cases_are_assigned_to_handlers_of_the_area_by_the_administrator(
    officer, area_admin, colleague, area
):
    case = phoned_in(officer)
    with pytest.raises(Forbidden):
        services.complaint_assign(actor=officer, complaint=case, assignee=officer)
    with pytest.raises(InvalidInput) as refused:
        services.complaint_assign(actor=area_admin, complaint=case, assignee=colleague)
    assert refused.value.code == "assignee_not_handler"
    services.complaint_assign(actor=area_admin, complaint=case, assignee=officer)
    assert fresh(case).assignee == officer


def test_a_person_comments_only_on_their_own_case(officer, individual, area, employer, employment):
    case = file_unpaid(individual, employer)
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    someone = make_user("li", Role.INDIVIDUAL, area, person_id=other.pk)
    with pytest.raises(Forbidden):
        services.complaint_comment(actor=someone, complaint=case, note="x")
    services.complaint_comment(actor=individual, complaint=case, note="我还有银行流水。")
    assert case.events.latest("pk").note == "我还有银行流水。"


# --- transfer --------------------------------------------------------------------------------


def test_a_transfer_continues_the_case_in_the_other_area_with_a_written_record(
    october_unpaid, officer, individual, employer, other_area, area
):
    case = file_unpaid(individual, employer, months=[OCTOBER], on=AFTER_DUE)
    services.complaint_accept(actor=officer, complaint=case)

    continuation = services.complaint_transfer(
        actor=officer, complaint=case, to_area=other_area, reason="该单位实际在北京参保。"
    )

    original = fresh(case)
    assert (original.status, original.closed_at is not None) == ("transferred", True)
    year = timezone.localdate().year
    assert continuation.reference == f"110100-{year}-000001"
    assert (continuation.area_id, continuation.status, continuation.channel) == (
        "110100",
        "received",
        "transfer",
    )
    assert continuation.transferred_from == original
    assert (continuation.person_id, continuation.employer_id) == (case.person_id, employer.pk)
    assert continuation.evidence == original.evidence
    letter = selectors.transfer_letter(continuation)
    assert letter.complaint == original
    for text in (original.reference, continuation.reference, "该单位实际在北京参保。", "82"):
        assert text in letter.document
    assert "320106198503023314" not in letter.document  # the identity number is masked
    assert continuation.events.get().operation == "transfer_in"
    assert AuditEvent.objects.filter(chain="320100", action="complaint.transfer").exists()
    assert AuditEvent.objects.filter(chain="110100", action="complaint.transfer_in").exists()


def test_the_person_follows_a_transferred_case_to_its_outcome(
    officer, individual, employer, employment, other_area
):
    case = file_unpaid(individual, employer)
    continuation = services.complaint_transfer(
        actor=officer, complaint=case, to_area=other_area, reason="管辖在北京。"
    )
    beijing = make_user("bj", Role.CONTRIBUTIONS_OFFICER, other_area)
    services.complaint_accept(actor=beijing, complaint=continuation)
    services.complaint_resolve(actor=beijing, complaint=continuation, outcome="已责令补缴。")

    mine = selectors.complaints_for(individual).order_by("pk")
    assert [(c.reference, c.status) for c in mine] == [
        (case.reference, "transferred"),
        (continuation.reference, "resolved"),
    ]
    seen = selectors.complaint_get(individual, continuation.pk)
    assert seen.outcome == "已责令补缴。"
    assert selectors.complaint_links(seen)["transferred_from"] == case
    # Each area's staff see their own part; the Beijing staff read the letter.
    assert list(selectors.complaints_for(beijing)) == [continuation]
    assert list(selectors.complaints_for(officer)) == [case]
    assert selectors.transfer_letter(selectors.complaint_get(beijing, continuation.pk)).document


def test_a_case_is_not_transferred_to_its_own_area(officer, area):
    case = phoned_in(officer)
    with pytest.raises(InvalidInput) as refused:
        services.complaint_transfer(actor=officer, complaint=case, to_area=area, reason="x")
    assert refused.value.code == "same_area"
    assert not Complaint.objects.filter(transferred_from=case).exists()


# --- who sees what ---------------------------------------------------------------------------


def test_a_person_cannot_see_anothers_complaint(individual, area, employer, employment, officer):
    case = file_unpaid(individual, employer)
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    someone = make_user("li", Role.INDIVIDUAL, area, person_id=other.pk)
    with pytest.raises(NotFound):
        selectors.complaint_get(someone, case.pk)
    assert not selectors.complaints_for(someone).exists()
    assert selectors.complaint_get(individual, case.pk) == case


def test_staff_outside_the_complaints_or_the_area_see_nothing(
    officer, individual, employer, employment, stranger, colleague
):
    case = file_unpaid(individual, employer)
    for outsider in (stranger, colleague):
        assert not selectors.complaints_for(outsider).exists()
        with pytest.raises(NotFound):
            selectors.complaint_get(outsider, case.pk)


# --- deadlines ---------------------------------------------------------------------------------


def test_the_deadline_is_the_area_setting_after_receipt(officer, area_admin, area):
    today = timezone.localdate()
    assert phoned_in(officer).deadline == today + dt.timedelta(days=60)
    area_setting_set(
        actor=area_admin,
        area=area,
        key="complaint_handling_days",
        value=15,
        valid_from=today - dt.timedelta(days=1),
    )
    assert phoned_in(officer).deadline == today + dt.timedelta(days=15)


def test_overdue_cases_are_listed_for_the_administrator_first(officer, area_admin):
    early, late, done = phoned_in(officer), phoned_in(officer), phoned_in(officer)
    Complaint.objects.filter(pk=early.pk).update(deadline=dt.date(2026, 1, 10))
    Complaint.objects.filter(pk=late.pk).update(deadline=dt.date(2026, 1, 20))
    Complaint.objects.filter(pk=done.pk).update(deadline=dt.date(2026, 1, 5))
    services.complaint_reject(actor=officer, complaint=done, reason="重复投诉。")
    on = dt.date(2026, 1, 15)

    overdue = selectors.complaints_overdue(area_admin, today=on)

    assert list(overdue) == [early]
    assert fresh(early).is_overdue(on) and not fresh(done).is_overdue(on)
    queue = list(selectors.complaint_queue(area_admin, today=on))
    assert queue[0] == early and queue[0].overdue == 1
    assert [c.pk for c in queue[1:]] == [done.pk, late.pk]
    open_only = selectors.complaint_queue(area_admin, status="open", today=on)
    assert done not in list(open_only)
    with pytest.raises(Forbidden):
        selectors.complaints_overdue(officer, today=on)


def test_every_step_is_one_event_and_one_audit_record(officer):
    case = phoned_in(officer)
    services.complaint_accept(actor=officer, complaint=case)
    assert ComplaintEvent.objects.filter(complaint=case).count() == 2
    assert AuditEvent.objects.filter(subject_type="complaints.complaint").count() == 2
