"""The records of a chunk of persons, read together, for the yearly statement batch.

`statement_content` gathers one person's records through the per-person
reads (`person_history`, `account_statement`, `person_arrears`,
`flexible_statement`, the employments): about ten queries a person. The
batch reads the same records for a whole chunk of persons (`CHUNK_SIZE`
in `services`) in a fixed number of set-based queries, whatever the size of
the chunk, and folds them in Python exactly as the per-person reads do, so
that each statement's content is byte for byte the one `statement_content`
makes (a test compares them):

1. the persons;
2. their bill lines, by the (area, person, period) index, oldest line first;
3. the bills of those lines with what was paid on each, in all (the
   history's "paid") and by payments made by the day of the statement (the
   arrears'), each through the allocations' (area, bill) index;
4. their flexible-worker bills, 5. the allocations to those, and, only for
   the persons who have such bills, 6. what they owe on them as of the day
   (`flexible._months`, a query a few hundred bills);
7. their pension accounts and 8. the accounts' entries;
9. the employments of the year with their employers.

Memory is that of one chunk. The bills of one employer's month are shared
by its employees: each is read once a chunk, not once a person.

The order in which the per-person reads return rows is kept: bills come in
the database's order (month, employer name, key) — a person's bills are a
subsequence of the chunk's in that order, so the names sort by the
database's collation, as for one person — and lines by key.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.db.models import BigIntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.cards.models import AreaSigningKey
from shebao.contributions import flexible, personal
from shebao.contributions.models import (
    AccountEntry,
    AccountEntryKind,
    Bill,
    BillKind,
    BillLine,
    FlexibleAllocation,
    FlexibleBill,
    Insurance,
    PaymentAllocation,
    PersonalAccount,
)
from shebao.inquiry.history import (
    INSURANCE_ORDER,
    History,
    HistoryMonth,
    InsuranceMonth,
    Payer,
    Status,
    _totals_of,
)
from shebao.inquiry.models import Statement, StatementBatch, StatementKind
from shebao.inquiry.statements import (
    DEFAULT_SHARED,
    EMPLOYMENT_FIELDS,
    account_section,
    arrears_section,
    assemble,
    canonical_json,
    content_header,
    digest_of,
    employment_row,
    new_code,
    signer,
)
from shebao.registry.models import Area, Employment, Person

FLEXIBLE_BILLS_A_QUERY = 500  # bills whose allocations one query reads


def chunk_statements(
    persons: list[Person],
    *,
    area: Area,
    year: int,
    as_of: dt.date,
    key: AreaSigningKey,
    actor: User | None,
    now: dt.datetime,
    batch: StatementBatch,
) -> list[Statement]:
    """The yearly statements of `persons`, gathered, in canonical form and signed; not
    yet saved."""
    codes = {person.pk: new_code() for person in persons}
    signed = signer(key)
    drafts = []
    for person, content in chunk_contents(
        persons,
        area=area,
        kind=StatementKind.YEARLY,
        year=year,
        as_of=as_of,
        codes=codes,
        key=key,
        issued_at=now,
    ):
        canonical = canonical_json(content)
        drafts.append(
            Statement(
                area_id=area.pk,
                person_id=person.pk,
                kind=StatementKind.YEARLY,
                year=year,
                as_of=as_of,
                canonical=canonical,
                digest=digest_of(canonical),
                signature=signed(canonical),
                key_id=key.pk,
                code=codes[person.pk],
                shared_fields=list(DEFAULT_SHARED),
                batch_id=batch.pk,
                created_at=now,
                created_by_id=actor.pk if actor is not None else None,
            )
        )
    return drafts


@dataclass(frozen=True)
class Records:
    """One person's records as the statement shows them (see `assemble`)."""

    history: History
    account: dict[str, Any]
    arrears: dict[str, Any]
    employments: list[dict[str, Any]]


