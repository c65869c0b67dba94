"""The URL map, enumerated (shared by tests/test_url_isolation.py and tests/test_hostile_world.py): every
route with its pattern, the tenant page and API routes, the global routes with the reason each needs no
tenant, the model each page route with an object id looks up, and `fill()` that makes a route's path."""

import re
import uuid

from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.models import MembershipInvitation
from apps.clients.models import AttributeDefinition, Client, Contact, Segment
from apps.feedback import models as feedback_models
from apps.feedback.models import ActionPlan, Announcement, Case
from apps.imports.models import ImportJob
from apps.integrations.models import WebhookDelivery, WebhookEndpoint
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.surveys.models import KioskDevice, ManualSend, Question, Response, ResponseImport, Survey, SurveyVersion, Theme, ThemeSuggestion
from apps.tenancy.models import ApiKey, Membership, Team
from apps.touchpoints.models import Interaction, Touchpoint

TENANT_PAGE_PREFIX = "t/<slug:tenant_slug>/"
TENANT_API_PREFIX = "api/v1/t/<slug:tenant_slug>/"

# Routes outside any tenant, each with the reason it needs none.
GLOBAL_ROUTES = {
    "": "home: redirects a signed-in user to one of their workspaces",
    "workspaces/": "the tenant switcher lists the caller's own memberships",
    "accounts/login/": "signing in precedes choosing a tenant",
    "accounts/logout/": "signing out ends the session in every tenant",
    "accounts/password-reset/": "passwords belong to the person, not to a tenant",
    "accounts/reauthenticate/": "confirming one's password before a security change concerns the person, not a tenant",
    "accounts/inactive/": "django-allauth's page for a deactivated account, before any tenant",
    "accounts/signup/": "says sign-up is closed (people join a workspace by invitation); no tenant data",
    "accounts/sso/": "single sign-on starts before a tenant is chosen: the e-mail's domain finds the workspace's provider",
    "accounts/sso/callback/": "the provider's return: the state kept in this browser's session finds the attempt and its workspace",
    "accounts/2fa/": "two-factor authenticators and passkeys belong to the person and sign them in before a tenant is chosen",
    "accounts/password-reset/sent/": "passwords belong to the person, not to a tenant",
    "accounts/reset/<uidb64>/<token>/": "passwords belong to the person, not to a tenant",
    "accounts/reset/done/": "passwords belong to the person, not to a tenant",
    "invite/<str:token>/": "the invitee is not a member yet; the token's hash finds its tenant",
    "api/schema/": "the OpenAPI schema describes the API, no tenant data",
    "api/docs/": "interactive API docs, no tenant data",
    "health/": "infrastructure health for load balancers",
    "ops/admin/": "Django admin for platform operators; no tenant model is registered there",
    "s/<str:token>/opt-out/": "a surveyed contact has no account: the link's token hash finds the invitation; GET only confirms",
    "s/<str:token>/": "a respondent has no account: the token's hash finds the invitation and its tenant",
    "w/<str:web_token>/": "a public web link is anonymous: the survey's web token finds the survey and its tenant",
    "k/<str:key>/": "a kiosk device has no account: the key's hash finds the device and its tenant",
    "u/<str:token>/": "a \"you said, we did\" recipient has no account: the token's hash finds the recipient row and its "
                      "tenant (an older signed link is checked before any tenant is activated); GET only confirms",
}


def all_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route in GLOBAL_ROUTES:  # a whole allowlisted tree (the Django admin)
                yield route, None
                continue
            yield from all_routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


ROUTES = list(all_routes())
TENANT_ROUTES = [(r, p) for r, p in ROUTES if "<slug:tenant_slug>" in r]
PAGE_ROUTES = [(r, p) for r, p in TENANT_ROUTES if r.startswith(TENANT_PAGE_PREFIX)]
API_ROUTES = [(r, p) for r, p in TENANT_ROUTES if r.startswith(TENANT_API_PREFIX)]


def view_class(pattern):
    return getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)


def _ancestor_uuid(obj, kwarg):
    """For a nested route's `<uuid:journey_uuid>`, the uuid of obj's journey (or its stage's journey…)."""
    name = kwarg.removesuffix("_uuid")
    if obj._meta.model_name == name:  # the route's object itself (surveys/<survey_uuid>/endings/)
        return obj.uuid
    frontier = [obj]
    for _ in range(3):
        for item in frontier:
            if hasattr(item, name):
                return getattr(item, name).uuid
        frontier = [getattr(item, f.name) for item in frontier for f in item._meta.concrete_fields
                    if f.is_relation and f.name != "tenant" and getattr(item, f.name, None) is not None]
    raise AssertionError(f"no {name} above {obj!r}")


