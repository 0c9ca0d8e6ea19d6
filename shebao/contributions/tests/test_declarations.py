"""Declaration uploads: row by row, nothing accepted lost, re-uploads idempotent,
memory flat however long the file."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from shebao.audit.models import AuditEvent
from shebao.contributions import declarations
from shebao.contributions.models import DeclarationLine, LineKind
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.identifiers import (
    make_credit_code,
    make_identity_number,
    parse_identity_number,
)
from shebao.registry.models import Employer, Employment, Person

pytestmark = pytest.mark.django_db
MONTH = dt.date(2026, 10, 1)


@pytest.fixture
def staff(area, employer, employment):
    """The employer's staff: the `person` fixture and a colleague, both employed in October."""
    colleague = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2000, 1, 1),
    )
    Employment.objects.create(
        area=area,
        person=colleague,
        employer=employer,
        start_date=dt.date(2020, 1, 1),
        registered_on=dt.date(2020, 1, 5),
    )
    return [employment.person, colleague]


def csv_file(*rows: str, header: str = "身份证号码,姓名,月工资") -> io.BytesIO:
    return io.BytesIO(("\ufeff" + "\n".join([header, *rows]) + "\n").encode())


def upload(actor, employer, data, name="october.csv"):
    return declarations.declaration_import(
        actor=actor, employer=employer, period=MONTH, stream=data, filename=name
    )


def test_it_stores_good_rows_and_lists_bad_ones_with_line_and_reason(
    employer_user, employer, staff
):
    data = csv_file(
        "320106198503023314,张伟,9000",
        "110105194912310021,李秀英,8000",  # wrong check character
        "11010519491231002X,李秀英,-1",  # negative wage
        "440305199001010018,王强,5000",  # not registered
    )
    result = upload(employer_user, employer, data)
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (4, 1, 3)
    assert [(e["line"], e["field"], e["code"]) for e in result.errors] == [
        (3, "id_number", "id_number_check"),
        (4, "wage", "wage_range"),
        (5, "id_number", "person_unknown"),
    ]
    line = DeclarationLine.objects.get()
    assert (line.person, line.wage, line.period) == (staff[0], Decimal("9000.00"), MONTH)
    assert "1101**********0021" in declarations.errors_csv(result)


def test_the_same_file_twice_creates_nothing_new(employer_user, employer, staff):
    rows = ("320106198503023314,张伟,9000", "11010519491231002X,李秀英,8000.50")
    first = upload(employer_user, employer, csv_file(*rows))
    second = upload(employer_user, employer, csv_file(*rows))
    assert (first.rows_accepted, second.rows_accepted, second.rows_unchanged) == (2, 0, 2)
    assert DeclarationLine.objects.count() == 2


def test_a_different_wage_for_a_declared_month_is_a_correction_not_a_row(
    employer_user, employer, staff
):
    upload(employer_user, employer, csv_file("320106198503023314,张伟,9000"))
    again = upload(employer_user, employer, csv_file("320106198503023314,张伟,9500"))
    assert again.errors[0]["code"] == "already_declared"
    line = DeclarationLine.objects.get()
    new = declarations.declaration_correct(
        actor=employer_user, line=line, wage="9500", reason="加班费漏报"
    )
    assert new.wage == Decimal("9500.00")
    reversal = DeclarationLine.objects.get(kind=LineKind.REVERSAL)
    assert reversal.reverses == line and reversal.wage == line.wage
    assert declarations.declared_wages(DeclarationLine.objects.all()) == Decimal("9500.00")
    with pytest.raises(Conflict):
        declarations.declaration_correct(actor=employer_user, line=line, wage="1", reason="x")


def test_someone_not_employed_that_month_is_refused(employer_user, employer, staff):
    Employment.objects.filter(person=staff[1]).update(end_date=dt.date(2026, 9, 30))
    result = upload(employer_user, employer, csv_file("11010519491231002X,李秀英,8000"))
    assert result.errors[0]["code"] == "not_employed"


