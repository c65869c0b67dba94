"""Layers 2, 4 and 5 of DESIGN.md, enumerated from the URL map so new routes are covered
automatically: every route is either global (allowlisted with a reason) or goes through a tenant
chokepoint; another tenant's object answers 404 with the same body as a missing one; a wrong role
answers 403; a related id from another tenant in a body is rejected and writes nothing."""

import uuid

import pytest
from rest_framework import serializers

from apps.accounts.models import MembershipInvitation
from apps.accounts.services import member_invite
from apps.imports.models import ImportJob
from apps.surveys.models import ManualSend, ResponseImport, Survey, SurveyVersion
from apps.tenancy.api import TenantApi
from apps.tenancy.context import tenant_context
from apps.tenancy.models import ApiKey, AuditEvent, Membership, Role, Team
from tests.builders import DOMAIN_FACTORIES, domain_object
from tests.conftest import make_api_key
from tests.routes import (
    API_ROUTES,
    GLOBAL_ROUTES,
    PAGE_ROUTE_MODELS,
    PAGE_ROUTES,
    ROUTES,
    TENANT_API_PREFIX,
    TENANT_PAGE_PREFIX,
    TENANT_ROUTES,
    fill,
    page_name,
    view_class,
    without_csrf,
)


def test_it_allows_only_listed_global_routes():
    unlisted = [route for route, _ in ROUTES if "<slug:tenant_slug>" not in route and route not in GLOBAL_ROUTES]
    assert unlisted == [], f"Put these under /t/<tenant_slug>/ or /api/v1/t/<tenant_slug>/, or allowlist them: {unlisted}"


def test_it_mounts_tenant_routes_only_at_the_two_chokepoints():
    stray = [r for r, _ in TENANT_ROUTES if not r.startswith((TENANT_PAGE_PREFIX, TENANT_API_PREFIX))]
    assert stray == []
    assert PAGE_ROUTES
    assert API_ROUTES


@pytest.mark.parametrize("route,pattern", API_ROUTES, ids=[r for r, _ in API_ROUTES])
def test_it_serves_tenant_api_routes_only_from_tenant_api_views(route, pattern):
    cls = view_class(pattern)
    assert isinstance(cls, type), f"{route} must be a TenantApi view"
    assert issubclass(cls, TenantApi), f"{route} must be a TenantApi view"


@pytest.mark.parametrize("route,pattern", PAGE_ROUTES, ids=[r for r, _ in PAGE_ROUTES])
def test_it_declares_roles_on_every_tenant_page(route, pattern):
    assert view_class(pattern) is None or not issubclass(view_class(pattern), TenantApi)
    assert getattr(pattern.callback, "required_roles", None), f"{route}: decorate the view with @tenant_role_required"


def test_no_view_outside_the_api_tree_is_a_tenant_api():
    for route, pattern in ROUTES:
        if pattern is not None and not route.startswith(TENANT_API_PREFIX):
            cls = view_class(pattern)
            assert not (isinstance(cls, type) and issubclass(cls, TenantApi)), route


# --- objects of another tenant, per model: new models with routes must be added here ----------

def _other_tenant_object(world, model):
    """An object of `model` that lives in tenant B (world.b)."""
    with tenant_context(world.b):
        if model is Membership:
            return Membership.objects.get(user=world.charlie)
        if model is Team:
            return Team.objects.get(name="Support")
        if model is ApiKey:
            return make_api_key(world.b, name="b key")[0]
        if model is MembershipInvitation:
            return member_invite(tenant=world.b, acting_user=world.charlie, email="newbie@example.com", role=Role.STAFF)[0]
        if model is AuditEvent:
            from apps.tenancy.services import audit_event_record

            return audit_event_record(tenant=world.b, acting_user=None, action="test.event")
        if model is ManualSend:
            return ManualSend.objects.create(tenant=world.b, survey=domain_object(world, world.b, Survey), batch=uuid.uuid4())
        if model is ImportJob:
            return ImportJob.objects.create(tenant=world.b, file_name="b.csv", format="csv", file_bytes=b"email\n", sha256="0" * 64)
        if model is ResponseImport:
            version = domain_object(world, world.b, SurveyVersion)
            return ResponseImport.objects.create(tenant=world.b, survey=version.survey, version=version, time_zone="UTC", file_name="b.csv",
                                                 format="csv", file_bytes=b"email\n", sha256="0" * 64)
        if model in DOMAIN_FACTORIES:
            return domain_object(world, world.b, model)
    raise AssertionError(f"Add {model.__name__} to _other_tenant_object so its routes are isolation-tested")




@pytest.mark.parametrize("route,pattern", PAGE_ROUTES, ids=[r for r, _ in PAGE_ROUTES])
def test_it_hides_every_tenant_page_from_non_members(route, pattern, world, client):
    client.force_login(world.charlie)  # admin of B, not a member of A
    for method in ("get", "post"):
        response = getattr(client, method)(fill(route, "acme"))
        assert response.status_code == 404, f"{method.upper()} {route}"
    response = client.get(fill(route, "no-such-tenant"))
    assert response.status_code == 404


