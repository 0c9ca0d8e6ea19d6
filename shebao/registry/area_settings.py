"""The catalogue of per-area settings: key, default, type and meaning.

DOMAIN.md marks these as *area settings*: they differ between cities and are
data (AreaSetting rows with validity periods), never constants in code. An
area that stores no value for a key gets the default here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

from shebao.core.errors import InvalidInput


@dataclass(frozen=True)
class SettingSpec:
    key: str
    default: Any
    kind: type  # int, bool, Decimal or str
    description: Any  # lazy translation
    minimum: Any = None
    maximum: Any = None
    check: Callable[[str, Any], object] | None = None  # (key, value); InvalidInput if bad

    def clean(self, value: Any) -> Any:
        """The JSON value to store (Decimals as strings), or InvalidInput."""
        try:
            if self.kind is bool:
                if not isinstance(value, bool):
                    raise ValueError
                parsed: Any = value
            elif self.kind is int:
                if isinstance(value, bool):
                    raise ValueError
                parsed = int(value)
                if str(parsed) != str(value).strip():
                    raise ValueError
            elif self.kind is Decimal:
                parsed = Decimal(str(value))
            else:
                parsed = str(value)
        except (ValueError, TypeError, InvalidOperation):
            raise InvalidInput(
                _("Setting %(key)s expects a value of type %(kind)s, got %(value)r."),
                code="setting_type",
                field="value",
                params={"key": self.key, "kind": self.kind.__name__, "value": value},
            ) from None
        if (self.minimum is not None and parsed < self.minimum) or (
            self.maximum is not None and parsed > self.maximum
        ):
            raise InvalidInput(
                _("Setting %(key)s must be between %(minimum)s and %(maximum)s, got %(value)s."),
                code="setting_range",
                field="value",
                params={
                    "key": self.key,
                    "minimum": self.minimum,
                    "maximum": self.maximum,
                    "value": parsed,
                },
            )
        if self.check is not None:
            self.check(self.key, parsed)
        return str(parsed) if self.kind is Decimal else parsed

    def read(self, stored: Any) -> Any:
        return Decimal(stored) if self.kind is Decimal else stored


def parse_dates(key: str, value: str) -> frozenset[dt.date]:
    """The dates of a comma-separated list, or InvalidInput naming the bad one."""
    dates = set()
    for part in (piece.strip() for piece in str(value).split(",")):
        if not part:
            continue
        try:
            dates.add(dt.date.fromisoformat(part))
        except ValueError:
            raise InvalidInput(
                _(
                    "Area setting %(key)s lists dates as YYYY-MM-DD separated by commas; "
                    "%(part)r is not one."
                ),
                code="setting_value",
                field=key,
                params={"key": key, "part": part},
            ) from None
    return frozenset(dates)


def parse_weekdays(key: str, value: str) -> frozenset[int]:
    """The ISO weekdays (1 = Monday) of a comma-separated list, or InvalidInput."""
    try:
        days = frozenset(int(part) for part in str(value).split(",") if part.strip())
    except ValueError:
        days = frozenset({0})
    if not days <= set(range(1, 8)):
        raise InvalidInput(
            _("Area setting working_days lists ISO weekdays 1–7, e.g. 1,2,3,4,5; not %(value)r."),
            code="setting_value",
            field=key,
            params={"value": value},
        )
    return days


CATALOGUE: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in [
        SettingSpec("card_validity_years", 10, int, _("Card validity in years"), 1, 30),
        SettingSpec(
            "card_renewal_window_days",
            60,
            int,
            _("Renewal may be asked this many days before expiry"),
            0,
            365,
        ),
        SettingSpec(
            "temporary_loss_days",
            10,
            int,
            _("A temporary loss lapses by itself after these days"),
            1,
            60,
        ),
        SettingSpec(
            "unclaimed_seal_months", 6, int, _("Cards unclaimed this long are sealed"), 1, 60
        ),
        SettingSpec(
            "temporary_card_days",
            60,
            int,
            _("Validity of a temporary card (at most 6 months)"),
            1,
            183,
        ),
        SettingSpec(
            "replacement_fee",
            Decimal("20.00"),
            Decimal,
            _("Fee for a replacement after loss or damage (CNY)"),
            Decimal("0"),
            Decimal("1000"),
        ),
        SettingSpec(
            "issuance_working_days", 12, int, _("Issuance time limit in working days"), 1, 90
        ),
        SettingSpec(
            "urgent_issuance_working_days",
            5,
            int,
            _("Urgent issuance time limit in working days"),
            1,
            90,
        ),
        SettingSpec(
            "in_place_upgrade",
            False,
            bool,
            _("Whether a card's account class may be upgraded in place"),
        ),
        SettingSpec("pin_attempts", 6, int, _("Wrong PIN entries that lock a card"), 3, 10),
        SettingSpec(
            "ecard_token_seconds",
            300,
            int,
            _("Lifetime of an electronic-card QR token in seconds"),
            30,
            3600,
        ),
        SettingSpec(
            "fee_free_reasons",
            "quality_fault,added_function,personal_data_change,insurance_transfer",
            str,
            _("Replacement reasons that cost nothing (comma-separated)"),
        ),
        SettingSpec(
            "class_ii_daily_out_limit",
            Decimal("10000"),
            Decimal,
            _("Class II account: payments out per day (CNY)"),
            Decimal("0"),
            Decimal("10000000"),
        ),
        SettingSpec(
            "class_ii_yearly_out_limit",
            Decimal("200000"),
            Decimal,
            _("Class II account: payments out per year (CNY)"),
            Decimal("0"),
            Decimal("100000000"),
        ),
        SettingSpec(
            "class_iii_balance_limit",
            Decimal("2000"),
            Decimal,
            _("Class III account: balance at most (CNY)"),
            Decimal("0"),
            Decimal("1000000"),
        ),
        SettingSpec(
            "class_iii_daily_out_limit",
            Decimal("2000"),
            Decimal,
            _("Class III account: payments out per day (CNY)"),
            Decimal("0"),
            Decimal("1000000"),
        ),
        SettingSpec(
            "class_iii_yearly_out_limit",
            Decimal("50000"),
            Decimal,
            _("Class III account: payments out per year (CNY)"),
            Decimal("0"),
            Decimal("10000000"),
        ),
        SettingSpec(
            "complaint_handling_days",
            60,
            int,
            _("A complaint is to be handled within this many days of its receipt"),
            1,
            365,
        ),
        SettingSpec(
            "approval_backup_max_age_days",
            1,
            int,
            _("Approval check: a verified backup is at most this many days old"),
            1,
            30,
        ),
        SettingSpec(
            "approval_drill_max_age_months",
            6,
            int,
            _("Approval check: an emergency drill was done within this many months"),
            1,
            24,
        ),
        SettingSpec(
            "working_hours_start",
            "08:30",
            str,
            _("Start of working hours (HH:MM), for out-of-hours alerts"),
        ),
        SettingSpec("working_hours_end", "17:30", str, _("End of working hours (HH:MM)")),
        SettingSpec(
            "stock_handover_separation",
            True,
            bool,
            _(
                "Separation of duties: the officer who received a card into an outlet's stock "
                "does not hand it over"
            ),
        ),
        SettingSpec(
            "working_days",
            "1,2,3,4,5",
            str,
            _(
                "Working days, ISO weekday numbers (1 = Monday), for the issuance time limit and "
                "out-of-hours alerts"
            ),
            check=parse_weekdays,
        ),
        SettingSpec(
            "public_holidays",
            "",
            str,
            _(
                "Public holidays, YYYY-MM-DD separated by commas: not working days, for the "
                "issuance time limit and out-of-hours alerts"
            ),
            check=parse_dates,
        ),
        SettingSpec(
            "makeup_working_days",
            "",
            str,
            _(
                "Weekend days worked in place of a holiday (调休), YYYY-MM-DD separated by "
                "commas: working days"
            ),
            check=parse_dates,
        ),
        SettingSpec(
            "alert_replacements",
            2,
            int,
            _("Alert: this many replacement applications for one person in 12 months"),
            2,
            50,
        ),
        SettingSpec(
            "alert_bulk_read_persons",
            200,
            int,
            _("Alert: one staff member reads this many persons' records in an hour"),
            10,
            100000,
        ),
        SettingSpec(
            "alert_backdated_months",
            3,
            int,
            _("Alert: a wage declaration is corrected more than this many months back"),
            0,
            120,
        ),
    ]
}


def spec_for(key: str) -> SettingSpec:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise InvalidInput(
            _("Unknown area setting %(key)s; known settings: %(known)s."),
            code="setting_unknown",
            field="key",
            params={"key": key, "known": ", ".join(sorted(CATALOGUE))},
        ) from None
