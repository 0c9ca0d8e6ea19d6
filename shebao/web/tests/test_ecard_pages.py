"""The holder's electronic card and activation on "My cards", the public check of a
code, and the cards on the person page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shebao.audit.models import AccessEvent
from shebao.cards import ecard, services
from shebao.cards.models import Card, CardKind, CardState, ElectronicCard
from shebao.cards.testing import make_card
from shebao.registry.models import Person

pytestmark = pytest.mark.django_db


def signed_in(user, language=None):
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def my_cards(client):
    return client.get(reverse("web:my_cards"))


def claim_url(card):
    return reverse("web:my_ecard_claim", args=[card.pk])


def fresh(card):
    return Card.objects.get(pk=card.pk)


# --- the electronic card on "My cards" ---------------------------------------------------


def test_the_holder_claims_the_ecard_and_sees_a_qr_code(individual, person, card_officer):
    card = make_card(person, "active", submitted_by=card_officer)
    client = signed_in(individual, "en")
    entry = my_cards(client).context["items"][0]
    assert entry["ecard"]["claim_url"] == claim_url(card)
    assert "qr" not in entry["ecard"]

    claimed = client.post(claim_url(card))
    assert claimed.status_code == 302
    assert claimed["Location"] == reverse("web:my_cards") + f"#ecard-{card.pk}"
    assert ElectronicCard.objects.filter(card=card, claimed_by=individual).exists()

    page = my_cards(client)
    panel = page.context["items"][0]["ecard"]
    html = page.content.decode()
    assert re.search(r'<svg viewBox="0 0 \d+ \d+" class="qr"><title>', html)
    assert "<path" in str(panel["qr"]) and "<script" not in html.split("<main>")[1]
    assert ecard.ecard_verify(panel["token"]).valid
    expires = timezone.localtime(panel["expires_at"])
    assert (
        dt.timedelta(seconds=0) < panel["expires_at"] - timezone.now() <= dt.timedelta(seconds=300)
    )
    assert f"It is valid until {expires:%H:%M:%S}." in html
    assert panel["refresh_url"].startswith(reverse("web:my_cards") + "?code=")
    assert panel["refresh_url"].endswith(f"#ecard-{card.pk}")
    again = my_cards(client).context["items"][0]["ecard"]
    assert again["token"] != panel["token"]  # a fresh code at every showing
    assert again["refresh_url"] != panel["refresh_url"]  # so the link always reloads

    twice = client.post(claim_url(card))
    assert twice.status_code == 400
    assert "already claimed" in twice.context["items"][0]["ecard"]["refusal"]


@pytest.mark.parametrize(
    ("change", "reason", "text"),
    [
        ({"state": CardState.TEMPORARY_LOSS}, "card_lost", "The card is reported lost"),
        ({"state": CardState.FORMAL_LOSS}, "card_lost", "The card is reported lost"),
        ({"state": CardState.CANCELLED}, "card_cancelled", "The card is cancelled"),
        ({"frozen_at": "now"}, "card_frozen", "held by the card issuing area"),
        ({"state": CardState.PIN_LOCKED}, "card_pin_locked", "PIN is locked"),
    ],
)
def test_a_card_that_cannot_be_used_shows_no_code_and_why(
    individual, person, card_officer, change, reason, text
):
    card = make_card(person, "active", submitted_by=card_officer)
    ecard.ecard_claim(actor=individual, card=card)
    if change.get("frozen_at") == "now":
        change = {"frozen_at": timezone.now(), "frozen_reason": "emergency"}
    if change.get("state") == CardState.TEMPORARY_LOSS:
        change["loss_lapses_at"] = timezone.now() + dt.timedelta(days=10)
    Card.objects.filter(pk=card.pk).update(**change)

    page = my_cards(signed_in(individual, "en"))
    panel = page.context["items"][0]["ecard"]
    assert panel["reason"] == reason
    assert "qr" not in panel and "token" not in panel
    html = page.content.decode()
    assert 'class="qr"' not in html
    assert text in html


def test_a_lost_card_offers_no_claim_and_a_claim_is_refused_with_the_reason(
    individual, person, card_officer
):
    card = make_card(person, "active", submitted_by=card_officer)
    client = signed_in(individual, "en")
    assert (
        client.post(reverse("web:my_card_action", args=[card.pk, "temporary_loss"])).status_code
        == 302
    )
    panel = my_cards(client).context["items"][0]["ecard"]
    assert panel["reason"] == "card_lost" and "claim_url" not in panel
    refused = client.post(claim_url(card))  # a form from before the loss
    assert refused.status_code == 400
    panel = refused.context["items"][0]["ecard"]
    assert "the electronic card works only with an issued or active card" in panel["refusal"]
    assert not ElectronicCard.objects.exists()


def test_temporary_cards_and_applications_have_no_ecard(individual, person, card_officer, outlet):
    make_card(person, "applied", submitted_by=card_officer)
    services.card_issue_temporary(actor=card_officer, person=person, outlet=outlet)
    items = my_cards(signed_in(individual)).context["items"]
    assert [entry["ecard"] for entry in items] == [None, None]


def test_nobody_else_claims_a_holders_ecard(individual, person, card_officer, area, stranger):
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    theirs = make_card(other, "active", submitted_by=card_officer)
    assert signed_in(individual).post(claim_url(theirs)).status_code == 404
    for user in (card_officer, stranger):
        assert signed_in(user).post(claim_url(theirs)).status_code == 404
    assert not ElectronicCard.objects.exists()


# --- activation by the holder ---------------------------------------------------------------


def test_the_holder_activates_an_issued_card_online(individual, person, card_officer):
    card = make_card(person, "issued", submitted_by=card_officer)
    client = signed_in(individual, "en")
    entry = my_cards(client).context["items"][0]
    assert next(item["action"].slug for item in entry["actions"]) == "activate"
    assert "Activate my card" in my_cards(client).content.decode()
    done = client.post(reverse("web:my_card_action", args=[card.pk, "activate"]))
    assert done.status_code == 302
    assert fresh(card).state == CardState.ACTIVE
    assert fresh(card).events.get(operation="activate").actor == individual
    entry = my_cards(client).context["items"][0]
    assert "activate" not in [item["action"].slug for item in entry["actions"]]
    again = client.post(reverse("web:my_card_action", args=[card.pk, "activate"]))
    assert again.status_code == 400  # no longer offered: refused by the lifecycle


# --- the public check ------------------------------------------------------------------------


def test_the_public_page_checks_a_code_and_reveals_nobody(individual, person, card_officer):
    card = make_card(person, "active", submitted_by=card_officer)
    ecard.ecard_claim(actor=individual, card=card)
    token = ecard.ecard_token(actor=individual, card=card)

    client = Client(enforce_csrf_checks=True)  # nobody signed in
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    form = client.get(reverse("web:verify_ecard"))
    assert form.status_code == 200
    assert form["Cache-Control"] == "no-store"
    csrf = client.cookies["csrftoken"].value
    answer = client.post(reverse("web:verify_ecard"), {"token": token, "csrfmiddlewaretoken": csrf})
    assert answer.status_code == 200
    result = answer.context["result"]
    assert result.valid and result.reason == "ok"
    html = answer.content.decode()
    assert "Valid" in html and "The card is valid." in html
    assert ecard.mask_card_number(str(card.card_number)) in html
    assert "南京市" in html
    for secret in (str(card.card_number), person.name, person.id_number, person.id_number[-4:]):
        assert secret not in html, secret
    assert token not in html  # the box is empty for the next code

    bad = client.post(
        reverse("web:verify_ecard"), {"token": "not-a-code", "csrfmiddlewaretoken": csrf}
    )
    assert bad.status_code == 200
    assert bad.context["result"].reason == "token_malformed"
    assert "Not valid" in bad.content.decode()
    empty = client.post(reverse("web:verify_ecard"), {"token": "", "csrfmiddlewaretoken": csrf})
    assert empty.status_code == 400 and empty.context["result"] is None

    services.card_report_temporary_loss(actor=individual, card=card)
    lost = client.post(reverse("web:verify_ecard"), {"token": token, "csrfmiddlewaretoken": csrf})
    assert lost.context["result"].reason == "card_lost"
    assert "The card has been reported lost." in lost.content.decode()


# --- the person page -----------------------------------------------------------------------


def test_the_person_page_lists_cards_and_issues_a_temporary_card(
    card_officer, person, outlet, area
):
    old = make_card(person, "cancelled", submitted_by=card_officer)
    card = make_card(person, "active", submitted_by=card_officer, account_class=2)
    client = signed_in(card_officer, "en")
    url = reverse("web:person", args=[person.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert [(item["card"], item["state"]) for item in page.context["cards"]] == [
        (card, CardState.ACTIVE),
        (old, CardState.CANCELLED),
    ]
    html = page.content.decode()
    assert reverse("web:card", args=[card.pk]) in html
    assert reverse("web:card_apply", args=[person.pk]) in html
    assert "Class II · ICBC" in html
    assert f"{card.valid_from:%Y-%m-%d} – {card.valid_to:%Y-%m-%d}" in html
    assert outlet.name in html  # the outlet choice

    issued = client.post(url, {"temporary-outlet": outlet.pk})
    assert issued.status_code == 302
    assert issued["Location"] == url + "#cards"
    temporary = Card.objects.get(kind=CardKind.TEMPORARY)
    assert (temporary.state, temporary.outlet, temporary.submitted_by) == (
        CardState.ISSUED,
        outlet,
        card_officer,
    )
    page = client.get(url)
    assert temporary in [item["card"] for item in page.context["cards"]]
    assert f"Temporary card {temporary.card_number} is issued" in page.content.decode()

    twice = client.post(url, {"temporary-outlet": outlet.pk})
    assert twice.status_code == 400
    assert twice.context["temporary_form"].non_field_errors() == [
        "张伟 already has a valid temporary card."
    ]
    elsewhere = area.outlets.create(code="WD002", name="停用网点", active=False)
    refused = client.post(url, {"temporary-outlet": elsewhere.pk})
    assert refused.status_code == 400
    assert "outlet" in refused.context["temporary_form"].errors
    assert Card.objects.filter(kind=CardKind.TEMPORARY).count() == 1


def test_other_roles_see_the_cards_without_the_counter(
    owner, individual, person, card_officer, outlet
):
    card = make_card(person, "active", submitted_by=card_officer)
    url = reverse("web:person", args=[person.pk])
    registrar = signed_in(owner)
    page = registrar.get(url)
    assert [item["card"] for item in page.context["cards"]] == [card]
    html = page.content.decode()
    assert reverse("web:card", args=[card.pk]) not in html
    assert page.context["temporary_form"] is None and 'id="issue-temporary"' not in html
    assert AccessEvent.objects.filter(actor=owner).count() == 1  # the person's read, once
    assert registrar.post(url, {"temporary-outlet": outlet.pk}).status_code == 404
    mine = signed_in(individual).get(url)
    assert [item["card"] for item in mine.context["cards"]] == [card]
    assert reverse("web:my_cards") in mine.content.decode()
    assert not Card.objects.filter(kind=CardKind.TEMPORARY).exists()


def test_the_holder_pages_are_chinese_by_default(individual, person, card_officer):
    card = make_card(person, "active", submitted_by=card_officer)
    ecard.ecard_claim(actor=individual, card=card)
    for client, url in (
        (signed_in(individual), reverse("web:my_cards")),
        (Client(), reverse("web:verify_ecard")),
    ):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
        assert '<html lang="zh-hans">' in page, url
