"""`make test`: choose the database, then run pytest.

Postgres when one is reachable (DATABASE_URL, or the local server, where the roles are created);
otherwise SQLite with the Postgres-only tests skipped and a loud line saying so. With
CXM_REQUIRE_POSTGRES=1 a missing Postgres is an error, never a skip.

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
    return subprocess.call([sys.executable, "-m", "pytest", *argv], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
