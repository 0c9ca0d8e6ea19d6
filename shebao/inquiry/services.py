"""Writes of statements: one on request, the holder's choice of what to share,
and the yearly batch of an area. Each is audited in its own transaction.

Statements are free (SIL arts. 4, 74): no service here charges anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import can, require
from shebao.audit.services import access_record, audit_record
from shebao.cards.ecard import _signing_key
from shebao.cards.models import AreaSigningKey
from shebao.core.errors import Forbidden, InvalidInput, NotFound
from shebao.core.progress import Progress
from shebao.inquiry.batch import chunk_statements
from shebao.inquiry.models import BatchStatus, Statement, StatementBatch, StatementKind
from shebao.inquiry.statements import (
    DEFAULT_SHARED,
    SHAREABLE,
    canonical_json,
    digest_of,
    new_code,
    sign,
    statement_content,
)
from shebao.registry.models import Area, Person

CHUNK_SIZE = 500
FIRST_YEAR = 1990  # no record of this system is older


def check_year(year: int) -> int:
    """A year whose yearly statement can be made: it has ended."""
    today = timezone.localdate()
    if not FIRST_YEAR <= year < today.year:
        raise InvalidInput(
            _(
                "The yearly statement of %(year)s is made after the year has ended (%(first)s "
                "to %(last)s); a statement as of today can be asked for at any time."
            ),
            code="year_not_over",
            field="year",
            params={"year": year, "first": FIRST_YEAR, "last": today.year - 1},
        )
    return year


def _draft(
    person: Person,
    *,
    area: Area,
    kind: str,
    year: int,
    as_of: dt.date,
    key: AreaSigningKey,
    actor: User | None,
    now: dt.datetime,
    batch: StatementBatch | None = None,
) -> Statement:
    """A statement gathered, put in canonical form and signed; not yet saved."""
    code = new_code()
    canonical = canonical_json(
        statement_content(
            person,
            area=area,
            kind=kind,
            year=year,
            as_of=as_of,
            code=code,
            key_id=key.key_id,
            issued_at=now,
        )
    )
    return Statement(
        area=area,
        person=person,
        kind=kind,
        year=year,
        as_of=as_of,
        canonical=canonical,
        digest=digest_of(canonical),
        signature=sign(key, canonical),
        key=key,
        code=code,
        shared_fields=list(DEFAULT_SHARED),
        batch=batch,
        created_at=now,
        created_by=actor,
    )


def _issued(statement: Statement) -> dict[str, Any]:
    return {
        "person": statement.person_id,
        "kind": statement.kind,
        "year": statement.year,
        "as_of": statement.as_of,
        "digest": statement.digest,
        "key": statement.key.key_id,
    }


# --- on request ----------------------------------------------------------------------


@transaction.atomic
def statement_request(*, actor: User, person: Person) -> Statement:
    """A statement of the current year as of today: asked for by the holder online,
    or made by staff at the counter for a person of their area (logged as a look
    at the person's records)."""
    if can(actor, "statement.own"):
        if actor.person_id != person.pk:
            raise Forbidden(_("You may ask only for your own statement."))
    else:
        require(actor, "statement.issue", area_code=person.area_id)
    now = timezone.now()
    today = timezone.localdate(now)
    area = Area.objects.get(code=person.area_id)
    key = _signing_key(area.code, actor)
    statement = _draft(
        person,
        area=area,
        kind=StatementKind.ON_REQUEST,
        year=today.year,
        as_of=today,
        key=key,
        actor=actor,
        now=now,
    )
    statement.save()
    audit_record(
        actor=actor,
        action="statement.request",
        subject=statement,
        area_code=area.code,
        after=_issued(statement),
    )
    access_record(
        actor=actor, action="statement.request", area_code=area.code, person_ids=[person.pk]
    )
    return statement


# --- sharing ---------------------------------------------------------------------------


@transaction.atomic
def statement_share(*, actor: User, statement: Statement, fields: Iterable[str]) -> Statement:
    """What the holder shows on the public verify page, besides the masked name and
    identity number and the period, which are always shown."""
    require(actor, "statement.own")
    if actor.person_id != statement.person_id:
        raise NotFound(
            _("No %(what)s with that key is visible to you."),
            params={"what": _("rights record statement")},
        )
    wanted = set(fields)
    unknown = sorted(wanted - set(SHAREABLE))
    if unknown:
        raise InvalidInput(
            _("%(fields)s cannot be shared; choose among %(allowed)s."),
            code="share_field_unknown",
            field="fields",
            params={"fields": ", ".join(unknown), "allowed": ", ".join(SHAREABLE)},
        )
    chosen = [name for name in SHAREABLE if name in wanted]
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    before = list(locked.shared_fields)
    if before != chosen:
        Statement.objects.filter(pk=locked.pk).update(shared_fields=chosen)
        audit_record(
            actor=actor,
            action="statement.share",
            subject=locked,
            area_code=locked.area_id,
            before={"shared_fields": before},
            after={"shared_fields": chosen},
        )
    locked.shared_fields = chosen
    return locked


# --- the yearly batch --------------------------------------------------------------------


def _scope(area: Area, year: int) -> QuerySet[Person]:
    """The persons of the area registered by the end of the year."""
    return Person.objects.filter(area=area, registered_on__lte=dt.date(year, 12, 31))


def _yearly(area: Area, year: int) -> QuerySet[Statement]:
    return Statement.objects.filter(area=area, kind=StatementKind.YEARLY, year=year)


def _pending(area: Area, year: int, size: int) -> Iterator[list[int]]:
    """Persons in scope without the year's statement, in ascending chunks; each chunk is
    read when it is needed, so the statements of the previous one are seen."""
    last = 0
    missing = ~Exists(_yearly(area, year).filter(person_id=OuterRef("pk")))
    while True:
        keys = list(
            _scope(area, year)
            .filter(missing, pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not keys:
            return
        yield keys
        last = keys[-1]


@transaction.atomic
def _batch_start(
    *, actor: User | None, area: Area, year: int
) -> tuple[StatementBatch, AreaSigningKey]:
    now = timezone.now()
    key = _signing_key(area.code, actor)
    total = _scope(area, year).count()
    done = _yearly(area, year).count()
    batch, created = StatementBatch.objects.select_for_update().get_or_create(
        area=area,
        year=year,
        defaults={"total": total, "done": done, "started_by": actor, "started_at": now},
    )
    if not created:
        batch.total, batch.done, batch.started_by, batch.started_at = total, done, actor, now
        batch.status, batch.error, batch.finished_at = BatchStatus.RUNNING, "", None
        batch.save()
    audit_record(
        actor=actor,
        action="statement.batch_start",
        subject=batch,
        area_code=area.code,
        after={"year": year, "total": total, "done": done, "resumed": not created},
    )
    return batch, key


def _batch_chunk(
    *,
    actor: User | None,
    batch: StatementBatch,
    key: AreaSigningKey,
    keys: list[int],
    as_of: dt.date,
) -> int:
    """Make the statements of one chunk of persons and commit them together."""
    area = batch.area
    now = timezone.now()
    # Gathered before the transaction: only the writes hold the lock.
    drafts = chunk_statements(
        list(Person.objects.filter(pk__in=keys).order_by("pk")),
        area=area,
        year=batch.year,
        as_of=as_of,
        key=key,
        actor=actor,
        now=now,
        batch=batch,
    )
    with transaction.atomic():
        # One writer per batch at a time: a second run waits here, then skips
        # the persons this one made statements for.
        StatementBatch.objects.select_for_update().filter(pk=batch.pk).exists()
        had = set(
            _yearly(area, batch.year).filter(person_id__in=keys).values_list("person_id", flat=True)
        )
        new = [draft for draft in drafts if draft.person_id not in had]
        Statement.objects.bulk_create(new)
        StatementBatch.objects.filter(pk=batch.pk).update(done=F("done") + len(new))
        audit_record(
            actor=actor,
            action="statement.batch_chunk",
            subject=batch,
            area_code=area.code,
            after={"year": batch.year, "persons": [keys[0], keys[-1]], "statements": len(new)},
        )
    batch.done += len(new)
    return len(new)


@transaction.atomic
def _batch_end(
    *, actor: User | None, batch: StatementBatch, error: BaseException | None = None
) -> None:
    batch.status = BatchStatus.FAILED if error else BatchStatus.DONE
    batch.error = (str(error) or type(error).__name__)[:300] if error else ""
    batch.finished_at = timezone.now()
    StatementBatch.objects.filter(pk=batch.pk).update(
        status=batch.status, error=batch.error, finished_at=batch.finished_at
    )
    audit_record(
        actor=actor,
        action="statement.batch_stop" if error else "statement.batch_finish",
        subject=batch,
        area_code=batch.area_id,
        after={"year": batch.year, "total": batch.total, "done": batch.done, "error": batch.error},
    )


def statement_batch_run(
    *,
    actor: User | None,
    area: Area,
    year: int,
    on_progress: Callable[[int, int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
    progress: bool = False,
    stream: Any = None,
) -> StatementBatch:
    """The yearly statements of `year` for every person of `area` registered by its end.

    Figures are as of the day of the run (DOMAIN §5: the statement shows the
    record as it stands when sent). Persons are taken in chunks of
    `chunk_size`; each chunk's statements are committed together with one
    audit event, so an interrupted run keeps what it finished, and running
    it again (the same `StatementBatch` row) skips every person who has the
    year's statement: never two (the database holds one yearly statement per
    person and year). `on_progress(done, total)` is called after each chunk.
    `actor` None is the system (a scheduled `shebao statements` run).
    """
    if actor is not None:
        require(actor, "statement.issue", area_code=area.code)
    check_year(year)
    batch, key = _batch_start(actor=actor, area=area, year=year)
    as_of = timezone.localdate()
    if on_progress is not None:
        on_progress(batch.done, batch.total)
    try:
        with Progress(
            f"statements {year}",
            max(batch.total - batch.done, 0),
            stream=stream,
            enabled=progress,
        ) as bar:
            for keys in _pending(area, year, max(chunk_size, 1)):
                _batch_chunk(actor=actor, batch=batch, key=key, keys=keys, as_of=as_of)
                bar.advance(len(keys))
                if on_progress is not None:
                    on_progress(batch.done, batch.total)
    except BaseException as error:
        _batch_end(actor=actor, batch=batch, error=error)
        raise
    _batch_end(actor=actor, batch=batch)
    return batch
