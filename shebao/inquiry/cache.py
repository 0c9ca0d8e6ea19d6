"""A person's own contribution history as their page and the API show it, cached,
never stale (SIL arts. 4, 74: a person may look at it as often as they like).

Building a 30-year history costs a dozen milliseconds of queries and rendering;
serving it from the cache, one small query. An entry is keyed by the state of
every record it shows, and that state is read before the records themselves.

Design notes
- What a history shows changes only through these writers, each of which
  replaces a token (`HistoryVersion`) inside its own transaction
  (`history_changed`):
  - the billing run (bill lines, bills and their totals, flexible workers'
    bills): the area's token, once per run — never a row per person, so the
    run's set-based insert of a million lines costs one row more;
  - an employer's payment, and the release or settling of its credit
    (allocations to the employer's bills): the employer's token;
  - a flexible worker's payment (allocations to their own bills): the
    person's token.
  Bill lines are written by the billing run only, so the employers billed
  for a person change only with the area's token.
- An entry's key holds the area's and the person's tokens, and the token and
  the name of each employer billed for the person (a renamed employer shows
  at once). The set of those employers is kept beside the entries
  ("subjects"), under the area's token it was found with. A request reads
  that set from the cache, then the tokens and names in one query, then the
  entry. On a miss the history is built from records read after the tokens,
  so an entry is never older than its key. A build that finds an employer
  not in the set read before it (the person's first request, or one after a
  billing run) records the set and is served without being kept.
- Also in the key: the day (months become overdue), the language, and what
  was asked for (the page's year, the API's page).
- The cache is the `history` cache of settings.CACHES (local memory of each
  process); tokens are random, so a database restored from a backup never
  brings back a token with other data behind it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.cache import caches
from django.db import connection
from django.utils import timezone, translation

from shebao.accounts.models import User
from shebao.inquiry.models import HistoryVersion, VersionScope
from shebao.registry.models import Employer

if TYPE_CHECKING:  # the writers import this module; the history imports theirs
    from shebao.inquiry.history import History

HISTORY_CACHE = "history"

Shown = TypeVar("Shown", str, bytes)

_VERSIONS = HistoryVersion._meta.db_table
_EMPLOYERS = Employer._meta.db_table


def history_changed(*, area: str, employer: int | None = None, person: int | None = None) -> None:
    """Record that the contribution histories of an area (a billing run), of the
    persons billed by `employer` (its payments) or of `person` (their own payments)
    changed. Call it inside the writer's transaction: the new token must become
    visible with the records, never before them."""
    if employer is not None and person is not None:
        raise ValueError("an employer's or a person's records, not both")
    if employer is not None:
        scope, subject = VersionScope.EMPLOYER, employer
    elif person is not None:
        scope, subject = VersionScope.PERSON, person
    else:
        scope, subject = VersionScope.AREA, 0
    HistoryVersion.objects.bulk_create(
        [HistoryVersion(area_id=area, scope=scope, subject=subject, token=secrets.randbits(62))],
        update_conflicts=True,
        unique_fields=["area", "scope", "subject"],
        update_fields=["token"],
    )


def _versions(area: str, person: int, employers: tuple[int, ...]) -> list[tuple[Any, ...]]:
    """The tokens of the area, the person and `employers`, and those employers'
    names, in one query: (scope, subject, token, name) rows, sorted."""
    params: list[Any] = [area, VersionScope.AREA, VersionScope.PERSON, person]
    of_employers = names = ""
    if employers:
        marks = ", ".join(["%s"] * len(employers))
        of_employers = f" OR (scope = %s AND subject IN ({marks}))"
        names = f" UNION ALL SELECT 'name', id, 0, name FROM {_EMPLOYERS} WHERE id IN ({marks})"  # noqa: S608
        params += [VersionScope.EMPLOYER, *employers, *employers]
    # Table names are constants; every value is a parameter.
    sql = (
        f"SELECT scope, subject, token, '' FROM {_VERSIONS} WHERE area_id = %s "  # noqa: S608
        f"AND ((scope = %s AND subject = 0) OR (scope = %s AND subject = %s){of_employers})"
        f"{names}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(tuple(row) for row in cursor.fetchall())


def _area_token(rows: list[tuple[Any, ...]]) -> int | None:
    return next((row[2] for row in rows if row[0] == VersionScope.AREA), None)


def history_cached(user: User, asked: str, build: Callable[[], tuple[Shown, History]]) -> Shown:
    """What `build` makes of the signed-in individual's own history (`asked` names
    the view and what it was asked for), from the cache when the records it shows
    have not changed since. `build` returns the content and the history it shows.

    The caller has checked that `user` is an individual reading their own records.
    """
    area, person = user.area_id, user.person_id
    if area is None or person is None:
        return build()[0]
    cache = caches[HISTORY_CACHE]
    subjects_key = f"history:{area}:{person}:subjects"
    subjects: tuple[int | None, tuple[int, ...]] | None = cache.get(subjects_key)
    employers = subjects[1] if subjects is not None else ()
    rows = _versions(area, person, employers)
    area_token = _area_token(rows)

    def remember(found: History, known: tuple[int, ...]) -> None:
        every = tuple(sorted(set(known) | found.employers))
        cache.set(subjects_key, (area_token, every))

    if subjects is None or subjects[0] != area_token:
        content, history = build()
        if history.person.area_id == area:
            remember(history, ())
        return content
    digest = hashlib.blake2b(repr(rows).encode(), digest_size=16).hexdigest()
    key = (
        f"history:{area}:{person}:{asked}:{translation.get_language()}:"
        f"{timezone.localdate():%Y%m%d}:{digest}"
    )
    found = cache.get(key)
    if found is not None:
        return found
    content, history = build()
    if history.person.area_id != area:
        return content
    if history.employers <= set(employers):
        cache.set(key, content)
    else:  # an employer billed without the area's token changing: learn it first
        remember(history, employers)
    return content
