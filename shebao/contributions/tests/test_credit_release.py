"""Releases: what a bill lowered after it was paid no longer needs goes back to
its payment and settles other bills; a flexible worker's unpaid month is
quoted; applying credit by hand (DOMAIN.md §3–4), worked examples first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.audit.services import audit_verify
from shebao.contributions import billing, flexible, payments, personal
from shebao.contributions.models import (
    AccountEntry,
    Bill,
    BillLine,
    Payment,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.contributions.testing import contribution_world, hire
from shebao.contributions.tests.test_credit import (
    OCTOBER,
    SEPTEMBER,
    allocations,
    declare_and_bill,
    ledger,
    make_bill,
    pay,
)
from shebao.core.errors import Forbidden, InvalidInput
from shebao.web import employer_contrib_views

from .test_credit import officer, policy  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
JUNE, JULY = dt.date(2026, 6, 1), dt.date(2026, 7, 1)


def releases():
    return list(
        PaymentAllocation.objects.filter(release_of__isnull=False)
        .order_by("pk")
        .values_list("release_of_id", "principal_cents")
    )


def held_by_allocation():
    """Each allocation's principal net of its releases."""
    return {
        a.pk: a.principal_cents + a.released
        for a in PaymentAllocation.objects.filter(release_of__isnull=True).annotate(
            released=Sum("releases__principal_cents", default=0)
        )
    }


# --- worked examples ----------------------------------------------------------------------


def test_a_lowered_bills_excess_pays_another_months_bill(
    officer,  # noqa: F811
    cashier,
    policy,  # noqa: F811
    area,
    employer,
    employment,
):
    person = employment.person
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")  # 3,060.00
    paid = pay(cashier, employer, "R001", "3060", dt.date(2026, 10, 10))
    [september_allocation] = PaymentAllocation.objects.all()
    declare_and_bill(officer, area, employer, person, OCTOBER, "9000")  # 3,060.00, due 11-15

    # September's wage was 5,000: the bill falls to 1,700.00. The 1,360.00 it no
    # longer needs is released, and — there since 10-10, before October was
    # due — settles 1,360.00 of October without a fee.
    september = declare_and_bill(officer, area, employer, person, SEPTEMBER, "5000")

    assert september.employer_cents + september.individual_cents == 170_000
    assert allocations(paid) == [
        (SEPTEMBER, 306_000, 0),
        (SEPTEMBER, -136_000, 0),
        (OCTOBER, 136_000, 0),
    ]
    assert releases() == [(september_allocation.pk, -136_000)]
    assert payments.bill_balance(september, dt.date(2026, 11, 20)).total_due_cents == 0
    arrears = payments.employer_arrears(officer, employer, dt.date(2026, 11, 20))
    [october] = arrears.bills
    # 1,700.00 left of October, 4 days overdue on 11-20: 1,700 × 0.05% × 4 = 3.40.
    assert (october.principal_due_cents, october.late_fee_due_cents) == (170_000, 340)
    assert arrears.credit_cents == 0
    # Every cent of the payment is accounted for: held by bills, none credit.
    assert Payment.objects.get().amount_cents == 306_000 == sum(held_by_allocation().values())
    assert ledger(person) == [
        ("contribution", SEPTEMBER, 72_000),
        ("reversal", SEPTEMBER, -32_000),
    ]
    event = AuditEvent.objects.filter(action="credit.apply").latest("pk")
    after = event.after or {}
    assert after["releases"] == [
        {
            "release_of": september_allocation.pk,
            "payment_id": paid.pk,
            "bill_id": september.pk,
            "principal_cents": -136_000,
        }
    ]
    assert after["allocations"][0]["principal_cents"] == 136_000

    # The rest of October, with its fee, completes it; its pension share is credited.
    last = pay(cashier, employer, "R002", "1703.40", dt.date(2026, 11, 20))
    assert allocations(last) == [(OCTOBER, 170_000, 340)]
    assert ledger(person)[-1] == ("contribution", OCTOBER, 72_000)
    assert PersonalAccount.objects.get(person=person).balance_cents == 112_000
    assert audit_verify()[1] == []


