"""An insured person on a phone, in the browser."""

from __future__ import annotations

import pytest

from shebao.cards.models import CardState
from shebao.cards.testing import make_card
from shebao.web.tests.browser.fixtures import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # conftest.PASSWORD


def test_a_person_reports_a_card_lost_and_makes_it_usable_again(
    phone, individual, person, card_officer
):
    card = make_card(person, "active", submitted_by=card_officer)
    sign_in(phone, individual.username, PASSWORD)
    phone.goto("/my/cards/")
    shot(phone, "person-my-cards")
    section = phone.locator(f"#card-{card.pk}")
    assert section.locator(".state").inner_text() == str(CardState.ACTIVE.label)

    section.locator(f"#action-temporary_loss-{card.pk} button[type=submit]").click()
    phone.wait_for_load_state()
    section = phone.locator(f"#card-{card.pk}")
    assert section.locator(".state").inner_text() == str(CardState.TEMPORARY_LOSS.label)
    assert section.locator("p.notice").first.is_visible()
    shot(phone, "person-card-reported-lost")
    card.refresh_from_db()
    assert card.events.filter(operation="temporary_loss").count() == 1

    section.locator(f"#action-unfreeze-{card.pk} button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator(f"#card-{card.pk} .state").inner_text() == str(CardState.ACTIVE.label)
