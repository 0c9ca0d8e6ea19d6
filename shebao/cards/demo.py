"""Cards for the demo area: most people hold an active card; some applications
are waiting at each step, so every counter screen has work on it."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shebao.accounts.models import User
from shebao.audit.services import audit_record
from shebao.cards.models import Card, CardEvent, CardKind, CardPhoto, CardState, Channel
from shebao.cards.photo import sample_photo
from shebao.core.dates import add_years
from shebao.core.progress import Progress
from shebao.registry.models import Area, Outlet, Person
from shebao.registry.services import area_approve

BANKS = ["ICBC", "CCB", "BOC", "ABC", "BOCOM", "PSBC", "NJCB"]


@transaction.atomic
def demo_cards(
    *,
    area: Area,
    ministry: User,
    officer: User,
    clerk: User | None = None,
    seed: int,
    stream: Any = None,
    progress: bool = True,
    holders: list[int | None] | None = None,
) -> int:
    """Approve the area and give its people cards; returns the number of cards."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data
    if area.issuer_id is None:
        area_approve(actor=ministry, area=area, issuer_id=f"{area.code}A01")
    outlets = list(Outlet.objects.filter(area=area))
    today = timezone.localdate()
    now = timezone.now()
    people = list(Person.objects.filter(area=area).values_list("pk", "registered_on"))
    photo = sample_photo()
    cards: list[Card] = []
    serial = 0
    with Progress("cards", len(people), stream=stream, enabled=progress) as bar:
        for person_id, registered in people:
            roll = rng.random()
            if person_id in (holders or []):
                roll = 0.5  # the demo individual holds an active card
            serial += 1
            common = {
                "area": area,
                "person_id": person_id,
                "kind": CardKind.FIRST,
                "channel": rng.choice(
                    [Channel.COUNTER, Channel.COUNTER, Channel.ONLINE, Channel.EMPLOYER]
                ),
                "account_class": rng.choice([1, 2, 2, 2, 3]),
                "bank": rng.choice(BANKS),
                # Applications were taken by a colleague, so the card officer
                # can approve them (nobody approves their own).
                "submitted_by": clerk or officer,
                "phone": "",
                "address": "",
            }
            if roll < 0.80:
                issued = max(registered, today - dt.timedelta(days=rng.randint(30, 9 * 365)))
                state = CardState.TEMPORARY_LOSS if roll < 0.005 else CardState.ACTIVE
                cards.append(
                    Card(
                        **common,
                        state=state,
                        approved_by=officer,
                        card_number=f"A{serial:08d}",
                        identification_code=f"{area.code}{serial:010d}",
                        bank_account=f"6217{rng.randint(0, 10**15 - 1):015d}",
                        valid_from=issued,
                        valid_to=add_years(issued, 10),
                        outlet=rng.choice(outlets) if outlets else None,
                        issued_at=now - dt.timedelta(days=(today - issued).days),
                        loss_lapses_at=now + dt.timedelta(days=3)
                        if state == CardState.TEMPORARY_LOSS
                        else None,
                    )
                )
            elif roll < 0.81:
                cards.append(Card(**common, state=CardState.APPLIED))
            elif roll < 0.82:
                cards.append(
                    Card(**common, state=CardState.APPROVED, approved_by=officer, approved_at=now)
                )
            elif roll < 0.83 and outlets:
                cards.append(
                    Card(
                        **common,
                        state=CardState.AT_OUTLET,
                        approved_by=officer,
                        card_number=f"A{serial:08d}",
                        identification_code=f"{area.code}{serial:010d}",
                        bank_account=f"6217{rng.randint(0, 10**15 - 1):015d}",
                        valid_from=today,
                        valid_to=add_years(today, 10),
                        outlet=rng.choice(outlets),
                        received_at=now - dt.timedelta(days=rng.randint(1, 250)),
                    )
                )
            if len(cards) >= 5000:
                _flush(cards, photo, officer)
                cards = []
            bar.advance()
        _flush(cards, photo, officer)
    total = Card.objects.filter(area=area).count()
    audit_record(
        actor=None,
        action="demo.cards",
        subject=area,
        area_code=area.code,
        after={"cards": total, "seed": seed},
    )
    return total


def _flush(cards: list[Card], photo: bytes, officer: User) -> None:
    if not cards:
        return
    created = Card.objects.bulk_create(cards)
    # The events are plain rows; building model objects for them would double the time.
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {CardEvent._meta.db_table} (area_id, card_id, at, actor_id, "  # noqa: S608
            "operation, from_state, to_state, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    card.area_id,
                    card.pk,
                    now,
                    officer.pk,
                    "demo",
                    "",
                    card.state,
                    '{"note": "demo data"}',
                )
                for card in created
            ],
        )
    CardPhoto.objects.bulk_create(
        CardPhoto(card=card, area_id=card.area_id, jpeg=photo, sha256="demo")
        for card in created
        if card.state in (CardState.APPLIED, CardState.APPROVED)
    )
