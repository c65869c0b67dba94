"""apps.core.widgets: the Python-rendered select has the markup of Django's template-rendered one."""

from __future__ import annotations

import re

from django import forms

from apps.core.widgets import PlainSelect


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", str(html)).strip()


CHOICES = [("", "All"), ("a", "Alpha & <b>"), ("Group \"x\"", [("b", "Beta"), ("c", "Gamma")]), ("d", "Delta")]


def test_it_renders_what_djangos_select_renders():
    for value in ("", "a", "c", None, "unknown"):
        attrs = {"id": "id_f", "aria-describedby": "f_help", "aria-invalid": True, "disabled": False}
        plain = PlainSelect(choices=CHOICES).render("f", value, attrs=attrs)
        django = forms.Select(choices=CHOICES).render("f", value, attrs=attrs)
        assert _normal(plain) == _normal(django)


def test_it_escapes_labels_and_marks_the_selected_option():
    html = PlainSelect(choices=CHOICES).render("f", "c")
    assert "Alpha &amp; &lt;b&gt;" in html
    assert '<option value="c" selected>Gamma</option>' in html
    assert '<optgroup label="Group &quot;x&quot;">' in html


def test_a_bound_field_keeps_its_label_link_and_error_description():
    class Form(forms.Form):
        f = forms.ChoiceField(choices=CHOICES, widget=PlainSelect)

    bound = Form({"f": "zzz"})["f"]
    assert bound.errors
    html = str(bound)
    assert 'id="id_f"' in html
    assert 'aria-invalid="true"' in html
