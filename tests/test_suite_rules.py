"""Rules of the test suite itself, checked by reading its source (no database).

- A test module never imports another test module: shared builders live in helper modules
  (tests/builders.py, tests/factories.py, tests/browser/conftest.py ...), so running, moving or
  deleting one test module never changes another.
- No assert chains conditions with `and`: `assert a and b` fails saying only that the whole was false;
  separate asserts (or one comparison of tuples or dicts) say which part differed.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def all_test_modules():
    return sorted(TESTS.glob("test_*.py")) + sorted(TESTS.glob("*/test_*.py"))


def is_test_module(dotted: str) -> bool:
    """A module of this suite named test_* (tests.test_x, tests.browser.test_y), not app code named so."""
    return dotted.split(".", 1)[0] == "tests" and dotted.rsplit(".", 1)[-1].startswith("test_")


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
            found += [f"{node.lineno}: from {base} import {a.name}" for a in node.names if is_test_module(f"{base}.{a.name}")]
    return found


def test_it_finds_the_test_modules():
    names = {p.name for p in all_test_modules()}
    assert {"test_suite_rules.py", "test_rls.py", "test_pages.py"} <= names


def test_it_flags_imports_of_test_modules(tmp_path, monkeypatch):
    probe = TESTS / "browser" / "test_probe_for_rules.py"
    source = ("from tests.test_rls import x\nimport tests.test_rls\nfrom . import test_pages\n"
              "def f():\n    from tests.browser.test_pages import y\nfrom tests.builders import live_survey\n"
              "from apps.surveys.distribution.services import test_email_send\n")
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source)
    assert imported_test_modules(probe) == [
        "1: from tests.test_rls import ...", "2: import tests.test_rls", "3: from tests.browser import test_pages",
        "5: from tests.browser.test_pages import ...",
    ]


def test_it_has_no_test_module_importing_another():
    offenders = {str(p.relative_to(ROOT)): found for p in all_test_modules() if (found := imported_test_modules(p))}
    assert offenders == {}, "move shared helpers into tests/builders.py (or another helper module) and import them from there"


def chained_and_asserts(source: str) -> list[int]:
    """Lines of every `assert a and b` (an `and` at the top of the asserted expression, nested ones too)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And)]


def test_it_flags_chained_and_asserts():
    source = ("assert a and b\nassert (a\n        and b), 'm'\nassert a == b\nassert (a or b) and c\n"
              "assert not (a and b)\nassert a or (b and c)\nassert [x for x in y if x and z]\n")
    assert chained_and_asserts(source) == [1, 2, 5]


def test_it_has_no_chained_and_assert():
    found = {str(p.relative_to(ROOT)): lines for p in sorted(TESTS.rglob("*.py")) if (lines := chained_and_asserts(p.read_text()))}
    assert found == {}, "split `assert a and b` into one assert per condition (or compare tuples/dicts)"
