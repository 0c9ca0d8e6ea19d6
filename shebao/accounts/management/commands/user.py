from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create an account: `shebao user create NAME --role ROLE [--area CODE] "
        "[--employer ID] [--person ID]`. The password is asked for (or SHEBAO_PASSWORD)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["create"])
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--full-name", default="")
        parser.add_argument("--area", help="6-digit area code (every role but the ministry)")
        parser.add_argument("--employer", type=int, help="employer id (employer users)")
        parser.add_argument("--person", type=int, help="person id (individuals)")
        parser.add_argument(
            "--password-env",
            default="SHEBAO_PASSWORD",
            help="environment variable holding the password",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import os

        password = os.environ.get(options["password_env"]) or getpass.getpass("Password: ")
        try:
            user = user_create(
                actor=None,
                username=options["username"],
                password=password,
                role=options["role"],
                full_name=options["full_name"],
                area_code=options["area"],
                employer_id=options["employer"],
                person_id=options["person"],
            )
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"created {user.username} ({user.get_role_display()})")