# Page routes with an object id name the model they look up.
PAGE_ROUTE_MODELS = {
    "tenancy:member_edit": Membership,
    "tenancy:member_deactivate": Membership,
    "tenancy:member_reactivate": Membership,
    "accounts:invitation_revoke": MembershipInvitation,  # accounts: the view module (under tenancy: names)
    "tenancy:team_delete": Team,
    "tenancy:api_key_revoke": ApiKey,
    "touchpoints:edit": Touchpoint,
    "touchpoints:touchpoint_archive": Touchpoint,
    "touchpoints:touchpoint_restore": Touchpoint,
    "touchpoints:touchpoint_delete": Touchpoint,
    "journeys:map": Journey,
    "journeys:edit": Journey,
    "journeys:journey_delete": Journey,
    "journeys:journey_reorder": Journey,
    "journeys:stage_create": Journey,
    "journeys:stage_edit": Stage,
    "journeys:stage_delete": Stage,
    "journeys:stage_move": Stage,
    "journeys:placement_create": Stage,
    "journeys:placement_edit": StageTouchpoint,
    "journeys:placement_delete": StageTouchpoint,
    "journeys:placement_move": StageTouchpoint,
    "interactions:follow_up_done": Interaction,
    "imports:job": ImportJob, "imports:job_confirm": ImportJob, "imports:job_cancel": ImportJob, "imports:job_status": ImportJob,
    "imports:job_rejections": ImportJob,
    "history:upload": Survey, "history:template": Survey, "history:job": ResponseImport, "history:job_change": ResponseImport,
    "history:job_confirm": ResponseImport, "history:job_cancel": ResponseImport, "history:job_status": ResponseImport,
    "history:job_rejections": ResponseImport,
    "distribution:send": Survey, "distribution:log": Survey, "distribution:test_email": Survey, "distribution:web_link_qr": Survey,
    "distribution:email_texts": Survey, "distribution:email_preview": Survey,
    "distribution:send_progress": ManualSend, "distribution:send_status": ManualSend,
    "distribution:send_cancel": ManualSend,
    "responses:detail": Response, "responses:tag_add": Response, "responses:tag_remove": Response,
    "themes:edit": Theme, "themes:delete": Theme, "themes:suggestion": ThemeSuggestion, "themes:response": Response,
    "dashboards:client360": Client,
    "kiosks:list": Survey, "kiosks:revoke": KioskDevice,
    "surveys:edit": Survey, "surveys:texts": Survey, "surveys:question_create": Survey, "surveys:preview": Survey, "surveys:publish": Survey,
    "surveys:pause": Survey, "surveys:resume": Survey, "surveys:close": Survey, "surveys:survey_delete": Survey, "surveys:versions": Survey,
    "surveys:question_edit": Question, "surveys:question_delete": Question, "surveys:question_move": Question,
    "surveys:version_detail": SurveyVersion,
    "surveys:ending_create": Survey, "surveys:ending_edit": Survey, "surveys:ending_delete": Survey,
    "clients:detail": Client, "clients:edit": Client, "clients:delete": Client, "clients:contact_create": Client,
    "clients:contact_edit": Contact, "clients:contact_delete": Contact, "clients:segment_edit": Segment, "clients:segment_delete": Segment,
    "clients:attribute_delete": AttributeDefinition,
    **{f"plans:{name}": ActionPlan for name in ("detail", "edit", "cancel", "link_case", "unlink_case")},
    "audits:journey": Journey, "audits:journey_pdf": Journey,
    **{f"cases:{name}": feedback_models.Case for name in ("detail", "note", "assign", "take", "start", "resolve", "wont_fix", "reopen")},
    "alerts:rule_edit": feedback_models.AlertRule, "alerts:rule_delete": feedback_models.AlertRule,
    **{f"alerts:{name}": feedback_models.RootCause for name in ("root_cause_edit", "root_cause_archive", "root_cause_restore")},
    "announcements:new_for_case": Case, "announcements:new_for_plan": ActionPlan, "announcements:detail": Announcement,
    "webhooks:detail": WebhookEndpoint, "webhooks:edit": WebhookEndpoint,
    "webhooks:reveal": WebhookEndpoint, "webhooks:rotate": WebhookEndpoint, "webhooks:test": WebhookEndpoint,
    "webhooks:enable": WebhookEndpoint, "webhooks:disable": WebhookEndpoint,
    "webhooks:delete": WebhookEndpoint, "webhooks:redeliver": WebhookDelivery,
}


def fill(route, tenant_slug, object_uuid=None, obj=None):
    """The route's path: `<uuid:uuid>` is the object, `<uuid:journey_uuid>` and the like its parents."""
    path = route.replace("<slug:tenant_slug>", tenant_slug)
    missing = str(object_uuid or uuid.uuid4())

    def one(match):
        if match.group(1) == "uuid" or obj is None:
            return missing
        return str(_ancestor_uuid(obj, match.group(1)))

    path = re.sub(r"<uuid:(\w+)>", one, path)
    path = path.replace("<slug:key>", "detractors")  # an ending's key (surveys:ending_edit)
    assert "<" not in path, f"teach fill() the converters of {route}"
    return "/" + path


def without_csrf(html: bytes) -> bytes:
    """Pages embed a per-response masked CSRF token (the sign-out form); nothing else may differ."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", html)


def page_name(pattern):
    for name in PAGE_ROUTE_MODELS:
        if pattern.name == name.split(":")[1] and name.split(":")[0] in pattern.callback.__module__:  # "edit" is in several apps
            return name
    return None
