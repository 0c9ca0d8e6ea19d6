"""The optional --as USER of the emergency commands: who is recorded as acting."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from shebao.accounts.models import User


def add_actor(parser: CommandParser) -> None:
    parser.add_argument(
        "--as",
        dest="username",
        help="the administrator acting (recorded in the audit chain); "
        "without it the server's operator is recorded as 'system'",
    )


def actor_of(username: str | None) -> User | None:
    if not username:
        return None
    try:
        return User.objects.get(username=username, is_active=True)
    except User.DoesNotExist:
        raise CommandError(f"--as {username}: no such active user") from None