def test_the_database_does_not_check_a_lines_keys_so_the_judge_refuses_every_bad_one(
    employer_user, area, other_area, employer, staff
):
    """A line's person, employer, area, upload and author are not checked by the
    database; every row naming a person who is not the employer's registered
    employee in this area is refused with its reason, and stores nothing."""
    elsewhere = Person.objects.create(
        area=other_area,
        id_number="440305199001010018",
        name="王强",
        birth_date=dt.date(1990, 1, 1),
        sex="M",
        registered_on=dt.date(2010, 1, 1),
    )
    competitor = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320100", "MA1MXK7B1"),
        name="南京另一家公司",
        established_on=dt.date(2015, 3, 1),
        registered_on=dt.date(2015, 3, 10),
    )
    Employment.objects.filter(person=staff[1]).update(employer=competitor)
    result = upload(
        employer_user,
        employer,
        csv_file(
            "440305199001010018,王强,5000",  # registered in another area only
            "11010519491231002X,李秀英,8000",  # employed by another employer
            "320106198503023314,张伟,9000",
        ),
    )
    assert [(e["line"], e["field"], e["code"]) for e in result.errors] == [
        (2, "id_number", "person_unknown"),
        (3, "id_number", "not_employed"),
    ]
    line = DeclarationLine.objects.get()
    assert (line.area_id, line.employer_id, line.person_id) == (area.code, employer.pk, staff[0].pk)
    assert (line.upload_id, line.created_by_id) == (result.pk, employer_user.pk)
    with pytest.raises(Conflict) as caught:
        declarations.declaration_declare(
            actor=employer_user, employer=employer, person=elsewhere, period=MONTH, wage="5000"
        )
    assert caught.value.code == "person_unknown"
    assert not DeclarationLine.objects.filter(person=elsewhere).exists()


def test_a_person_twice_in_one_file_is_refused_the_second_time(employer_user, employer, staff):
    result = upload(
        employer_user,
        employer,
        csv_file("320106198503023314,张伟,9000", "320106198503023314,张伟,9000"),
    )
    assert (result.rows_accepted, result.errors[0]["line"], result.errors[0]["code"]) == (
        1,
        3,
        "duplicate_row",
    )


def test_a_file_without_the_columns_is_refused_whole(employer_user, employer, staff):
    with pytest.raises(InvalidInput) as caught:
        upload(employer_user, employer, csv_file("320106198503023314,9000", header="号码,金额"))
    assert caught.value.code == "declaration_header"
    with translation.override("en"):
        assert "id_number, wage" in caught.value.message


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("身份证号,姓名,应发工资", "320106198503023314,张伟,9000"),
        ("证件号码,工资总额", "320106198503023314,9000"),
        ("身份证,本月工资", "320106198503023314,9000"),
    ],
)
def test_the_column_names_spreadsheets_commonly_use_are_understood(
    header, row, employer_user, employer, staff
):
    result = upload(employer_user, employer, csv_file(row, header=header))
    assert (result.rows_accepted, result.errors) == (1, [])


def test_an_xlsx_file_is_read_too(employer_user, employer, staff):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号码", "姓名", "月工资"])
    sheet.append(["320106198503023314", "张伟", 9000])
    sheet.append(["11010519491231002x", "李秀英", 7000.5])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    result = upload(employer_user, employer, data, name="october.xlsx")
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)


def test_an_employer_declares_only_for_itself(employer_user, area, staff):
    from shebao.registry.identifiers import make_credit_code
    from shebao.registry.models import Employer

    other = Employer.objects.create(
        area=area,
        credit_code=make_credit_code("320102", "MA1000009"),
        name="别家",
        established_on=dt.date(2010, 1, 1),
        registered_on=dt.date(2010, 1, 1),
    )
    with pytest.raises(Forbidden):
        upload(employer_user, other, csv_file("320106198503023314,张伟,9000"))


def test_each_chunk_is_audited(employer_user, employer, staff):
    upload(employer_user, employer, csv_file("320106198503023314,张伟,9000"))
    assert AuditEvent.objects.filter(action="declaration.upload").count() == 1
    assert AuditEvent.objects.filter(action="declaration.import_chunk").count() == 1


def test_a_future_month_is_refused(employer_user, employer, staff):
    with pytest.raises(InvalidInput) as caught:
        declarations.declaration_import(
            actor=employer_user,
            employer=employer,
            period=dt.date(2099, 1, 1),
            stream=csv_file(),
            filename="x.csv",
        )
    assert caught.value.code == "period_future"


# --- files larger than a chunk, memory, the fast checks ------------------------


