"""A person's contribution history, month by month (SIL arts. 4, 60, 62, 74;
DOMAIN §3–5): for each month, who paid (each employer, or the person as a
flexible worker), the base, the employer's and the individual amounts of each
insurance, and whether it is paid.

Design notes
- The figures are those of `contributions`: a person-insurance-month is what
  its bill lines net to (lines are append-only; a correction adds the
  difference), its base and kind those of its latest line (a correction
  carries the new base; a declaration that replaces an assessment turns the
  month "declared"). Months whose lines net to zero are left out, as in
  `personal.paid_months`.
- Paid as `payments` counts it: an employer's month is paid only when the
  employer's whole bill for the month is (a part paid is not attributed to
  anyone, so the person's month is "partly paid"); a flexible worker's month
  counts for the pension once its pension is paid, for medical insurance once
  the rest is too. So `History.paid_months` agrees with
  `personal.contribution_record`.
- Status of a month: paid when every bill of it is; otherwise assessed (SIL
  art. 62: no declaration, 110% of the month before) when a bill of it is
  assessed; otherwise partly paid when some money arrived; otherwise unpaid.
  An employer withholds the individual share from the wage (art. 60), so an
  unpaid employer's month with an individual share is withheld but not paid.
- Set-based: the same few queries whatever the number of months, never one
  per month. Every month (`person_history`): the person's lines by the
  (area, person, period) index, their bills with what was paid on each
  (allocations by the (area, bill) index), and the flexible months: 1,800
  lines for 30 years, folded in Python. One year (`person_history(year=)`,
  `person_history_year`, what the pages and the API show by default): that
  year's lines and bills, and every year's totals from one grouped query
  (`_YEAR_TOTALS`, 360 short rows for 30 years) — a person reads a year at a
  time, and a 30-year history costs little more than a 1-year one.
- Who may read: the person themself, and area staff holding `account.read`
  for the persons of their area (logged), as for `personal`.
- A history names the employers of all its bills (`History.employers`, every
  year's, whatever the year shown): whose payments can change it. The
  person's own pages and API cache what they show by it (`inquiry.cache`).
- Money is integer cents.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import BigIntegerField, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.contributions.models import (
    Bill,
    BillKind,
    BillLine,
    FlexibleAllocation,
    FlexibleBill,
    Insurance,
    PaymentAllocation,
)
from shebao.contributions.personal import _person_for
from shebao.registry.models import Person

INSURANCE_ORDER = {insurance: n for n, insurance in enumerate(Insurance.values)}

# Per bill of the person's lines: its month, what the lines net to, whether
# the bill is paid (allocated contributions cover it), and its employer.
_YEAR_TOTALS = f"""
    SELECT p.period, p.employer_cents, p.individual_cents,
           CASE WHEN COALESCE((SELECT SUM(a.principal_cents)
                               FROM {PaymentAllocation._meta.db_table} a
                               WHERE a.area_id = %(area)s AND a.bill_id = p.bill_id), 0)
                     >= b.employer_cents + b.individual_cents THEN 1 ELSE 0 END,
           b.employer_id
    FROM (SELECT bill_id, MIN(period) AS period,
                 CAST(SUM(employer_cents) AS BIGINT) AS employer_cents,
                 CAST(SUM(individual_cents) AS BIGINT) AS individual_cents
          FROM {BillLine._meta.db_table}
          WHERE area_id = %(area)s AND person_id = %(person)s
          GROUP BY bill_id) p
    JOIN {Bill._meta.db_table} b ON b.id = p.bill_id
    WHERE p.employer_cents <> 0 OR p.individual_cents <> 0
