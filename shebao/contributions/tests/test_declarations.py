"""Declaration uploads: row by row, nothing accepted lost, re-uploads idempotent."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation

from shebao.audit.models import AuditEvent
from shebao.contributions import declarations
from shebao.contributions.models import DeclarationLine, LineKind
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.models import Employment, Person

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