def test_the_newest_allocation_is_given_back_first_and_never_beyond_itself(
    officer,  # noqa: F811
    cashier,
    policy,  # noqa: F811
    area,
    employer,
    employment,
):
    person = employment.person
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")
    pay(cashier, employer, "R003", "2000", dt.date(2026, 10, 10))
    pay(cashier, employer, "R004", "1060", dt.date(2026, 10, 12))
    first, second = PaymentAllocation.objects.order_by("pk")
    assert (first.principal_cents, second.principal_cents) == (200_000, 106_000)

    # Lowered to 1,700.00: 1,360.00 to give back — all of the 1,060.00 paid
    # last, then 300.00 of the 2,000.00. No other bill is open: it is credit.
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "5000")

    assert releases() == [(second.pk, -106_000), (first.pk, -30_000)]
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 1)) == 136_000

    # Lowered again (4,000 is below the floor: base 4,800): the second payment's
    # allocation holds nothing, so the first gives back the difference.
    september = declare_and_bill(officer, area, employer, person, SEPTEMBER, "4000")

    total = september.employer_cents + september.individual_cents
    assert total == 163_200
    assert releases()[2:] == [(first.pk, -(170_000 - total))]
    assert held_by_allocation() == {first.pk: total, second.pk: 0}
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 1)) == 306_000 - total


def test_a_bill_lowered_and_raised_back_costs_no_second_late_fee(
    officer,  # noqa: F811
    cashier,
    policy,  # noqa: F811
    area,
    employer,
    employment,
):
    person = employment.person
    september = declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")
    # Paid 30 days late (overdue from 10-16): 3,060 × 0.05% × 30 = 45.90.
    paid = pay(cashier, employer, "R005", "3105.90", dt.date(2026, 11, 15))
    assert allocations(paid) == [(SEPTEMBER, 306_000, 4_590)]
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "5000")
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 20)) == 136_000

    # Back to 9,000: the released 1,360.00 returns to the bill. The 45.90 paid
    # on 11-15 covered the fee on all 3,060.00 until then: nothing more is due.
    declare_and_bill(officer, area, employer, person, SEPTEMBER, "9000")

    assert allocations(paid) == [
        (SEPTEMBER, 306_000, 4_590),
        (SEPTEMBER, -136_000, 0),
        (SEPTEMBER, 136_000, 0),
    ]
    balance = payments.bill_balance(september, dt.date(2026, 11, 20))
    assert (balance.principal_due_cents, balance.late_fee_due_cents) == (0, 0)
    assert payments.employer_credit(officer, employer, dt.date(2026, 11, 20)) == 0
    assert PersonalAccount.objects.get(person=person).balance_cents == 72_000


def test_credit_apply_releases_what_a_lowered_bill_held_before_releases_existed(
    officer,  # noqa: F811
    cashier,
    policy,  # noqa: F811
    employer,
):
    # Bills written as they were before releases: June paid, then lowered in
    # place (as an old run left it), July open.
    june = make_bill(employer, JUNE, 100_000)
    pay(cashier, employer, "R006", "1000", dt.date(2026, 7, 1))
    Bill.objects.filter(pk=june.pk).update(employer_cents=60_000)
    july = make_bill(employer, JULY, 50_000)  # due 08-15
    assert payments.employer_credit(officer, employer, dt.date(2026, 9, 1)) == 40_000

    applied = payments.credit_apply(actor=cashier, employer=employer)

    assert [r.principal_cents for r in applied.releases] == [-40_000]
    assert [(a.bill_id, a.principal_cents, a.late_fee_cents) for a in applied.allocations] == [
        (july.pk, 40_000, 0)
    ]
    assert payments.employer_credit(officer, employer, dt.date(2026, 9, 1)) == 0
    again = payments.credit_apply(actor=cashier, employer=employer)
    assert (again.releases, again.allocations, again.entries) == ([], [], [])


# --- the database holds the rule --------------------------------------------------------------


