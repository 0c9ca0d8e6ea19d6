"""The yearly batch: one statement per person of the area, in committed chunks,
resumable after an interruption without duplicates; its command and its job."""

from __future__ import annotations

import datetime as dt
import itertools
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.core.errors import Forbidden, InvalidInput
from shebao.inquiry import batch as batch_module
from shebao.inquiry import services, statements
from shebao.inquiry.models import BatchStatus, Statement, StatementBatch, StatementKind
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Person

PERSONS = 7


_sequence = itertools.count(100)


def persons(area, count=PERSONS, registered_on=dt.date(2010, 1, 1)):
    return [
        Person.objects.create(
            area=area,
            id_number=make_identity_number("320106", dt.date(1980, 1, 1), next(_sequence)),
            name=f"王{n}",
            birth_date=dt.date(1980, 1, 1),
            sex="M" if n % 2 else "F",
            registered_on=registered_on,
        )
        for n in range(count)
    ]


@pytest.fixture
def officer(area):
    return make_user("batch-officer", Role.CONTRIBUTIONS_OFFICER, area)


def yearly(area, year=2025):
    return Statement.objects.filter(area=area, kind=StatementKind.YEARLY, year=year)


@pytest.mark.django_db
def test_every_person_of_the_area_gets_one_statement_of_the_year(area, other_area, officer):
    persons(area)
    later = persons(area, 1, registered_on=dt.date(2026, 3, 1))[0]
    Person.objects.create(
        area=other_area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    seen = []
    batch = services.statement_batch_run(
        actor=officer, area=area, year=2025, chunk_size=3, on_progress=lambda d, t: seen.append(d)
    )
    assert (batch.status, batch.total, batch.done) == (BatchStatus.DONE, PERSONS, PERSONS)
    assert yearly(area).count() == PERSONS
    assert not yearly(area).filter(person=later).exists()  # registered after 2025
    assert seen == [0, 3, 6, 7]
    assert set(yearly(area).values_list("batch", flat=True)) == {batch.pk}
    assert {s.created_by_id for s in yearly(area)} == {officer.pk}
    chunks = AuditEvent.objects.filter(action="statement.batch_chunk").order_by("seq")
    assert [(event.after or {})["statements"] for event in chunks] == [3, 3, 1]
    assert AuditEvent.objects.filter(action="statement.batch_finish").count() == 1


@pytest.mark.django_db
def test_running_it_again_makes_nothing_twice(area, officer):
    persons(area)
    services.statement_batch_run(actor=officer, area=area, year=2025)
    codes = set(yearly(area).values_list("code", flat=True))
    again = services.statement_batch_run(actor=officer, area=area, year=2025)
    assert (again.done, again.total) == (PERSONS, PERSONS)
    assert set(yearly(area).values_list("code", flat=True)) == codes
    assert StatementBatch.objects.count() == 1


@pytest.mark.django_db
def test_the_database_holds_one_yearly_statement_per_person_and_year(area, officer):
    persons(area, 1)
    services.statement_batch_run(actor=officer, area=area, year=2025)
    first = yearly(area).get()
    first.pk, first.code = None, statements.new_code()
    with pytest.raises(IntegrityError), transaction.atomic():
        first.save()


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_batch_keeps_its_chunks_and_the_next_run_completes_it(
    area, officer, monkeypatch
):
    persons(area)
    real = batch_module.assemble
    made: list[int] = []

    def failing(person, **kwargs):
        if len(made) == 4:
            raise RuntimeError("the machine was switched off")
        made.append(person.pk)
        return real(person, **kwargs)

    monkeypatch.setattr(batch_module, "assemble", failing)
    with pytest.raises(RuntimeError):
        services.statement_batch_run(actor=officer, area=area, year=2025, chunk_size=2)
    batch = StatementBatch.objects.get()
    assert (batch.status, batch.done, batch.total) == (BatchStatus.FAILED, 4, PERSONS)
    assert "switched off" in batch.error and batch.finished_at is not None
    assert yearly(area).count() == 4  # two chunks committed, the third rolled back

    monkeypatch.setattr(batch_module, "assemble", real)
    resumed = services.statement_batch_run(actor=officer, area=area, year=2025, chunk_size=2)
    assert resumed.pk == batch.pk
    assert (resumed.status, resumed.done, resumed.total) == (BatchStatus.DONE, PERSONS, PERSONS)
    assert yearly(area).count() == PERSONS
    assert yearly(area).values("person").distinct().count() == PERSONS
    assert AuditEvent.objects.filter(action="statement.batch_stop").count() == 1


@pytest.mark.django_db
def test_a_year_not_over_is_refused(area, officer):
    with pytest.raises(InvalidInput) as refused:
        services.statement_batch_run(actor=officer, area=area, year=2026)
    assert refused.value.code == "year_not_over"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["stranger", "owner", "auditor"])
def test_only_the_areas_contribution_officers_run_it(area, request, who):
    with pytest.raises(Forbidden):
        services.statement_batch_run(actor=request.getfixturevalue(who), area=area, year=2025)
    assert not StatementBatch.objects.exists()


@pytest.mark.django_db
def test_the_command_runs_the_batch_as_a_user_or_as_the_system(area, officer):
    persons(area, 3)
    out = StringIO()
    call_command(
        "statements", "--area", "320100", "--year", "2025", "--as", officer.username, stdout=out
    )
    assert "3 of 3 persons" in out.getvalue()
    persons(area, 1)
    call_command("statements", "--area", "320100", "--year", "2025", stdout=StringIO())
    assert yearly(area).count() == 4
    assert yearly(area).filter(created_by__isnull=True).count() == 1
    with pytest.raises(CommandError):
        call_command("statements", "--area", "320100", "--year", "2026", stdout=StringIO())


@pytest.mark.django_db
def test_the_batch_runs_as_a_background_job(area, officer):
    from shebao.jobs.services import job_submit

    persons(area, 2)
    job = job_submit(actor=officer, kind="statement_batch", params={"area": "320100", "year": 2025})
    assert job.status == "done", job.error
    assert job.result == {
        "batch": StatementBatch.objects.get().pk,
        "area": "320100",
        "year": 2025,
        "total": 2,
        "done": 2,
    }
    with pytest.raises(InvalidInput):
        job_submit(actor=officer, kind="statement_batch", params={"year": "last"})