"""  # noqa: S608 - table names are constants; every value is a parameter


class Status:
    PAID = "paid"
    PART = "part"
    ASSESSED = "assessed"
    UNPAID = "unpaid"


STATUS_LABELS = {
    Status.PAID: _("Paid"),
    Status.PART: _("Partly paid"),
    Status.ASSESSED: _("Assessed (SIL art. 62)"),
    Status.UNPAID: _("Unpaid"),
}


class InsuranceMonth(NamedTuple):
    """One insurance of one month (of one payer, or summed over the month's payers).

    A tuple: a 30-year history has thousands of them, built on every read."""

    insurance: str
    base_cents: int
    employer_cents: int
    individual_cents: int

    @property
    def label(self) -> str:
        return str(Insurance(self.insurance).label)


@dataclass(frozen=True)
class Payer:
    """One bill of a month: an employer's, or the person's own as a flexible worker."""

    employer_id: int | None  # None: the person paid themself (flexible worker)
    employer_name: str
    due_on: dt.date
    status: str
    assessed: bool
    insurances: list[InsuranceMonth]
    paid_insurances: frozenset[str]  # the insurances this bill counts as paid

    @property
    def is_self(self) -> bool:
        return self.employer_id is None

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


@dataclass(frozen=True)
class HistoryMonth:
    period: dt.date
    payers: list[Payer]
    on: dt.date

    @cached_property
    def insurances(self) -> list[InsuranceMonth]:
        """Each insurance of the month, summed over its payers, in the usual order."""
        if len(self.payers) == 1:
            return self.payers[0].insurances
        sums: dict[str, list[int]] = {}
        for payer in self.payers:
            for item in payer.insurances:
                row = sums.setdefault(item.insurance, [0, 0, 0])
                row[0] += item.base_cents
                row[1] += item.employer_cents
                row[2] += item.individual_cents
        return [
            InsuranceMonth(insurance, *sums[insurance])
            for insurance in sorted(sums, key=INSURANCE_ORDER.__getitem__)
        ]

    def of(self, insurance: str) -> InsuranceMonth | None:
        return next((i for i in self.insurances if i.insurance == insurance), None)

    @property
    def base_cents(self) -> int:
        """The pension base of the month (the first insurance's base without pension)."""
        rows = self.insurances
        pension = self.of(Insurance.PENSION)
        return pension.base_cents if pension else (rows[0].base_cents if rows else 0)

    @property
    def employer_cents(self) -> int:
        return sum(i.employer_cents for p in self.payers for i in p.insurances)

    @property
    def individual_cents(self) -> int:
        return sum(i.individual_cents for p in self.payers for i in p.insurances)

    @property
    def total_cents(self) -> int:
        return self.employer_cents + self.individual_cents

    @property
    def assessed(self) -> bool:
        return any(p.assessed for p in self.payers)

    @cached_property
    def status(self) -> str:
        statuses = {p.status for p in self.payers}
        if statuses == {Status.PAID}:
            return Status.PAID
        if Status.ASSESSED in statuses:
            return Status.ASSESSED
        if statuses & {Status.PAID, Status.PART}:
            return Status.PART
        return Status.UNPAID

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def overdue(self) -> bool:
        """Not paid, and past the due day of a bill not paid."""
        return any(p.status != Status.PAID and p.due_on < self.on for p in self.payers)

    @property
    def withheld_unpaid(self) -> bool:
        """An employer withheld the individual share (SIL art. 60) and has not paid it."""
        return any(
            not p.is_self
            and p.status != Status.PAID
            and sum(i.individual_cents for i in p.insurances) > 0
            for p in self.payers
        )

    @property
    def employer_names(self) -> list[str]:
        return [p.employer_name for p in self.payers]


@dataclass(frozen=True)
class YearTotals:
    """One year of the history in a line: its months, how many are paid, the sums."""

    year: int
    months: int
    paid: int
    employer_cents: int
    individual_cents: int

    @property
    def unpaid(self) -> int:
        return self.months - self.paid


@dataclass(frozen=True)
class History:
    person: Person
    on: dt.date
    year: int | None  # the year asked for; None: every year
    totals: list[YearTotals]  # every year with a billed month, newest first
    months: list[HistoryMonth]  # of the year asked for (or all), newest first
    employers: frozenset[int] = frozenset()  # of every year's bills, not only those shown
    _paid: dict[str, set[dt.date]] = field(default_factory=dict, repr=False)

    @property
    def years(self) -> list[int]:
        return [t.year for t in self.totals]

    def paid_months(self, insurance: str) -> int:
        """Months of `insurance` paid among `months` (a month paid through two
        employers counts once)."""
        return len(self._paid.get(insurance, ()))

    def months_of(self, year: int) -> list[HistoryMonth]:
        return [m for m in self.months if m.period.year == year]

    @property
    def insurances_billed(self) -> list[str]:
        """The insurances of any month, in the usual order."""
        found = {i.insurance for m in self.months for i in m.insurances}
        return [insurance for insurance in Insurance.values if insurance in found]

    @property
    def attention(self) -> list[HistoryMonth]:
        """Months not paid in full, newest first."""
        return [m for m in self.months if m.status != Status.PAID]


def _year_range(year: int | None) -> dict[str, dt.date]:
    if year is None:
        return {}
    return {"period__gte": dt.date(year, 1, 1), "period__lt": dt.date(year + 1, 1, 1)}


class _Bill(NamedTuple):
    """An employer's bill of one of the person's months, and what was paid on it."""

    period: dt.date
    employer_id: int
    employer_name: str
    due_on: dt.date
    owed_cents: int  # the whole bill: employer and individual shares of every person
    paid_cents: int  # contributions allocated to it

    @property
    def paid(self) -> bool:
        return self.paid_cents >= self.owed_cents


def _bills(person: Person, period: dict[str, dt.date]) -> dict[int, _Bill]:
    """The bills of the person's lines (of the months in `period`) and what was paid
    on each, by month and employer: one query, the bills found through the lines'
    (area, person, period) index and each bill's allocations summed through the
    (area, bill) index."""
    paid = (
        PaymentAllocation.objects.filter(area_id=OuterRef("area_id"), bill_id=OuterRef("pk"))
        .order_by()
        .values("bill_id")
        .annotate(paid=Sum("principal_cents"))
        .values("paid")
    )
    return {
        pk: _Bill(month, employer_id, name, due_on, owed_employer + owed_individual, paid or 0)
        for pk, month, employer_id, name, due_on, owed_employer, owed_individual, paid in (
            Bill.objects.filter(
                pk__in=BillLine.objects.filter(
                    area_id=person.area_id, person=person, **period
                ).values("bill_id")
            )
            .annotate(paid=Subquery(paid, output_field=BigIntegerField()))
            .order_by("period", "employer__name", "pk")
            .values_list(
                "pk",
                "period",
                "employer_id",
                "employer__name",
                "due_on",
                "employer_cents",
                "individual_cents",
                "paid",
            )
        )
    }


def _employer_payers(person: Person, period: dict[str, dt.date]) -> dict[dt.date, list[Payer]]:
    """The person's months billed to employers: their lines, and the bills of those
    lines (two queries)."""
    # (bill, insurance) → (base, kind, employer, individual): what the lines net to,
    # with the base and kind of the latest line. Plain tuples: this loop is the hot path.
    nets: dict[tuple[int, str], tuple[int, str, int, int]] = {}
    for bill_id, insurance, kind, base, employer_cents, individual_cents in (
        BillLine.objects.filter(area_id=person.area_id, person=person, **period)
        .order_by("pk")
        .values_list(
            "bill_id", "insurance", "kind", "base_cents", "employer_cents", "individual_cents"
        )
    ):
        key = (bill_id, insurance)
        earlier = nets.get(key)
        if earlier is not None:
            employer_cents += earlier[2]
            individual_cents += earlier[3]
        nets[key] = (base, kind, employer_cents, individual_cents)
    if not nets:
        return {}
    by_bill: dict[int, list[tuple[str, tuple[int, str, int, int]]]] = defaultdict(list)
    for (bill_id, insurance), net in sorted(
        nets.items(), key=lambda item: INSURANCE_ORDER[item[0][1]]
    ):
        if net[2] or net[3]:
            by_bill[bill_id].append((insurance, net))
    bills = _bills(person, period)
    payers: dict[dt.date, list[Payer]] = defaultdict(list)
    for bill_id, bill in bills.items():  # by month, then employer
        rows = by_bill.get(bill_id)
        if not rows:
            continue
        assessed = all(net[1] == BillKind.ASSESSED for _insurance, net in rows)
        if bill.paid:
            status = Status.PAID
        elif assessed:
            status = Status.ASSESSED
        elif bill.paid_cents > 0:
            status = Status.PART
        else:
            status = Status.UNPAID
        payers[bill.period].append(
            Payer(
                employer_id=bill.employer_id,
                employer_name=bill.employer_name,
                due_on=bill.due_on,
                status=status,
                assessed=assessed,
                insurances=[InsuranceMonth(i, net[0], net[2], net[3]) for i, net in rows],
                paid_insurances=frozenset(i for i, _net in rows)
                if status == Status.PAID
                else frozenset(),
            )
        )
    return payers


def _flexible_payers(person: Person) -> dict[dt.date, Payer]:
    """Every month the person paid themself as a flexible worker: two queries, one
    when there are none (most people)."""
    bills = list(
        FlexibleBill.objects.filter(area_id=person.area_id, person=person).values_list(
            "pk", "period", "base_cents", "pension_cents", "medical_cents", "due_on"
        )
    )
    if not bills:
        return {}
    paid = dict(
        FlexibleAllocation.objects.filter(
            area_id=person.area_id, bill_id__in=[row[0] for row in bills]
        )
        .order_by()
        .values("bill_id")
        .annotate(paid=Sum("principal_cents"))
        .values_list("bill_id", "paid")
    )
    payers = {}
    for pk, month, base, pension, medical, due_on in bills:
        received = paid.get(pk) or 0
        insurances = [InsuranceMonth(Insurance.PENSION, base, 0, pension)]
        if medical:
            insurances.append(InsuranceMonth(Insurance.MEDICAL, base, 0, medical))
        counted = set()
        if pension > 0 and received >= pension:
            counted.add(Insurance.PENSION)
        if medical > 0 and received >= pension + medical:
            counted.add(Insurance.MEDICAL)
        if received >= pension + medical:
            status = Status.PAID
        else:
            status = Status.PART if received else Status.UNPAID
        payers[month] = Payer(
            employer_id=None,
            employer_name=str(_("Self (flexible worker)")),
            due_on=due_on,
            status=status,
            assessed=False,
            insurances=insurances,
            paid_insurances=frozenset(counted),
        )
    return payers


def _totals_of(months: list[HistoryMonth]) -> list[YearTotals]:
    by_year: dict[int, list[int]] = {}
    for month in months:  # newest first: the years come out newest first
        row = by_year.setdefault(month.period.year, [0, 0, 0, 0])
        row[0] += 1
        row[1] += month.status == Status.PAID
        row[2] += month.employer_cents
        row[3] += month.individual_cents
    return [YearTotals(year, *row) for year, row in by_year.items()]


def _year_totals(
    person: Person, flexible: dict[dt.date, Payer]
) -> tuple[list[YearTotals], frozenset[int]]:
    """Every year's totals in one query (`_YEAR_TOTALS`): 30 years are 360 short rows,
    not the 1,800 lines and 360 bills of the whole history; and the employers of
    those bills."""
    # month ("YYYY-MM") → [all paid, employer, individual]
    months: dict[str, list[Any]] = {}
    employers: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(_YEAR_TOTALS, {"area": person.area_id, "person": person.pk})
        for period, employer, individual, paid, employer_id in cursor.fetchall():
            employers.add(employer_id)
            row = months.setdefault(str(period)[:7], [True, 0, 0])
            row[0] = row[0] and bool(paid)
            row[1] += employer
            row[2] += individual
    for day, own in flexible.items():
        row = months.setdefault(f"{day:%Y-%m}", [True, 0, 0])
        row[0] = row[0] and own.status == Status.PAID
        row[2] += sum(i.individual_cents for i in own.insurances)
    by_year: dict[int, list[int]] = {}
    for month, (all_paid, employer, individual) in months.items():
        totals = by_year.setdefault(int(month[:4]), [0, 0, 0, 0])
        totals[0] += 1
        totals[1] += all_paid
        totals[2] += employer
        totals[3] += individual
    years = [YearTotals(year, *by_year[year]) for year in sorted(by_year, reverse=True)]
    return years, frozenset(employers)


def _history(
    person: Person,
    *,
    year: int | None,
    on: dt.date,
    flexible: dict[dt.date, Payer] | None = None,
    totals: tuple[list[YearTotals], frozenset[int]] | None = None,
) -> History:
    payers = _employer_payers(person, _year_range(year))
    for day, own in (flexible if flexible is not None else _flexible_payers(person)).items():
        if year is None or day.year == year:
            payers.setdefault(day, []).append(own)
    months = [HistoryMonth(day, payers[day], on) for day in sorted(payers, reverse=True)]
    paid: dict[str, set[dt.date]] = defaultdict(set)
    for month in months:
        for payer in month.payers:
            for insurance in payer.paid_insurances:
                paid[insurance].add(month.period)
    if totals is None:  # every month: the totals and employers are theirs
        totals = (
            _totals_of(months),
            frozenset(p.employer_id for m in months for p in m.payers if p.employer_id is not None),
        )
    return History(
        person=person,
        on=on,
        year=year,
        totals=totals[0],
        months=months,
        employers=totals[1],
        _paid=dict(paid),
    )


def person_history(
    user: User, person: Person | int, *, year: int | None = None, on: dt.date | None = None
) -> History:
    """The person's contribution history, newest month first: every month, or
    those of one `year` (with every year's totals).

    `on` (today by default) is the day against which months are overdue.
    Refused (not found) to anyone but the person and the staff who read
    accounts in the person's area.
    """
    found = _person_for(user, person, purpose="account.history")
    on = on or timezone.localdate()
    if year is None:
        return _history(found, year=None, on=on)
    flexible = _flexible_payers(found)
    totals = _year_totals(found, flexible)
    return _history(found, year=year, on=on, flexible=flexible, totals=totals)


def person_history_year(
    user: User, person: Person | int, *, page: int, on: dt.date | None = None
) -> History:
    """One year of the history, by its place among the years with a billed month:
    page 1 is the latest (with every year's totals). A page past the last has no
    year and no months."""
    found = _person_for(user, person, purpose="account.history")
    on = on or timezone.localdate()
    flexible = _flexible_payers(found)
    totals = _year_totals(found, flexible)
    if not 1 <= page <= len(totals[0]):
        return History(
            person=found, on=on, year=None, totals=totals[0], months=[], employers=totals[1]
        )
    year = totals[0][page - 1].year
    return _history(found, year=year, on=on, flexible=flexible, totals=totals)
