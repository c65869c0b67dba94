"""What the HTML-injection tests share (issue 15, F1): the probe's payload — respondent text that htmx
would turn into an admin invitation if it reached a page as HTML — a live survey with a web link and an
alert rule, and a respondent answering it over HTTP.

`live_element_with(html, attribute)` tells whether an HTML document holds an element carrying an
attribute (parsed, not grepped: the escaped payload shows the same words as text)."""

from __future__ import annotations

import time
from html.parser import HTMLParser

from django.utils import timezone

from apps.surveys.models import Survey
from apps.surveys.respond.forms import stamp_make
from apps.tenancy.context import tenant_context
from tests import factories as fx

# The outside probe's comment, as answered on the web link.
HX_PAYLOAD = ('<div hx-post="/t/acme/settings/members/" hx-trigger="load" hx-include="[name=\'csrfmiddlewaretoken\']" '
              'hx-vals=\'{"email":"attacker@evil.example","role":"admin"}\'>Bad service</div>')
HX_PAYLOAD_ESCAPED = ("&lt;div hx-post=&quot;/t/acme/settings/members/&quot; hx-trigger=&quot;load&quot; "
                      "hx-include=&quot;[name=&#x27;csrfmiddlewaretoken&#x27;]&quot;")
WEB_TOKEN = "webTOKENhostile1"


class _Attributes(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def live_element_with(html: str, attribute: str) -> list[tuple[str, dict]]:
    """The elements of `html` that carry `attribute` (e.g. "hx-post")."""
    parser = _Attributes()
    parser.feed(html)
    return [(tag, attrs) for tag, attrs in parser.found if attribute in attrs]


def web_link_survey_with_rule(tenant, assignee, *, token: str = WEB_TOKEN) -> Survey:
    """A live NPS survey (score `nps`, comment `reason`) answerable at /w/<token>/, and a detractor rule
    (NPS ≤ 6) opening a case for `assignee` (a Membership)."""
    survey = fx.SurveyFactory(tenant=tenant, kind="nps", web_token=token, web_link_enabled=True, name="Web NPS")
    version = fx.SurveyVersionFactory(survey=survey, number=1)
    fx.QuestionFactory(version=version, order=1, key="nps", type="nps")
    fx.QuestionFactory(version=version, order=2, key="reason", type="text", required=False, text={"en": "Why?"})
    with tenant_context(tenant):
        version.published_at = timezone.now()
        version.save()
        survey.current_version, survey.status = version, Survey.Status.LIVE
        survey.save()
    fx.AlertRuleFactory(tenant=tenant, name="Detractors", trigger="nps_at_most", threshold=6, assignee=assignee)
    return survey


def answer_web_link(client, *, score: int, comment: str, token: str = WEB_TOKEN):
    """An anonymous respondent answers /w/<token>/ (a form rendered ten seconds ago: not a bot)."""
    return client.post(f"/w/{token}/", {"q_nps": str(score), "q_reason": comment, "stamp": stamp_make(now=time.time() - 10)})
