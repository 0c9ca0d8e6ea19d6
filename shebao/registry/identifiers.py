"""The two national identifiers: resident identity number and credit code.

The check algorithms and the GB/T 2260 division list come from python-stdnum
(`stdnum.cn.ric`, `stdnum.cn.uscc`); this module wraps them so that a refusal
says exactly which part is wrong and what was expected, in the active
language. It also generates valid numbers (demo data, property tests) from
the same algorithms.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from functools import cache

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric, uscc

from shebao.core.errors import InvalidInput

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

MALE = "M"
FEMALE = "F"


@dataclass(frozen=True)
class IdentityNumber:
    """A valid resident identity number and what it says about its holder."""

    number: str
    birth_date: dt.date
    sex: str  # MALE or FEMALE
    division_code: str


def _clean(value: str) -> str:
    return "".join(str(value).split()).upper()


@cache
def division_known(code: str) -> bool:
    """Whether `code` is a county-level code in GB/T 2260, current or historical."""
    if len(code) != 6 or not code.isdigit():
        return False
    info = {
        key: val for _part, props in numdb.get("cn/loc").info(code) for key, val in props.items()
    }
    return "county" in info


def division_name(code: str) -> str:
    """The place a division code names (latest name), '' when unknown."""
    parts = {
        key: val for _part, props in numdb.get("cn/loc").info(code) for key, val in props.items()
    }
    county = parts.get("county", "").split(",")[-1]
    county = county.split("]")[-1]
    return f"{parts.get('province', '')}{county}" if county else ""


ASCII_DIGITS = frozenset("0123456789")


def parse_identity_number(value: str, *, field: str = "id_number") -> IdentityNumber:
    """Validate a resident identity number per GB 11643-1999 and return its parts.

    Spaces are stripped and a lower-case x is accepted; the canonical form is
    upper case. The checks run from the coarsest to the finest so the message
    names the first thing a person should fix.
    """
    number = _clean(value)
    if len(number) != 18:
        raise InvalidInput(
            _("Identity number must have 18 characters, got %(length)d."),
            code="id_number_length",
            field=field,
            params={"length": len(number)},
        )
    for position, char in enumerate(number[:17], start=1):
        if char not in ASCII_DIGITS:  # str.isdigit() would pass ² and Arabic-Indic digits
            raise InvalidInput(
                _(
                    "Identity number character %(position)d is %(char)s; the first 17 must be digits."
                ),
                code="id_number_format",
                field=field,
                params={"position": position, "char": char},
            )
    if not (number[17] in ASCII_DIGITS or number[17] == "X"):
        raise InvalidInput(
            _("Identity number check character is %(char)s; it must be a digit or X."),
            code="id_number_format",
            field=field,
            params={"char": number[17]},
        )
    date_text = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    try:
        birth_date = ric.get_birth_date(number)
    except Exception:
        raise InvalidInput(
            _("Identity number birth date %(date)s is not a date."),
            code="id_number_birth_date",
            field=field,
            params={"date": date_text},
        ) from None
    if birth_date > timezone.localdate() or birth_date.year < 1880:
        raise InvalidInput(
            _("Identity number birth date %(date)s is not possible."),
            code="id_number_birth_date",
            field=field,
            params={"date": date_text},
        )
    # stdnum also insists that the county existed in the birth year; numbers
    # were assigned in 1984-85 to people of every age under the codes of that
    # time, so a code that is known at all (historical ones included) is
    # accepted, as DOMAIN §1 asks.
    if not division_known(number[:6]):
        raise InvalidInput(
            _("Identity number division code %(code)s is not in GB/T 2260."),
            code="id_number_division",
            field=field,
            params={"code": number[:6]},
        )
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise InvalidInput(
            _("Identity number check character should be %(expected)s, not %(char)s."),
            code="id_number_check",
            field=field,
            params={"expected": expected, "char": number[17]},
        )
    sex = MALE if int(number[16]) % 2 else FEMALE
    return IdentityNumber(number, birth_date, sex, number[:6])


def normalize_identity_number(value: str, *, field: str = "id_number") -> str:
    return parse_identity_number(value, field=field).number


def normalize_credit_code(value: str, *, field: str = "credit_code") -> str:
    """Validate a unified social credit code per GB 32100-2015; return it canonical."""
    code = _clean(value).replace("-", "")
    if len(code) != 18:
        raise InvalidInput(
            _("Credit code must have 18 characters, got %(length)d."),
            code="credit_code_length",
            field=field,
            params={"length": len(code)},
        )
    for position, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            raise InvalidInput(
                _(
                    "Credit code character %(position)d is %(char)s, which is not in the "
                    "alphabet 0-9 and A-Y without I, O, S, V, Z."
                ),
                code="credit_code_alphabet",
                field=field,
                params={"position": position, "char": char},
            )
    for position in range(3, 9):
        if not code[position - 1].isdigit():
            raise InvalidInput(
                _("Credit code character %(position)d must be a digit (division code)."),
                code="credit_code_format",
                field=field,
                params={"position": position},
            )
    expected = uscc.calc_check_digit(code)
    if code[17] != expected:
        raise InvalidInput(
            _("Credit code check character should be %(expected)s, not %(char)s."),
            code="credit_code_check",
            field=field,
            params={"expected": expected, "char": code[17]},
        )
    return code


def mask_identity_number(number: str) -> str:
    """`11010519491231002X` → `1101**********002X`: enough to tell people apart."""
    if len(number) < 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


# --- generators (demo data and property tests) ---------------------------


def make_identity_number(division: str, birth_date: dt.date, sequence: int) -> str:
    """A valid identity number; `sequence` 0-999, odd for men, even for women."""
    body = f"{division}{birth_date:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def random_identity_number(
    rng: random.Random, divisions: list[str], *, born_from: int = 1950, born_to: int = 2005
) -> str:
    start = dt.date(born_from, 1, 1).toordinal()
    end = dt.date(born_to, 12, 31).toordinal()
    birth = dt.date.fromordinal(rng.randint(start, end))
    return make_identity_number(rng.choice(divisions), birth, rng.randint(0, 999))


def make_credit_code(
    division: str, organisation: str, *, authority: str = "9", kind: str = "1"
) -> str:
    """A valid credit code for a 9-character organisation code."""
    body = f"{authority}{kind}{division}{organisation}"
    return body + uscc.calc_check_digit(body + "0")


def random_credit_code(rng: random.Random, division: str) -> str:
    organisation = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return make_credit_code(division, organisation, kind=rng.choice("123"))


@cache
def current_divisions(prefix: str) -> tuple[str, ...]:
    """County-level codes under a province or city prefix that are in use today."""
    codes: list[str] = []
    for province in numdb.get("cn/loc").prefixes:
        _length, low, _high, _props, children = province
        for child in children:
            code = low + child[1]
            county = child[3].get("county", "")
            if not code.startswith(prefix) or code.endswith("00"):
                continue
            latest = county.split(",")[-1]
            if latest.startswith("[") and not latest[1:].split("]")[0].endswith("-"):
                continue  # abolished
            codes.append(code)
    return tuple(codes)
