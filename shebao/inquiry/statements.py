"""What a personal rights record statement says, and how it is signed and checked.

The content (DOMAIN §5) is gathered from the contribution records by the
functions that already read them, so the statement shows what the holder sees
elsewhere and nothing is computed twice:

- contributions month by month for the statement's year, one row per bill
  (each employer's, or the person's own as a flexible worker) with its status:
  paid, partly paid, assessed (110% for want of a declaration, SIL art. 62) or
  unpaid (`inquiry.history.person_history`);
- the arrears as of the day (`person_arrears`, `flexible_statement`);
- the months paid per insurance, in all and in the year (`person_history`,
  which counts them as `personal.contribution_record` does, from the
  person's own bills rather than every bill of the area);
- the pension account: credited for the year, interest, balance
  (`personal.account_statement`);
- benefit eligibility: the retirement month and the minimum years of the
  retirement year (`rules.retirement_date`, `rules.minimum_contribution_years`)
  and the longest unemployment benefit (`rules.unemployment_benefit_months`);
- the registration data of the person and of the employers of the year.

The yearly batch reads the same records for a chunk of persons at once
(`inquiry.batch`) and builds each statement with the same functions
(`assemble`), so its content is byte for byte the one made here.

The records are read as the holder reads them (`_as_holder`): a statement is
the holder's own record, sent to them (SIL art. 74), so producing one is not a
third party's look at it; a member of staff who opens a statement is logged
when they open it (`selectors.statement_get`).

Canonical form: `json.dumps(content, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` encoded as UTF-8. Amounts are strings with two decimals
("720.00"), months "YYYY-MM", days ISO dates, so the text is the same on every
engine and every run. The area's Ed25519 key signs those bytes; `digest` is
their SHA-256.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.cards.models import AreaSigningKey
from shebao.contributions import flexible, personal, rules
from shebao.contributions.models import AccountEntryKind, Insurance
from shebao.contributions.payments import PersonArrears, person_arrears
from shebao.inquiry.history import History, HistoryMonth, person_history
from shebao.registry.identifiers import FEMALE, mask_identity_number
from shebao.registry.models import Area, Employment, Person

CONTENT_VERSION = 1
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32
CODE_LENGTH = 16  # 80 random bits
# Characters people misread for one of the alphabet when they type a code.
CODE_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})

# What the holder may show on the public verify page besides what is always
# shown (area, kind, year, day, masked name and identity number), in the
# order the page shows it, with the content section each reveals.
SHAREABLE: dict[str, tuple[Any, str]] = {
    "totals": (_("The year's totals"), "totals"),
    "full_name": (_("My full name instead of the masked name"), "person"),
    "employers": (_("Employers"), "employments"),
    "contribution_years": (_("Months paid per insurance"), "insurances"),
    "account": (_("Personal pension account"), "account"),
    "eligibility": (_("Benefit eligibility"), "eligibility"),
    "arrears": (_("Arrears"), "arrears"),
    "months": (_("Contributions month by month"), "months"),
}
DEFAULT_SHARED = ["totals"]


# --- codes ---------------------------------------------------------------------------


def new_code() -> str:
    # 80 random bits are 16 characters of base32, without padding.
    return base64.b32encode(secrets.token_bytes(CODE_LENGTH * 5 // 8)).decode("ascii")


def normalize_code(text: str) -> str:
    """A code as typed (spaces, hyphens, lower case, 0 for O) in its stored form."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n")
    return cleaned.translate(CODE_LOOKALIKES)


def display_code(code: str) -> str:
    """`ABCDEFGHIJKLMNOP` → `ABCD-EFGH-IJKL-MNOP`."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def looks_like_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in text)


# --- masking ---------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """`张伟` → `张*`, `欧阳娜娜` → `欧***`: the family name's first character only."""
    return name[:1] + "*" * (len(name) - 1) if name else ""


# --- money and months ----------------------------------------------------------------------

CENT = Decimal("0.01")


