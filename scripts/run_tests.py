"""`make test`: choose the database, then run pytest.

Postgres when one is reachable (DATABASE_URL, or the local server, where the roles are created);
otherwise SQLite with the Postgres-only tests skipped and a loud line saying so. With
CXM_REQUIRE_POSTGRES=1 a missing Postgres is an error, never a skip.

Workers: the whole suite (no test paths, -k or -m given) runs on one pytest-xdist worker per CPU core,
each with its own test database (test_cxm_<pid>_gw<n>), Celery queue, SMTP port, live server and
Chromium; `--dist worksteal` lets an idle worker take tests queued on a busy one, so the few slow tests
spread. Named tests run in one process (no start-up cost). CXM_TEST_WORKERS=<n> (0: no xdist) overrides
both; `-n` in the arguments wins over everything.

First of all the import contract (`lint-imports`, pyproject.toml [tool.importlinter]: the app layers,
function-level imports included): a violation fails the run before a test starts.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BANNER = "!" * 78


def import_contract() -> int:
    """Run import-linter's contracts; 0 when every one is kept (it prints the broken ones otherwise)."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    status = subprocess.call([str(lint_imports), "--no-cache"], cwd=ROOT)
    if status != 0:
        print(f"{BANNER}\nThe import contract is broken (lint-imports above): an app imports one above it.\n{BANNER}",
              file=sys.stderr)
    return status


def main(argv: list[str]) -> int:
    status = import_contract()
    if status != 0:
        return status
    env = dict(os.environ)
    require = env.get("CXM_REQUIRE_POSTGRES") == "1"
    if not env.get("DATABASE_URL"):
        status = subprocess.call([sys.executable, str(ROOT / "scripts" / "pg_setup.py"), "--quiet"])
        if status == 0:
            env["DATABASE_URL"] = env.get("CXM_TEST_DATABASE_URL", "postgres://cxm_owner@127.0.0.1:5432/cxm")
            env.setdefault("DATABASE_APP_ROLE", "cxm_app")
        elif require:
            print(f"{BANNER}\nCXM_REQUIRE_POSTGRES=1 but no Postgres is reachable: failing.\n{BANNER}", file=sys.stderr)
            return 2
        else:
            env["DATABASE_URL"] = "sqlite:///" + str(ROOT / ".test-db.sqlite3")
            print(f"{BANNER}\nNO POSTGRES REACHABLE: running on SQLite. Row-level-security and other\n"
                  f"Postgres-only tests will be SKIPPED. Start Postgres for the full suite.\n{BANNER}")
    env["DJANGO_SETTINGS_MODULE"] = "cxm.settings.test"
    return subprocess.call([sys.executable, "-m", "pytest", *worker_args(argv, env), *argv], env=env, cwd=ROOT)


def selects_tests(argv: list[str]) -> bool:
    """Whether the arguments name tests (paths, node ids, -k, -m) rather than run the whole suite."""
    if any(arg in ("-k", "-m") or arg.startswith(("-k=", "-m=")) for arg in argv):
        return True
    options_with_values = {"-p", "-o", "-c", "--durations", "--timeout", "--maxfail", "--junitxml", "--rootdir", "--basetemp", "-W"}
    previous = ""
    for arg in argv:
        if not arg.startswith("-") and previous not in options_with_values:
            return True
        previous = arg
    return False


def worker_args(argv: list[str], env: dict) -> list[str]:
    """`-n <workers> --dist worksteal`, or nothing (see the module docstring)."""
    if any(arg in ("-n", "--numprocesses") or arg.startswith(("-n", "--numprocesses=", "--dist")) for arg in argv):
        return []
    if "no:xdist" in argv or env["DATABASE_URL"].startswith("sqlite"):
        return []  # the SQLite fallback stays one process (its skip banner is counted there)
    setting = env.get("CXM_TEST_WORKERS", "")
    workers = int(setting) if setting.isdigit() else (0 if selects_tests(argv) else os.cpu_count() or 1)
    return ["-n", str(workers), "--dist", "worksteal"] if workers > 1 else []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
