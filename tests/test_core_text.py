"""The guard of issue 15, F1: no text template's SafeString rendered into HTML.

Text templates (`templates/**/*.txt`, the e-mail bodies) run under `{% autoescape off %}`; rendered by
`render_to_string` they come back as a SafeString, which an HTML page then prints unescaped. These tests
fail when someone reintroduces the pattern:
- the code names a text template anywhere but as the first argument of `apps.core.text.render_text`
  (so `render_to_string("x.txt")`, `get_template("x.txt")`, `render(request, "x.txt")`, a constant
  holding the name… are all caught), or names a template in a way the test cannot read;
- an HTML template includes or extends a text template, or turns autoescaping off;
- `render_text` returns anything but a plain `str`, for every text template in the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeData

from apps.core.text import render_text
from tests.html_injection import HX_PAYLOAD, HX_PAYLOAD_ESCAPED

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TEXT_TEMPLATES = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.txt"))
HTML_TEMPLATES = sorted(TEMPLATES.rglob("*.html"))
LOADERS = {"render_to_string", "get_template", "select_template", "render", "TemplateResponse", "render_text"}


def python_sources():
    for top in ("apps", "cxm"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _called_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def text_template_misuses(source: str, filename: str) -> list[str]:
    """Where `source` names a text template other than as render_text's first argument, or hands a
    template loader a name that is not a literal (so nobody can tell whether it is a text template)."""
    tree = ast.parse(source, filename)
    allowed: set[int] = set()
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called_name(node) not in LOADERS or not node.args:
            continue
        name = _called_name(node)
        first = node.args[1] if name in ("render", "TemplateResponse") and len(node.args) > 1 else node.args[0]
        if name == "render_text":
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                allowed.add(id(first))
            else:
                problems.append(f"{filename}:{node.lineno}: render_text needs the template's name written out")
        elif name in ("render_to_string", "get_template", "select_template") and not (
                isinstance(first, (ast.Constant, ast.List, ast.Tuple, ast.Name))):
            problems.append(f"{filename}:{node.lineno}: {name} of a computed name: write the template's name out")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in allowed:
            if node.value.endswith(".txt") and node.value in TEXT_TEMPLATES:
                problems.append(f"{filename}:{node.lineno}: text template {node.value!r} named outside render_text(...)")
    return problems


def test_it_finds_a_text_template_rendered_any_other_way():
    """The guard itself: each way of slipping a text template's SafeString out is caught."""
    sources = [
        'from django.template.loader import render_to_string\nx = render_to_string("feedback/email/announcement.txt", {})',
        'from django.template.loader import get_template\nx = get_template("feedback/email/announcement.txt").render({})',
        'TEMPLATE = "digests/email/digest.txt"\ndef v(request):\n    return render(request, TEMPLATE, {})',
        'from django.template.loader import render_to_string\nname = "surveys/email/" + "survey.txt"\nx = render_to_string(f"{name}")',
    ]
    assert [len(text_template_misuses(source, "example.py")) for source in sources] == [1, 1, 1, 1]
    assert text_template_misuses('x = render_text("feedback/email/announcement.txt", {})', "example.py") == []


def test_it_renders_every_text_template_only_through_render_text():
    problems = []
    for path in python_sources():
        if path.relative_to(ROOT).as_posix() != "apps/core/text.py":
            problems += text_template_misuses(path.read_text(), str(path.relative_to(ROOT)))
    assert problems == []


def test_it_renders_every_text_template_somewhere():
    """Every text template is in use through render_text (so the guard above sees each of them)."""
    used = set()
    for path in python_sources():
        used |= set(re.findall(r'render_text\(\s*"([^"]+\.txt)"', path.read_text()))
    assert set(TEXT_TEMPLATES) - used <= {"accounts/email/password_reset_subject.txt"}


@pytest.mark.parametrize("template_name", TEXT_TEMPLATES)
def test_it_returns_a_plain_str_for_every_text_template(template_name):
    context = {name: HX_PAYLOAD for name in ("you_said", "we_did", "subject", "hello", "title", "description", "tenant_name",
                                             "client_name", "recipient_name", "survey_intro", "inviter", "email")}
    rendered = render_text(template_name, context)
    assert type(rendered) is str
    assert not isinstance(rendered, SafeData)


def test_it_keeps_the_text_as_written_and_an_html_page_escapes_it():
    text = render_text("feedback/email/announcement.txt", {"you_said": HX_PAYLOAD, "hello": "Hello Tom & Jerry,"})
    assert HX_PAYLOAD in text
    assert "Hello Tom & Jerry," in text
    page = Template("<pre>{{ text }}</pre>").render(Context({"text": text}))
    assert HX_PAYLOAD_ESCAPED in page
    assert HX_PAYLOAD not in page


def test_it_refuses_to_render_an_html_template_as_text():
    with pytest.raises(ValueError):
        render_text("feedback/email/announcement.html", {})


@pytest.mark.parametrize("path", HTML_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_html_template_turns_autoescape_off_or_includes_a_text_template(path):
    source = path.read_text()
    assert "autoescape off" not in source
    assert re.findall(r'{%\s*(?:include|extends)\s+"[^"]+\.txt"', source) == []
