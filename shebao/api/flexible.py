"""Flexible workers: enrol a person and end the enrolment, list their enrolments
and billed months with what is due (late fee run until a day), and record a
payment they made (allocated to the oldest months first)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from shebao.api.registry import actor, responses
from shebao.contributions import flexible
from shebao.contributions.flexible import FlexibleMonth
from shebao.contributions.models import FlexibleEnrolment, FlexiblePayment, PaymentSource
from shebao.contributions.payments import money_of
from shebao.registry import selectors as registry_selectors

router = Router(tags=["flexible workers"])


# --- schemas -------------------------------------------------------------------------


class EnrolIn(Schema):
    valid_from: dt.date = Field(description="First day of the first month paid")
    base_ratio: Decimal = Field(
        gt=0, description="The chosen base as a share of the average wage (0.6 to 3 by default)"
    )
    medical: bool = Field(False, description="Medical insurance too, where the area offers it")


class EndIn(Schema):
    valid_to: dt.date = Field(description="First day of the first month no longer paid")


class EnrolmentOut(Schema):
    id: int
    area: str = Field(alias="area_id")
    person: int = Field(alias="person_id")
    valid_from: dt.date
    valid_to: dt.date | None = Field(description="Exclusive; null while enrolled")
    base_ratio: Decimal
    medical: bool
    created_at: dt.datetime


class OnQuery(Schema):
    on: dt.date | None = Field(None, description="The day the late fee is run to; today if absent")


class MonthOut(Schema):
    bill: int
    period: dt.date
    base: Decimal
    pension: Decimal
    account: Decimal = Field(description="Part of the pension credited to the personal account")
    medical: Decimal
    due_on: dt.date
    days_overdue: int
    principal_paid: Decimal
    principal_due: Decimal
    late_fee_due: Decimal = Field(description="Run until `on`, less what was paid")
    total_due: Decimal
    status: str = Field(description="paid, part or unpaid")


class StatementOut(Schema):
    person: int
    on: dt.date
    months: list[MonthOut] = Field(description="Oldest first")
    principal_due: Decimal
    late_fee_due: Decimal
    total_due: Decimal
    credit: Decimal = Field(description="Paid and not allocated to any month")


class PaymentIn(Schema):
    bank_reference: str = Field(max_length=64, description="The bank's reference, once per area")
    amount: Decimal = Field(gt=0, description="CNY; rounded half up to the cent")
    paid_on: dt.date


class AllocationOut(Schema):
    period: dt.date
    principal: Decimal = Field(description="Contributions settled")
    late_fee: Decimal = Field(description="Late fee settled (SIL art. 86)")


class PaymentOut(Schema):
    id: int
    person: int = Field(alias="person_id")
    bank_reference: str
    amount: Decimal
    paid_on: dt.date
    source: str
    allocations: list[AllocationOut]
    unallocated: Decimal = Field(description="Left over: a credit of the person")


def _month_out(month: FlexibleMonth) -> dict[str, Any]:
    bill = month.bill
    return {
        "bill": bill.pk,
        "period": bill.period,
        "base": money_of(bill.base_cents),
        "pension": money_of(bill.pension_cents),
        "account": money_of(bill.account_cents),
        "medical": money_of(bill.medical_cents),
        "due_on": bill.due_on,
        "days_overdue": month.days_overdue,
        "principal_paid": money_of(month.principal_paid_cents),
        "principal_due": money_of(month.principal_due_cents),
        "late_fee_due": money_of(month.late_fee_due_cents),
        "total_due": money_of(month.total_due_cents),
        "status": month.status,
    }


def _payment_out(payment: FlexiblePayment) -> dict[str, Any]:
    allocations = list(payment.allocations.select_related("bill").order_by("bill__period", "pk"))
    allocated = sum(a.principal_cents + a.late_fee_cents for a in allocations)
    return {
        "id": payment.pk,
        "person_id": payment.person_id,
        "bank_reference": payment.bank_reference,
        "amount": money_of(payment.amount_cents),
        "paid_on": payment.paid_on,
        "source": payment.source,
        "allocations": [
            {
                "period": a.bill.period,
                "principal": money_of(a.principal_cents),
                "late_fee": money_of(a.late_fee_cents),
            }
            for a in allocations
        ],
        "unallocated": money_of(payment.amount_cents - allocated),
    }


# --- operations --------------------------------------------------------------------------


@router.post(
    "/persons/{person_id}/flexible/enrolments",
    response=responses(201, EnrolmentOut),
    summary="Enrol a person as a flexible worker from a month",
)
def enrolment_create(request: HttpRequest, person_id: int, payload: EnrolIn) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, person_id, purpose="flexible.enrol")
    enrolment = flexible.flexible_enrol(
        actor=user,
        person=person,
        valid_from=payload.valid_from,
        base_ratio=payload.base_ratio,
        medical=payload.medical,
    )
    return Status(201, enrolment)


@router.post(
    "/flexible/enrolments/{enrolment_id}/end",
    response=responses(200, EnrolmentOut),
    summary="End a flexible worker's enrolment before a month",
)
def enrolment_end(request: HttpRequest, enrolment_id: int, payload: EndIn) -> FlexibleEnrolment:
    user = actor(request)
    enrolment = flexible.enrolment_get(user, enrolment_id)
    return flexible.flexible_end(actor=user, enrolment=enrolment, valid_to=payload.valid_to)


@router.get(
    "/persons/{person_id}/flexible/enrolments",
    response=responses(200, list[EnrolmentOut]),
    summary="A person's flexible worker enrolments, latest first",
)
def enrolment_list(request: HttpRequest, person_id: int) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, person_id, purpose="flexible.read")
    return flexible.person_enrolments(user, person)


@router.get(
    "/persons/{person_id}/flexible/bills",
    response=responses(200, StatementOut),
    summary="A flexible worker's billed months with what is due and the late fee",
)
def bill_list(request: HttpRequest, person_id: int, query: Query[OnQuery]) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, person_id, purpose="flexible.read")
    statement = flexible.flexible_statement(user, person, query.on or timezone.localdate())
    return {
        "person": person.pk,
        "on": statement.on,
        "months": [_month_out(month) for month in statement.months],
        "principal_due": money_of(statement.principal_due_cents),
        "late_fee_due": money_of(statement.late_fee_due_cents),
        "total_due": money_of(statement.total_due_cents),
        "credit": money_of(statement.credit_cents),
    }


@router.post(
    "/persons/{person_id}/flexible/payments",
    response=responses(201, PaymentOut) | {200: PaymentOut},
    summary="Record a flexible worker's payment (200 if recorded before)",
)
def payment_create(request: HttpRequest, person_id: int, payload: PaymentIn) -> Any:
    user = actor(request)
    person = registry_selectors.person_get(user, person_id, purpose="flexible.payment")
    outcome = flexible.flexible_payment_record_outcome(
        actor=user,
        person=person,
        bank_reference=payload.bank_reference,
        amount=payload.amount,
        paid_on=payload.paid_on,
        source=PaymentSource.API,
    )
    return Status(201 if outcome.created else 200, _payment_out(outcome.payment))