def chunk_contents(
    persons: list[Person],
    *,
    area: Area,
    kind: str,
    year: int,
    as_of: dt.date,
    codes: dict[int, str],
    key: AreaSigningKey,
    issued_at: dt.datetime,
) -> Iterator[tuple[Person, dict[str, Any]]]:
    """Each person's statement content (the person's code from `codes`), as
    `statement_content` makes it one person at a time."""
    header = content_header(
        area=area, kind=kind, year=year, as_of=as_of, key_id=key.key_id, issued_at=issued_at
    )
    records = chunk_records(area, persons, year=year, as_of=as_of)
    for person in persons:
        found = records[person.pk]
        yield (
            person,
            assemble(
                person,
                header=header,
                code=codes[person.pk],
                history=found.history,
                account=found.account,
                arrears=found.arrears,
                employments=found.employments,
            ),
        )


def chunk_records(
    area: Area, persons: list[Person], *, year: int, as_of: dt.date
) -> dict[int, Records]:
    """The records of `persons` (all of `area`), by person."""
    keys = [person.pk for person in persons]
    employer_payers, arrears = _employer_months(area.code, keys, as_of)
    own_payers = _flexible_payers(area.code, keys)
    owed = _flexible_owed(area.code, [pk for pk in keys if own_payers.get(pk)], as_of)
    accounts = _accounts(area.code, keys, year)
    employments = _employments(area.code, keys, year)
    found = {}
    for person in persons:
        pk = person.pk
        due, fee = owed.get(pk, (0, 0))
        found[pk] = Records(
            history=_history(person, employer_payers.get(pk, {}), own_payers.get(pk, {}), as_of),
            account=accounts.get(pk) or _no_account(pk, year),
            arrears=arrears_section(
                arrears.get(pk, []), flexible_due_cents=due, flexible_late_fee_cents=fee
            ),
            employments=employments.get(pk, []),
        )
    return found


# --- the history (`history._history` with every month) -------------------------------


def _history(
    person: Person,
    payers: dict[dt.date, list[Payer]],
    own: dict[dt.date, Payer],
    on: dt.date,
) -> History:
    for day, payer in own.items():
        payers.setdefault(day, []).append(payer)
    months = [HistoryMonth(day, payers[day], on) for day in sorted(payers, reverse=True)]
    paid: dict[str, set[dt.date]] = defaultdict(set)
    for month in months:
        for payer in month.payers:
            for insurance in payer.paid_insurances:
                paid[insurance].add(month.period)
    return History(
        person=person,
        on=on,
        year=None,
        totals=_totals_of(months),
        months=months,
        _paid=dict(paid),
    )


def _allocated(**where: Any) -> Coalesce:
    """The contributions allocated to the outer bill (by the allocations' (area, bill)
    index), 0 when none."""
    rows = (
        PaymentAllocation.objects.filter(
            area_id=OuterRef("area_id"), bill_id=OuterRef("pk"), **where
        )
        .order_by()
        .values("bill_id")
        .annotate(paid=Sum("principal_cents"))
        .values("paid")
    )
    return Coalesce(Subquery(rows, output_field=BigIntegerField()), 0)


