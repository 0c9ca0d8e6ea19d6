"""The statement batch workload at a tiny scale: its world is valid (bills of three
months, two of them paid) and every person gets one statement."""

from __future__ import annotations

import json

import pytest

from shebao.contributions.models import AccountEntry, Bill
from shebao.inquiry.bench_statements import _World, bench_statement_batch
from shebao.inquiry.models import Statement

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_workload_runs_at_a_tiny_scale():
    world = _World(count=60)
    measured = bench_statement_batch(world)
    assert measured.rows == Statement.objects.count() == 60
    assert "statements/s" in measured.workload and measured.baseline_seconds > 0
    assert Bill.objects.count() == 3
    assert AccountEntry.objects.count() == 60 * 2  # two paid months, credited
    months = json.loads(Statement.objects.order_by("pk")[0].canonical)["months"]
    assert [(m["month"][5:], m["status"]) for m in months] == [
        ("10", "paid"),
        ("11", "paid"),
        ("12", "unpaid"),
    ]