def test_the_database_refuses_a_release_beyond_its_allocation(
    cashier,
    policy,  # noqa: F811
    employer,
):
    june, july = make_bill(employer, JUNE, 100_000), make_bill(employer, JULY, 100_000)
    pay(cashier, employer, "R007", "1500", dt.date(2026, 7, 1))
    first = PaymentAllocation.objects.get(bill=june)

    def release(cents, *, of=first, bill=june, fee=0):
        with transaction.atomic():
            return PaymentAllocation.objects.create(
                area_id=of.area_id,
                payment_id=of.payment_id,
                bill=bill,
                principal_cents=cents,
                late_fee_cents=fee,
                release_of=of,
            )

    kept = release(-30_000)
    refused = [
        lambda: release(-70_001),  # 700.00 is all the allocation still holds
        lambda: release(-1, bill=july),  # another bill
        lambda: release(-1, of=kept),  # a release of a release
        lambda: release(1),  # a release is negative
        lambda: release(-1, fee=1),  # and gives back no fee
    ]
    for attempt in refused:
        with pytest.raises(IntegrityError):
            attempt()
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentAllocation.objects.create(  # an allocation is never negative
            area_id=first.area_id, payment_id=first.payment_id, bill=july, principal_cents=-1
        )
    release(-70_000)
    assert held_by_allocation()[first.pk] == 0


# --- properties --------------------------------------------------------------------------------

MONTHS = [dt.date(2026, month, 1) for month in (1, 2, 3)]
TODAY = dt.date(2026, 11, 1)

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("declare"),
            st.sampled_from(MONTHS),
            st.integers(0, 1),  # which person
            st.sampled_from([3_000, 5_000, 9_000, 30_000]),
        ),
        st.tuples(
            st.just("pay"),
            st.integers(1, 300_000) | st.integers(300_000, 2_000_000),  # cents
            st.integers(0, 290),  # days after 2026-01-01
            st.just(0),
        ),
        st.tuples(st.just("apply"), st.just(0), st.just(0), st.just(0)),
    ),
    min_size=4,
    max_size=14,
)


class ReleasesNeverLoseACent(TestCase):
    """Whatever the declarations, corrections (up and down), payments and
    applications of credit: the money paid is what the allocations hold net
    of their releases plus the credit; no allocation is given back beyond
    itself; no bill holds more than its total; credit waits only while no bill
    is open; each account holds the pension shares of the bills paid."""

    @settings(max_examples=25, deadline=None)
    @given(operations)
    def test_it(self, ops):
        area, staff, employer = contribution_world(average_monthly_wage="8000")
        people = [hire(employer, "x", 11 + 2 * n, division="110105") for n in range(2)]
        for n, (kind, first, second, third) in enumerate(ops):
            if kind == "declare":
                declare_and_bill(staff, area, employer, people[second], first, third)
            elif kind == "pay":
                payments.payment_record(
                    actor=staff,
                    employer=employer,
                    bank_reference=f"P{n}",
                    amount=Decimal(first) / 100,
                    paid_on=dt.date(2026, 1, 1) + dt.timedelta(days=second),
                )
            else:
                payments.credit_apply(actor=staff, employer=employer)
            self.check_money(staff, employer)
        self.check_accounts()

    def check_money(self, staff, employer):
        paid = Payment.objects.aggregate(cents=Sum("amount_cents", default=0))["cents"]
        held = PaymentAllocation.objects.aggregate(
            cents=Sum(F("principal_cents") + F("late_fee_cents"), default=0)
        )["cents"]
        credit = payments.employer_credit(staff, employer, TODAY)
        assert paid == held + credit
        assert all(cents >= 0 for cents in held_by_allocation().values())
        for release in PaymentAllocation.objects.filter(release_of__isnull=False).select_related(
            "release_of"
        ):
            assert release.late_fee_cents == 0 and release.principal_cents < 0
            assert release.release_of is not None
            assert (release.payment_id, release.bill_id) == (
                release.release_of.payment_id,
                release.release_of.bill_id,
            )
        open_bills = 0
        for bill in Bill.objects.annotate(
            principal_paid=Sum("allocations__principal_cents", default=0)
        ):
            total = bill.employer_cents + bill.individual_cents
            assert bill.principal_paid <= total  # the excess was released
            open_bills += bill.principal_paid < total
        for payment in payments.payments_for(staff):
            assert 0 <= payment.allocated_cents <= payment.amount_cents
        if credit:
            assert open_bills == 0

    def check_accounts(self):
        for account in PersonalAccount.objects.all():
            entries = AccountEntry.objects.filter(account=account)
            assert account.balance_cents == sum(e.amount_cents for e in entries)
        for bill in Bill.objects.all():
            principal = bill.allocations.aggregate(p=Sum("principal_cents", default=0))["p"]
            is_paid = principal >= bill.employer_cents + bill.individual_cents
            shares = dict(
                BillLine.objects.filter(bill=bill, insurance="pension")
                .values("person_id")
                .annotate(cents=Sum("individual_cents"))
                .values_list("person_id", "cents")
            )
            credited = dict(
                AccountEntry.objects.filter(allocation__bill=bill)
                .values("account__person_id")
                .annotate(cents=Sum("amount_cents"))
                .values_list("account__person_id", "cents")
            )
            for person in shares.keys() | credited.keys():
                share, got = shares.get(person, 0), credited.get(person, 0)
                if is_paid and bill.allocations.exists():
                    assert got == share, (bill.period, person, got, share)
                else:
                    assert 0 <= got <= share, (bill.period, person, got, share)


