"""Writes to the contribution policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import require
from shebao.audit.services import audit_record, snapshot
from shebao.contributions.models import Insurance, Policy, PolicyRate, WorkInjuryRate
from shebao.core.errors import Conflict, InvalidInput, NotFound
from shebao.registry.models import Area


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(
            _("%(field)s must be a number, got %(value)s."),
            code="not_a_number",
            field=field,
            params={"field": field, "value": value},
        ) from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(
            _("%(field)s must be a number of at least 0, got %(value)s."),
            code="not_a_number",
            field=field,
            params={"field": field, "value": value},
        )
    return number


def check_policy_rates(
    rates: Mapping[str, tuple[Decimal | str, Decimal | str]],
    work_injury_rates: Mapping[int, Decimal | str],
) -> None:
    """Every insurance but work injury has its two rates; each risk class 1–8 its rate."""
    insurances = set(Insurance.values) - {Insurance.WORK_INJURY}
    for insurance in rates:
        if insurance not in insurances:
            raise InvalidInput(
                _("Unknown insurance %(insurance)s."),
                code="insurance",
                field="rates",
                params={"insurance": insurance},
            )
    missing = sorted(insurances - set(rates))
    if missing or sorted(work_injury_rates) != list(range(1, 9)):
        raise InvalidInput(
            _(
                "Give the employer and individual rates of every insurance and the work-injury "
                "rate of each risk class 1-8; missing: %(missing)s."
            ),
            code="policy_incomplete",
            field="rates",
            params={"missing": ", ".join(missing) or "work injury classes"},
        )


def _check_policy(policy: Policy) -> None:
    """The policy's own rules (period, floor below ceiling, due day) as a readable refusal."""
    try:
        policy.validate_constraints(exclude={"area"})
    except ValidationError as error:
        raise InvalidInput(
            _("The policy is not valid: %(reason)s"),
            code="policy_invalid",
            params={"reason": " ".join(error.messages)},
        ) from None


@transaction.atomic
def policy_set(
    *,
    actor: User,
    area: Area,
    valid_from: dt.date,
    average_monthly_wage: Decimal | str,
    rates: dict[str, tuple[Decimal | str, Decimal | str]],
    work_injury_rates: dict[int, Decimal | str],
    **options: Any,
) -> Policy:
    """A new policy for the area from `valid_from` on; the one before ends that day.

    `rates` maps each insurance but work injury to (employer rate, individual
    rate) as fractions (8% is 0.08); `work_injury_rates` maps risk classes
    1–8 to the employer's rate.
    """
    require(actor, "policy.manage", area_code=area.code)
    if valid_from.day != 1:
        raise InvalidInput(
            _("A policy starts on the first day of a month."), code="period_day", field="valid_from"
        )
    check_policy_rates(rates, work_injury_rates)
    earlier = Policy.objects.select_for_update().filter(area=area)
    if earlier.filter(valid_from__gte=valid_from).exists():
        raise Conflict(
            _("A policy from %(date)s or later exists; a new one must start after it."),
            code="policy_period",
            field="valid_from",
            params={"date": valid_from.isoformat()},
        )
    previous = earlier.filter(valid_to__isnull=True).first()
    if previous is not None:
        before = snapshot(previous)
        previous.valid_to = valid_from
        previous.save(update_fields=["valid_to"])
        audit_record(
            actor=actor,
            action="policy.close",
            subject=previous,
            area_code=area.code,
            before=before,
            after=snapshot(previous),
        )
    policy = Policy(
        area=area,
        valid_from=valid_from,
        average_monthly_wage=_decimal(average_monthly_wage, "average_monthly_wage"),
        **{
            name: _decimal(value, name) if name != "payment_due_day" and name != "note" else value
            for name, value in options.items()
        },
    )
    _check_policy(policy)
    policy.save()
    for insurance, (employer_rate, individual_rate) in rates.items():
        PolicyRate.objects.create(
            policy=policy,
            insurance=insurance,
            employer_rate=_decimal(employer_rate, insurance),
            individual_rate=_decimal(individual_rate, insurance),
        )
    for risk_class, value in work_injury_rates.items():
        WorkInjuryRate.objects.create(
            policy=policy, risk_class=risk_class, rate=_decimal(value, f"work_injury_{risk_class}")
        )
    audit_record(
        actor=actor,
        action="policy.set",
        subject=policy,
        area_code=area.code,
        after={
            **snapshot(policy),
            "rates": {k: [str(a), str(b)] for k, (a, b) in rates.items()},
            "work_injury_rates": {str(k): str(v) for k, v in work_injury_rates.items()},
        },
    )
    return policy


