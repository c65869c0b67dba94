"""Rules of the test suite itself, checked by reading its source (no database).

- A test module never imports another test module: shared builders live in helper modules
  (tests/builders.py, tests/factories.py, tests/browser/conftest.py ...), so running, moving or
  deleting one test module never changes another.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def all_test_modules():
    return sorted(TESTS.glob("test_*.py")) + sorted(TESTS.glob("*/test_*.py"))


def is_test_module(dotted: str) -> bool:
    return dotted.rsplit(".", 1)[-1].startswith("test_")


def imported_test_modules(path: Path) -> list[str]:
    """Every test module `path` imports, at module level or inside functions, absolute or relative."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            if is_test_module(base):
                found.append(f"{node.lineno}: from {base} import ...")
            found += [f"{node.lineno}: from {base} import {a.name}" for a in node.names if is_test_module(a.name)]
    return found


def test_it_finds_the_test_modules():
    names = {p.name for p in all_test_modules()}
    assert {"test_suite_rules.py", "test_rls.py", "test_pages.py"} <= names


def test_it_flags_imports_of_test_modules(tmp_path, monkeypatch):
    probe = TESTS / "browser" / "test_probe_for_rules.py"
    source = ("from tests.test_rls import x\nimport tests.test_rls\nfrom . import test_pages\n"
              "def f():\n    from tests.browser.test_pages import y\nfrom tests.builders import live_survey\n")
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source)
    assert imported_test_modules(probe) == [
        "1: from tests.test_rls import ...", "2: import tests.test_rls", "3: from tests.browser import test_pages",
        "5: from tests.browser.test_pages import ...",
    ]


def test_it_has_no_test_module_importing_another():
    offenders = {str(p.relative_to(ROOT)): found for p in all_test_modules() if (found := imported_test_modules(p))}
    assert offenders == {}, "move shared helpers into tests/builders.py (or another helper module) and import them from there"