@pytest.mark.parametrize("route,pattern", PAGE_ROUTES, ids=[r for r, _ in PAGE_ROUTES])
def test_it_sends_anonymous_visitors_of_tenant_pages_to_login(route, pattern, client, world):
    response = client.get(fill(route, "acme"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("route,pattern", [(r, p) for r, p in PAGE_ROUTES if "<uuid:" in r],
                         ids=[r for r, _ in PAGE_ROUTES if "<uuid:" in r])
def test_it_answers_404_for_another_tenants_object_on_pages(route, pattern, world, client):
    name = page_name(pattern)
    assert name, f"add {route} ({pattern.name}) to PAGE_ROUTE_MODELS"
    foreign = _other_tenant_object(world, PAGE_ROUTE_MODELS[name])
    client.force_login(world.alice)  # admin of A
    for method in ("get", "post"):
        foreign_response = getattr(client, method)(fill(route, "acme", foreign.uuid, foreign))
        missing_response = getattr(client, method)(fill(route, "acme"))
        assert foreign_response.status_code == missing_response.status_code, f"{method} {route}"
        assert foreign_response.status_code in (404, 405)
        assert without_csrf(foreign_response.content) == without_csrf(missing_response.content)


ROLE_USERS = {Role.ADMIN: "alice", Role.CX_LEAD: "carol", Role.STAFF: "bob", Role.VIEWER: "victor"}


@pytest.mark.parametrize("route,pattern", PAGE_ROUTES, ids=[r for r, _ in PAGE_ROUTES])
def test_it_answers_403_to_roles_a_page_does_not_allow(route, pattern, world, client):
    allowed = pattern.callback.required_roles
    for role, username in ROLE_USERS.items():
        client.force_login(getattr(world, username))
        response = client.get(fill(route, "acme"))
        if response.status_code == 405:  # POST-only action
            response = client.post(fill(route, "acme"))
        if role in allowed:
            assert response.status_code in (200, 302, 400, 404), f"{role} on {route}"
        else:
            assert response.status_code == 403, f"{role} on {route}"


# --- API ---------------------------------------------------------------------------------------

def api_methods(pattern):
    cls = view_class(pattern)
    return [m for m in ("get", "post", "patch", "put", "delete") if hasattr(cls, m)]


def required_roles(cls, method):
    view = cls()
    if method == "get":
        return view.read_roles
    return view.write_roles if view.write_roles is not None else view.read_roles


@pytest.mark.parametrize("route,pattern", API_ROUTES, ids=[r for r, _ in API_ROUTES])
def test_it_answers_404_for_another_tenants_object_in_the_api(route, pattern, world, api_client):
    cls = view_class(pattern)
    api_client.force_authenticate(None)
    api_client.force_login(world.alice)
    if "<uuid:" not in route:
        # Tenant level: a member of B only, on A's route, is told A does not exist.
        api_client.force_login(world.charlie)
        for method in api_methods(pattern):
            foreign = getattr(api_client, method)(fill(route, "acme"), {}, format="json")
            missing = getattr(api_client, method)(fill(route, "no-such-tenant"), {}, format="json")
            assert foreign.status_code == missing.status_code == 404, f"{method} {route}"
            assert foreign.json() == missing.json() == {"error": {"code": "not_found", "message": "Not found."}}
        return
    foreign_obj = _other_tenant_object(world, cls.queryset_model)
    for method in api_methods(pattern):
        foreign = getattr(api_client, method)(fill(route, "acme", foreign_obj.uuid, foreign_obj), {}, format="json")
        missing = getattr(api_client, method)(fill(route, "acme"), {}, format="json")
        assert foreign.status_code == missing.status_code == 404, f"{method.upper()} {route}: {foreign.status_code}"
        assert foreign.content == missing.content


@pytest.mark.parametrize("route,pattern", API_ROUTES, ids=[r for r, _ in API_ROUTES])
def test_it_answers_404_to_an_api_key_of_another_tenant(route, pattern, world, api_client):
    _, raw_key = make_api_key(world.b, role=Role.ADMIN)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    for method in api_methods(pattern):
        response = getattr(api_client, method)(fill(route, "acme"), {}, format="json")
        assert response.status_code == 404, f"{method} {route}"
        assert response.json()["error"]["code"] == "not_found", f"{method} {route}"


@pytest.mark.parametrize("route,pattern", API_ROUTES, ids=[r for r, _ in API_ROUTES])
def test_it_answers_403_to_roles_an_api_route_does_not_allow(route, pattern, world, api_client):
    cls = view_class(pattern)
    # Roles a route serves only as a person (e.g. staff reading their own numbers), never through an API key.
    person_only = getattr(cls, "api_key_refused_roles", frozenset())
    for method in api_methods(pattern):
        roles = required_roles(cls, method) - person_only
        for role in Role:
            _, raw_key = make_api_key(world.a, role=role, name=f"{role} key")
            api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
            response = getattr(api_client, method)(fill(route, "acme"), {}, format="json")
            if role in roles:
                assert response.status_code != 403, f"{role} {method} {route}"
            else:
                assert response.status_code == 403, f"{role} {method} {route}: {response.status_code}"
                assert response.json()["error"]["code"] == "permission_denied"


def related_fields(cls, method):
    """(field name, model) for every related field of the view's input serializer."""
    serializer_cls = getattr(cls, "Input", None)
    if serializer_cls is None or method in ("get", "delete"):  # a DELETE has no body
        return []
    fields = serializer_cls().fields
    return [(name, f.queryset.model) for name, f in fields.items() if isinstance(f, serializers.RelatedField)]


BODY_ROUTES = [(r, p, m, name, model) for r, p in API_ROUTES for m in api_methods(p)
               for name, model in related_fields(view_class(p), m)]


@pytest.mark.parametrize("route,pattern,method,field,model", BODY_ROUTES,
                         ids=[f"{m} {r} {f}" for r, _, m, f, _ in BODY_ROUTES])
def test_it_rejects_a_related_id_of_another_tenant_in_a_body(route, pattern, method, field, model, world, api_client):
    cls = view_class(pattern)
    foreign = _other_tenant_object(world, model)
    target = _other_tenant_object_for_a(world, cls.queryset_model) if "<uuid:" in route else None
    api_client.force_login(world.alice)
    valid_body = {"email": "someone.new@example.com", "role": "staff", "name": "Body test"}
    counts_before = _counts(world.a)
    response = getattr(api_client, method)(fill(route, "acme", target.uuid if target else None, target),
                                           {**valid_body, field: str(foreign.uuid)}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_error"
    assert field in body["fields"]
    assert _counts(world.a) == counts_before, "a rejected request wrote rows"


def _other_tenant_object_for_a(world, model):
    """An object of `model` in tenant A (the target of a PATCH whose body names B's rows)."""
    with tenant_context(world.a):
        if model is Membership:
            return Membership.objects.get(user=world.bob)
        if model is Team:
            return Team.objects.get(name="Support")
    if model in DOMAIN_FACTORIES:
        return domain_object(world, world.a, model)
    raise AssertionError(f"teach _other_tenant_object_for_a about {model.__name__}")


def _counts(tenant):
    with tenant_context(tenant):
        models = (Membership, Team, ApiKey, AuditEvent, MembershipInvitation, *DOMAIN_FACTORIES)
        return {m.__name__: m.objects.count() for m in models} | {
            "bob_team": Membership.objects.get(user__email="bob@example.com").team_id}


def test_it_covers_body_routes():
    assert {(r, m, f) for r, _, m, f, _ in BODY_ROUTES} >= {
        (TENANT_API_PREFIX + "members/<uuid:uuid>/", "patch", "team"),
        (TENANT_API_PREFIX + "invitations/", "post", "team"),
    }


# --- foreign ids in query parameters -----------------------------------------------------------

def query_filters(cls):
    """(parameter, model) for every related filter of a list view's filterset (django-filter)."""
    import django_filters

    filterset_class = getattr(cls, "filterset_class", None)
    if filterset_class is None:
        return []
    related = (django_filters.ModelChoiceFilter, django_filters.ModelMultipleChoiceFilter)
    return [(name, f.queryset.model) for name, f in filterset_class.base_filters.items() if isinstance(f, related)]


QUERY_ROUTES = [(r, p, name, model) for r, p in API_ROUTES if "<uuid:uuid>" not in r and hasattr(view_class(p), "get")
                for name, model in query_filters(view_class(p))]


@pytest.mark.parametrize("route,pattern,param,model", QUERY_ROUTES, ids=[f"{r} ?{n}" for r, _, n, _ in QUERY_ROUTES])
def test_it_rejects_an_id_of_another_tenant_in_a_query_parameter(route, pattern, param, model, world, api_client):
    foreign = _other_tenant_object(world, model)
    parent = _other_tenant_object_for_a(world, view_class(pattern).queryset_model) if "<uuid:" in route else None
    api_client.force_login(world.alice)
    response = api_client.get(fill(route, "acme", obj=parent), {param: str(foreign.uuid)})
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "validation_error", body
    assert param in body["fields"], body
    # The same filter with A's own row is accepted.
    own = _other_tenant_object_for_a(world, model)
    assert api_client.get(fill(route, "acme", obj=parent), {param: str(own.uuid)}).status_code == 200


def test_every_related_filter_takes_a_public_uuid():
    for route, pattern, param, _ in QUERY_ROUTES:
        f = view_class(pattern).filterset_class.base_filters[param]
        assert f.extra.get("to_field_name") == "uuid", f"{route} ?{param}: filter by uuid, never by the integer pk"


def test_it_covers_the_foreign_ids_issue_4_names():
    """A client, contact, touchpoint, stage or staff member of another tenant, in a body or a query."""
    body_fields = {field for _, _, _, field, _ in BODY_ROUTES}
    query_params = {param for _, _, param, _ in QUERY_ROUTES}
    assert {"client", "contact", "touchpoint", "stage", "staff", "owner", "segment", "team"} <= body_fields
    assert {"client", "contact", "touchpoint", "staff", "owner", "segment", "team"} <= query_params
