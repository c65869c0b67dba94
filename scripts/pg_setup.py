"""Create the CXM database roles and database on a Postgres server (idempotent).

- cxm_owner: owns the tables, runs migrations, may create the test database (CREATEDB);
- cxm_app:   what web and workers connect as: LOGIN, not owner, NOSUPERUSER, NOBYPASSRLS;
             its table rights are granted after every migrate (apps/tenancy/signals.py).

Needs a superuser connection: PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
Exit status 0 on success, 3 when no server answers (callers fall back or fail loudly).
"""

import argparse
import os
import sys

import psycopg2
from psycopg2 import sql

ADMIN_URL = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def ensure_role(cur, name: str, attributes: str, password: str | None) -> None:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
    verb = "ALTER" if cur.fetchone() else "CREATE"
    cur.execute(sql.SQL(f"{verb} ROLE {{}} {attributes}").format(sql.Identifier(name)))
    if password:
        cur.execute(sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(name)), [password])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owner", default=os.environ.get("PG_OWNER_ROLE", "cxm_owner"))
    parser.add_argument("--app", default=os.environ.get("DATABASE_APP_ROLE", "cxm_app"))
    parser.add_argument("--database", default=os.environ.get("PG_DATABASE", "cxm"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    try:
        conn = psycopg2.connect(ADMIN_URL, connect_timeout=3)
    except psycopg2.OperationalError as exc:
        print(f"pg_setup: no Postgres at {ADMIN_URL}: {str(exc).strip()}", file=sys.stderr)
        return 3
    conn.autocommit = True
    with conn.cursor() as cur:
        ensure_role(cur, args.owner, "LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOBYPASSRLS",
                    os.environ.get("PG_OWNER_PASSWORD"))
        ensure_role(cur, args.app, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT",
                    os.environ.get("PG_APP_PASSWORD"))
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database])
        if not cur.fetchone():
            cur.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(args.database), sql.Identifier(args.owner)))
    conn.close()
    if not args.quiet:
        print(f"pg_setup: roles {args.owner} (owner) and {args.app} (app), database {args.database}: ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
