"""The card pages: the counter, the approval queue, the card page and "My cards"."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.audit.models import AccessEvent
from shebao.cards.models import Card, CardKind, CardState
from shebao.cards.photo import sample_photo
from shebao.cards.selectors import card_state
from shebao.cards.testing import make_card
from shebao.registry.identifiers import make_identity_number
from shebao.registry.models import Person
from shebao.web.card_views import _state_filter

pytestmark = pytest.mark.django_db

OTHER_ID = "11010519491231002X"  # a valid identity number that is not the holder's


def signed_in(user, language=None):
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def photo(data=None):
    return SimpleUploadedFile("photo.jpg", data or sample_photo(), content_type="image/jpeg")


def card_url(card):
    return reverse("web:card", args=[card.pk])


def act(card, action):
    return reverse("web:card_action", args=[card.pk, action])


def my_act(card, action):
    return reverse("web:my_card_action", args=[card.pk, action])


def make_person(area, sequence, name="王芳"):
    return Person.objects.create(
        area=area,
        id_number=make_identity_number("320106", dt.date(1990, 1, 1), sequence),
        name=name,
        birth_date=dt.date(1990, 1, 1),
        sex="F" if sequence % 2 == 0 else "M",
        registered_on=dt.date(2010, 1, 1),
    )


def fresh(card):
    return Card.objects.get(pk=card.pk)


# --- the application at the counter ---------------------------------------------


def test_it_takes_an_application_at_the_counter(card_officer, person):
    client = signed_in(card_officer)
    url = reverse("web:card_apply", args=[person.pk])
    form_page = client.get(url)
    assert form_page.status_code == 200
    assert form_page.context["form"].initial["phone"] == person.phone
    assert "358×441" in form_page.content.decode()  # the photo rule is shown
    assert 'enctype="multipart/form-data"' in form_page.content.decode()

    response = client.post(
        url,
        {
            "kind": "first",
            "account_class": "2",
            "bank": "icbc",
            "phone": "13900000000",
            "address": "南京市玄武区中山路1号",
            "photo": photo(),
            "urgent": "on",
        },
    )
    card = Card.objects.get(person=person)
    assert response.status_code == 302
    assert response["Location"] == card_url(card)
    assert (card.state, card.kind, card.channel, card.bank) == (
        "applied",
        "first",
        "counter",
        "ICBC",
    )
    assert card.urgent and card.submitted_by == card_officer
    assert card.photo.jpeg == sample_photo()
    page = client.get(card_url(card))
    assert page.status_code == 200
    assert page.context["state"] == CardState.APPLIED
    assert [str(row["operation"]) for row in page.context["history"]] == ["申领"]


def test_a_photo_that_breaks_the_rule_is_refused_at_the_photo_field(card_officer, person):
    client = signed_in(card_officer, "en")
    response = client.post(
        reverse("web:card_apply", args=[person.pk]),
        {
            "kind": "first",
            "account_class": "2",
            "bank": "ICBC",
            "phone": "13900000000",
            "address": "南京市玄武区中山路1号",
            "photo": photo(b"GIF89a not a jpeg"),
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["photo"] == ["The photo must be a JPEG file."]
    assert 'value="13900000000"' in response.content.decode()  # the rest is kept to fix
    assert not Card.objects.exists()


def test_a_replacement_of_a_card_not_yet_reported_lost_is_refused_at_the_card(card_officer, person):
    old = make_card(person, "active", submitted_by=card_officer)
    response = signed_in(card_officer, "en").post(
        reverse("web:card_apply", args=[person.pk]),
        {
            "kind": "replacement",
            "replaces": str(old.pk),
            "reason": "loss",
            "account_class": "2",
            "bank": "ICBC",
            "phone": "13900000000",
            "address": "南京市玄武区中山路1号",
            "photo": photo(),
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["replaces"] == [
        "A lost card must be reported lost formally before it is replaced."
    ]


# --- the approval queue -------------------------------------------------------------


def test_a_second_officer_approves_from_the_queue_and_the_submitter_cannot(
    card_officer, second_officer, person
):
    card = make_card(person, "applied", submitted_by=card_officer)
    first = signed_in(card_officer, "en")

    queue = first.get(reverse("web:card_queue"))
    assert [item["card"] for item in queue.context["items"]] == [card]
    assert queue.context["items"][0]["mine"]
    page = queue.content.decode()
    assert "your submission" in page
    assert "a second officer must approve it" in page
    assert "disabled" in page

    refused = first.post(act(card, "approve"), {"next": "queue"})
    assert refused.status_code == 400
    assert "a second officer must approve it" in refused.context["refusal"]["text"]
    assert fresh(card).state == CardState.APPLIED

    second = signed_in(second_officer)
    item = second.get(reverse("web:card_queue")).context["items"][0]
    assert not item["mine"]
    approved = second.post(act(card, "approve"), {"next": "queue", "approve-version": card.version})
    assert approved.status_code == 302
    assert approved["Location"] == reverse("web:card_queue")
    card = fresh(card)
    assert card.state == CardState.APPROVED and card.approved_by == second_officer
    assert second.get(reverse("web:card_queue")).context["items"] == []


def test_the_queue_is_oldest_first_and_a_rejection_needs_a_reason(
    card_officer, second_officer, person, area
):
    other = Person.objects.create(
        area=area,
        id_number=OTHER_ID,
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    older = make_card(person, "applied", submitted_by=card_officer)
    newer = make_card(other, "applied", submitted_by=card_officer)
    client = signed_in(second_officer, "en")
    items = client.get(reverse("web:card_queue")).context["items"]
    assert [item["card"] for item in items] == [older, newer]

    refused = client.post(act(newer, "reject"), {"next": "queue", "reject-reason": " "})
    assert refused.status_code == 400
    assert refused.context["refusal"]["text"] == "Say why the application is rejected."
    rejected = client.post(act(newer, "reject"), {"next": "queue", "reject-reason": "照片不清晰"})
    assert rejected.status_code == 302
    assert fresh(newer).state == CardState.REJECTED


# --- the card page ---------------------------------------------------------------------


def offered(response):
    return [item["action"].slug for item in response.context["actions"]]


def test_the_card_page_offers_what_the_lifecycle_allows_now(card_officer, person, outlet):
    at_outlet = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    client = signed_in(card_officer)
    page = client.get(card_url(at_outlet))
    assert offered(page) == ["hand_over", "cancel"]
    html = page.content.decode()
    assert at_outlet.card_number in html and at_outlet.identification_code in html
    assert at_outlet.bank_account not in html  # masked
    assert at_outlet.bank_account[-4:] in html
    assert outlet.name in html

    Card.objects.filter(pk=at_outlet.pk).update(state=CardState.CANCELLED)
    active = make_card(person, "active", submitted_by=card_officer, account_class=2)
    assert offered(client.get(card_url(active))) == [
        "temporary_loss",
        "formal_loss",
        "downgrade",
        "upgrade",
        "cancel",
    ]
    Card.objects.filter(pk=active.pk).update(state=CardState.CANCELLED)
    lapsed = make_card(
        person,
        "temporary_loss",
        submitted_by=card_officer,
        loss_lapses_at=timezone.now() - dt.timedelta(minutes=1),
    )
    page = client.get(card_url(lapsed))
    assert page.context["state"] == CardState.ACTIVE  # the lapse is read, not stored
    assert "unfreeze" not in offered(page)
    Card.objects.filter(pk=lapsed.pk).update(state=CardState.CANCELLED)
    frozen = make_card(person, "pin_locked", submitted_by=card_officer, frozen_at=timezone.now())
    assert offered(client.get(card_url(frozen))) == ["cancel"]


def test_a_hand_over_with_the_wrong_identity_is_refused_at_the_field(card_officer, person, outlet):
    card = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    client = signed_in(card_officer, "en")
    refused = client.post(act(card, "hand_over"), {"hand_over-presented_id_number": OTHER_ID})
    assert refused.status_code == 400
    form = refused.context["actions"][0]["form"]
    assert form.errors["presented_id_number"] == [
        "The identity document presented is not the cardholder's."
    ]
    assert 'id="id_hand_over-presented_id_number-error"' in refused.content.decode()
    assert fresh(card).state == CardState.AT_OUTLET

    handed = client.post(
        act(card, "hand_over"),
        {"hand_over-presented_id_number": person.id_number, "hand_over-version": card.version},
    )
    assert handed.status_code == 302
    assert fresh(card).state == CardState.ISSUED


def test_a_stale_form_is_refused_and_the_page_shows_the_card_as_it_is(card_officer, person, outlet):
    card = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    client = signed_in(card_officer, "en")
    refused = client.post(
        act(card, "hand_over"),
        {"hand_over-presented_id_number": person.id_number, "hand_over-version": card.version - 1},
    )
    assert refused.status_code == 400
    assert "changed by someone else" in refused.content.decode()
    cancelled = client.post(act(card, "cancel"), {"cancel-reason": "death"})
    assert cancelled.status_code == 302
    again = client.post(act(card, "hand_over"), {"hand_over-presented_id_number": person.id_number})
    assert again.status_code == 400
    assert "is not allowed on a card" in again.context["refusal"]  # no longer offered


def test_counter_actions_run_through_their_services(card_officer, person):
    card = make_card(person, "issued", submitted_by=card_officer, account_class=1)
    client = signed_in(card_officer)
    assert client.post(act(card, "activate"), {}).status_code == 302
    assert client.post(act(card, "downgrade"), {"downgrade-account_class": "3"}).status_code == 302
    assert fresh(card).account_class == 3
    loss = client.post(act(card, "temporary_loss"), {"temporary_loss-channel": "phone"})
    assert loss.status_code == 302
    assert client.post(act(card, "unfreeze"), {}).status_code == 302
    Card.objects.filter(pk=card.pk).update(state=CardState.PIN_LOCKED)
    unlock = client.post(
        act(card, "pin_unlock"), {"pin_unlock-presented_id_number": person.id_number}
    )
    assert unlock.status_code == 302
    formal = client.post(
        act(card, "formal_loss"), {"formal_loss-presented_id_number": person.id_number}
    )
    assert formal.status_code == 302
    card = fresh(card)
    assert card.state == CardState.FORMAL_LOSS
    operations = list(card.events.order_by("pk").values_list("operation", flat=True))
    assert operations == [
        "activate",
        "downgrade",
        "temporary_loss",
        "unfreeze",
        "pin_unlock",
        "formal_loss",
    ]
    assert card.events.get(operation="temporary_loss").detail["channel"] == "phone"


def test_a_child_is_activated_by_a_guardian(card_officer, area):
    child = Person.objects.create(
        area=area,
        id_number="320106201503023316",
        name="张小明",
        birth_date=timezone.localdate() - dt.timedelta(days=365 * 10),
        sex="M",
        registered_on=dt.date(2015, 4, 1),
    )
    card = make_card(child, "issued", submitted_by=card_officer)
    client = signed_in(card_officer, "en")
    page = client.get(card_url(card))
    assert "guardian_id_number" in page.context["actions"][0]["form"].fields
    refused = client.post(act(card, "activate"), {})
    assert refused.status_code == 400
    assert "guardian" in refused.context["actions"][0]["form"].errors["guardian_id_number"][0]
    done = client.post(act(card, "activate"), {"activate-guardian_id_number": OTHER_ID})
    assert done.status_code == 302
    assert fresh(card).state == CardState.ACTIVE


def test_an_upgrade_at_the_counter_offers_the_type_change_application(card_officer, person):
    card = make_card(person, "active", submitted_by=card_officer, account_class=2)
    client = signed_in(card_officer, "en")
    refused = client.post(act(card, "upgrade"), {"upgrade-account_class": "1"})
    assert refused.status_code == 400
    form = next(i["form"] for i in refused.context["actions"] if i["action"].slug == "upgrade")
    assert "Class upgrades need a new card" in form.errors["account_class"][0]
    offer = refused.context["offer_url"]
    assert offer.startswith(reverse("web:card_apply", args=[person.pk]))
    assert "Apply for a new Class I card" in refused.content.decode()
    application = client.get(offer)
    assert application.context["form"].initial["kind"] == "type_change"
    assert application.context["form"].initial["replaces"] == str(card.pk)
    assert fresh(card).account_class == 2


def test_the_photo_is_shown_to_staff_only(card_officer, second_officer, person, individual):
    client = signed_in(card_officer)
    client.post(
        reverse("web:card_apply", args=[person.pk]),
        {
            "kind": "first",
            "account_class": "3",
            "bank": "BOC",
            "phone": "139",
            "address": "南京",
            "photo": photo(),
        },
    )
    card = Card.objects.get(person=person)
    response = signed_in(second_officer).get(reverse("web:card_photo", args=[card.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response.content == sample_photo()
    assert signed_in(individual).get(reverse("web:card_photo", args=[card.pk])).status_code == 404


# --- the list ----------------------------------------------------------------------------


def test_staff_find_cards_by_person_or_card_number_and_the_read_is_logged(
    card_officer, person, outlet
):
    card = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    client = signed_in(card_officer)
    by_name = client.get(reverse("web:cards"), {"q": person.name})
    assert [item["card"] for item in by_name.context["items"]] == [card]
    assert reverse("web:card_apply", args=[person.pk]) in by_name.content.decode()
    by_number = client.get(reverse("web:cards"), {"q": str(card.card_number).lower()})
    assert [item["card"] for item in by_number.context["items"]] == [card]
    nothing = client.get(reverse("web:cards"), {"q": person.name, "state": "active"})
    assert nothing.context["items"] == []
    assert AccessEvent.objects.filter(actor=card_officer, action="card.list").exists()
    for_person = client.get(reverse("web:cards"), {"person": person.pk})
    assert for_person.context["person"] == person


def test_the_list_pages(card_officer, person):
    for _ in range(51):
        make_card(person, "rejected", submitted_by=card_officer)
    client = signed_in(card_officer)
    first = client.get(reverse("web:cards"), {"state": "rejected"})
    assert len(first.context["items"]) == 50
    assert "state=rejected&amp;page=2" in first.content.decode()
    second = client.get(reverse("web:cards"), {"state": "rejected", "page": 2})
    assert len(second.context["items"]) == 1


def test_the_state_filter_agrees_with_the_state_as_of_now(card_officer, area):
    now, today = timezone.now(), timezone.localdate()
    people = iter(make_person(area, n) for n in range(1, 20))
    cards = [
        make_card(next(people), "active", submitted_by=card_officer),
        make_card(next(people), "issued", submitted_by=card_officer),
        make_card(next(people), "pin_locked", submitted_by=card_officer),
        make_card(next(people), "temporary_loss", submitted_by=card_officer),
        make_card(
            next(people),
            "temporary_loss",
            submitted_by=card_officer,
            loss_lapses_at=now - dt.timedelta(hours=1),
        ),
        make_card(
            next(people),
            "active",
            submitted_by=card_officer,
            valid_from=today - dt.timedelta(days=3650),
            valid_to=today,
        ),
        make_card(
            next(people),
            "temporary_loss",
            submitted_by=card_officer,
            valid_from=today - dt.timedelta(days=3650),
            valid_to=today - dt.timedelta(days=1),
        ),
        make_card(next(people), "applied", submitted_by=card_officer),
        make_card(next(people), "cancelled", submitted_by=card_officer),
    ]
    for state in CardState.values:
        expected = {card.pk for card in cards if card_state(card) == state}
        found = set(
            Card.objects.filter(_state_filter(state, now, today)).values_list("pk", flat=True)
        )
        assert found == expected, state


# --- "My cards" -------------------------------------------------------------------------


def test_a_holder_reports_a_temporary_loss_and_sees_the_state(individual, person, card_officer):
    card = make_card(person, "active", submitted_by=card_officer)
    client = signed_in(individual)
    page = client.get(reverse("web:my_cards"))
    assert page.status_code == 200
    entry = page.context["items"][0]
    assert entry["state"] == CardState.ACTIVE
    assert [item["action"].slug for item in entry["actions"]] == ["temporary_loss", "upgrade"]

    response = client.post(my_act(card, "temporary_loss"))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:my_cards") + f"#card-{card.pk}"
    page = client.get(reverse("web:my_cards"))
    entry = page.context["items"][0]
    assert entry["state"] == CardState.TEMPORARY_LOSS
    assert [item["action"].slug for item in entry["actions"]] == ["unfreeze"]
    html = page.content.decode()
    assert 'class="state state-temporary_loss"' in html
    assert str(CardState.TEMPORARY_LOSS.label) in html
    assert fresh(card).events.get(operation="temporary_loss").detail["channel"] == "online"

    assert client.post(my_act(card, "unfreeze")).status_code == 302
    assert fresh(card).state == CardState.ACTIVE
    history = client.get(reverse("web:my_cards")).context["items"][0]["history"]
    assert len(history) == 2 and history[0]["actor"] is None  # staff names are not shown


def test_a_holder_asking_for_an_upgrade_is_offered_a_new_card_of_that_class(
    individual, person, card_officer
):
    card = make_card(person, "active", submitted_by=card_officer, account_class=3)
    client = signed_in(individual, "en")
    refused = client.post(my_act(card, "upgrade"), {"upgrade-account_class": "1"})
    assert refused.status_code == 400
    entry = refused.context["items"][0]
    form = entry["actions"][1]["form"]
    assert form.errors["account_class"][0].startswith("Class upgrades need a new card")
    assert "Apply for a new Class I card" in refused.content.decode()
    offer = urlsplit(entry["offer_url"])
    assert offer.path == reverse("web:my_card_apply")
    assert parse_qs(offer.query) == {
        "kind": ["type_change"],
        "replaces": [str(card.pk)],
        "account_class": ["1"],
        "bank": ["ICBC"],
    }

    application = client.get(entry["offer_url"])
    assert "urgent" not in application.context["form"].fields
    response = client.post(
        entry["offer_url"],
        {
            "kind": "type_change",
            "replaces": str(card.pk),
            "account_class": "1",
            "bank": "ICBC",
            "phone": "13800000000",
            "address": "南京市玄武区中山路1号",
            "photo": photo(),
        },
    )
    assert response.status_code == 302
    new = Card.objects.get(kind=CardKind.TYPE_CHANGE)
    assert (new.state, new.channel, new.account_class, new.replaces) == (
        "applied",
        "online",
        1,
        card,
    )
    page = client.get(reverse("web:my_cards"))
    assert [entry["card"] for entry in page.context["items"]] == [new, card]
    assert page.context["items"][0]["pending"]


def test_a_formally_lost_card_leads_the_holder_to_a_replacement(individual, person, card_officer):
    card = make_card(person, "formal_loss", submitted_by=card_officer)
    entry = signed_in(individual).get(reverse("web:my_cards")).context["items"][0]
    assert entry["actions"] == []
    query = parse_qs(urlsplit(entry["replace_url"]).query)
    assert query["kind"] == ["replacement"] and query["reason"] == ["loss"]
    assert query["replaces"] == [str(card.pk)]
    assert entry["renew_url"] is None


# --- who sees what ----------------------------------------------------------------------


def test_strangers_get_404_for_every_card_page(stranger, area, other_area, person, card_officer):
    card = make_card(person, "active", submitted_by=card_officer)
    officer_elsewhere = user_create(
        actor=None,
        username="officer_bj",
        password="x" * 12,
        role=Role.CARD_OFFICER,
        area_code=other_area.code,
        check_password=False,
    )
    for user in (stranger, officer_elsewhere):
        client = signed_in(user)
        assert client.get(card_url(card)).status_code == 404
        assert client.get(reverse("web:card_apply", args=[person.pk])).status_code == 404
        assert client.post(act(card, "temporary_loss"), {}).status_code == 404
        assert client.get(reverse("web:card_photo", args=[card.pk])).status_code == 404
        assert client.get(reverse("web:my_cards")).status_code == 404
    elsewhere = signed_in(officer_elsewhere)
    assert elsewhere.get(reverse("web:cards"), {"q": person.name}).context["items"] == []
    assert elsewhere.get(reverse("web:card_queue")).context["items"] == []
    assert fresh(card).state == CardState.ACTIVE


def test_staff_without_the_card_role_get_404(owner, person, card_officer):
    card = make_card(person, "active", submitted_by=card_officer)
    client = signed_in(owner)  # a registrar of the same area
    for url in (reverse("web:cards"), reverse("web:card_queue"), card_url(card)):
        assert client.get(url).status_code == 404


def test_a_holder_gets_404_for_other_holders_cards_and_the_staff_pages(
    individual, person, area, card_officer
):
    other = Person.objects.create(
        area=area,
        id_number=OTHER_ID,
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    theirs = make_card(other, "active", submitted_by=card_officer)
    client = signed_in(individual)
    assert client.post(my_act(theirs, "temporary_loss")).status_code == 404
    assert client.get(card_url(theirs)).status_code == 404
    assert client.get(reverse("web:cards")).status_code == 404
    assert client.get(reverse("web:card_apply", args=[other.pk])).status_code == 404
    assert client.get(reverse("web:my_cards")).context["items"] == []
    assert fresh(theirs).state == CardState.ACTIVE
    assert client.post(my_act(theirs, "cancel")).status_code == 404  # not a holder action


def test_the_card_pages_are_chinese_by_default(card_officer, individual, person):
    card = make_card(person, "active", submitted_by=card_officer)
    for client, url in [
        (signed_in(card_officer), reverse("web:cards")),
        (signed_in(card_officer), reverse("web:card_queue")),
        (signed_in(card_officer), card_url(card)),
        (signed_in(card_officer), reverse("web:card_apply", args=[person.pk])),
        (signed_in(individual), reverse("web:my_cards")),
        (signed_in(individual), reverse("web:my_card_apply")),
    ]:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
        assert '<html lang="zh-hans">' in page, url
        assert "退出登录" in page, url


def test_navigation_leads_to_the_card_pages(card_officer, individual):
    assert (
        reverse("web:card_queue")
        in signed_in(card_officer).get(reverse("web:home")).content.decode()
    )
    page = signed_in(individual).get(reverse("web:home"), follow=True).content.decode()
    assert reverse("web:my_cards") in page


def test_a_replacement_after_a_loss_shows_its_fee_and_waits_for_the_cashier(card_officer, person):
    lost = make_card(person, "formal_loss", submitted_by=card_officer)
    client = signed_in(card_officer, "en")
    response = client.post(
        reverse("web:card_apply", args=[person.pk]),
        {
            "kind": "replacement",
            "replaces": str(lost.pk),
            "reason": "loss",
            "account_class": "2",
            "bank": "ICBC",
            "phone": "13900000000",
            "address": "南京市玄武区中山路1号",
            "photo": photo(),
        },
    )
    assert response.status_code == 302
    new = Card.objects.get(kind=CardKind.REPLACEMENT)
    assert "¥20.00" in client.get(card_url(new)).content.decode()
    Card.objects.filter(pk=new.pk).update(state=CardState.AT_OUTLET)
    refused = client.post(
        act(new, "hand_over"), {"hand_over-presented_id_number": person.id_number}
    )
    assert refused.status_code == 400
    assert "not paid yet" in refused.context["actions"][0]["form"].non_field_errors()[0]
