from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import translation

from shebao.registry.demo import DEMO_AREA_CODE, demo_build, demo_exists, demo_logins


class Command(BaseCommand):
    help = (
        "Build a realistic demo issuing area (Nanjing, 320100) with valid identity numbers, "
        "credit codes, employments over several years and one user per role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--persons", type=int, default=5000)
        parser.add_argument("--employers", type=int, default=200)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (successfully) when the demo area already exists.",
        )
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins.")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="The address printed with the logins."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate("zh-hans")
        if options["logins"]:
            self.print_logins(demo_logins(), options["url"].rstrip("/"))
            return
        if demo_exists():
            if options["if_empty"]:
                self.stdout.write(f"demo area {DEMO_AREA_CODE} is already loaded")
                return
            raise CommandError(f"demo area {DEMO_AREA_CODE} already exists; use a fresh database")
        if options["persons"] < 1 or options["employers"] < 1:
            raise CommandError("--persons and --employers must be at least 1")
        started = time.monotonic()
        with transaction.atomic():
            result, cards = self.build(options)
        self.stdout.write(
            f"demo area {result.area}: {result.persons:,} persons, {result.employers:,} employers, "
            f"{result.employments:,} employments, {cards:,} cards "
            f"in {time.monotonic() - started:.1f}s"
        )

    def build(self, options: dict[str, Any]) -> tuple[Any, int]:
        result = demo_build(
            persons=options["persons"],
            employers=options["employers"],
            seed=options["seed"],
            stream=self.stderr,
        )
        # The other domains build on the registry's demo area.
        from shebao.accounts.models import User
        from shebao.cards.demo import demo_cards

        cards = demo_cards(
            area=result.area,
            ministry=User.objects.get(username="ministry"),
            officer=User.objects.get(username="cardofficer"),
            clerk=User.objects.get(username="areaadmin"),
            seed=options["seed"],
            stream=self.stderr,
            holders=[User.objects.get(username="person").person_id],
        )
        from shebao.contributions.demo import demo_contributions

        demo_contributions(
            area=result.area,
            officer=User.objects.get(username="contrib"),
            employer_user=User.objects.get(username="employer"),
            seed=options["seed"],
            stream=self.stderr,
        )
        from shebao.complaints.demo import demo_complaints

        demo_complaints(
            area=result.area,
            person_user=User.objects.get(username="person"),
            officer=User.objects.get(username="contrib"),
        )
        from shebao.consultation.demo import demo_consultation

        demo_consultation(
            person_user=User.objects.get(username="person"),
            employer_user=User.objects.get(username="employer"),
        )
        from shebao.plans.demo import demo_plans

        demo_plans(
            area=result.area,
            admin=User.objects.get(username="areaadmin"),
            officer=User.objects.get(username="cardofficer"),
        )
        return result, cards

    def print_logins(self, logins: list[tuple[str, str, str]], url: str) -> None:
        if not logins:
            self.stdout.write("no demo users (run `shebao demo` first)")
            return
        self.stdout.write(
            f"\nshebao is at {url}/  (API: {url}/api/v1/docs, back office: {url}/admin/)"
        )
        self.stdout.write("Demo logins:")
        for username, password, role in logins:
            self.stdout.write(f"  {username:<12} {password:<18} {role}")
        self.stdout.write("")