def _yuan(cents: int) -> str:
    """`72000` → "720.00", `-5` → "-0.05" (what `(cents / 100).quantize(CENT)` reads;
    on integers without Decimal: the batch writes tens of them a statement)."""
    if not isinstance(cents, int):
        return str((Decimal(cents) / 100).quantize(CENT))
    whole, part = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"


def _amount(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


# --- gathering -----------------------------------------------------------------------


def _as_holder(person: Person) -> User:
    """The reader the content is gathered as: the holder (see the module's notes).

    Not saved: it only answers the selectors' question "who reads?" with
    "the person themselves", so each reads exactly what the holder may see.
    """
    return User(
        username=f"holder-{person.pk}",
        role=Role.INDIVIDUAL,
        area_id=person.area_id,
        person_id=person.pk,
        is_active=True,
    )


def _registration(person: Person, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """The employments that ran in [first, last] with their employers' registration data."""
    rows = (
        Employment.objects.filter(area_id=person.area_id, person=person, start_date__lte=last)
        .exclude(end_date__lt=first)
        .order_by("start_date", "pk")
    )
    return [employment_row(*row) for row in rows.values_list(*EMPLOYMENT_FIELDS)]


EMPLOYMENT_FIELDS = (
    "employer__name",
    "employer__credit_code",
    "employer__registered_on",
    "start_date",
    "end_date",
    "registered_on",
    "late_registration",
)


def employment_row(
    name: str,
    credit_code: str,
    employer_registered_on: dt.date,
    start_date: dt.date,
    end_date: dt.date | None,
    registered_on: dt.date,
    late_registration: bool,
) -> dict[str, Any]:
    """One employment of the year (`EMPLOYMENT_FIELDS`) and its employer's registration
    data."""
    return {
        "employer": {
            "name": name,
            "credit_code": credit_code,
            "registered_on": employer_registered_on.isoformat(),
        },
        "start_date": start_date.isoformat(),
        "end_date": end_date.isoformat() if end_date else None,
        "registered_on": registered_on.isoformat(),
        "late_registration": late_registration,
    }


def _months(history: list[HistoryMonth]) -> list[dict[str, Any]]:
    """Months oldest first, one row per payer: an employer's bill, or the person's own
    as a flexible worker."""
    rows = []
    for month in reversed(history):
        for payer in month.payers:
            pension = next(
                (i for i in payer.insurances if i.insurance == Insurance.PENSION),
                payer.insurances[0],
            )
            rows.append(
                {
                    "month": _month(month.period),
                    "payer": "flexible" if payer.is_self else "employer",
                    "employer": None if payer.is_self else payer.employer_name,
                    "base": _yuan(pension.base_cents),
                    "assessed": payer.assessed,
                    "status": payer.status,  # paid, part, assessed or unpaid
                    "insurances": {
                        item.insurance: [_yuan(item.employer_cents), _yuan(item.individual_cents)]
                        for item in payer.insurances
                    },
                }
            )
    return rows


def _totals(months: list[dict[str, Any]], pension_months: int) -> dict[str, Any]:
    employer = individual = unpaid = 0
    for row in months:
        for employer_share, individual_share in row["insurances"].values():
            cents = round(Decimal(employer_share) * 100), round(Decimal(individual_share) * 100)
            employer += cents[0]
            individual += cents[1]
            if row["status"] != "paid":
                unpaid += cents[0] + cents[1]
    return {
        "employer": _yuan(employer),
        "individual": _yuan(individual),
        "total": _yuan(employer + individual),
        "paid": _yuan(employer + individual - unpaid),
        "unpaid": _yuan(unpaid),
        "pension_months_in_year": len(
            {row["month"] for row in months if Insurance.PENSION in row["insurances"]}
        ),
        "pension_months": pension_months,
    }


def _insurances(history: History, year: int) -> list[dict[str, Any]]:
    """Per insurance, the months paid in all and in the year (a month paid through two
    employers counts once), as `personal.contribution_record` counts them."""
    rows = []
    for insurance in Insurance.values:
        paid = history.paid_months(insurance)
        rows.append(
            {
                "insurance": insurance,
                "months": paid,
                "years": str(personal._years(paid)),
                "months_in_year": sum(
                    1
                    for month in history.months
                    if month.period.year == year
                    and any(insurance in payer.paid_insurances for payer in month.payers)
                ),
            }
        )
    return rows


def _eligibility(person: Person, history: History, as_of: dt.date) -> dict[str, Any]:
    # The 55 scheme is the default for women, as in `personal.pension_estimate`;
    # women workers of the 50 scheme learn their own age at the counter.
    scheme = rules.RetirementScheme.WOMAN_55 if person.sex == FEMALE else rules.RetirementScheme.MAN
    retirement = rules.retirement_date(birth_date=person.birth_date, scheme=scheme)
    minimum = rules.minimum_contribution_years(retirement.month.year)
    pension_months = history.paid_months(Insurance.PENSION)
    return {
        "scheme": scheme.value,
        "retirement_month": _month(retirement.month),
        "retirement_age": [retirement.age_years, retirement.age_months],
        "retirement_reached": retirement.month <= as_of,
        "minimum_years": str(minimum),
        "pension_months": pension_months,
        "pension_months_missing": max(int(minimum * 12) - pension_months, 0),
        "unemployment_benefit_months": rules.unemployment_benefit_months(
            Decimal(history.paid_months(Insurance.UNEMPLOYMENT)) / 12
        ),
    }


def _arrears(arrears: PersonArrears, own: flexible.FlexibleStatement | None) -> dict[str, Any]:
    return arrears_section(
        [
            (
                month.period,
                month.employer.name,
                sum(i.employer_cents for i in month.insurances),
                sum(i.individual_cents for i in month.insurances),
            )
            for month in arrears.months
        ],
        flexible_due_cents=own.principal_due_cents if own else 0,
        flexible_late_fee_cents=own.late_fee_due_cents if own else 0,
    )


def arrears_section(
    months: list[tuple[dt.date, str, int, int]],
    *,
    flexible_due_cents: int,
    flexible_late_fee_cents: int,
) -> dict[str, Any]:
    """The arrears: each unpaid month (month, employer, employer's and individual
    shares), their sums, and what the person owes as a flexible worker."""
    return {
        "months": [
            {
                "month": _month(period),
                "employer": employer,
                "employer_share": _yuan(employer_cents),
                "individual_share": _yuan(individual_cents),
            }
            for period, employer, employer_cents, individual_cents in months
        ],
        "employer_share": _yuan(sum(month[2] for month in months)),
        "individual_share": _yuan(sum(month[3] for month in months)),
        "flexible_due": _yuan(flexible_due_cents),
        "flexible_late_fee": _yuan(flexible_late_fee_cents),
    }


def account_section(account: personal.AccountStatement, year: int) -> dict[str, Any]:
    """The pension account: balance, what the year credited (its interest apart)."""
    interest = sum(
        (
            entry.amount
            for entry in account.entries
            if entry.kind == AccountEntryKind.INTEREST and entry.year == year
        ),
        Decimal(0),
    )
    return {
        "balance": _amount(account.balance),
        "credited_in_year": _amount(account.credited_this_year),
        "interest_in_year": _amount(interest),
        "contributions_in_year": _amount(account.credited_this_year - interest),
        "cumulative_contributions": _amount(account.cumulative_contributions),
        "cumulative_interest": _amount(account.cumulative_interest),
    }


def statement_content(
    person: Person,
    *,
    area: Area,
    kind: str,
    year: int,
    as_of: dt.date,
    code: str,
    key_id: str,
    issued_at: dt.datetime,
) -> dict[str, Any]:
    """The statement of `person` for `year`, figures as of `as_of` (see the module)."""
    holder = _as_holder(person)
    history = person_history(holder, person, on=as_of)
    account = personal.account_statement(holder, person, year=year)
    arrears = person_arrears(holder, person, as_of)
    # Only a flexible worker has months of their own to owe (and a late fee on them).
    own = (
        flexible.flexible_statement(holder, person, as_of)
        if any(payer.is_self for month in history.months for payer in month.payers)
        else None
    )
    return assemble(
        person,
        header=content_header(
            area=area, kind=kind, year=year, as_of=as_of, key_id=key_id, issued_at=issued_at
        ),
        code=code,
        history=history,
        account=account_section(account, year),
        arrears=_arrears(arrears, own),
        employments=_registration(person, dt.date(year, 1, 1), dt.date(year, 12, 31)),
    )


def content_header(
    *, area: Area, kind: str, year: int, as_of: dt.date, key_id: str, issued_at: dt.datetime
) -> dict[str, Any]:
    """What every statement of one run has in common (all but the code)."""
    return {
        "version": CONTENT_VERSION,
        "key": key_id,
        "kind": kind,
        "year": year,
        "as_of": as_of.isoformat(),
        "issued_at": timezone.localtime(issued_at).isoformat(timespec="seconds"),
        "area": {"code": area.code, "name": area.name},
    }


def assemble(
    person: Person,
    *,
    header: dict[str, Any],
    code: str,
    history: History,
    account: dict[str, Any],
    arrears: dict[str, Any],
    employments: list[dict[str, Any]],
) -> dict[str, Any]:
    """The content from the person's records as gathered: their whole `history` as of
    the header's day, the `account`, `arrears` and `employments` sections."""
    year = header["year"]
    as_of = dt.date.fromisoformat(header["as_of"])
    months = _months([month for month in history.months if month.period.year == year])
    return {
        **header,
        "area": dict(header["area"]),
        "code": code,
        "person": {
            "name": person.name,
            "id_number": person.id_number,
            "sex": person.sex,
            "birth_date": person.birth_date.isoformat(),
            "status": person.status,
            "registered_on": person.registered_on.isoformat(),
        },
        "employments": employments,
        "months": months,
        "totals": _totals(months, history.paid_months(Insurance.PENSION)),
        "arrears": arrears,
        "insurances": _insurances(history, year),
        "account": account,
        "eligibility": _eligibility(person, history, as_of),
    }


# --- canonical form, signature ----------------------------------------------------------


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sign(key: AreaSigningKey, canonical: str) -> bytes:
    return signer(key)(canonical)


def signer(key: AreaSigningKey) -> Callable[[str], bytes]:
    """Signs canonical text with the area's key, loaded once for many statements."""
    private = Ed25519PrivateKey.from_private_bytes(bytes(key.private_key))
    return lambda canonical: private.sign(canonical.encode("utf-8"))


def signature_valid(public_key: bytes, canonical: str, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(
            bytes(signature), canonical.encode("utf-8")
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def parse(canonical: str) -> dict[str, Any]:
    """The content of canonical text (ValueError when it is not a statement's)."""
    content = json.loads(canonical)
    if not isinstance(content, dict) or content.get("version") != CONTENT_VERSION:
        raise ValueError("not a statement's content")
    return content


# --- what the verify page shows ------------------------------------------------------------


def shared_view(content: dict[str, Any], shared: list[str]) -> dict[str, Any]:
    """The parts of the content the holder shares: always the area, kind, year, day and
    the masked name and identity number; then each chosen section of SHAREABLE."""
    person = content["person"]
    view: dict[str, Any] = {
        "area": content["area"],
        "kind": content["kind"],
        "year": content["year"],
        "as_of": content["as_of"],
        "issued_at": content["issued_at"],
        "name": person["name"] if "full_name" in shared else mask_name(person["name"]),
        "id_number": mask_identity_number(person["id_number"]),
    }
    for field, (_label, section) in SHAREABLE.items():
        if field in shared and field != "full_name":
            view[field] = content[section]
    return view
