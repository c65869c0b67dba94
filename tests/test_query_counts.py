"""No N+1, enumerated from the URL map: every tenant page and API collection answers with the same
number of queries whether the workspace holds a few rows or many of every domain model."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import SsoConnection
from apps.core.crypto import encrypt
from apps.digests.models import DigestSend
from apps.feedback.models import ActionPlanCase
from apps.metrics.themes.rollups import theme_rollups_refresh
from apps.surveys.models import ResponseTheme
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.routes import API_ROUTES, PAGE_ROUTES, view_class

# Pages whose query count depends on something other than row counts, with the reason.
EXEMPT = {}


def populate(world, n, parents=None):
    """n more rows of every domain model in tenant A, around shared parents (so nested lists grow)."""
    a = world.a
    bob = world.membership(world.bob, a)
    parents = parents or {}
    with tenant_context(a):
        journey = parents.get("journey") or f.JourneyFactory(tenant=a)
        stage = parents.get("stage") or f.StageFactory(journey=journey)
        client = parents.get("client") or f.ClientFactory(tenant=a)
        survey = parents.get("survey") or f.SurveyFactory(tenant=a)  # its questions and versions grow below
        draft = parents.get("survey_draft") or f.SurveyVersionFactory(survey=survey)
        SsoConnection.objects.get_or_create(tenant=a, defaults={  # a singleton: its page and API read one row
            "issuer": "https://login.example.com/o", "client_id": "cxm", "client_secret_encrypted": encrypt("s"), "email_domain": "acme.example"})
        for _ in range(n):
            segment = f.SegmentFactory(tenant=a)
            other = f.ClientFactory(tenant=a, segment=segment, owner=bob)
            f.ContactFactory(client=other)
            f.ContactFactory(client=client)
            touchpoint = f.TouchpointFactory(tenant=a)
            f.StageFactory(journey=journey)
            f.StageTouchpointFactory(stage=stage, touchpoint=touchpoint)
            for target in (client, other):
                f.InteractionFactory(staff=bob, client=target, touchpoint=touchpoint, follow_up=True,
                                     follow_up_due=datetime.date(2026, 1, 1), predicted_score=7)
            listed = f.SurveyFactory(tenant=a, touchpoint=touchpoint, stage=stage, recurring_segment=segment)
            commented = f.ResponseFactory(version=f.SurveyVersionFactory(survey=listed), comment="Invoice late", comment_sentiment=-0.3,
                                          comment_language="en", touchpoint=touchpoint, stage=stage, client=other)
            theme = f.ThemeFactory(tenant=a)  # themes: the taxonomy, a comment's themes, suggestions, theme statistics
            ResponseTheme.objects.create(tenant=a, response=commented, theme=theme, source="rule")
            f.ThemeSuggestionFactory(tenant=a, examples=[commented.pk])
            theme_rollups_refresh(a, [commented.local_day])
            f.SurveyVersionFactory(survey=survey, published_at=datetime.datetime.now(datetime.UTC))
            f.QuestionFactory(version=draft)
            # Cases (H2): rules, root causes, cases with notes across assignees, teams and contacts.
            worker = f.MembershipFactory(tenant=a, team=f.TeamFactory(tenant=a))
            rule = f.AlertRuleFactory(tenant=a, assignee=worker, team=worker.team, touchpoint=touchpoint, recovery_survey=listed)
            worked = f.CaseFactory(tenant=a, client=other, contact=f.ContactFactory(client=other), rule=rule, assignee=worker,
                                   team=worker.team, root_cause=f.RootCauseFactory(tenant=a), status="resolved", action_taken="Done.")
            f.CaseNoteFactory(case=worked, author=worker)
            f.CaseNoteFactory(case=f.CaseFactory(tenant=a, client=client, assignee=bob, rule=rule), author=bob)
            asked = f.InvitationFactory(survey=listed, source="recovery")  # recovery dashboard: a recovered case per cause and assignee
            f.ResponseFactory(version=f.SurveyVersionFactory(survey=listed, published_at=datetime.datetime.now(datetime.UTC)),
                              invitation=asked, contact=asked.contact, nps=8)
            case = f.CaseFactory(tenant=a, client=other, trigger_metric="nps", trigger_score=3, root_cause=f.RootCauseFactory(tenant=a),
                                 assignee=f.MembershipFactory(tenant=a), recovery_invitation=asked)
            f.AnnouncementFactory(case=case, sent_by=bob, status="sent")  # the "you said, we did" list
            plan = f.ActionPlanFactory(tenant=a, touchpoint=touchpoint, segment=segment if _ % 2 else None, owner=bob,  # plans: progress batched
                                       metric=("nps", "csat", "ces")[_ % 3], target_value=5, journey=journey if _ % 3 == 1 else None)
            ActionPlanCase.objects.create(tenant=a, plan=plan, case=case)
            member = f.MembershipFactory(tenant=a)  # digests: other members' opt-ins and sends (my page lists mine)
            f.DigestSubscriptionFactory(tenant=a, membership=member, frequency="daily")
            DigestSend.objects.create(tenant=a, membership=member, frequency="daily", period_first=datetime.date(2026, 1, 5),
                                      period_last=datetime.date(2026, 1, 5), outcome="nothing")
            endpoint = f.WebhookEndpointFactory(tenant=a)  # the webhooks list: one row per endpoint, its last delivery
            f.WebhookDeliveryFactory(endpoint=endpoint, status="failed")
    return {"journey": journey, "stage": stage, "client": client, "survey": survey, "survey_draft": draft}


# Routes that need a query parameter to answer 200, with it.
QUERY = {"api/v1/t/<slug:tenant_slug>/metrics/breakdown/": "?by=staff", "api/v1/t/<slug:tenant_slug>/metrics/themes/breakdown/": "?by=stage"}


def path_for(route, parents):
    def one(match):
        name = match.group(1)
        if name == "uuid":
            return None
        return str(parents[name.removesuffix("_uuid")].uuid)

    path = route.replace("<slug:tenant_slug>", "acme")
    if "<uuid:uuid>" in path:
        return None  # a single object: its own tests bound its queries
    return "/" + re.sub(r"<uuid:(\w+)>", one, path) + QUERY.get(route, "")


def count(client, path):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    return response.status_code, len(ctx.captured_queries)


# Form targets without a page of their own (GET answers 405), with the page that shows their form.
POST_ONLY = {"t/<slug:tenant_slug>/settings/teams/": "team_create: its form is on the members page",
             "t/<slug:tenant_slug>/themes/starter/": "its button is on the themes page",
             "t/<slug:tenant_slug>/themes/suggest/": "its button is on the themes page",
             "t/<slug:tenant_slug>/settings/sso/reveal/": "its button is on the single sign-on page",
             "t/<slug:tenant_slug>/settings/sso/delete/": "its button is on the single sign-on page"}

# Routes that only redirect (their target is counted as its own route), with where they go for alice (an admin).
REDIRECTS = {"t/<slug:tenant_slug>/": "/t/acme/dashboards/"}  # the home opens the role's dashboard

LIST_ROUTES = [r for r, p in PAGE_ROUTES + API_ROUTES
               if "<uuid:uuid>" not in r and r not in EXEMPT and r not in POST_ONLY and r not in REDIRECTS
               and (view_class(p) is None or hasattr(view_class(p), "get"))]


@pytest.mark.parametrize("route", sorted(POST_ONLY))
def test_the_post_only_routes_have_no_page(route, world, client):
    client.force_login(world.alice)
    assert client.get(path_for(route, {})).status_code == 405


@pytest.mark.parametrize("route", sorted(REDIRECTS))
def test_the_redirecting_routes_redirect(route, world, client):
    client.force_login(world.alice)
    response = client.get(path_for(route, {}))
    assert (response.status_code, response.url) == (302, REDIRECTS[route])


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_the_number_of_queries_does_not_grow_with_rows(route, world, client, api_client):
    http = api_client if route.startswith("api/") else client
    http.force_login(world.alice)
    parents = populate(world, 2)
    path = path_for(route, parents)
    count(http, path)  # warm up: the first request of a session does one-off work
    status, few = count(http, path)
    assert status == 200, f"{path} answered {status}"
    populate(world, 8, parents)
    status, many = count(http, path)
    assert status == 200
    assert many == few, f"{path}: {few} queries with few rows, {many} with many (N+1?)"