def _employer_months(
    area: str, keys: list[int], as_of: dt.date
) -> tuple[dict[int, dict[dt.date, list[Payer]]], dict[int, list[tuple[dt.date, str, int, int]]]]:
    """Per person, the months billed to employers (`history._employer_payers`) and the
    months in arrears as of `as_of` (`payments.person_arrears`): two queries."""
    # (person, bill, insurance) → [base, kind, employer, individual] as the lines net,
    # base and kind of the latest line; and what the lines up to `as_of` net to.
    nets: dict[tuple[int, int, str], list[Any]] = {}
    due: dict[tuple[int, int, str], list[int]] = {}
    for person_id, bill_id, insurance, kind, base, employer_cents, individual_cents, period in (
        BillLine.objects.filter(area_id=area, person_id__in=keys)
        .order_by("pk")
        .values_list(
            "person_id",
            "bill_id",
            "insurance",
            "kind",
            "base_cents",
            "employer_cents",
            "individual_cents",
            "period",
        )
    ):
        key = (person_id, bill_id, insurance)
        net = nets.get(key)
        if net is None:
            nets[key] = [base, kind, employer_cents, individual_cents]
        else:
            net[0], net[1] = base, kind
            net[2] += employer_cents
            net[3] += individual_cents
        if period <= as_of:
            owed = due.setdefault(key, [0, 0])
            owed[0] += employer_cents
            owed[1] += individual_cents
    if not nets:
        return {}, {}
    # bill → person → [(insurance, net)] in the usual order of the insurances
    rows: dict[int, dict[int, list[tuple[str, list[Any]]]]] = defaultdict(dict)
    for (person_id, bill_id, insurance), net in sorted(
        nets.items(), key=lambda item: INSURANCE_ORDER[item[0][2]]
    ):
        if net[2] or net[3]:
            rows[bill_id].setdefault(person_id, []).append((insurance, net))
    # bill → person → {insurance: [employer, individual]} of the lines up to `as_of`
    dues: dict[int, dict[int, dict[str, list[int]]]] = defaultdict(lambda: defaultdict(dict))
    for (person_id, bill_id, insurance), owed in due.items():
        dues[bill_id][person_id][insurance] = owed
    bills = (
        Bill.objects.filter(
            pk__in=BillLine.objects.filter(area_id=area, person_id__in=keys).values("bill_id")
        )
        .annotate(paid=_allocated(), paid_by=_allocated(payment__paid_on__lte=as_of))
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
            "paid_by",
        )
    )
    payers: dict[int, dict[dt.date, list[Payer]]] = defaultdict(lambda: defaultdict(list))
    unpaid = []
    for (
        pk,
        period,
        employer_id,
        name,
        due_on,
        owed_employer,
        owed_individual,
        paid,
        paid_by,
    ) in bills:
        owed_cents = owed_employer + owed_individual
        if paid_by < owed_cents and pk in dues:
            unpaid.append((period, pk, name))
        for person_id, found in rows.get(pk, {}).items():
            assessed = all(net[1] == BillKind.ASSESSED for _insurance, net in found)
            if paid >= owed_cents:
                status = Status.PAID
            elif assessed:
                status = Status.ASSESSED
            elif paid > 0:
                status = Status.PART
            else:
                status = Status.UNPAID
            payers[person_id][period].append(
                Payer(
                    employer_id=employer_id,
                    employer_name=name,
                    due_on=due_on,
                    status=status,
                    assessed=assessed,
                    insurances=[InsuranceMonth(i, net[0], net[2], net[3]) for i, net in found],
                    paid_insurances=frozenset(i for i, _net in found)
                    if status == Status.PAID
                    else frozenset(),
                )
            )
    arrears: dict[int, list[tuple[dt.date, str, int, int]]] = defaultdict(list)
    for period, pk, name in sorted(unpaid):  # by month, then bill, as `person_arrears`
        for person_id, insurances in dues[pk].items():
            shares = [owed for _insurance, owed in sorted(insurances.items()) if owed != [0, 0]]
            if shares:
                arrears[person_id].append(
                    (period, name, sum(s[0] for s in shares), sum(s[1] for s in shares))
                )
    return payers, arrears


def _flexible_payers(area: str, keys: list[int]) -> dict[int, dict[dt.date, Payer]]:
    """Per person, every month paid as a flexible worker (`history._flexible_payers`):
    two queries, the second only when there are such months."""
    bills = list(
        FlexibleBill.objects.filter(area_id=area, person_id__in=keys).values_list(
            "pk", "person_id", "period", "base_cents", "pension_cents", "medical_cents", "due_on"
        )
    )
    if not bills:
        return {}
    paid = dict(
        FlexibleAllocation.objects.filter(
            area_id=area,
            bill_id__in=FlexibleBill.objects.filter(area_id=area, person_id__in=keys).values("pk"),
        )
        .order_by()
        .values("bill_id")
        .annotate(paid=Sum("principal_cents"))
        .values_list("bill_id", "paid")
    )
    name = str(_("Self (flexible worker)"))
    payers: dict[int, dict[dt.date, Payer]] = defaultdict(dict)
    for pk, person_id, month, base, pension, medical, due_on in bills:
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
        payers[person_id][month] = Payer(
            employer_id=None,
            employer_name=name,
            due_on=due_on,
            status=status,
            assessed=False,
            insurances=insurances,
            paid_insurances=frozenset(counted),
        )
    return payers