def policy_for(area_code: str, period: dt.date) -> Policy:
    """The policy in force for a month (its first day)."""
    policy = (
        Policy.objects.filter(area_id=area_code, valid_from__lte=period)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=period))
        .order_by("-valid_from")
        .first()
    )
    if policy is None:
        raise NotFound(
            _("No contribution policy of the area covers %(month)s; set one first."),
            code="no_policy",
            params={"month": f"{period:%Y-%m}"},
        )
    return policy


def policy_in_use(policy: Policy) -> bool:
    """Whether a billing run has billed a month under this policy."""
    from shebao.contributions.models import BillingRun

    runs = BillingRun.objects.filter(area_id=policy.area_id, period__gte=policy.valid_from)
    if policy.valid_to is not None:
        runs = runs.filter(period__lt=policy.valid_to)
    return runs.exists()


@transaction.atomic
def policy_correct(
    *,
    actor: User,
    policy: Policy,
    average_monthly_wage: Decimal | str,
    rates: dict[str, tuple[Decimal | str, Decimal | str]],
    work_injury_rates: dict[int, Decimal | str],
    **options: Any,
) -> Policy:
    """Correct a policy that no bill has used yet (a typo in a rate, say).

    Once a month has been billed under a policy its figures are history: a
    change from a later month is a new policy (`policy_set`), and the bills
    already made stay as they were.
    """
    require(actor, "policy.manage", area_code=policy.area_id)
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    if policy_in_use(policy):
        raise Conflict(
            _(
                "Months from %(date)s have been billed under this policy, so it can no longer be "
                "corrected; set a new policy from the month the change applies."
            ),
            code="policy_in_use",
            params={"date": f"{policy.valid_from:%Y-%m}"},
        )
    check_policy_rates(rates, work_injury_rates)
    before = {
        **snapshot(policy),
        "rates": {
            r.insurance: [str(r.employer_rate), str(r.individual_rate)] for r in policy.rates.all()
        },
        "work_injury_rates": {
            str(w.risk_class): str(w.rate) for w in policy.work_injury_rates.all()
        },
    }
    policy.average_monthly_wage = _decimal(average_monthly_wage, "average_monthly_wage")
    for name, value in options.items():
        setattr(
            policy, name, value if name in ("payment_due_day", "note") else _decimal(value, name)
        )
    _check_policy(policy)
    policy.save()
    for insurance, (employer_rate, individual_rate) in rates.items():
        PolicyRate.objects.update_or_create(
            policy=policy,
            insurance=insurance,
            defaults={
                "employer_rate": _decimal(employer_rate, insurance),
                "individual_rate": _decimal(individual_rate, insurance),
            },
        )
    for risk_class, value in work_injury_rates.items():
        WorkInjuryRate.objects.update_or_create(
            policy=policy,
            risk_class=risk_class,
            defaults={"rate": _decimal(value, f"work_injury_{risk_class}")},
        )
    audit_record(
        actor=actor,
        action="policy.correct",
        subject=policy,
        area_code=policy.area_id,
        before=before,
        after={
            **snapshot(policy),
            "rates": {k: [str(a), str(b)] for k, (a, b) in rates.items()},
            "work_injury_rates": {str(k): str(v) for k, v in work_injury_rates.items()},
        },
    )
    return policy
