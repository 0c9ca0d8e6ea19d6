"""Payments of contributions and arrears: record a payment, import a bank file,
list payments with their allocations, apply an employer's credit, an
employer's, an area's and a person's arrears with the late fee run until a
day, and the arrears notice."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from shebao.api.files import uploaded_stream
from shebao.api.paging import page_of, paginate
from shebao.api.registry import PageQuery, actor, responses
from shebao.contributions import payments
from shebao.contributions.models import Payment, PaymentAllocation, PaymentSource
from shebao.contributions.payments import BillBalance, EmployerArrears, money_of
from shebao.registry import selectors as registry_selectors

router = Router(tags=["payments"])

MONEY = "CNY, two decimals"


# --- schemas -------------------------------------------------------------------------


class PaymentIn(Schema):
    employer: int
    bank_reference: str = Field(max_length=64, description="The bank's reference, once per area")
    amount: Decimal = Field(gt=0, description="CNY; rounded half up to the cent")
    paid_on: dt.date


class PaymentOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    employer: int = Field(alias="employer_id")
    employer_name: str = Field(alias="employer.name")
    bank_reference: str
    amount: Decimal = Field(description=MONEY)
    paid_on: dt.date
    source: str = Field(description="counter, bank_file or api")
    allocated: Decimal = Field(description="Allocated to bills (contributions and late fee)")
    unallocated: Decimal = Field(description="Left over: a credit of the employer")
    created_by: str = Field(alias="created_by.username")
    created_at: dt.datetime

    @staticmethod
    def resolve_amount(obj: Payment) -> Decimal:
        return money_of(obj.amount_cents)

    @staticmethod
    def resolve_allocated(obj: Any) -> Decimal:
        return money_of(obj.allocated_cents)

    @staticmethod
    def resolve_unallocated(obj: Any) -> Decimal:
        return money_of(obj.amount_cents - obj.allocated_cents)


class AllocationOut(Schema):
    id: int
    bill: int
    period: dt.date
    principal: Decimal = Field(
        description="Contributions settled; negative for a release (given back)"
    )
    late_fee: Decimal = Field(description="Late fee settled (SIL art. 86)")
    release_of: int | None = Field(
        description="A release: the allocation it gives back (its bill was lowered)"
    )


def _allocation_out(allocation: PaymentAllocation) -> dict[str, Any]:
    return {
        "id": allocation.pk,
        "bill": allocation.bill_id,
        "period": allocation.bill.period,
        "principal": money_of(allocation.principal_cents),
        "late_fee": money_of(allocation.late_fee_cents),
        "release_of": allocation.release_of_id,
    }


class PaymentDetailOut(PaymentOut):
    allocations: list[AllocationOut]

    @staticmethod
    def resolve_allocations(obj: Payment) -> list[dict[str, Any]]:
        return [_allocation_out(a) for a in payments.payment_allocations(obj)]


class CreditAllocationOut(AllocationOut):
    payment: int
    bank_reference: str


class CreditAppliedOut(Schema):
    employer: int
    releases: list[CreditAllocationOut] = Field(
        description="Given back by bills a correction lowered after they were paid"
    )
    allocations: list[CreditAllocationOut] = Field(description="Credit allocated to open bills")
    account_entries: int = Field(description="Personal-account entries made")
    credit: Decimal = Field(description="Credit left today")


class PaymentQuery(PageQuery):
    employer: int | None = None
    paid_from: dt.date | None = None
    paid_to: dt.date | None = None


class ImportErrorOut(Schema):
    line: int
    bank_reference: str
    field: str
    code: str
    message: str


class ImportOut(Schema):
    filename: str
    read: int
    recorded: int
    unchanged: int = Field(description="Recorded before with the same employer, amount and day")
    rejected: int
    errors: list[ImportErrorOut] = Field(description="Refused rows: line, field and reason")


class OnQuery(Schema):
    on: dt.date | None = Field(None, description="The day the late fee is run to; today if absent")


class BillDueOut(Schema):
    bill: int
    period: dt.date
    due_on: dt.date
    overdue_from: dt.date = Field(description="The day after due_on")
    days_overdue: int
    principal: Decimal = Field(description="Contributions billed")
    principal_paid: Decimal
    principal_due: Decimal
    late_fee_due: Decimal = Field(description="Run until `on`, less what was paid")
    total_due: Decimal


class EmployerArrearsOut(Schema):
    employer: int
    employer_name: str
    credit_code: str
    on: dt.date
    bills: list[BillDueOut]
    principal_due: Decimal
    late_fee_due: Decimal
    total_due: Decimal
    credit: Decimal = Field(description="Received and not allocated (overpayment)")


class AreaArrearsOut(Schema):
    employer: int
    employer_name: str
    credit_code: str
    bills: int = Field(description="Unpaid bills")
    oldest_period: dt.date | None
    principal_due: Decimal
    late_fee_due: Decimal
    total_due: Decimal
    credit: Decimal


class AreaArrearsQuery(PageQuery):
    on: dt.date | None = None


class InsuranceDueOut(Schema):
    insurance: str
    employer: Decimal = Field(description="Employer's share billed")
    individual: Decimal = Field(description="Individual's share billed")


class PersonMonthOut(Schema):
    period: dt.date
    employer: int
    employer_name: str
    bill: int
    due_on: dt.date
    insurances: list[InsuranceDueOut]


class PersonArrearsOut(Schema):
    person: int
    on: dt.date
    rule: str = Field(description="When a person-month counts as paid")
    months: list[PersonMonthOut]
    employer_due: Decimal
    individual_due: Decimal


def _bill_out(balance: BillBalance) -> dict[str, Any]:
    return {
        "bill": balance.bill.pk,
        "period": balance.bill.period,
        "due_on": balance.bill.due_on,
        "overdue_from": balance.overdue_from,
        "days_overdue": balance.days_overdue,
        "principal": money_of(balance.principal_cents),
        "principal_paid": money_of(balance.principal_paid_cents),
        "principal_due": money_of(balance.principal_due_cents),
        "late_fee_due": money_of(balance.late_fee_due_cents),
        "total_due": money_of(balance.total_due_cents),
    }


def _totals(arrears: EmployerArrears) -> dict[str, Any]:
    return {
        "employer": arrears.employer.pk,
        "employer_name": arrears.employer.name,
        "credit_code": arrears.employer.credit_code,
        "principal_due": money_of(arrears.principal_due_cents),
        "late_fee_due": money_of(arrears.late_fee_due_cents),
        "total_due": money_of(arrears.total_due_cents),
        "credit": money_of(arrears.credit_cents),
    }


def _on(day: dt.date | None) -> dt.date:
    return day or timezone.localdate()


# --- payments ----------------------------------------------------------------------------


@router.post(
    "/payments",
    response=responses(201, PaymentDetailOut) | {200: PaymentDetailOut},
    summary="Record a payment and allocate it to the oldest bills (200 if recorded before)",
)
def payment_create(request: HttpRequest, payload: PaymentIn) -> Any:
    user = actor(request)
    employer = registry_selectors.employer_get(user, payload.employer)
    outcome = payments.payment_record_outcome(
        actor=user,
        employer=employer,
        bank_reference=payload.bank_reference,
        amount=payload.amount,
        paid_on=payload.paid_on,
        source=PaymentSource.API,
    )
    return Status(201 if outcome.created else 200, payments.payment_get(user, outcome.payment.pk))


@router.post(
    "/payments/import",
    response=responses(200, ImportOut),
    summary="Import a bank file (CSV: bank_reference, credit_code, amount, paid_on)",
)
def payment_import(request: HttpRequest, file: File[UploadedFile]) -> Any:
    stream = uploaded_stream(file)
    report = payments.payments_import(
        actor=actor(request), stream=stream, filename=file.name or "bank.csv"
    )
    return {
        "filename": report.filename,
        "read": report.read,
        "recorded": report.recorded,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "errors": [error.as_dict() for error in report.errors],
    }


@router.get("/payments", response=responses(200, page_of(PaymentOut)), summary="Payments received")
def payment_list(request: HttpRequest, query: Query[PaymentQuery]) -> Any:
    rows = payments.payments_for(actor(request))
    if query.employer is not None:
        rows = rows.filter(employer_id=query.employer)
    if query.paid_from is not None:
        rows = rows.filter(paid_on__gte=query.paid_from)
    if query.paid_to is not None:
        rows = rows.filter(paid_on__lte=query.paid_to)
    return paginate(rows.order_by("-paid_on", "-pk"), query.page, query.page_size)


@router.get(
    "/payments/{payment_id}",
    response=responses(200, PaymentDetailOut),
    summary="One payment with its allocations to bills",
)
def payment_detail(request: HttpRequest, payment_id: int) -> Any:
    return payments.payment_get(actor(request), payment_id)


@router.post(
    "/employers/{employer_id}/credit/apply",
    response=responses(200, CreditAppliedOut),
    summary="Apply an employer's credit to its open bills (after releasing lowered bills)",
)
def credit_apply(request: HttpRequest, employer_id: int) -> Any:
    user = actor(request)
    employer = registry_selectors.employer_get(user, employer_id)
    applied = payments.credit_apply(actor=user, employer=employer)
    rows = PaymentAllocation.objects.filter(
        pk__in=[a.pk for a in applied.releases + applied.allocations]
    ).select_related("bill", "payment")
    by_pk = {row.pk: row for row in rows}

    def out(allocations: list[PaymentAllocation]) -> list[dict[str, Any]]:
        return [
            {
                **_allocation_out(by_pk[a.pk]),
                "payment": a.payment_id,
                "bank_reference": by_pk[a.pk].payment.bank_reference,
            }
            for a in allocations
        ]

    return {
        "employer": employer.pk,
        "releases": out(applied.releases),
        "allocations": out(applied.allocations),
        "account_entries": len(applied.entries),
        "credit": money_of(payments.employer_credit(user, employer, timezone.localdate())),
    }


# --- arrears -------------------------------------------------------------------------------


@router.get(
    "/employers/{employer_id}/arrears",
    response=responses(200, EmployerArrearsOut),
    summary="An employer's unpaid bills with the late fee run until a day",
)
def employer_arrears(request: HttpRequest, employer_id: int, query: Query[OnQuery]) -> Any:
    user = actor(request)
    employer = registry_selectors.employer_get(user, employer_id)
    arrears = payments.employer_arrears(user, employer, _on(query.on))
    return {**_totals(arrears), "on": arrears.on, "bills": [_bill_out(b) for b in arrears.bills]}


@router.get(
    "/employers/{employer_id}/arrears/notice",
    response={200: None},
    summary="The arrears notice of an employer (plain text)",
)
def employer_arrears_notice(
    request: HttpRequest, employer_id: int, query: Query[OnQuery]
) -> HttpResponse:
    user = actor(request)
    employer = registry_selectors.employer_get(user, employer_id)
    notice = payments.arrears_notice(user, employer, _on(query.on))
    return HttpResponse(notice.text, content_type="text/plain; charset=utf-8")


@router.get(
    "/areas/{code}/arrears",
    response=responses(200, page_of(AreaArrearsOut)),
    summary="Employers of an area with unpaid bills, most owed first",
)
def area_arrears(request: HttpRequest, code: str, query: Query[AreaArrearsQuery]) -> Any:
    user = actor(request)
    area = registry_selectors.area_get(user, code)
    rows = payments.arrears_for(user, _on(query.on), area_code=area.code)
    start = (query.page - 1) * query.page_size
    return {
        "items": [
            {
                **_totals(row),
                "bills": len(row.bills),
                "oldest_period": row.oldest_period,
            }
            for row in rows[start : start + query.page_size]
        ],
        "count": len(rows),
        "page": query.page,
        "pages": max(1, math.ceil(len(rows) / query.page_size)),
    }


@router.get(
    "/persons/{person_id}/arrears",
    response=responses(200, PersonArrearsOut),
    summary="A person's months and insurances billed and not paid",
)
def person_arrears(request: HttpRequest, person_id: int, query: Query[OnQuery]) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, person_id, purpose="arrears.person")
    arrears = payments.person_arrears(user, person, _on(query.on))
    return {
        "person": person.pk,
        "on": arrears.on,
        "rule": "A person-month is paid only when the employer's whole bill for it is paid.",
        "months": [
            {
                "period": month.period,
                "employer": month.employer.pk,
                "employer_name": month.employer.name,
                "bill": month.bill.pk,
                "due_on": month.bill.due_on,
                "insurances": [
                    {
                        "insurance": due.insurance,
                        "employer": money_of(due.employer_cents),
                        "individual": money_of(due.individual_cents),
                    }
                    for due in month.insurances
                ],
            }
            for month in arrears.months
        ],
        "employer_due": money_of(arrears.employer_cents),
        "individual_due": money_of(arrears.individual_cents),
    }
