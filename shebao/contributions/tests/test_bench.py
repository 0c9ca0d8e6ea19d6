"""The benchmark builders at a tiny scale: the data is valid and both workloads
measure what they claim (the billing run and its baseline agree)."""

from __future__ import annotations

import pytest

from shebao.contributions.bench import _World, bench_billing, bench_declaration_import
from shebao.contributions.models import Bill, BillLine

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_workloads_run_at_a_tiny_scale():
    world = _World(count=400)
    billed = bench_billing(world)
    assert billed.rows == BillLine.objects.count() == 400 * 5
    assert Bill.objects.count() == 1
    imported = bench_declaration_import(world)
    assert imported.rows == 400 and "MiB" in imported.workload