# --- a flexible worker's unpaid month is quoted --------------------------------------------------


def test_it_quotes_a_flexible_workers_unpaid_month_with_its_late_fee(
    owner,
    officer,  # noqa: F811
    cashier,
    policy,  # noqa: F811
    area,
    person,
):
    flexible.flexible_enrol(actor=owner, person=person, valid_from=JUNE, base_ratio="0.6")
    for month in (JUNE, JULY):
        billing.bill_run(actor=officer, area=area, period=month)  # 960.00 a month
    # 500.00 paid on 07-10, before June was due (07-15): no fee on it.
    flexible.flexible_payment_record(
        actor=cashier,
        person=person,
        bank_reference="F001",
        amount=Decimal("500"),
        paid_on=dt.date(2026, 7, 10),
    )
    gaps = personal.contribution_gaps(officer, person, dt.date(2026, 5, 1), JULY)
    assert [(g.month, g.billed) for g in gaps] == [
        (dt.date(2026, 5, 1), False),
        (JUNE, True),
        (JULY, True),
    ]

    with translation.override("en"):
        june = personal.back_payment_quote(officer, person, JUNE, dt.date(2026, 8, 15))
        july = personal.back_payment_quote(officer, person, JULY, dt.date(2026, 9, 15))
        may = personal.back_payment_quote(officer, person, dt.date(2026, 5, 1), JULY)

    # June: 460.00 still open, overdue from 07-16, 30 days on 08-15: 6.90.
    assert june.billed
    assert (june.principal, june.late_fee, june.total) == (
        Decimal("460.00"),
        Decimal("6.90"),
        Decimal("466.90"),
    )
    [bill] = june.bills
    assert bill.flexible and bill.overdue_days == 30
    assert [(ln.insurance, ln.employer, ln.individual) for ln in bill.lines] == [
        ("pension", Decimal("0.00"), Decimal("460.00"))
    ]
    assert "2026-06 is billed to the person as a flexible worker and not fully paid" in june.note
    # July: nothing paid, overdue from 08-16, 30 days on 09-15: 960 × 0.05% × 30 = 14.40.
    assert (july.billed, july.principal, july.late_fee) == (
        True,
        Decimal("960.00"),
        Decimal("14.40"),
    )
    # May was never billed: declare (enrol) first, as before.
    assert (may.billed, may.bills, may.total) == (False, [], Decimal("0.00"))
    assert "never billed" in may.note
    body = (
        api_client(officer)
        .get(f"/api/v1/persons/{person.pk}/contributions/quote?month=2026-06-01&on=2026-08-15")
        .json()
    )
    assert (body["billed"], body["total"]) == (True, "466.90")
    assert body["bills"][0]["flexible"] is True


# --- one check of a payment's day and source ---------------------------------------------------