def staff_of(area, employer, count: int) -> list[str]:
    """`count` more employees of `employer` since 2020; their identity numbers."""
    numbers = [
        make_identity_number("320106", dt.date(1970, 1, 1) + dt.timedelta(days=n // 500), n % 500)
        for n in range(count)
    ]
    Person.objects.bulk_create(
        Person(
            area=area,
            id_number=number,
            name=f"职工{n}",
            birth_date=dt.date(1970, 1, 1) + dt.timedelta(days=n // 500),
            sex="M" if n % 2 else "F",
            registered_on=dt.date(2010, 1, 1),
        )
        for n, number in enumerate(numbers)
    )
    persons = Person.objects.filter(id_number__in=numbers).values_list("pk", flat=True)
    Employment.objects.bulk_create(
        Employment(
            area=area,
            person_id=pk,
            employer=employer,
            start_date=dt.date(2020, 1, 1),
            registered_on=dt.date(2020, 1, 5),
        )
        for pk in persons
    )
    return numbers


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 3 rows, loaded into the staging table 2 at a time."""
    monkeypatch.setattr(declarations, "CHUNK", 3)
    monkeypatch.setattr(declarations, "LOAD_BATCH", 2)


def test_a_file_of_several_chunks_finds_duplicates_across_chunks(
    employer_user, employer, staff, small_chunks
):
    progress = []
    data = csv_file(
        "320106198503023314,张伟,9000",  # line 2
        "11010519491231002X,李秀英,8000",  # line 3
        "440305199001010018,王强,5000",  # line 4: not registered
        "110105194912310021,李秀英,8000",  # line 5: wrong check character
        "",  # line 6: blank
        "320106198503023314,张伟,9100",  # line 7: duplicate of line 2, next chunk
        "11010519491231002x,李秀英,8000",  # line 8: duplicate of line 3
        "440305199001010018,王强,5000",  # line 9: duplicate of line 4 (itself refused)
    )
    with translation.override("en"):
        result = declarations.declaration_import(
            actor=employer_user,
            employer=employer,
            period=MONTH,
            stream=data,
            filename="october.csv",
            on_progress=lambda upload: progress.append(upload.rows_read),
        )
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (7, 2, 5)
    assert [(e["line"], e["code"]) for e in result.errors] == [
        (4, "person_unknown"),
        (5, "id_number_check"),
        (7, "duplicate_row"),
        (8, "duplicate_row"),
        (9, "duplicate_row"),
    ]
    assert "line 2" in result.errors[2]["message"]
    assert "line 3" in result.errors[3]["message"]
    assert "line 4" in result.errors[4]["message"]
    assert result.errors[3]["id_number"] == "1101**********002X"
    assert progress == [3, 6, 7]  # after each full chunk, then when done
    assert sorted(DeclarationLine.objects.values_list("wage", flat=True)) == [
        Decimal("8000.00"),
        Decimal("9000.00"),
    ]
    chunks = AuditEvent.objects.filter(action="declaration.import_chunk").order_by("seq")
    assert [(e.after or {}).get("accepted") for e in chunks] == [2]  # the other chunks add none


def test_a_second_upload_across_chunks_is_unchanged_or_refused_row_by_row(
    employer_user, area, employer, small_chunks
):
    numbers = staff_of(area, employer, 7)
    rows = [f"{number},职工,{5000 + n}" for n, number in enumerate(numbers)]
    first = upload(employer_user, employer, csv_file(*rows))
    rows[5] = f"{numbers[5]},职工,6000.10"
    second = upload(employer_user, employer, csv_file(*rows))
    assert (first.rows_accepted, first.rows_unchanged) == (7, 0)
    assert (second.rows_accepted, second.rows_unchanged, second.rows_rejected) == (0, 6, 1)
    assert [(e["line"], e["field"], e["code"]) for e in second.errors] == [
        (7, "wage", "already_declared")
    ]
    with translation.override("en"):
        third = upload(employer_user, employer, csv_file(rows[5]))
    assert third.errors[0]["message"].startswith("5005.00 was already declared for 2026-10")
    assert DeclarationLine.objects.count() == 7


def test_only_the_first_errors_are_kept_but_all_are_counted(
    employer_user, employer, staff, small_chunks, monkeypatch
):
    monkeypatch.setattr(declarations, "MAX_ERRORS", 3)
    data = csv_file(
        "440305199001010018,王强,5000",  # 2: not registered
        "320106198503023314,张伟,-5",  # 3: wage
        "320106198503023314,张伟,9000",  # 4
        "320106198503023314,张伟,9000",  # 5: duplicate
        "320106198503023314,张伟,9000",  # 6: duplicate
        "abc,x,1",  # 7: identity number
    )
    result = upload(employer_user, employer, data)
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (6, 1, 5)
    assert [(e["line"], e["code"]) for e in result.errors] == [
        (2, "person_unknown"),
        (3, "wage_range"),
        (5, "duplicate_row"),
    ]


def _peak_memory(actor, employer, numbers: list[str], period: dt.date) -> int:
    text = "\n".join(["身份证号码,姓名,月工资", *(f"{n},职工,8000.50" for n in numbers)])
    data = io.BytesIO(text.encode())
    tracemalloc.start()
    try:
        result = declarations.declaration_import(
            actor=actor, employer=employer, period=period, stream=data, filename="m.csv"
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.rows_accepted == len(numbers)
    return peak


def test_memory_does_not_grow_with_the_file(employer_user, area, employer, monkeypatch):
    monkeypatch.setattr(declarations, "CHUNK", 500)
    monkeypatch.setattr(declarations, "LOAD_BATCH", 100)
    numbers = staff_of(area, employer, 8000)
    _peak_memory(employer_user, employer, numbers[:100], dt.date(2026, 7, 1))  # warm caches
    small = _peak_memory(employer_user, employer, numbers[:2000], dt.date(2026, 8, 1))
    large = _peak_memory(employer_user, employer, numbers, dt.date(2026, 9, 1))
    # Remembering the numbers seen in Python would cost over 100 bytes a row;
    # what is left is the database driver's cache of statements (savepoints).
    assert large - small < 8 * (len(numbers) - 2000), (small, large)


def test_a_single_line_is_judged_by_the_same_rules(employer_user, employer, staff):
    line = declarations.declaration_declare(
        actor=employer_user, employer=employer, person=staff[0], period=MONTH, wage="9000"
    )
    same = declarations.declaration_declare(
        actor=employer_user, employer=employer, person=staff[0], period=MONTH, wage="9000.00"
    )
    assert same == line and line.wage == Decimal("9000.00")
    with pytest.raises(Conflict) as caught:
        declarations.declaration_declare(
            actor=employer_user, employer=employer, person=staff[0], period=MONTH, wage="9001"
        )
    assert (caught.value.code, caught.value.field) == ("already_declared", "wage")
    Employment.objects.filter(person=staff[1]).update(end_date=dt.date(2026, 9, 30))
    with pytest.raises(Conflict) as caught:
        declarations.declaration_declare(
            actor=employer_user, employer=employer, person=staff[1], period=MONTH, wage="1"
        )
    assert caught.value.code == "not_employed"
    assert AuditEvent.objects.filter(action="declaration.declare").count() == 1


identity_numbers = st.builds(
    make_identity_number,
    st.sampled_from(["110105", "320106", "440305", "320200", "999999", "110100"]),
    st.dates(dt.date(1870, 1, 1), dt.date(2099, 12, 31)),
    st.integers(0, 999),
)


def _edits(number: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(number),
        st.just(number.lower()),
        st.just(f" {number} "),
        st.just(number[:17]),
        st.integers(0, 17).flatmap(
            lambda i: st.sampled_from("0123456789Xx ١").map(
                lambda c: number[:i] + c + number[i + 1 :]
            )
        ),
    )


@given(identity_numbers.flatmap(_edits))
def test_the_fast_identity_check_accepts_only_what_the_full_check_accepts(text):
    fast = declarations.IdentityNumbers().accept(text)
    try:
        expected = parse_identity_number(text).number
    except InvalidInput:
        expected = None
    # The slow path takes the rest: spaces inside the number, non-ASCII digits.
    plain = text.strip()
    assert fast == expected or (fast is None and not (plain.isascii() and plain.isalnum()))


@given(
    st.one_of(
        st.decimals(min_value=-10, max_value=10**9, places=3).map(str),
        st.integers(-5, 10**9),
        st.from_regex(r"\A[ 0-9.,٣+-]{0,12}\Z"),
        st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 2)),
    )
)
def test_the_fast_wage_check_agrees_with_the_full_one(value):
    fast = declarations.wage_cents_fast(value)
    try:
        expected = int(declarations._parse_wage(value) * 100)
    except InvalidInput:
        expected = None
    assert fast is None or fast == expected
