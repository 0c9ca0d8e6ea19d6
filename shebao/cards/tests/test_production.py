"""Production batches and the vendor round trip: batch, export, result file, freeze."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from conftest import make_user
from shebao.accounts.roles import Role
from shebao.audit.models import AuditEvent
from shebao.cards import production
from shebao.cards.bench import approved_cards, result_rows
from shebao.cards.models import BatchStatus, Card, CardEvent, CardState
from shebao.cards.testing import make_card
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.registry.services import area_setting_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(approved_area, card_officer, second_officer):
    """Five approved applications of the approved area, oldest approval first."""
    return approved_cards(approved_area, 5, submitted_by=card_officer, approved_by=second_officer)


@pytest.fixture
def admin(approved_area):
    return make_user("cardadmin", Role.AREA_ADMIN, approved_area)


def exported(officer, area, **options):
    batch = production.batch_create(actor=officer, area=area, **options)
    "".join(production.batch_export(actor=officer, batch=batch, file_format="csv"))
    batch.refresh_from_db()
    return batch


def result_csv(rows, header=production.RESULT_FIELDS):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def import_csv(officer, batch, rows, **options):
    return production.batch_import(
        actor=officer, batch=batch, data=result_csv(rows, **options), file_format="csv"
    )


def audited(action):
    """The `after` of the latest audit event of this action."""
    return AuditEvent.objects.filter(action=action).latest("seq").after or {}


def rejected(report):
    return [(r.line, r.code) for r in report.rejected]


# --- batches -----------------------------------------------------------------------


def test_it_refuses_a_batch_for_an_area_without_approval(area, card_officer, second_officer):
    cards = approved_cards(area, 2, submitted_by=card_officer, approved_by=second_officer)
    with pytest.raises(Conflict) as caught:
        production.batch_create(actor=card_officer, area=area)
    assert caught.value.code == "area_not_approved"
    with translation.override("en"):
        assert "cannot produce cards" in caught.value.message
    assert not production.ProductionBatch.objects.exists()
    assert set(Card.objects.filter(pk__in=cards).values_list("state", flat=True)) == {"approved"}


def test_it_batches_the_oldest_approvals_first_in_one_audited_set(
    approved_area, card_officer, queue
):
    audit_before = AuditEvent.objects.filter(action="card_batch.create").count()
    batch = production.batch_create(actor=card_officer, area=approved_area, vendor="金卡", limit=3)
    today = timezone.localdate()
    assert batch.number == f"320100-{today:%Y%m%d}-001"
    assert batch.card_count == 3
    assert batch.status == BatchStatus.OPEN
    batched = list(Card.objects.filter(batch=batch).order_by("pk"))
    assert [card.pk for card in batched] == queue[:3]
    assert {card.state for card in batched} == {CardState.IN_PRODUCTION}
    assert {card.version for card in batched} == {3}
    events = CardEvent.objects.filter(card__in=batched, operation="batch")
    assert events.count() == 3
    assert {(e.from_state, e.to_state, e.detail["batch"]) for e in events} == {
        ("approved", "in_production", batch.number)
    }
    audits = AuditEvent.objects.filter(action="card_batch.create")
    assert audits.count() == audit_before + 1
    after = audited("card_batch.create")
    assert after["card_count"] == 3
    expected = hashlib.sha256(",".join(map(str, queue[:3])).encode()).hexdigest()
    assert after["card_ids_sha256"] == expected

    second = production.batch_create(actor=card_officer, area=approved_area)
    assert second.number.endswith("-002") and second.card_count == 2
    with pytest.raises(Conflict) as caught:
        production.batch_create(actor=card_officer, area=approved_area)
    assert caught.value.code == "no_approved_cards"


def test_it_leaves_frozen_and_unapproved_cards_out(
    approved_area, card_officer, second_officer, person, queue
):
    Card.objects.filter(pk=queue[0]).update(frozen_at=timezone.now(), frozen_reason="held")
    applied = make_card(person, CardState.APPLIED, submitted_by=card_officer)
    batch = production.batch_create(actor=card_officer, area=approved_area)
    assert sorted(Card.objects.filter(batch=batch).values_list("pk", flat=True)) == queue[1:]
    applied.refresh_from_db()
    assert applied.state == CardState.APPLIED and applied.batch is None


def test_it_refuses_batches_to_other_roles_and_areas(
    approved_area, owner, stranger, card_officer, queue
):
    with pytest.raises(Forbidden):
        production.batch_create(actor=owner, area=approved_area)
    with pytest.raises(Forbidden):
        production.batch_create(actor=stranger, area=approved_area)
    with pytest.raises(InvalidInput) as caught:
        production.batch_create(actor=card_officer, area=approved_area, limit=0)
    assert caught.value.field == "limit"


# --- the production file -------------------------------------------------------------


def test_it_exports_one_record_per_card_in_csv_and_json(approved_area, card_officer, queue):
    batch = production.batch_create(actor=card_officer, area=approved_area)
    text = "".join(production.batch_export(actor=card_officer, batch=batch, file_format="csv"))
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == 5
    first = records[0]
    card = Card.objects.select_related("person", "photo").get(pk=queue[0])
    assert first == {
        "record_id": str(card.pk),
        "batch": batch.number,
        "area": "320100",
        "issuer_id": "320100A1",
        "name": card.person.name,
        "id_number": card.person.id_number,
        "sex": card.person.sex,
        "birth_date": card.person.birth_date.isoformat(),
        "account_class": "2",
        "bank": "ICBC",
        "phone": card.phone,
        "address": card.address,
        "photo_sha256": card.photo.sha256,
        "urgent": "0",
    }
    batch.refresh_from_db()
    assert batch.status == BatchStatus.EXPORTED and batch.exported_at is not None
    document = json.loads(
        "".join(production.batch_export(actor=card_officer, batch=batch, file_format="json"))
    )
    assert [str(r["record_id"]) for r in document] == [r["record_id"] for r in records]
    assert document[0]["urgent"] is False and document[0]["account_class"] == 2
    assert AuditEvent.objects.filter(action="card_batch.export").count() == 2


def test_it_streams_the_export_a_chunk_at_a_time(approved_area, card_officer, queue, monkeypatch):
    monkeypatch.setattr(production, "EXPORT_CHUNK", 2)
    batch = production.batch_create(actor=card_officer, area=approved_area)
    stream = production.batch_export(actor=card_officer, batch=batch, file_format="json")
    assert not isinstance(stream, str | list)
    pieces = list(stream)
    assert len(pieces) >= 3
    assert len(json.loads("".join(pieces))) == 5


def test_it_refuses_an_unknown_format_and_an_empty_export(approved_area, card_officer, queue):
    batch = exported(card_officer, approved_area)
    with pytest.raises(InvalidInput) as caught:
        production.batch_export(actor=card_officer, batch=batch, file_format="xml")
    assert caught.value.code == "file_format"
    import_csv(card_officer, batch, result_rows(batch))
    with pytest.raises(Conflict) as empty:
        production.batch_export(actor=card_officer, batch=batch, file_format="csv")
    assert empty.value.code == "nothing_to_export"


# --- the result file -----------------------------------------------------------------


def test_it_records_the_vendors_results_and_completes_the_batch(approved_area, card_officer, queue):
    batch = exported(card_officer, approved_area)
    rows = result_rows(batch)
    data = result_csv(rows)
    report = production.batch_import(actor=card_officer, batch=batch, data=data, file_format="csv")
    assert (report.rows, report.produced, report.failed, report.unchanged) == (5, 5, 0, 0)
    assert report.rejected == [] and report.completed
    today = timezone.localdate()
    card = Card.objects.get(pk=queue[0])
    assert card.state == CardState.PRODUCED
    assert card.card_number == rows[0]["card_number"]
    assert card.identification_code == rows[0]["identification_code"]
    assert card.bank_account == rows[0]["bank_account"]
    assert card.valid_from == today
    assert card.valid_to == today.replace(year=today.year + 10)
    assert card.version == 4
    event = CardEvent.objects.get(card=card, operation="produce")
    assert (event.from_state, event.to_state) == ("in_production", "produced")
    assert event.detail == {"batch": batch.number, "card_number": rows[0]["card_number"]}
    assert event.actor == card_officer
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    after = audited("card_batch.import")
    assert after["file_sha256"] == hashlib.sha256(data).hexdigest()
    assert (after["produced"], after["rejected"]) == (5, 0)


def test_it_takes_the_validity_from_the_area_setting(approved_area, admin, card_officer, queue):
    area_setting_set(
        actor=admin,
        area=approved_area,
        key="card_validity_years",
        value=6,
        valid_from=timezone.localdate(),
    )
    batch = exported(card_officer, approved_area)
    import_csv(card_officer, batch, result_rows(batch))
    card = Card.objects.get(pk=queue[0])
    assert card.valid_from == timezone.localdate()
    assert card.valid_to == card.valid_from.replace(year=card.valid_from.year + 6)


def test_it_changes_nothing_when_the_same_file_comes_again(approved_area, card_officer, queue):
    batch = exported(card_officer, approved_area)
    rows = result_rows(batch)
    rows[4] = {"record_id": rows[4]["record_id"], "result": "failed", "reason": "芯片损坏"}
    first = import_csv(card_officer, batch, rows)
    assert (first.produced, first.failed) == (4, 1)
    cards_before = list(Card.objects.order_by("pk").values())
    events_before = CardEvent.objects.count()
    again = import_csv(card_officer, batch, rows)
    assert (again.produced, again.failed, again.unchanged, again.rejected) == (0, 0, 5, [])
    assert list(Card.objects.order_by("pk").values()) == cards_before
    assert CardEvent.objects.count() == events_before


def test_it_puts_failed_cards_back_in_the_queue_for_a_reprint(approved_area, card_officer, queue):
    batch = exported(card_officer, approved_area)
    rows = result_rows(batch)
    for index in (1, 3):
        rows[index] = {
            "record_id": rows[index]["record_id"],
            "result": "failed",
            "reason": "照片模糊",
        }
    report = import_csv(card_officer, batch, rows)
    assert (report.produced, report.failed, report.completed) == (3, 2, True)
    failed = Card.objects.get(pk=queue[1])
    assert (failed.state, failed.batch, failed.card_number) == (CardState.APPROVED, None, None)
    event = CardEvent.objects.get(card=failed, operation="production_failed")
    assert (event.to_state, event.detail["reason"]) == ("approved", "照片模糊")

    reprint = production.batch_create(actor=card_officer, area=approved_area)
    assert sorted(Card.objects.filter(batch=reprint).values_list("pk", flat=True)) == [
        queue[1],
        queue[3],
    ]
    # The first batch's file, sent again, still changes nothing.
    again = import_csv(card_officer, batch, rows)
    assert (again.unchanged, again.rejected) == (5, [])
    # A success for a card the vendor reported failed contradicts that report.
    rows[1] = {**result_rows(reprint)[0], "record_id": str(queue[1])}
    contradicted = import_csv(card_officer, batch, rows[:2])
    assert rejected(contradicted) == [(3, "contradicts")]


def test_it_refuses_bad_rows_one_by_one_and_keeps_the_good_ones(
    approved_area, card_officer, second_officer, person, queue
):
    taken = make_card(person, CardState.ACTIVE, submitted_by=card_officer)
    others = approved_cards(
        approved_area, 1, submitted_by=card_officer, approved_by=second_officer, first=100
    )
    batch = exported(card_officer, approved_area, limit=5)
    other_batch = exported(card_officer, approved_area)
    good = result_rows(batch)
    ids = [row["record_id"] for row in good]
    rows = [
        good[0],  # line 2: accepted
        {**good[1], "card_number": "12345"},  # 3: malformed card number
        {**good[1], "identification_code": "1101000000000001"},  # 4: not this area's code
        {**good[1], "bank_account": "6222-0000"},  # 5: not digits
        {**good[1], "card_number": taken.card_number},  # 6: another card's number
        {**good[2], "card_number": good[0]["card_number"]},  # 7: given to line 2 already
        {**good[0], "card_number": "Z00000000"},  # 8: contradicts line 2
        {**good[3], "record_id": "99999999"},  # 9: no such card
        {**good[3], "record_id": str(others[0])},  # 10: card of another batch
        {"record_id": ids[3], "result": "failed", "reason": ""},  # 11: failed without reason
        {"record_id": ids[3], "result": "maybe"},  # 12: unknown result
        {"record_id": "abc", "result": "ok"},  # 13: not a record id
        good[4],  # 14: accepted
        good[0],  # 15: the same as line 2: unchanged
    ]
    with translation.override("en"):
        report = import_csv(card_officer, batch, rows)
    assert rejected(report) == [
        (3, "card_number_format"),
        (4, "identification_code_area"),
        (5, "bank_account_format"),
        (6, "number_taken"),
        (7, "number_taken"),
        (8, "contradicts"),
        (9, "unknown_record"),
        (10, "not_in_batch"),
        (11, "reason_required"),
        (12, "result"),
        (13, "record_id"),
    ]
    assert (report.produced, report.failed, report.unchanged) == (2, 0, 1)
    assert not report.completed
    messages = {r.line: r.message for r in report.rejected}
    assert "must start with the area's division code 320100" in messages[4]
    assert f"already belongs to card {taken.pk}" in messages[6]
    assert "is also given to record" in messages[7]
    assert "not in batch" in messages[10]
    produced = Card.objects.filter(batch=batch, state=CardState.PRODUCED)
    assert sorted(produced.values_list("pk", flat=True)) == sorted([int(ids[0]), int(ids[4])])
    assert Card.objects.filter(batch=other_batch, state=CardState.IN_PRODUCTION).count() == 1
    assert import_csv(card_officer, batch, rows).unchanged == 3


def test_it_refuses_a_result_that_contradicts_an_earlier_import(approved_area, card_officer, queue):
    batch = exported(card_officer, approved_area)
    rows = result_rows(batch)
    import_csv(card_officer, batch, rows)
    changed = [{**rows[0], "bank_account": "6222999999999999999"}]
    report = import_csv(card_officer, batch, changed)
    assert rejected(report) == [(2, "contradicts")]
    assert Card.objects.get(pk=queue[0]).bank_account == rows[0]["bank_account"]
    failed = [{"record_id": rows[1]["record_id"], "result": "failed", "reason": "x"}]
    assert rejected(import_csv(card_officer, batch, failed)) == [(2, "contradicts")]


def test_it_reads_a_json_result_file_and_names_the_line_of_a_bad_record(
    approved_area, card_officer, queue
):
    batch = exported(card_officer, approved_area)
    rows = result_rows(batch)
    rows[2]["identification_code"] = "3202000000000001"
    text = "[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]\n"
    report = production.batch_import(
        actor=card_officer, batch=batch, data=text.encode(), file_format="json"
    )
    assert rejected(report) == [(4, "identification_code_area")]
    assert report.produced == 4
    pretty = json.dumps(rows[3:4], indent=2)
    report = production.batch_import(
        actor=card_officer, batch=batch, data=pretty.encode(), file_format="json"
    )
    assert report.unchanged == 1


def test_it_refuses_a_broken_file_as_a_whole(approved_area, card_officer, queue):
    batch = exported(card_officer, approved_area)
    rows = result_rows(batch)
    broken = json.dumps(rows[1]).replace('"result": "ok"', '"result": ok')
    text = "[\n" + json.dumps(rows[0]) + ",\n" + broken + "\n]"
    with pytest.raises(InvalidInput) as caught:
        production.batch_import(
            actor=card_officer, batch=batch, data=text.encode(), file_format="json"
        )
    assert caught.value.code == "file_syntax"
    assert caught.value.params["line"] == 3
    with pytest.raises(InvalidInput) as caught:
        import_csv(card_officer, batch, rows, header=("id", "card_number"))
    assert caught.value.code == "file_header"
    with pytest.raises(InvalidInput) as caught:
        production.batch_import(
            actor=card_officer, batch=batch, data=b"\xff\xfe", file_format="csv"
        )
    assert caught.value.code == "file_encoding"
    assert not Card.objects.filter(state=CardState.PRODUCED).exists()


def test_it_refuses_results_for_a_batch_not_yet_sent(approved_area, card_officer, queue):
    batch = production.batch_create(actor=card_officer, area=approved_area)
    with pytest.raises(Conflict) as caught:
        import_csv(card_officer, batch, result_rows(batch))
    assert caught.value.code == "batch_not_exported"


# --- emergency freeze ----------------------------------------------------------------


def test_it_freezes_a_whole_batch_and_releases_it(approved_area, admin, card_officer, queue):
    batch = exported(card_officer, approved_area)
    with pytest.raises(Forbidden):
        production.batch_freeze(actor=card_officer, batch=batch, reason="芯片批次缺陷")
    with pytest.raises(InvalidInput):
        production.batch_freeze(actor=admin, batch=batch, reason=" ")
    held_elsewhere = timezone.now() - dt.timedelta(days=1)
    Card.objects.filter(pk=queue[0]).update(frozen_at=held_elsewhere, frozen_reason="调查")
    production.batch_freeze(actor=admin, batch=batch, reason="芯片批次缺陷")
    batch.refresh_from_db()
    assert batch.frozen_at is not None and batch.frozen_reason == "芯片批次缺陷"
    assert Card.objects.filter(batch=batch, frozen_at=batch.frozen_at).count() == 4
    assert CardEvent.objects.filter(operation="freeze").count() == 4
    for refused in (
        lambda: import_csv(card_officer, batch, result_rows(batch)),
        lambda: production.batch_export(actor=card_officer, batch=batch, file_format="csv"),
        lambda: production.batch_freeze(actor=admin, batch=batch, reason="again"),
    ):
        with pytest.raises(Conflict) as caught:
            refused()
        assert caught.value.code == "batch_frozen"
    assert audited("card_batch.freeze")["cards"] == 4

    production.batch_release(actor=admin, batch=batch)
    batch.refresh_from_db()
    assert batch.frozen_at is None
    assert list(
        Card.objects.filter(batch=batch, frozen_at__isnull=False).values_list("pk", flat=True)
    ) == [queue[0]]
    with pytest.raises(Conflict) as caught:
        production.batch_release(actor=admin, batch=batch)
    assert caught.value.code == "batch_not_frozen"
    report = import_csv(card_officer, batch, result_rows(batch))
    assert rejected(report) == [(2, "card_frozen")] and report.produced == 4


# --- commands ------------------------------------------------------------------------


def test_the_commands_export_import_freeze_and_release_a_batch(
    approved_area, admin, card_officer, queue, tmp_path
):
    batch = production.batch_create(actor=card_officer, area=approved_area)
    output = tmp_path / "batch.json"
    out = io.StringIO()
    call_command(
        "cards",
        "export",
        batch.number,
        "--format",
        "json",
        "--output",
        str(output),
        "--as",
        card_officer.username,
        stdout=out,
    )
    assert len(json.loads(output.read_text(encoding="utf-8"))) == 5
    results = tmp_path / "results.csv"
    results.write_bytes(result_csv(result_rows(batch)))
    out = io.StringIO()
    call_command(
        "cards",
        "import",
        batch.number,
        str(results),
        "--format",
        "csv",
        "--as",
        card_officer.username,
        stdout=out,
    )
    assert "produced 5" in out.getvalue()
    call_command(
        "cards",
        "freeze-batch",
        batch.number,
        "--reason",
        "银行通知",
        "--as",
        admin.username,
        stdout=io.StringIO(),
    )
    assert Card.objects.filter(batch=batch, frozen_at__isnull=False).count() == 5
    call_command(
        "cards", "release-batch", batch.number, "--as", admin.username, stdout=io.StringIO()
    )
    assert not Card.objects.filter(frozen_at__isnull=False).exists()
    with pytest.raises(CommandError, match="forbidden"):
        call_command(
            "cards", "freeze-batch", batch.number, "--reason", "x", "--as", card_officer.username
        )
    with pytest.raises(CommandError):
        call_command("cards", "release-batch", "no-such-batch", "--as", admin.username)