def _flexible_owed(area: str, keys: list[int], as_of: dt.date) -> dict[int, tuple[int, int]]:
    """Per flexible worker, the contributions and the late fee due on their months as
    of `as_of` (`flexible.flexible_statement`)."""
    if not keys:
        return {}
    owed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = (
        FlexibleBill.objects.filter(area_id=area, person_id__in=keys, period__lte=as_of)
        .order_by("person_id", "period", "pk")
        .iterator(chunk_size=FLEXIBLE_BILLS_A_QUERY)
    )
    while part := list(islice(rows, FLEXIBLE_BILLS_A_QUERY)):
        for month in flexible._months(part, as_of, paid_until=as_of):
            sums = owed[month.bill.person_id]
            sums[0] += month.principal_due_cents
            sums[1] += month.late_fee_due_cents
    return {pk: (due, fee) for pk, (due, fee) in owed.items()}


# --- the pension account (`personal.account_statement`) --------------------------------


def _no_account(person_id: int, year: int) -> dict[str, Any]:
    """A person without an account yet: a zero balance and no entries."""
    zero = personal._yuan(0)
    return account_section(
        personal.AccountStatement(person_id, year, zero, zero, zero, zero, entries=[]), year
    )


def _accounts(area: str, keys: list[int], year: int) -> dict[int, dict[str, Any]]:
    """Per person with an account, its section of the statement: two queries."""
    accounts: dict[int, tuple[int, int]] = {
        pk: (person_id, balance)
        for pk, person_id, balance in PersonalAccount.objects.filter(
            person_id__in=keys
        ).values_list("pk", "person_id", "balance_cents")
    }
    if not accounts:
        return {}
    # account → (order, kind, month, year, cents, created at) of its entries
    entries: dict[int, list[tuple[tuple[dt.date, int], str, Any, Any, int, dt.datetime]]] = (
        defaultdict(list)
    )
    for pk, account_id, kind, period, entry_year, cents, created_at in (
        AccountEntry.objects.filter(area_id=area, account_id__in=list(accounts))
        .order_by()
        .values_list("pk", "account_id", "kind", "period", "year", "amount_cents", "created_at")
    ):
        # `personal._entry_order`
        if period is not None:
            when = period
        elif entry_year is not None:
            when = dt.date(entry_year, 12, 31)
        else:
            when = timezone.localdate(created_at)
        entries[account_id].append(((when, pk), kind, period, entry_year, cents, created_at))
    found = {}
    for account_id, (person_id, balance) in accounts.items():  # one a person
        rows = sorted(entries.get(account_id, []), key=lambda row: row[0])
        this_year = sum(row[4] for row in rows if row[0][0].year == year)
        # A reversal of interest carries the year and no month, like interest.
        interest = sum(
            row[4]
            for row in rows
            if row[1] == AccountEntryKind.INTEREST or (row[2] is None and row[3] is not None)
        )
        contributions = sum(row[4] for row in rows) - interest
        found[person_id] = account_section(
            personal.AccountStatement(
                person_id=person_id,
                year=year,
                balance=personal._yuan(balance),
                credited_this_year=personal._yuan(this_year),
                cumulative_contributions=personal._yuan(contributions),
                cumulative_interest=personal._yuan(interest),
                entries=[
                    personal.StatementEntry(
                        kind=kind,
                        period=period,
                        year=entry_year,
                        amount=personal._yuan(cents),
                        created_at=created_at,
                    )
                    for _order, kind, period, entry_year, cents, created_at in rows
                ],
            ),
            year,
        )
    return found


# --- registration data (`statements._registration`) -------------------------------------


def _employments(area: str, keys: list[int], year: int) -> dict[int, list[dict[str, Any]]]:
    """Per person, the employments that ran in the year, with their employers."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for person_id, *row in (
        Employment.objects.filter(
            area_id=area, person_id__in=keys, start_date__lte=dt.date(year, 12, 31)
        )
        .exclude(end_date__lt=dt.date(year, 1, 1))
        .order_by("start_date", "pk")
        .values_list("person_id", *EMPLOYMENT_FIELDS)
    ):
        found[person_id].append(employment_row(*row))
    return found
