"""The production and distribution pages: batches, vendor files, outlet stock, reconciliation."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.cards import production
from shebao.cards.bench import approved_cards, result_file, result_rows
from shebao.cards.models import BatchStatus, Card, CardState, ProductionBatch, StockCount
from shebao.cards.testing import make_card

pytestmark = pytest.mark.django_db


def signed_in(user, language=None):
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def batch_url(batch, action=""):
    if action:
        return reverse(f"web:batch_{action}", args=[batch.pk])
    return reverse("web:batch", args=[batch.pk])


def stock_url(outlet, action=""):
    if action:
        return reverse(f"web:outlet_{action}", args=[outlet.pk])
    return reverse("web:outlet_stock", args=[outlet.pk])


@pytest.fixture
def waiting(approved_area, card_officer, second_officer):
    """Three approved cards waiting for production."""
    return approved_cards(approved_area, 3, submitted_by=card_officer, approved_by=second_officer)


@pytest.fixture
def exported(waiting, card_officer, approved_area):
    batch = production.batch_create(actor=card_officer, area=approved_area, vendor="ICBC")
    for _piece in production.batch_export(actor=card_officer, batch=batch, file_format="csv"):
        pass
    return batch


@pytest.fixture
def produced(exported, card_officer):
    production.batch_import(
        actor=card_officer,
        batch=exported,
        data=result_file(result_rows(exported)),
        file_format="csv",
    )
    return exported


def numbers_of(batch):
    return list(
        Card.objects.filter(batch=batch).order_by("pk").values_list("card_number", flat=True)
    )


# --- batches ---------------------------------------------------------------------------


def test_the_batches_page_shows_the_queue_and_creates_a_batch(waiting, card_officer):
    client = signed_in(card_officer, "en")
    page = client.get(reverse("web:batches"))
    assert page.status_code == 200
    assert page.context["waiting"] == 3
    assert "3 approved cards are waiting for production." in page.content.decode()

    response = client.post(reverse("web:batch_new"), {"vendor": "ICBC", "limit": "2"})
    batch = ProductionBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == batch_url(batch)
    assert (batch.vendor, batch.card_count) == ("ICBC", 2)

    listing = client.get(reverse("web:batches"))
    assert listing.context["waiting"] == 1
    row = listing.context["items"][0]
    assert row["batch"] == batch
    assert [(s["state"], s["count"]) for s in row["states"]] == [("in_production", 2)]
    assert batch.number in listing.content.decode()


def test_a_limit_below_one_is_refused_at_its_field(waiting, card_officer):
    response = signed_in(card_officer, "en").post(reverse("web:batch_new"), {"limit": "0"})
    assert response.status_code == 400
    assert response.context["form"].errors["limit"]
    assert not ProductionBatch.objects.exists()


def test_an_area_not_approved_is_told_why_it_cannot_make_a_batch(area, card_officer, person):
    make_card(person, "approved", submitted_by=card_officer)
    client = signed_in(card_officer, "en")
    page = client.get(reverse("web:batches")).content.decode()
    assert 'id="not-approved"' in page
    assert "is not approved by the ministry" in page
    response = client.post(reverse("web:batch_new"), {"vendor": "ICBC"})
    assert response.status_code == 400
    assert "not approved to issue cards" in response.content.decode()
    assert not ProductionBatch.objects.exists()


def test_the_batch_page_exports_the_production_file_as_a_download(waiting, card_officer):
    client = signed_in(card_officer, "en")
    client.post(reverse("web:batch_new"), {"vendor": "ICBC"})
    batch = ProductionBatch.objects.get()
    page = client.get(batch_url(batch))
    assert page.status_code == 200
    assert [(s["state"], s["count"]) for s in page.context["states"]] == [("in_production", 3)]

    response = client.post(batch_url(batch, "export"), {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{batch.number}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(row["record_id"]) for row in rows] == sorted(waiting)
    assert {row["batch"] for row in rows} == {batch.number}
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED

    again = client.post(batch_url(batch, "export"), {"format": "json"})
    assert again["Content-Disposition"] == f'attachment; filename="{batch.number}.json"'
    records = json.loads(b"".join(again.streaming_content))
    assert len(records) == 3


def test_an_unknown_export_format_is_refused_on_the_page(exported, card_officer):
    response = signed_in(card_officer, "en").post(batch_url(exported, "export"), {"format": "xml"})
    assert response.status_code == 400
    assert "Unknown file format" in response.context["export_error"]


def test_a_result_file_with_one_bad_row_keeps_the_good_rows_and_lists_the_bad_one(
    exported, card_officer
):
    rows = result_rows(exported)
    rows[1]["bank_account"] = "12"  # line 3 of the file (the header is line 1)
    upload = SimpleUploadedFile("result.csv", result_file(rows), content_type="text/csv")
    client = signed_in(card_officer, "en")
    response = client.post(batch_url(exported, "import"), {"file": upload})
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.produced, report.failed, report.unchanged) == (2, 0, 0)
    assert [(r.line, r.record_id, r.code) for r in report.rejected] == [
        (3, rows[1]["record_id"], "bank_account_format")
    ]
    page = response.content.decode()
    assert "bank_account_format" in page
    assert "The bank account number must be 12 to 32 digits" in page
    assert Card.objects.filter(batch=exported, state=CardState.PRODUCED).count() == 2

    # Fixed and uploaded again: the recorded rows are unchanged, the fixed one is produced.
    rows[1]["bank_account"] = "622202000000000999"
    upload = SimpleUploadedFile("result.csv", result_file(rows), content_type="text/csv")
    again = client.post(batch_url(exported, "import"), {"file": upload}).context["report"]
    assert (again.produced, again.unchanged, again.rejected, again.completed) == (1, 2, [], True)


def test_a_json_result_file_is_read_by_its_name(exported, card_officer):
    data = json.dumps(result_rows(exported)).encode()
    upload = SimpleUploadedFile("result.json", data, content_type="application/json")
    response = signed_in(card_officer).post(batch_url(exported, "import"), {"file": upload})
    assert response.context["report"].produced == 3


def test_an_unreadable_result_file_is_refused_at_the_file(exported, card_officer):
    upload = SimpleUploadedFile("result.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = signed_in(card_officer, "en").post(batch_url(exported, "import"), {"file": upload})
    assert response.status_code == 400
    assert "record_id" in response.context["import_form"].errors["file"][0]
    unnamed = SimpleUploadedFile("result.txt", b"x", content_type="text/plain")
    response = signed_in(card_officer, "en").post(batch_url(exported, "import"), {"file": unnamed})
    assert response.context["import_form"].errors["format"]


# --- shipping and receiving --------------------------------------------------------------


def test_ship_a_batch_and_receive_its_cards_at_the_outlet(produced, card_officer, outlet):
    client = signed_in(card_officer, "en")
    numbers = numbers_of(produced)
    shipped = client.post(
        batch_url(produced, "ship"), {"outlet": outlet.pk, "card_numbers": f"{numbers[0]}, ZZ"}
    )
    assert shipped.status_code == 200
    report = shipped.context["shipped"]
    assert report.count == 1
    assert [r.card_number for r in report.rejected] == ["ZZ"]
    assert "1 card shipped" in shipped.content.decode()

    rest = client.post(batch_url(produced, "ship"), {"outlet": outlet.pk, "card_numbers": ""})
    assert rest.context["shipped"].count == 2
    assert Card.objects.filter(batch=produced, state=CardState.SHIPPED).count() == 3

    stock = client.get(stock_url(outlet))
    assert stock.status_code == 200
    assert stock.context["in_transit"] == 3
    pasted = f"{numbers[0].lower()}\n{numbers[1]} ,{numbers[2]}；A99999999"
    received = client.post(stock_url(outlet, "receive"), {"receive-card_numbers": pasted})
    assert received.status_code == 200
    report = received.context["received"]
    assert report.count == 3
    assert [(r.card_number, r.code) for r in report.rejected] == [("A99999999", "unknown_card")]
    page = received.content.decode()
    assert "No card of this area has this number." in page
    assert received.context["at_outlet"] == 3
    assert [item["card"].card_number for item in received.context["items"]] == sorted(numbers)


def test_receiving_nothing_is_refused_at_the_field(card_officer, outlet):
    response = signed_in(card_officer).post(
        stock_url(outlet, "receive"), {"receive-card_numbers": " , "}
    )
    assert response.status_code == 400
    assert response.context["receive_form"].errors["card_numbers"]


def test_only_an_area_admin_freezes_and_releases_a_batch(exported, card_officer, area_admin):
    officer_page = signed_in(card_officer).get(batch_url(exported)).content.decode()
    assert batch_url(exported, "freeze") not in officer_page
    refused = signed_in(card_officer, "en").post(batch_url(exported, "freeze"), {"reason": "x"})
    assert refused.status_code == 400
    exported.refresh_from_db()
    assert exported.frozen_at is None

    client = signed_in(area_admin, "en")
    empty = client.post(batch_url(exported, "freeze"), {"reason": ""})
    assert empty.status_code == 400
    assert empty.context["freeze_form"].errors["reason"]
    assert client.post(batch_url(exported, "freeze"), {"reason": "chip defect"}).status_code == 302
    exported.refresh_from_db()
    assert exported.frozen_reason == "chip defect"
    page = client.get(batch_url(exported)).content.decode()
    assert "chip defect" in page
    assert batch_url(exported, "release") in page
    blocked = client.post(batch_url(exported, "export"), {"format": "csv"})
    assert blocked.status_code == 400
    assert "frozen" in blocked.context["export_error"]
    assert client.post(batch_url(exported, "release")).status_code == 302
    exported.refresh_from_db()
    assert exported.frozen_at is None


# --- stock -------------------------------------------------------------------------------


def test_a_stock_count_shows_the_missing_card(card_officer, person, outlet):
    cards = [make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet) for _ in "ab"]
    client = signed_in(card_officer, "en")
    response = client.post(
        stock_url(outlet, "count"), {"count-card_numbers": f"{cards[0].card_number} B00000001"}
    )
    assert response.status_code == 200
    counted = response.context["counted"]
    assert counted.missing == [cards[1].card_number]
    assert counted.unexpected == ["B00000001"]
    page = response.content.decode()
    assert "1 card missing" in page
    assert cards[1].card_number in page
    history = client.get(stock_url(outlet)).context["history"]
    assert [count.pk for count in history] == [StockCount.objects.get().pk]


def test_a_malformed_number_in_a_count_is_refused_at_the_field(card_officer, outlet):
    response = signed_in(card_officer, "en").post(
        stock_url(outlet, "count"), {"count-card_numbers": "A1"}
    )
    assert response.status_code == 400
    assert "A1" in response.context["count_form"].errors["card_numbers"][0]
    assert not StockCount.objects.exists()


def test_return_and_destroy_a_chosen_card(card_officer, person, outlet):
    first = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    second = make_card(person, "sealed", submitted_by=card_officer, outlet=outlet)
    client = signed_in(card_officer, "en")
    page = client.get(stock_url(outlet)).content.decode()
    assert f'name="card" value="{first.pk}" form="card-action"' in page

    no_reason = client.post(stock_url(outlet, "card"), {"op": "return", "card": first.pk})
    assert no_reason.status_code == 400
    assert no_reason.context["card_form"].errors["reason"]
    assert no_reason.context["chosen"] == str(first.pk)

    done = client.post(
        stock_url(outlet, "card"), {"op": "return", "card": first.pk, "reason": "damaged"}
    )
    assert done.status_code == 302
    assert Card.objects.get(pk=first.pk).state == CardState.RETURNED
    # A returned card left the stock; it is still destroyed by its number.
    destroyed = client.post(
        stock_url(outlet, "card"),
        {"op": "destroy", "card_number": first.card_number, "reason": "shredded"},
    )
    assert destroyed.status_code == 302
    assert Card.objects.get(pk=first.pk).state == CardState.DESTROYED
    nothing = client.post(stock_url(outlet, "card"), {"op": "destroy", "reason": "x"})
    assert nothing.status_code == 400
    assert nothing.context["card_form"].errors["card_number"]
    assert Card.objects.get(pk=second.pk).state == CardState.SEALED


def test_seal_unclaimed_cards(card_officer, person, outlet, approved_area):
    import datetime as dt

    from django.utils import timezone

    old = make_card(
        person,
        "at_outlet",
        submitted_by=card_officer,
        outlet=outlet,
        received_at=timezone.now() - dt.timedelta(days=400),
    )
    recent = make_card(
        person, "at_outlet", submitted_by=card_officer, outlet=outlet, received_at=timezone.now()
    )
    response = signed_in(card_officer, "en").post(stock_url(outlet, "seal"), follow=True)
    assert "1 unclaimed cards of the area are sealed." in response.content.decode()
    assert Card.objects.get(pk=old.pk).state == CardState.SEALED
    assert Card.objects.get(pk=recent.pk).state == CardState.AT_OUTLET


def test_the_outlets_page_counts_each_outlets_cards(card_officer, person, outlet):
    make_card(person, "shipped", submitted_by=card_officer, outlet=outlet)
    make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    response = signed_in(card_officer).get(reverse("web:outlets"))
    assert response.context["items"] == [
        {"outlet": outlet, "counts": {"shipped": 1, "at_outlet": 1}}
    ]
    assert stock_url(outlet) in response.content.decode()


# --- reconciliation ------------------------------------------------------------------------


def test_reconciliation_lists_the_cards_that_do_not_fit(produced, card_officer, person, outlet):
    client = signed_in(card_officer, "en")
    balanced = client.get(reverse("web:card_reconciliation"))
    assert balanced.status_code == 200
    report = balanced.context["report"]
    assert (report.produced, report.accounted, report.discrepancies) == (3, 3, [])
    assert "Balanced" in balanced.content.decode()

    # A card in stock with no production record ever made.
    stray = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    response = client.get(reverse("web:card_reconciliation"), {"outlet": outlet.pk})
    assert response.context["outlet"] == outlet
    found = response.context["discrepancies"]
    assert [(item["d"].card_id, item["d"].code) for item in found] == [
        (stray.pk, "no_production_record")
    ]
    page = response.content.decode()
    assert stray.card_number in page
    assert "no production result was ever recorded" in page
    assert "Not balanced" in page
    assert 'id="line-not_shipped"' in page


def test_reconciliation_of_another_areas_outlet_is_404(card_officer, other_area):
    elsewhere = other_area.outlets.create(code="BJ001", name="东城区社会保险服务大厅")
    client = signed_in(card_officer)
    url = reverse("web:card_reconciliation")
    assert client.get(url, {"outlet": elsewhere.pk}).status_code == 404
    assert client.get(url, {"outlet": "x"}).status_code == 404


# --- who sees what -------------------------------------------------------------------------


def area_urls():
    return [reverse("web:batches"), reverse("web:outlets"), reverse("web:card_reconciliation")]


def record_urls(batch, outlet):
    gets = [batch_url(batch), stock_url(outlet)]
    posts = [
        batch_url(batch, "export"),
        batch_url(batch, "import"),
        batch_url(batch, "ship"),
        batch_url(batch, "freeze"),
        batch_url(batch, "release"),
        stock_url(outlet, "receive"),
        stock_url(outlet, "count"),
        stock_url(outlet, "seal"),
        stock_url(outlet, "card"),
    ]
    return gets, posts


FORM = {"format": "csv", "reason": "x", "op": "return", "card_numbers": "A00000001"}


def test_strangers_and_individuals_get_404_on_every_page(
    exported, outlet, stranger, other_area, individual, owner, area_admin
):
    officer_elsewhere = user_create(
        actor=None,
        username="officer_bj",
        password="x" * 12,
        role=Role.CARD_OFFICER,
        area_code=other_area.code,
        check_password=False,
    )
    gets, posts = record_urls(exported, outlet)
    # A registrar of the other area, a holder, a registrar of the same area: nothing at all.
    for user in (stranger, individual, owner):
        client = signed_in(user)
        for url in [*area_urls(), *gets]:
            assert client.get(url).status_code == 404, (user, url)
        for url in [reverse("web:batch_new"), *posts]:
            assert client.post(url, {**FORM, "outlet": outlet.pk}).status_code == 404, (user, url)
    # A card officer of the other area: its own (empty) books, never this area's records.
    client = signed_in(officer_elsewhere)
    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        assert client.post(url, {**FORM, "outlet": outlet.pk}).status_code == 404, url
    assert client.get(reverse("web:batches")).context["items"] == []
    assert client.get(reverse("web:outlets")).context["items"] == []
    assert client.get(reverse("web:card_reconciliation")).context["report"].produced == 0
    assert client.get(reverse("web:card_reconciliation"), {"outlet": outlet.pk}).status_code == 404
    exported.refresh_from_db()
    assert (exported.status, exported.frozen_at) == (BatchStatus.EXPORTED, None)
    # The area's own administrator may not ship to another area's outlet.
    elsewhere = other_area.outlets.create(code="BJ001", name="东城区社会保险服务大厅")
    refused = signed_in(area_admin).post(batch_url(exported, "ship"), {"outlet": elsewhere.pk})
    assert refused.status_code == 400
    assert refused.context["ship_form"].errors["outlet"]


def test_the_pages_are_chinese_by_default(exported, card_officer, outlet):
    client = signed_in(card_officer)
    gets, _posts = record_urls(exported, outlet)
    for url in [*area_urls(), *gets]:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
        assert '<html lang="zh-hans">' in page, url
        assert "退出登录" in page, url


def test_navigation_and_the_area_page_lead_to_the_production_pages(card_officer, outlet, area):
    client = signed_in(card_officer)
    home = client.get(reverse("web:home")).content.decode()
    for name in ("web:batches", "web:outlets", "web:card_reconciliation", "web:card_queue"):
        assert reverse(name) in home
    assert stock_url(outlet) in client.get(reverse("web:area", args=[area.code])).content.decode()


def test_an_area_admin_freezes_and_releases_an_outlets_stock(
    card_officer, area_admin, person, outlet
):
    card = make_card(person, "at_outlet", submitted_by=card_officer, outlet=outlet)
    officer_page = signed_in(card_officer).get(stock_url(outlet)).content.decode()
    assert stock_url(outlet, "freeze") not in officer_page
    client = signed_in(area_admin, "en")
    empty = client.post(stock_url(outlet, "freeze"), {"reason": ""})
    assert empty.status_code == 400 and empty.context["freeze_form"].errors["reason"]
    assert client.post(stock_url(outlet, "freeze"), {"reason": "safe key lost"}).status_code == 302
    card.refresh_from_db()
    assert card.frozen_reason == "safe key lost"
    page = client.get(stock_url(outlet)).content.decode()
    assert "safe key lost" in page and stock_url(outlet, "release") in page
    assert client.post(stock_url(outlet, "release")).status_code == 302
    card.refresh_from_db()
    assert card.frozen_at is None
    again = client.post(stock_url(outlet, "release"))
    assert again.status_code == 400 and "not frozen" in again.context["release_error"]
