from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import User
from shebao.contributions.services import policy_set
from shebao.core.errors import DomainError
from shebao.registry.models import Area

EXAMPLE = """{
  "area": "320100",
  "valid_from": "2027-01-01",
  "average_monthly_wage": "11000",
  "rates": {"pension": ["0.16", "0.08"], "medical": ["0.06", "0.02"],
            "unemployment": ["0.005", "0.005"], "maternity": ["0.008", "0"]},
  "work_injury_rates": {"1": "0.002", "2": "0.004", "3": "0.007", "4": "0.009",
                        "5": "0.011", "6": "0.013", "7": "0.016", "8": "0.019"},
  "payment_due_day": 15,
  "note": "2027 policy"
}"""


class Command(BaseCommand):
    help = (
        "Contribution policies. `shebao policy load FILE --as USER` sets a new policy from a "
        "JSON file (the one before it ends that day); `shebao policy example` prints a file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["load", "example"])
        parser.add_argument("file", nargs="?")
        parser.add_argument("--as", dest="username")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "example":
            self.stdout.write(EXAMPLE)
            return
        if not options["file"] or not options["username"]:
            raise CommandError("usage: shebao policy load FILE --as USER")
        try:
            data = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
            area = Area.objects.get(code=data.pop("area"))
            actor = User.objects.get(username=options["username"], is_active=True)
            valid_from = dt.date.fromisoformat(data.pop("valid_from"))
            rates = {name: tuple(pair) for name, pair in data.pop("rates").items()}
            injury = {int(k): v for k, v in data.pop("work_injury_rates").items()}
            average = data.pop("average_monthly_wage")
        except (OSError, ValueError, KeyError, AttributeError) as error:
            raise CommandError(
                f"{options['file']}: {error!r}; see `shebao policy example`"
            ) from None
        except (Area.DoesNotExist, User.DoesNotExist) as error:
            raise CommandError(str(error)) from None
        try:
            policy = policy_set(
                actor=actor,
                area=area,
                valid_from=valid_from,
                average_monthly_wage=average,
                rates=rates,
                work_injury_rates=injury,
                **data,
            )
        except (DomainError, TypeError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"policy of {area} from {policy.valid_from} set")
