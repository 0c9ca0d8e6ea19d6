from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shebao.accounts.models import ApiToken, User
from shebao.accounts.services import token_issue


class Command(BaseCommand):
    help = (
        "API tokens for machine clients. `shebao token issue USER --name NAME` prints a new "
        "token once (only its digest is kept); `shebao token list` shows tokens without secrets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["issue", "list"])
        parser.add_argument("username", nargs="?")
        parser.add_argument("--name", default="api client")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            for token in ApiToken.objects.select_related("user").order_by("created_at"):
                state = "revoked" if token.revoked_at else "active"
                self.stdout.write(
                    f"{token.prefix}…  {token.user.username:<16} {token.name:<24} {state}"
                )
            return
        if not options["username"]:
            raise CommandError("name the user the token acts as: shebao token issue USER")
        try:
            user = User.objects.get(username=options["username"], is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"no active user {options['username']!r}") from None
        _token, raw = token_issue(actor=None, user=user, name=options["name"])
        self.stdout.write(raw)