def test_employers_and_flexible_workers_payments_are_checked_alike(
    owner,
    cashier,
    policy,  # noqa: F811
    employer,
    person,
):
    flexible.flexible_enrol(actor=owner, person=person, valid_from=JUNE, base_ratio="0.6")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    recorders = [
        lambda **kw: payments.payment_record(actor=cashier, employer=employer, **kw),
        lambda **kw: flexible.flexible_payment_record(actor=cashier, person=person, **kw),
    ]
    found = []
    for record in recorders:
        for paid_on, source in ((tomorrow, "counter"), (dt.date(2026, 7, 1), "pigeon")):
            with pytest.raises(InvalidInput) as caught:
                record(bank_reference="X1", amount=Decimal(1), paid_on=paid_on, source=source)
            found.append((caught.value.code, caught.value.field, str(caught.value.message)))
    assert found[:2] == found[2:]
    assert [code for code, _field, _message in found[:2]] == ["paid_on_future", "payment_source"]


# --- applying credit by hand on the staff page --------------------------------------------------


@pytest.fixture
def lowered(officer, cashier, policy, area, employer, employment):  # noqa: F811
    """September paid, then lowered in place with October open: credit waiting."""
    september = make_bill(employer, SEPTEMBER, 306_000)
    pay(cashier, employer, "R010", "3060", dt.date(2026, 10, 10))
    Bill.objects.filter(pk=september.pk).update(employer_cents=170_000)
    return make_bill(employer, OCTOBER, 306_000)


def page_client(user, monkeypatch):
    monkeypatch.setattr(employer_contrib_views, "_today", lambda: dt.date(2026, 11, 1))
    client = Client()
    client.force_login(user)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_staff_apply_an_employers_credit_from_its_payments_page(
    officer,  # noqa: F811
    employer,
    lowered,
    monkeypatch,
):
    client = page_client(officer, monkeypatch)
    query = f"?employer={employer.pk}"
    page = client.get(reverse("web:contrib_payments") + query).content.decode()
    assert "Apply the credit to open bills" in page and "1,360.00" in page
    arrears = client.get(reverse("web:contrib_arrears") + query).content.decode()
    assert "Apply the credit to open bills" in arrears

    response = client.post(reverse("web:contrib_credit_apply") + query, follow=True)

    assert response.redirect_chain[-1][0] == reverse("web:contrib_payments") + query
    html = response.content.decode()
    assert "Credit applied: 1,360.00 yuan given back by lowered bills, 1,360.00 yuan" in html
    assert "given back: the bill was lowered" in html
    assert [a.principal_cents for a in PaymentAllocation.objects.order_by("pk")] == [
        306_000,
        -136_000,
        136_000,
    ]
    assert PaymentAllocation.objects.latest("pk").bill_id == lowered.pk
    september = PaymentAllocation.objects.get(release_of__isnull=False).bill_id
    bill_page = client.get(reverse("web:contrib_bill", args=[september]) + query)
    assert "given back: the bill was lowered" in bill_page.content.decode()
    event = AuditEvent.objects.get(action="credit.apply")
    assert event.actor_id == officer.pk
    again = client.post(reverse("web:contrib_credit_apply") + query, follow=True)
    assert "Nothing changed: 0.00 yuan of credit" in again.content.decode()
    assert AuditEvent.objects.filter(action="credit.apply").count() == 1


def test_others_may_not_apply_an_employers_credit(
    employer, employer_user, other_area, lowered, monkeypatch
):
    auditor = make_user("auditor2", Role.AUDITOR, employer.area)
    stranger = make_user("officer2", Role.CONTRIBUTIONS_OFFICER, other_area)
    url = reverse("web:contrib_credit_apply") + f"?employer={employer.pk}"
    page = page_client(employer_user, monkeypatch).get(reverse("web:contrib_payments"))
    assert "Apply the credit" not in page.content.decode()
    for user in (employer_user, auditor, stranger):
        assert page_client(user, monkeypatch).post(url).status_code == 404
    anonymous = Client().post(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert page_client(employer_user, monkeypatch).get(url).status_code == 405
    with pytest.raises(Forbidden):
        payments.credit_apply(actor=employer_user, employer=employer)
    assert PaymentAllocation.objects.count() == 1
    assert not AuditEvent.objects.filter(action="credit.apply").exists()
