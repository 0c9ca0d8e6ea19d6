"""Inquiry workload for `make bench`: a person reading their own contribution
history, under load, through the real server.

One person with a 30-year history (360 months × 5 insurances of bill lines,
every month paid) among co-workers billed on the same employer's bills; the
project is served by gunicorn (as `make run` does) on a free loopback port
against the bench database; the person signs in through the login page and
gets an API token; then 20 clients (threads, each with its own keep-alive
connection) ask for `/my/contributions/` and then `/api/v1/me/contributions`
for about 10 seconds each. Reported: requests per second, p50 and p99
latency, and the goal (p99 < 100 ms on PostgreSQL) met or not. The baseline
is the database alone: the SQL of one year's read, replayed on one connection.
After the warm-up each server process answers from its history cache
(`inquiry.cache`), checked by one query against the records' versions: what is
measured is a person reading their unchanged history again, the common case.

The load stays on this machine (127.0.0.1), and every client loop stops by
itself after its time or MAX_REQUESTS_PER_CLIENT requests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import token_issue, user_create
from shebao.contributions.bench import RATES, WORK_INJURY, insert_rows
from shebao.contributions.models import Bill, BillingRun, BillLine, Payment, PaymentAllocation
from shebao.contributions.services import policy_set
from shebao.core.bench import Measurement
from shebao.core.dates import add_months
from shebao.inquiry.history import person_history_year
from shebao.registry.identifiers import make_credit_code, make_identity_number
from shebao.registry.models import Area, Employer, Person

BENCH_AREA = "320400"  # Changzhou
BENCH_PASSWORD = "bench inquiry password 2026"  # a scratch database's user
MONTHS = 360
CLIENTS = 20
SECONDS = 10.0
CO_WORKERS = 100
GOAL_P99_MS = 100.0
MAX_REQUESTS_PER_CLIENT = 100_000
# Per 100,000 of the base: employer and individual shares (DOMAIN §3).
SHARES = {
    "pension": (16_000, 8_000),
    "medical": (6_000, 2_000),
    "unemployment": (500, 500),
    "work_injury": (200, 0),
    "maternity": (800, 0),
}


# --- the data ------------------------------------------------------------------------


def _share(base_cents: int, units: int) -> int:
    return (base_cents * units + 50_000) // 100_000


def build_history(
    *,
    area: Area,
    employer: Employer,
    persons: list[int],
    first: dt.date,
    months: int,
    paid: bool = True,
) -> None:
    """`months` months from `first` of `employer`'s bills, each with every insurance of
    every one of `persons`, and (if `paid`) a payment of each bill in full on its due
    day: set-based (one insert per table), as a billing run and a bank file leave them."""
    now = timezone.now()
    periods = [add_months(first, n) for n in range(months)]
    run = BillingRun.objects.create(area=area, period=first, started_at=now, finished_at=now)

    def base(person_index: int, month_index: int) -> int:
        return 500_000 + 1_000 * month_index + 10_000 * (person_index % 7)

    bills = Bill.objects.bulk_create(
        [
            Bill(
                area=area,
                employer=employer,
                period=period,
                kind="declared",
                employer_cents=sum(
                    _share(base(p, m), SHARES[i][0]) for p in range(len(persons)) for i in SHARES
                ),
                individual_cents=sum(
                    _share(base(p, m), SHARES[i][1]) for p in range(len(persons)) for i in SHARES
                ),
                due_on=add_months(period, 1).replace(day=15),
                created_at=now,
            )
            for m, period in enumerate(periods)
        ],
        batch_size=500,
    )
    insert_rows(
        BillLine._meta.db_table,
        [
            "area_id",
            "bill_id",
            "employer_id",
            "person_id",
            "period",
            "insurance",
            "kind",
            "base_cents",
            "employer_cents",
            "individual_cents",
            "run_id",
        ],
        (
            (
                area.code,
                bill.pk,
                employer.pk,
                person,
                bill.period,
                insurance,
                "declared",
                base(p, m),
                _share(base(p, m), employer_units),
                _share(base(p, m), individual_units),
                run.pk,
            )
            for m, bill in enumerate(bills)
            for p, person in enumerate(persons)
            for insurance, (employer_units, individual_units) in SHARES.items()
        ),
    )
    if not paid:
        return
    cashier = User.objects.filter(area_id=area.code, role=Role.CASHIER).first() or user_create(
        actor=None,
        username=f"bench-cashier-{area.code}",
        password="x",
        role=Role.CASHIER,
        area_code=area.code,
        check_password=False,
    )
    payments = Payment.objects.bulk_create(
        [
            Payment(
                area=area,
                employer=employer,
                bank_reference=f"BENCH{employer.pk}-{bill.period:%Y%m}",
                amount_cents=bill.employer_cents + bill.individual_cents,
                paid_on=bill.due_on,
                source="bank_file",
                created_by=cashier,
                created_at=now,
            )
            for bill in bills
        ],
        batch_size=500,
    )
    PaymentAllocation.objects.bulk_create(
        [
            PaymentAllocation(
                area=area,
                payment=payment,
                bill=bill,
                principal_cents=bill.employer_cents + bill.individual_cents,
            )
            for payment, bill in zip(payments, bills, strict=True)
        ],
        batch_size=500,
    )


@dataclass
class InquiryWorld:
    """The bench person (with their login and history) and their co-workers."""

    months: int = MONTHS
    co_workers: int = CO_WORKERS
    username: str = "bench-person"
    person: Person | None = None
    user: User | None = None

    def prepare(self) -> User:
        if self.user is not None:
            return self.user
        with transaction.atomic():
            area = Area.objects.create(code=BENCH_AREA, name="常州市")
            employer = Employer.objects.create(
                area=area,
                credit_code=make_credit_code(BENCH_AREA, "MA1BENCH0"),
                name="苏州测试精密机械有限公司",
                established_on=dt.date(1990, 1, 1),
                registered_on=dt.date(1990, 1, 10),
            )
            people = Person.objects.bulk_create(
                [
                    Person(
                        area=area,
                        id_number=make_identity_number(
                            BENCH_AREA, dt.date(1970, 1, 1) + dt.timedelta(days=n), 11
                        ),
                        name=f"测试{n}",
                        birth_date=dt.date(1970, 1, 1) + dt.timedelta(days=n),
                        sex="M",
                        registered_on=dt.date(1990, 1, 1),
                    )
                    for n in range(self.co_workers + 1)
                ]
            )
            self.person = people[0]
            officer = user_create(
                actor=None,
                username=f"bench-contrib-{BENCH_AREA}",
                password="x",
                role=Role.CONTRIBUTIONS_OFFICER,
                area_code=BENCH_AREA,
                check_password=False,
            )
            policy_set(
                actor=officer,
                area=area,
                valid_from=dt.date(1990, 1, 1),
                average_monthly_wage="10000",
                rates=RATES,
                work_injury_rates=WORK_INJURY,
            )
            this_month = timezone.localdate().replace(day=1)
            build_history(
                area=area,
                employer=employer,
                persons=[p.pk for p in people],
                first=add_months(this_month, -self.months - 1),
                months=self.months,
            )
            self.user = user_create(
                actor=None,
                username=self.username,
                password=BENCH_PASSWORD,
                role=Role.INDIVIDUAL,
                area_code=BENCH_AREA,
                person_id=self.person.pk,
                check_password=False,
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        return self.user


# --- the client side ---------------------------------------------------------------


@dataclass
class Load:
    """What the clients of one path saw."""

    path: str
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, of answered requests
    failures: int = 0  # not 200
    server_cpu_seconds: float | None = None  # the server's workers' CPU time meanwhile
    machine_load: float | None = None  # the 1-minute load average at the end

    @property
    def server_cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_seconds is None or not self.requests:
            return None
        return self.server_cpu_seconds / self.requests * 1000

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile_ms(self, share: float) -> float:
        """The nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return float("inf")
        ordered = sorted(self.latencies)
        rank = max(int(-(-share * len(ordered) // 1)) - 1, 0)
        return ordered[min(rank, len(ordered) - 1)] * 1000


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    assert parts.hostname in ("127.0.0.1", "localhost", "::1"), "the load stays on this machine"
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def sign_in(base_url: str, username: str, password: str) -> str:
    """Sign in through the login page as a browser does; the Cookie header to send."""
    client = _connection(base_url)
    try:
        client.request("GET", "/login/")
        response = client.getresponse()
        page = response.read().decode()
        cookies = _cookies(response)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, "the login page has no CSRF token"
        form = urlencode(
            {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password}
        )
        client.request(
            "POST",
            "/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
                "Referer": base_url.rstrip("/") + "/login/",
            },
        )
        response = client.getresponse()
        response.read()
        cookies.update(_cookies(response))
        if response.status != 302 or "sessionid" not in cookies:
            raise RuntimeError(f"signing in as {username} failed: HTTP {response.status}")
        return "; ".join(f"{k}={v}" for k, v in cookies.items())
    finally:
        client.close()


def drive(
    base_url: str,
    path: str,
    headers: dict[str, str],
    *,
    clients: int = CLIENTS,
    seconds: float = SECONDS,
) -> Load:
    """`clients` threads, each on one keep-alive connection, asking for `path` again and
    again for `seconds`; every answer's latency is kept."""
    load = Load(path=path, seconds=seconds)
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        latencies: list[float] = []
        failures = 0
        conn = _connection(base_url)
        start.wait()
        deadline = time.perf_counter() + seconds
        try:
            for _ in range(MAX_REQUESTS_PER_CLIENT):
                began = time.perf_counter()
                if began >= deadline:
                    break
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    failures += 1
                    conn.close()
                    conn = _connection(base_url)
                    continue
                if response.status == 200:
                    latencies.append(time.perf_counter() - began)
                else:
                    failures += 1
        finally:
            conn.close()
            with lock:
                load.latencies.extend(latencies)
                load.failures += failures

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - began
    return load


# --- the server ----------------------------------------------------------------------


def database_url() -> str:
    """The URL of the database the current connection uses (the bench database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(db["NAME"]).resolve())
    if connection.vendor != "postgresql":
        raise RuntimeError(f"no URL for a {connection.vendor} database")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{db.get('HOST') or ''}{port}/{quote(db['NAME'], safe='')}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A server under test: its base URL and, for gunicorn, the master's process id."""

    url: str
    pid: int | None = None

    def cpu_seconds(self) -> float | None:
        """The CPU time (user + system) the master's workers have used so far, from
        /proc (Linux); None where it cannot be read."""
        if self.pid is None:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        try:
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                with contextlib.suppress(OSError):
                    # After the command's closing parenthesis: state, ppid, …,
                    # utime (14th field of the line) and stime (15th).
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.pid:
                        total += int(fields[11]) + int(fields[12])
        except OSError:
            return None
        return total / ticks


@contextlib.contextmanager
def gunicorn_server(url: str, *, workers: int | None = None) -> Iterator[Server]:
    """The project served by gunicorn with its gunicorn.conf.py, as `make run` does,
    against the database at `url`; yields the server and stops it afterwards.
    `workers` overrides the configured number of worker processes."""
    port = _free_port()
    environment = {
        **os.environ,
        **({"SHEBAO_WEB_WORKERS": str(workers)} if workers else {}),
        "DATABASE_URL": url,
        "SHEBAO_JOBS_WORKERS": "0",  # the bench database has no jobs to run
        "SHEBAO_DEBUG": "0",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(  # noqa: S603 - our own executable, fixed arguments
        [
            str(gunicorn),
            "shebao.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        env=environment,
        cwd=settings.PROJECT_DIR,
        stdout=subprocess.DEVNULL,
    )
    server = Server(f"http://127.0.0.1:{port}", process.pid)
    try:
        _wait_until_up(server.url, process)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(base_url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped with exit code {server.returncode}")
        client = _connection(base_url)
        try:
            client.request("GET", "/login/")
            if client.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
        finally:
            client.close()
    raise RuntimeError(f"gunicorn did not answer at {base_url} within {timeout:.0f} s")


# --- the measurement -----------------------------------------------------------------


@dataclass
class LoadMeasurement(Measurement):
    """Requests per second and latency of one path under load."""

    load: Load | None = None
    clients: int = CLIENTS
    goal_p99_ms: float = GOAL_P99_MS
    enforce_goal: bool = True  # False: the figure is reported, the goal is not judged

    @property
    def goal_met(self) -> bool:
        assert self.load is not None
        return self.load.failures == 0 and self.load.percentile_ms(0.99) < self.goal_p99_ms

    def line(self) -> str:
        assert self.load is not None
        load = self.load
        if self.enforce_goal:
            verdict = "met" if self.goal_met else "NOT met"
        else:
            verdict = "judged on PostgreSQL only"
        cpu = load.server_cpu_ms_per_request
        return (
            f"{self.workload:<44} {load.requests:>9,} reqs {load.per_second:>8.1f}/s   "
            f"p50 {load.percentile_ms(0.5):>6.1f} ms  p99 {load.percentile_ms(0.99):>6.1f} ms   "
            f"failures {load.failures}   "
            + (f"server CPU {cpu:.1f} ms/req   " if cpu is not None else "")
            + f"baseline {self.baseline_seconds * 1000:>6.2f} ms ({self.baseline})   "
            + (f"machine load {load.machine_load:.1f}   " if load.machine_load is not None else "")
            + f"goal: p99 < {self.goal_p99_ms:.0f} ms with {self.clients} clients: {verdict}"
        )


def database_alone_seconds(user: User, *, repeat: int = 50) -> float:
    """The mean time of the SQL that reading the latest year runs (what the page and
    the API ask for by default), replayed on one connection."""
    with CaptureQueriesContext(connection) as captured:
        person_history_year(user, user.person_id or 0, page=1)
    statements = [query["sql"] for query in captured.captured_queries]
    with connection.cursor() as cursor:
        began = time.perf_counter()
        for _ in range(repeat):
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()
        return (time.perf_counter() - began) / repeat


def measure(
    server: Server,
    user: User,
    *,
    password: str = BENCH_PASSWORD,
    clients: int = CLIENTS,
    seconds: float = SECONDS,
) -> list[LoadMeasurement]:
    """Sign in, issue a token, and put each path under load in turn."""
    base_url = server.url
    cookie = sign_in(base_url, user.username, password)
    _token, raw = token_issue(actor=None, user=user, name="bench")
    baseline = database_alone_seconds(user)
    enforce = connection.vendor == "postgresql"
    runs = [
        ("/my/contributions/", {"Cookie": cookie}, "history page, signed in"),
        ("/api/v1/me/contributions", {"Authorization": f"Bearer {raw}"}, "history API, token"),
    ]
    results = []
    for path, headers, what in runs:
        # Warm up first: each worker's first requests load translations, templates
        # and connections; the figures are those of a server that has been running.
        drive(base_url, path, headers, clients=clients, seconds=max(seconds / 5, 0.2))
        cpu_before = server.cpu_seconds()
        load = drive(base_url, path, headers, clients=clients, seconds=seconds)
        cpu_after = server.cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            load.server_cpu_seconds = cpu_after - cpu_before
        load.machine_load = os.getloadavg()[0]
        results.append(
            LoadMeasurement(
                f"inquiry: {what}",
                load.requests,
                load.seconds,
                "the year's SQL alone",
                baseline,
                load=load,
                clients=clients,
                enforce_goal=enforce,
            )
        )
    return results


def bench_inquiry(world: InquiryWorld, seconds: float) -> list[LoadMeasurement]:
    user = world.prepare()
    with gunicorn_server(database_url()) as server:
        return measure(server, user, seconds=seconds)


class _Results:
    """Both paths are measured in one server run; each workload reports one of them."""

    def __init__(self, world: InquiryWorld, seconds: float) -> None:
        self.world = world
        self.seconds = seconds
        self.found: list[LoadMeasurement] = []

    def get(self, index: int) -> LoadMeasurement:
        if not self.found:
            self.found = bench_inquiry(self.world, self.seconds)
        return self.found[index]


def inquiry_history_page(results: _Results) -> Measurement:
    return results.get(0)


def inquiry_history_api(results: _Results) -> Measurement:
    return results.get(1)


def workloads(scale: float, vendor: str) -> list[Callable[[], Measurement]]:
    results = _Results(
        InquiryWorld(co_workers=max(int(CO_WORKERS * scale), 1)),
        seconds=max(min(SECONDS * scale, SECONDS), 1.0),
    )
    return [partial(inquiry_history_page, results), partial(inquiry_history_api, results)]
