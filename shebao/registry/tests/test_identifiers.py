"""GB 11643 identity numbers and GB 32100 credit codes: DOMAIN.md §1 worked
examples, messages in both languages, and properties over generated codes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.core.errors import InvalidInput
from shebao.registry.identifiers import (
    USCC_ALPHABET,
    current_divisions,
    make_credit_code,
    make_identity_number,
    mask_identity_number,
    normalize_credit_code,
    parse_identity_number,
)


def refusal(function, value):
    with pytest.raises(InvalidInput) as caught:
        function(value)
    return caught.value


def test_it_accepts_the_worked_female_example():
    identity = parse_identity_number("11010519491231002X")
    assert identity.number == "11010519491231002X"
    assert identity.birth_date == dt.date(1949, 12, 31)
    assert identity.sex == "F"


def test_it_says_the_check_character_should_be_x():
    error = refusal(parse_identity_number, "110105194912310021")
    assert error.code == "id_number_check"
    assert error.field == "id_number"
    with translation.override("en"):
        assert "check character should be X" in error.message
    with translation.override("zh-hans"):
        assert "X" in error.message and "校验" in error.message


def test_it_accepts_the_worked_male_example():
    identity = parse_identity_number("320106198503023314")
    assert identity.birth_date == dt.date(1985, 3, 2)
    assert identity.sex == "M"


def test_it_refuses_february_30_even_with_a_lower_case_x():
    error = refusal(parse_identity_number, "32010619850230331x")
    assert error.code == "id_number_birth_date"
    with translation.override("en"):
        assert "1985-02-30 is not a date" in error.message


def test_it_refuses_a_short_number_by_length():
    error = refusal(parse_identity_number, "3201061985030233")
    assert error.code == "id_number_length"
    with translation.override("en"):
        assert "18 characters, got 16" in error.message


def test_it_stores_the_canonical_upper_case_form_without_spaces():
    assert parse_identity_number(" 110105 19491231 002x ").number == "11010519491231002X"


def test_it_refuses_an_unknown_division_code():
    number = make_identity_number("999999", dt.date(1980, 1, 1), 11)
    error = refusal(parse_identity_number, number)
    assert error.code == "id_number_division"


def test_it_accepts_a_historical_division_code():
    # 110103 (Chongwen district) was abolished in 2010; its numbers stay valid.
    number = make_identity_number("110103", dt.date(1970, 6, 1), 15)
    assert parse_identity_number(number).division_code == "110103"


def test_it_refuses_a_birth_date_in_the_future():
    number = make_identity_number("110105", dt.date.today() + dt.timedelta(days=2), 15)
    assert refusal(parse_identity_number, number).code == "id_number_birth_date"


def test_it_names_the_character_that_is_not_a_digit():
    error = refusal(parse_identity_number, "1101051949A231002X")
    assert error.code == "id_number_format"
    with translation.override("en"):
        assert "character 11 is A" in error.message


@pytest.mark.parametrize("code", ["91110000600037341L", "91350100M000100Y43"])
def test_it_accepts_the_worked_credit_codes(code):
    assert normalize_credit_code(code) == code


def test_it_says_what_the_credit_code_check_should_be():
    error = refusal(normalize_credit_code, "91350100M000100Y4Z")
    # Z is outside the alphabet, which is the first thing wrong with it.
    assert error.code == "credit_code_alphabet"
    error = refusal(normalize_credit_code, "91350100M000100Y44")
    assert error.code == "credit_code_check"
    with translation.override("en"):
        assert "should be 3" in error.message


def test_it_says_letter_o_is_not_in_the_alphabet():
    error = refusal(normalize_credit_code, "9135010OM000100Y43")
    assert error.code == "credit_code_alphabet"
    with translation.override("en"):
        assert "character 8 is O" in error.message
        assert "not in the alphabet" in error.message


def test_it_masks_identity_numbers_as_agreed():
    assert mask_identity_number("11010519491231002X") == "1101**********002X"


# --- properties ------------------------------------------------------------

DIVISIONS = [*list(current_divisions("32"))[:200], "110105", "440305"]

identity_numbers = st.builds(
    make_identity_number,
    st.sampled_from(DIVISIONS),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
credit_codes = st.builds(
    make_credit_code,
    st.sampled_from(DIVISIONS),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
    authority=st.sampled_from("159ABCDGJNY"),
    kind=st.sampled_from("123459"),
)
ID_CHARACTERS = "0123456789X"


@settings(max_examples=300, deadline=None)
@given(identity_numbers)
def test_every_generated_identity_number_is_valid(number):
    identity = parse_identity_number(number)
    assert identity.number == number
    assert identity.sex == ("M" if int(number[16]) % 2 else "F")


@settings(max_examples=300, deadline=None)
@given(
    identity_numbers, st.integers(min_value=0, max_value=17), st.sampled_from(ID_CHARACTERS + "AZ-")
)
def test_every_single_character_change_of_an_identity_number_fails(number, position, char):
    if number[position] == char:
        char = (
            ID_CHARACTERS[(ID_CHARACTERS.index(char) + 1) % len(ID_CHARACTERS)]
            if char in ID_CHARACTERS
            else "Y"
        )
    changed = number[:position] + char + number[position + 1 :]
    with pytest.raises(InvalidInput):
        parse_identity_number(changed)


@settings(max_examples=300, deadline=None)
@given(credit_codes)
def test_every_generated_credit_code_is_valid(code):
    assert normalize_credit_code(code) == code


@settings(max_examples=300, deadline=None)
@given(
    credit_codes, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET + "IOSVZ")
)
def test_every_single_character_change_of_a_credit_code_fails(code, position, char):
    if code[position] == char:
        char = (
            USCC_ALPHABET[(USCC_ALPHABET.index(char) + 1) % len(USCC_ALPHABET)]
            if char in USCC_ALPHABET
            else "A"
        )
    changed = code[:position] + char + code[position + 1 :]
    with pytest.raises(InvalidInput):
        normalize_credit_code(changed)


@pytest.mark.parametrize("odd", ["²", "٣", "３"])
def test_it_refuses_digits_that_are_not_ascii_at_the_character(odd):
    with pytest.raises(InvalidInput) as refused:
        parse_identity_number("3201061985030233" + odd + "4")
    assert refused.value.code == "id_number_format"
    assert refused.value.params["position"] == 17
