"""The `shebao` console command: Django's management commands with shebao's settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    # `shebao credit-interest` and `shebao credit_interest` are the same command
    # (Django names commands after their module files).
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    execute_from_command_line(["shebao", *args])


if __name__ == "__main__":
    main()
