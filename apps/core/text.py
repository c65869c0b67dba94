"""Plain-text templates (the `*.txt` e-mail bodies), rendered in one place.

A text template runs under `{% autoescape off %}` (an e-mail's text part must read "Tom & Jerry", not
"Tom &amp; Jerry"), so what `render_to_string` returns is a SafeString holding whatever the context held
— a respondent's comment with `<div hx-post=…>` included. Put into an HTML page (a preview) that
SafeString is printed as live HTML: no `|safe` anywhere, yet an injection (issue 15, F1).

`render_text` is the only way to render a text template: it returns a plain `str`, never SafeData, so
an HTML template that shows it escapes it like any other text. `tests/test_core_text.py` fails when code
renders a `.txt` template any other way, or when a template name is not written where it is used.
"""

from __future__ import annotations

from django.template.loader import render_to_string

TEXT_SUFFIX = ".txt"


def render_text(template_name: str, context: dict | None = None) -> str:
    """The text template `template_name` (a `.txt`) rendered with `context`, as a plain `str`."""
    if not template_name.endswith(TEXT_SUFFIX):
        raise ValueError(f"render_text renders plain-text templates (*{TEXT_SUFFIX}), not {template_name!r}.")
    rendered = render_to_string(template_name, context)
    return str.__str__(rendered)  # a plain str: SafeString.__str__ would return the SafeString itself
