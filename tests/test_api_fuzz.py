"""schemathesis against the real app (issue 15): every operation of the OpenAPI schema, with an admin
API key and a viewer API key of a seeded workspace.

The workspace is the demo world (clients, contacts, touchpoints, journeys with stages and placements,
published surveys with invitations and responses, cases, root causes, alert rules, action plans) plus
what the demo has no use for (a webhook, a team invitation, a tagged response, both API keys). Every
path parameter names one of its real objects (schemathesis' `path_parameters`), so requests reach
the views' logic instead of stopping at a 404. Requests go through schemathesis' WSGI transport into
Django, in this test's transaction, on Postgres as the app role (tests/conftest.py).

Bounded: a fixed Hypothesis seed and a fixed number of examples per operation and generation mode
(positive: valid input; negative: invalid input, where the operation has a query or a body), about
2 × 1,300 requests in two to three minutes on two cores. Each admin request runs in a savepoint
rolled back after it (every example sees the same seeded world, and a DELETE does not take the
objects away from the next example); the viewer's are kept, so that any write it got through shows.

Held to: no 5xx, no response outside its documented schema (status, content type, body); for the
viewer, no write accepted (every POST/PATCH/PUT/DELETE answers 403, and no tenant row is added,
removed or changed: row counts and latest updated_at per tenant table, audit events included).
The figures per key are printed in the test output and are the message of any failure.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections import Counter, defaultdict
from datetime import date

import pytest
import schemathesis
from django.apps import apps as django_apps
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.db.models import Max
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, MalformedJson, ServerError
from schemathesis.openapi.checks import JsonSchemaError
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from apps.demo.world import TENANTS, seed_demo
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role, TenantScopedModel
from tests.conftest import make_api_key

SEED = 20260415
RUN_DATE = date(2026, 4, 15)
# Examples per operation and generation mode (positive: valid inputs, negative: invalid ones).
EXAMPLES = {GenerationMode.POSITIVE: 6, GenerationMode.NEGATIVE: 3}
# A viewer's writes are refused (403) before their bodies are read, so invalid bodies prove nothing more than valid
# ones; its reads are the admin's reads. Three valid requests per operation show it writes nothing.
VIEWER_EXAMPLES = {GenerationMode.POSITIVE: 3}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


# --- the seeded workspace -----------------------------------------------------------------------

@dataclasses.dataclass
class Workspace:
    tenant: object
    ids: dict  # {path template: {parameter: value}}
    keys: dict  # {role: raw API key}


def _seed(monkeypatch) -> Workspace:
    from apps.accounts.models import MembershipInvitation
    from apps.accounts.services import member_invite
    from apps.clients.models import AttributeDefinition, Client, Contact, Segment
    from apps.feedback.models import ActionPlan, AlertRule, Announcement, Case, RootCause
    from apps.imports.models import ImportJob
    from apps.integrations.models import WebhookEndpoint
    from apps.journeys.models import StageTouchpoint
    from apps.surveys.models import Invitation, ManualSend, Question, Response, ResponseImport, Survey, Theme
    from apps.surveys.responses.services import response_tag_add
    from apps.tenancy.models import ApiKey, Membership, Team, Tenant
    from apps.touchpoints.models import Interaction, Touchpoint

    seed_demo(tenants=[TENANTS[0]], today=RUN_DATE, size=40)  # its surveys are planned for this tenant's slug
    tenant = Tenant.objects.get(slug=TENANTS[0].slug)
    keys = {role: make_api_key(tenant, role=role, name=f"fuzz {role}")[1] for role in (Role.ADMIN, Role.VIEWER)}
    # Webhook URLs are resolved at registration: a fixed public address, never contacted (deliveries
    # are queued on commit, and this test's transaction never commits).
    monkeypatch.setattr("apps.integrations.network._getaddrinfo",
                        lambda host, port: [(2, 1, 6, "", ("93.184.215.14", port))])
    with tenant_context(tenant):
        admin = Membership.objects.select_related("user").filter(role=Role.ADMIN).order_by("pk").first()
        webhook = WebhookEndpoint.objects.create(tenant=tenant, url="https://hooks.example.com/cxm", events=["case.opened"],
                                                 secret="whsec_" + "A" * 43, created_by=admin)
        member_invite(tenant=tenant, acting_user=admin.user, email="newcomer@example.com", role=Role.STAFF)
        response = Response.objects.filter(contact__isnull=False).order_by("pk").first()
        tag, _ = response_tag_add(tenant=tenant, acting_member=admin, response=response, name="pricing")
        placement = StageTouchpoint.objects.select_related("stage__journey").order_by("pk").first()
        stage, journey = placement.stage, placement.stage.journey
        survey = Survey.objects.filter(versions__published_at__isnull=False).distinct().order_by("pk").first()
        question = Question.objects.filter(version__survey=survey).order_by("pk").first()
        manual_send = ManualSend.objects.create(survey=survey, batch=uuid.uuid4(), contact_ids=[], total=0)
        client_import = ImportJob.objects.create(file_name="contacts.csv", format="csv", file_bytes=b"email\nann@example.com\n",
                                                 sha256="0" * 64, status="review", rows_total=1, to_create=1)
        response_import = ResponseImport.objects.create(
            survey=survey, version=survey.current_version, time_zone="UTC", file_name="history.csv", format="csv", status="review",
            file_bytes=b"email,submitted_at,nps\nana@example.com,2024-01-02 10:00,9\n", sha256="0" * 64, rows_total=1, to_create=1,
            summary={"columns": ["email", "submitted_at", "nps"], "mapping_problem": ""},
            mapping={"email": 0, "submitted_at": 1, f"q:{survey.current_version.questions.order_by('order').first().key}": 2})
        first = {model: model.objects.order_by("pk").first() for model in (
            ActionPlan, AlertRule, ApiKey, Case, Client, Contact, Interaction, MembershipInvitation, Membership, RootCause,
            Segment, Invitation, Team, Touchpoint, AttributeDefinition, Theme, Announcement)}
        first[Announcement] = first[Announcement] or Announcement.objects.create(
            case=first[Case], subject="You said, we did", you_said="Replies were slow.", we_did="We answer every morning.")
        slug = {"tenant_slug": tenant.slug}
        prefix = "/api/v1/t/{tenant_slug}/"
        by_resource = {
            "action-plans": first[ActionPlan], "alert-rules": first[AlertRule], "api-keys": first[ApiKey], "cases": first[Case],
            "clients": first[Client], "contacts": first[Contact], "interactions": first[Interaction],
            "invitations": first[MembershipInvitation], "members": admin, "root-causes": first[RootCause],
            "segments": first[Segment], "survey-invitations": first[Invitation], "teams": first[Team],
            "touchpoints": first[Touchpoint], "webhooks": webhook, "journeys": journey, "surveys": survey,
            "responses": response, "survey-sends": manual_send, "attributes": first[AttributeDefinition],
            "themes": first[Theme], "response-imports": response_import, "imports": client_import,
            "announcements": first[Announcement],
        }
        missing = [name for name, obj in by_resource.items() if obj is None] + (["question"] if question is None else [])
        assert missing == [], f"the seeded workspace lacks {missing}"
        ids = {}
        for resource, obj in by_resource.items():
            ids[f"{prefix}{resource}/{{uuid}}/"] = {**slug, "uuid": str(obj.uuid)}
        ids["nested"] = {**slug, "journey_uuid": str(journey.uuid), "stage_uuid": str(stage.uuid),
                         "survey_uuid": str(survey.uuid), "response_uuid": str(response.uuid)}
        ids["stage"] = str(stage.uuid)
        ids["placement"] = str(placement.uuid)
        ids["question"] = str(question.uuid)
        ids["tag"] = str(tag.uuid)
    return Workspace(tenant=tenant, ids=ids, keys=keys)


def path_parameters(ws: Workspace, path: str) -> dict:
    """The real objects an operation's path names: {parameter: value}."""
    prefix = "/api/v1/t/{tenant_slug}/"
    rest = path.removeprefix(prefix)
    values = {**ws.ids["nested"]}
    resource = rest.split("/", 1)[0]
    if f"{prefix}{resource}/{{uuid}}/" in ws.ids:
        values["uuid"] = ws.ids[f"{prefix}{resource}/{{uuid}}/"]["uuid"]
    if rest.startswith("journeys/{journey_uuid}/stages/{stage_uuid}/placements/{uuid}"):
        values["uuid"] = ws.ids["placement"]
    elif rest.startswith("journeys/{journey_uuid}/stages/{uuid}"):
        values["uuid"] = ws.ids["stage"]
    elif rest.startswith("surveys/{survey_uuid}/questions/{uuid}"):
        values["uuid"] = ws.ids["question"]
    elif rest.startswith("responses/{response_uuid}/tags/{uuid}"):
        values["uuid"] = ws.ids["tag"]
    names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    return {name: values[name] for name in names}


