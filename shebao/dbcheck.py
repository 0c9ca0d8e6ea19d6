"""`python -m shebao.dbcheck URL`: exit 0 when the PostgreSQL server at URL answers."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit


def main() -> int:
    import psycopg

    parts = urlsplit(sys.argv[1])
    try:
        with psycopg.connect(
            host=parts.hostname or "",
            port=parts.port or 5432,
            user=parts.username or "",
            password=parts.password or "",
            dbname="postgres",
            connect_timeout=5,
        ):
            return 0
    except psycopg.Error as error:
        print(f"cannot connect to PostgreSQL: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
