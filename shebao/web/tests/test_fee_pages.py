"""The fee pages: the cashier's counter, the receipt, waivers and the day's reconciliation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.audit.models import AccessEvent
from shebao.cards import fees, services
from shebao.cards.models import CardFee, CardKind, FeeStatus
from shebao.cards.photo import sample_photo
from shebao.cards.testing import make_card

pytestmark = pytest.mark.django_db


def signed_in(user, language=None):
    client = Client()
    client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def pay_url(fee):
    return reverse("web:fee_pay", args=[fee.pk])


def receipt_url(fee):
    return reverse("web:fee_receipt", args=[fee.pk])


def fresh(fee):
    return CardFee.objects.get(pk=fee.pk)


def replacement_applied(officer, person):
    """A replacement after a formal loss, applied for at the counter: its fee is due."""
    lost = make_card(person, "formal_loss", submitted_by=officer)
    card = services.card_apply(
        actor=officer,
        person=person,
        kind=CardKind.REPLACEMENT,
        replaces=lost,
        reason="loss",
        account_class=2,
        bank="ICBC",
        phone="13900000000",
        address="南京市玄武区中山路1号",
        photo=sample_photo(),
    )
    return card, CardFee.objects.get(card=card)


def replacement_with_fee(person, officer, state="at_outlet", **fields):
    card = make_card(
        person,
        state,
        submitted_by=officer,
        kind=CardKind.REPLACEMENT,
        replacement_reason="loss",
        **fields,
    )
    fee = CardFee.objects.create(
        area_id=person.area_id,
        card=card,
        reason="loss",
        amount=Decimal("20.00"),
        handled_by=officer,
    )
    return card, fee


# --- the cashier's counter ---------------------------------------------------------


def test_a_cashier_records_a_payment_and_prints_the_receipt(cashier, card_officer, person):
    card, fee = replacement_applied(card_officer, person)
    client = signed_in(cashier, "en")

    page = client.get(reverse("web:fees"))
    assert page.status_code == 200
    [row] = page.context["due"]
    assert row["fee"] == fee and not row["mine"]
    html = page.content.decode()
    assert person.name in html
    assert "3201**********3314" in html and person.id_number not in html
    assert "Record payment of ¥20.00" in html
    assert f'action="{pay_url(fee)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Waive the fee" not in html  # the administrator's
    assert AccessEvent.objects.get(actor=cashier, action="card_fee.list").person_ids == [person.pk]

    paid = client.post(pay_url(fee))
    assert paid.status_code == 302
    assert paid["Location"] == reverse("web:fees") + f"#fee-{fee.pk}"
    fee = fresh(fee)
    day = timezone.localdate().strftime("%Y%m%d")
    assert fee.status == FeeStatus.PAID and fee.cashier == cashier
    assert fee.receipt_number == f"320100-{day}-000001"

    after = client.get(paid["Location"])
    html = after.content.decode()
    assert f"Payment of ¥20.00 recorded: receipt {fee.receipt_number}." in html  # the flash
    assert after.context["due"] == []
    [row] = after.context["paid"]
    assert row["fee"] == fee
    assert f'<tr id="fee-{fee.pk}">' in html
    assert f'href="{receipt_url(fee)}">{fee.receipt_number}</a>' in html  # on the row

    receipt = client.get(receipt_url(fee))
    assert receipt.status_code == 200
    html = receipt.content.decode()
    for shown in (
        "南京市",
        "320100",
        fee.receipt_number,
        "¥20.00",
        "Replacement card (Loss)",
        "cashier",
        person.name,
        f"Application {card.pk}",  # not produced yet: no card number
        timezone.localtime(fee.paid_at).strftime("%Y-%m-%d %H:%M:%S"),
    ):
        assert shown in html, shown
    assert 'class="toolbar noprint"' in html
    css = b"".join(Client().get("/static/shebao/app.css").streaming_content)  # type: ignore[attr-defined]
    assert b"@media print" in css and b".noprint" in css

    again = client.post(pay_url(fee))
    assert again.status_code == 400
    assert "already paid" in again.context["paid"][0]["refusal"]
    assert fresh(fee).receipt_number == fee.receipt_number


def test_a_due_fee_has_no_receipt_and_pay_needs_a_post(cashier, card_officer, person):
    _card, fee = replacement_with_fee(person, card_officer)
    client = signed_in(cashier)
    assert client.get(receipt_url(fee)).status_code == 404
    assert client.get(pay_url(fee)).status_code == 405
    assert fresh(fee).status == FeeStatus.DUE


def test_the_officer_who_took_the_application_cannot_take_its_money(card_officer, cashier, person):
    _card, fee = replacement_applied(card_officer, person)
    officer = signed_in(card_officer, "en")
    page = officer.get(reverse("web:fees"))
    assert page.status_code == 200  # officers see what is due
    assert pay_url(fee) not in page.content.decode()  # but are offered no payment

    refused = officer.post(pay_url(fee))
    assert refused.status_code == 400
    [row] = refused.context["due"]
    assert row["refusal"] == "Your role (Card officer) may not do this (fee.collect)."
    assert f'id="fee-{fee.pk}-error"' in refused.content.decode()
    assert fresh(fee).status == FeeStatus.DUE

    # The officer moves to the cash desk: still not for an application they took.
    User.objects.filter(pk=card_officer.pk).update(role=Role.CASHIER)
    page = officer.get(reverse("web:fees"))
    [row] = page.context["due"]
    assert row["mine"]
    html = page.content.decode()
    assert "another cashier must collect its fee" in html
    assert f'aria-describedby="mine-{fee.pk}"' in html  # the button is disabled
    refused = officer.post(pay_url(fee))
    assert refused.status_code == 400
    assert "separation of duties" in refused.context["due"][0]["refusal"]
    assert fresh(fee).status == FeeStatus.DUE

    assert signed_in(cashier).post(pay_url(fee)).status_code == 302
    assert fresh(fee).cashier == cashier


def test_the_cashier_finds_a_fee_by_card_or_name(cashier, card_officer, person, area):
    card, fee = replacement_with_fee(person, card_officer)
    client = signed_in(cashier)
    for query in (str(card.card_number).lower(), person.name, str(card.pk)):
        assert [
            row["fee"] for row in client.get(reverse("web:fees"), {"q": query}).context["due"]
        ] == [fee], query
    assert client.get(reverse("web:fees"), {"q": "A99999999"}).context["due"] == []


def test_a_fee_of_a_rejected_application_is_waived_by_the_area_administrator(
    area_admin, cashier, card_officer, person
):
    _card, fee = replacement_with_fee(person, card_officer, state="rejected")
    page = signed_in(cashier, "en").get(reverse("web:fees"))
    html = page.content.decode()
    assert "this fee is not collected" in html
    assert pay_url(fee) not in html

    admin = signed_in(area_admin, "en")
    page = admin.get(reverse("web:fees"))
    assert "Waive the fee" in page.content.decode()
    waive = reverse("web:fee_waive", args=[fee.pk])
    refused = admin.post(waive, {"reason": "  "})
    assert refused.status_code == 400
    form = refused.context["due"][0]["waive"]
    assert form.errors["reason"] == [
        "Say why the fee is waived, e.g. the card was damaged by the vendor."
    ]
    assert f'id="id_waive_{fee.pk}_reason-error"' in refused.content.decode()
    assert fresh(fee).status == FeeStatus.DUE

    done = admin.post(waive, {"reason": "申请已驳回"})
    assert done.status_code == 302
    fee = fresh(fee)
    assert (fee.status, fee.waived_by, fee.waive_reason) == (
        FeeStatus.WAIVED,
        area_admin,
        "申请已驳回",
    )
    assert signed_in(cashier).post(waive, {"reason": "x"}).status_code == 400  # not a cashier's


# --- the day's reconciliation ---------------------------------------------------------


def test_the_reconciliation_shows_totals_and_highlights_a_difference(
    cashier, auditor, card_officer, person, area
):
    from shebao.registry.models import Person

    _card, paid = replacement_with_fee(person, card_officer)
    fees.fee_pay(actor=cashier, fee=paid)
    other = Person.objects.create(
        area=area,
        id_number="11010519491231002X",
        name="李秀英",
        birth_date=dt.date(1949, 12, 31),
        sex="F",
        registered_on=dt.date(2005, 1, 1),
    )
    handed, unpaid = replacement_with_fee(other, card_officer, state="issued")
    services.record_event(
        actor=card_officer,
        card=handed,
        operation="hand_over",
        from_state="at_outlet",
        to_state="issued",
    )

    client = signed_in(auditor, "en")
    page = client.get(reverse("web:fee_reconciliation"))
    assert page.status_code == 200
    report = page.context["report"]
    assert report.day == timezone.localdate()
    assert report.total == Decimal("20.00")
    assert page.context["per_cashier"] == [
        {"cashier": "cashier", "total": Decimal("20.00"), "count": 1}
    ]
    assert [d.code for d in report.differences] == ["handed_over_unpaid"]
    assert [d.fee_id for d in report.due] == [unpaid.pk]
    html = page.content.decode()
    assert "Handed over unpaid" in html
    assert "Replacement card handed over while its fee is still due." in html
    assert html.count('class="diff"') == 2  # the difference and the due fee's row
    assert 'class="tile bad"' in html
    assert paid.card.card_number in html and fresh(paid).receipt_number in html
    assert reverse("web:card", args=[handed.pk]) not in html  # auditors have no card pages

    yesterday = timezone.localdate() - dt.timedelta(days=1)
    earlier = client.get(reverse("web:fee_reconciliation"), {"day": yesterday.isoformat()})
    assert earlier.status_code == 200
    assert earlier.context["report"].receipts == []
    assert earlier.context["next_day"] == timezone.localdate().isoformat()

    assert client.get(reverse("web:fee_reconciliation"), {"day": "2024-13-01"}).status_code == 400
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    future = client.get(reverse("web:fee_reconciliation"), {"day": tomorrow.isoformat()})
    assert future.status_code == 400
    assert "has not come yet" in future.content.decode()

    quiet = signed_in(cashier, "en").get(
        reverse("web:fee_reconciliation"), {"day": yesterday.isoformat()}
    )
    assert "No differences" in quiet.content.decode()


# --- who sees what ------------------------------------------------------------------------


def test_strangers_and_other_roles_get_404(
    stranger, owner, individual, employer_user, card_officer, other_area, person, cashier
):
    _card, fee = replacement_with_fee(person, card_officer)
    fees.fee_pay(actor=cashier, fee=fee)
    _card2, due = replacement_with_fee(person, card_officer)
    cashier_elsewhere = user_create(
        actor=None,
        username="cashier_bj",
        password="x" * 12,
        role=Role.CASHIER,
        area_code=other_area.code,
        check_password=False,
    )
    for user in (stranger, owner, individual, employer_user, cashier_elsewhere):
        client = signed_in(user)
        for url in (reverse("web:fees"), reverse("web:fee_reconciliation"), receipt_url(fee)):
            if user is cashier_elsewhere and url != receipt_url(fee):
                continue  # their own area's pages
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(pay_url(due)).status_code == 404, user
        assert (
            client.post(reverse("web:fee_waive", args=[due.pk]), {"reason": "x"}).status_code == 404
        )
    elsewhere = signed_in(cashier_elsewhere)
    assert elsewhere.get(reverse("web:fees")).context["due"] == []
    assert elsewhere.get(reverse("web:fee_reconciliation")).context["report"].receipts == []
    assert fresh(due).status == FeeStatus.DUE
    # Card officers see the fees, but the day's reconciliation is the cashiers' and auditors'.
    assert signed_in(card_officer).get(reverse("web:fee_reconciliation")).status_code == 404
    anonymous = Client().get(reverse("web:fees"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("web:login"))


def test_the_fee_pages_are_chinese_by_default_and_in_the_navigation(cashier, card_officer, person):
    _card, fee = replacement_with_fee(person, card_officer)
    fees.fee_pay(actor=cashier, fee=fee)
    client = signed_in(cashier)
    for url in (reverse("web:fees"), reverse("web:fee_reconciliation"), receipt_url(fee)):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
        assert '<html lang="zh-hans">' in page, url
        assert "退出登录" in page, url
    home = client.get(reverse("web:home")).content.decode()
    assert reverse("web:fees") in home and reverse("web:fee_reconciliation") in home
    assert (
        reverse("web:fees") not in signed_in(card_officer).get(reverse("web:home")).content.decode()
    )