# --- tenant rows, to prove a viewer changed nothing ---------------------------------------------

def tenant_fingerprint() -> dict[str, tuple]:
    """Per tenant-scoped model: (rows, latest updated_at) in the active tenant."""
    prints = {}
    for model in django_apps.get_models():
        if not issubclass(model, TenantScopedModel):
            continue
        rows = model.objects.all()
        has_updated = any(f.name == "updated_at" for f in model._meta.concrete_fields)
        latest = rows.aggregate(m=Max("updated_at"))["m"] if has_updated else None
        prints[model._meta.label] = (rows.count(), latest)
    return prints


# --- the run ------------------------------------------------------------------------------------

@dataclasses.dataclass
class Figures:
    role: str
    operations: int = 0
    requests: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    other_failures: int = 0
    writes_accepted: int = 0
    statuses: Counter = dataclasses.field(default_factory=Counter)
    details: dict = dataclasses.field(default_factory=lambda: defaultdict(list))
    no_negative: list = dataclasses.field(default_factory=list)
    call_seconds: float = 0.0
    per_operation: Counter = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        return (f"schemathesis [{self.role} key]: {self.operations} operations, {self.requests} requests, "
                f"{self.server_errors} 5xx, {self.schema_violations} response-schema violations, "
                f"{self.other_failures} other check failures, {self.writes_accepted} writes accepted from a viewer, "
                f"{self.seconds:.0f} s (in the app {self.call_seconds:.0f} s); statuses {dict(sorted(self.statuses.items()))}")


