"""The inquiry load test at a tiny size, so that it keeps working: the person's
history is built, they sign in through the login page, and two clients read
the history page and the API through a real server (gunicorn on PostgreSQL,
as the bench does; on SQLite's in-memory test database, the live server)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from shebao.contributions.models import Bill, BillLine, PaymentAllocation
from shebao.inquiry.bench import (
    BENCH_PASSWORD,
    SHARES,
    InquiryWorld,
    Server,
    database_url,
    gunicorn_server,
    measure,
    workloads,
)
from shebao.inquiry.history import person_history

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_world_is_a_paid_history_among_co_workers():
    world = InquiryWorld(months=14, co_workers=3)
    user = world.prepare()

    assert BillLine.objects.count() == 14 * 4 * len(SHARES)
    assert Bill.objects.count() == PaymentAllocation.objects.count() == 14
    assert world.person is not None and user.person_id == world.person.pk
    history = person_history(user, world.person)
    assert len(history.months) == 14 and history.paid_months("pension") == 14
    latest = history.months[0].period
    assert latest < dt.date.today().replace(day=1)  # every month is a past one


def test_the_load_runs_at_a_tiny_size(live_server, settings):
    # gunicorn runs with the production settings: the password must be hashed with
    # a hasher it knows, not the tests' fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    user = InquiryWorld(months=24, co_workers=2).prepare()
    server: contextlib.AbstractContextManager[Server] = (
        gunicorn_server(database_url(), workers=1)
        if connection.vendor == "postgresql"
        else contextlib.nullcontext(Server(live_server.url))
    )

    with server as running:
        page, api = measure(running, user, password=BENCH_PASSWORD, clients=2, seconds=0.5)

    for measured in (page, api):
        assert measured.load is not None
        assert measured.load.requests > 0 and measured.load.failures == 0
        assert measured.load.percentile_ms(0.5) <= measured.load.percentile_ms(0.99)
        assert "p99" in measured.line() and "goal: p99 < 100 ms" in measured.line()
    assert page.load is not None and api.load is not None
    assert page.load.path == "/my/contributions/" and api.load.path == "/api/v1/me/contributions"


def test_the_bench_command_finds_both_workloads():
    names = [w.func.__name__ for w in workloads(0.01, "sqlite")]  # type: ignore[attr-defined]
    assert names == ["inquiry_history_page", "inquiry_history_api"]


def test_the_server_cpu_time_is_read_from_its_workers():
    busy = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\ntime.sleep(30)"
    worker = subprocess.Popen([sys.executable, "-c", busy])
    try:
        deadline = time.monotonic() + 20
        used = 0.0
        while used < 0.25 and time.monotonic() < deadline:
            time.sleep(0.1)
            used = Server("http://127.0.0.1:1", os.getpid()).cpu_seconds() or 0.0
        assert 0.25 <= used < 20
    finally:
        worker.kill()
        worker.wait()
    assert Server("http://127.0.0.1:1").cpu_seconds() is None