def _classify(figures: Figures, operation: str, failures) -> None:
    for failure in failures:
        if isinstance(failure, ServerError):
            figures.server_errors += 1
            kind = "5xx"
        elif isinstance(failure, JsonSchemaError | MalformedJson):
            figures.schema_violations += 1
            kind = "schema"
        else:
            figures.other_failures += 1
            kind = type(failure).__name__
        figures.details[(kind, operation)].append(getattr(failure, "title", "") + ": " + str(getattr(failure, "message", ""))[:300])


def _fuzz_operation(operation, figures: Figures, params: dict, auth: dict, mode: GenerationMode, count: int) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    viewer = figures.role == Role.VIEWER

    @seed(SEED)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=(Phase.explicit, Phase.generate))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=params, headers=auth))
    def run(case):
        case.path_parameters.update(params)  # negative mode may mutate them: keep the real objects
        # The admin's writes are undone after each example; the viewer's are kept, so that the
        # fingerprint taken after the run shows any write a viewer got through.
        t0 = time.monotonic()
        with transaction.atomic():
            response = case.call(headers=auth)
            figures.call_seconds += time.monotonic() - t0
            figures.per_operation[label] += time.monotonic() - t0
            figures.requests += 1
            figures.statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=auth)
            except FailureGroup as group:
                _classify(figures, label, group.exceptions)
            if viewer and case.method.upper() in WRITE_METHODS and response.status_code != 403:
                figures.writes_accepted += 1
                figures.details[("viewer write", label)].append(f"answered {response.status_code}")
            if not viewer:
                transaction.set_rollback(True)

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (fixed path parameters, no body or query).
        assert mode == GenerationMode.NEGATIVE, f"{label}: no valid request could be generated"
        figures.no_negative.append(label)


def fuzz(schema, ws: Workspace, role: str) -> Figures:
    figures = Figures(role=role)
    auth = {"Authorization": f"Bearer {ws.keys[role]}"}
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        figures.operations += 1
        params = path_parameters(ws, operation.path)
        for mode, count in (VIEWER_EXAMPLES if role == Role.VIEWER else EXAMPLES).items():
            if mode == GenerationMode.NEGATIVE and not (len(operation.query) or len(operation.body)):
                continue  # only the (fixed) path could be made invalid: nothing to negate
            _fuzz_operation(operation, figures, params, auth, mode, count)
    figures.seconds = time.monotonic() - started
    return figures


@pytest.fixture
def quiet_request_logs():
    """Thousands of 4xx are the point of the run: their WARNING lines would bury the figures (5xx,
    logged at ERROR, still show)."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django_structlog")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def app_under_test(world, monkeypatch, quiet_request_logs):
    """Django's WSGI app, as gunicorn runs it. Like Django's test client, it must not close the
    connection at the end of each request: the test's transaction lives on it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _report(figures: Figures) -> str:
    slowest = ", ".join(f"{label} {seconds:.1f} s" for label, seconds in figures.per_operation.most_common(4))
    lines = [figures.line(), f"  slowest in the app: {slowest}"]
    for (kind, operation), messages in sorted(figures.details.items()):
        lines.append(f"  {kind:14} {operation}  ×{len(messages)}: {messages[0]}")
    return "\n".join(lines)


@pytest.mark.timeout(600)
def test_it_keeps_every_operation_within_its_schema_and_a_viewer_writes_nothing(world, app_under_test, monkeypatch, capsys):
    ws = _seed(monkeypatch)  # beside the two-tenant world's other workspaces
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app_under_test)
    admin = fuzz(schema, ws, Role.ADMIN)  # every example rolled back
    with tenant_context(ws.tenant):
        before = tenant_fingerprint()
    viewer = fuzz(schema, ws, Role.VIEWER)  # nothing rolled back
    with tenant_context(ws.tenant):
        after = tenant_fingerprint()
    report = _report(admin) + "\n" + _report(viewer)
    with capsys.disabled():  # the figures, in the test output even without -s (and the message of any failure)
        print("\n" + report)
    for figures in (admin, viewer):
        assert figures.operations >= 120, f"only {figures.operations} operations in the schema"
        assert figures.server_errors == 0, report
        assert figures.schema_violations == 0, report
        assert figures.other_failures == 0, report
    changed = {label: (before[label], after[label]) for label in before if before[label] != after[label]}
    assert changed == {}, f"rows changed while a viewer fuzzed the API (rows, latest updated_at): {changed}\n{report}"
    assert viewer.writes_accepted == 0, report
