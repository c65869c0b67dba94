"""Factories. A child's tenant comes from its parent, and every tenant row is created inside
tenant_context(), so fixtures can never mix tenants (and RLS accepts the insert)."""

import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.accounts.models import User
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership, Role, Team, Tenant

PASSWORD = "correct-horse-battery-staple"


class TenantFactory(DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    time_zone = "Europe/Brussels"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class TenantScopedFactory(DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_context(kwargs["tenant"]):
            obj = model_class(*args, **kwargs)
            obj.save()
            return obj


class TeamFactory(TenantScopedFactory):
    class Meta:
        model = Team

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class MembershipFactory(TenantScopedFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


# --- domain (issue 4): clients, touchpoints, journeys, interactions -----------------------------

class SegmentFactory(TenantScopedFactory):
    class Meta:
        model = "clients.Segment"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Segment {n}")


class ClientFactory(TenantScopedFactory):
    class Meta:
        model = "clients.Client"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Client {n}")
    active_from = datetime.date(2024, 1, 1)


class AttributeDefinitionFactory(TenantScopedFactory):
    class Meta:
        model = "clients.AttributeDefinition"

    tenant = factory.SubFactory(TenantFactory)
    applies_to = "client"
    key = factory.Sequence(lambda n: f"attribute_{n}")
    label = factory.Sequence(lambda n: f"Attribute {n}")


class ContactFactory(TenantScopedFactory):
    class Meta:
        model = "clients.Contact"

    client = factory.SubFactory(ClientFactory)
    tenant = factory.SelfAttribute("client.tenant")
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@client.example")


class TouchpointFactory(TenantScopedFactory):
    class Meta:
        model = "touchpoints.Touchpoint"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Touchpoint {n}")
    channel = "phone"


class JourneyFactory(TenantScopedFactory):
    class Meta:
        model = "journeys.Journey"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Journey {n}")


class StageFactory(TenantScopedFactory):
    class Meta:
        model = "journeys.Stage"

    journey = factory.SubFactory(JourneyFactory)
    tenant = factory.SelfAttribute("journey.tenant")
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Stage {n}")


class StageTouchpointFactory(TenantScopedFactory):
    class Meta:
        model = "journeys.StageTouchpoint"

    stage = factory.SubFactory(StageFactory)
    tenant = factory.SelfAttribute("stage.tenant")
    touchpoint = factory.SubFactory(TouchpointFactory, tenant=factory.SelfAttribute("..tenant"))
    order = factory.Sequence(lambda n: n + 1)


class InteractionFactory(TenantScopedFactory):
    """Give `staff` (a Membership of the same tenant); client and touchpoint default to new ones."""

    class Meta:
        model = "touchpoints.Interaction"

    tenant = factory.SelfAttribute("staff.tenant")
    client = factory.SubFactory(ClientFactory, tenant=factory.SelfAttribute("..tenant"))
    touchpoint = factory.SubFactory(TouchpointFactory, tenant=factory.SelfAttribute("..tenant"))
    occurred_at = factory.LazyFunction(timezone.now)
    channel = factory.SelfAttribute("touchpoint.channel")
    summary = "Called about the renewal"
    outcome = "resolved"


# --- surveys (issue 5) --------------------------------------------------------------------------

class SurveyFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.Survey"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Survey {n}")
    kind = "nps"
    languages = ["en"]


class SurveyVersionFactory(TenantScopedFactory):
    """A draft version; pass published_at=timezone.now() for a published one (questions first!)."""

    class Meta:
        model = "surveys.SurveyVersion"

    survey = factory.SubFactory(SurveyFactory)
    tenant = factory.SelfAttribute("survey.tenant")
    number = factory.Sequence(lambda n: n + 1)
    texts = factory.LazyFunction(lambda: {"en": {"title": "Tell us how we did", "intro": "", "thanks": "Thank you!"}})


class QuestionFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.Question"

    version = factory.SubFactory(SurveyVersionFactory)
    tenant = factory.SelfAttribute("version.tenant")
    order = factory.Sequence(lambda n: n + 1)
    key = factory.Sequence(lambda n: f"q{n}")
    type = "nps"
    text = factory.LazyFunction(lambda: {"en": "How likely are you to recommend us to a friend or colleague?"})


class InvitationFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.Invitation"

    survey = factory.SubFactory(SurveyFactory)
    tenant = factory.SelfAttribute("survey.tenant")
    contact = factory.SubFactory(ContactFactory, client__tenant=factory.SelfAttribute("...tenant"))
    client = factory.SelfAttribute("contact.client")
    email = factory.SelfAttribute("contact.email")
    dedupe_key = factory.Sequence(lambda n: f"test:{n}")
    send_after = factory.LazyFunction(timezone.now)


class ResponseFactory(TenantScopedFactory):
    """Give `version` (published or not); survey follows it."""

    class Meta:
        model = "surveys.Response"

    version = factory.SubFactory(SurveyVersionFactory)
    tenant = factory.SelfAttribute("version.tenant")
    survey = factory.SelfAttribute("version.survey")
    channel = "web"
    submitted_at = factory.LazyFunction(timezone.now)
    nps = 9


class KioskDeviceFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.KioskDevice"

    survey = factory.SubFactory(SurveyFactory)
    tenant = factory.SelfAttribute("survey.tenant")
    name = factory.Sequence(lambda n: f"Front desk {n}")
    key_hash = factory.Sequence(lambda n: f"{n:064x}")


class TagFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.Tag"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"tag-{n}")


class ThemeFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.Theme"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Theme {n}")
    keywords = factory.LazyFunction(lambda: {"en": ["invoice"]})


class ThemeSuggestionFactory(TenantScopedFactory):
    class Meta:
        model = "surveys.ThemeSuggestion"

    tenant = factory.SubFactory(TenantFactory)
    label = factory.Sequence(lambda n: f"suggestion {n}")
    keywords = factory.LazyFunction(lambda: {"en": ["parking"]})
    comments = 10


class ResponseTagFactory(TenantScopedFactory):
    """Give `response`; the tag is a new one of the same tenant unless given."""

    class Meta:
        model = "surveys.ResponseTag"

    response = factory.SubFactory(ResponseFactory)
    tenant = factory.SelfAttribute("response.tenant")
    tag = factory.SubFactory(TagFactory, tenant=factory.SelfAttribute("..tenant"))


# --- closing the loop (issue 8): feedback, integrations, digests ---------------------------------

class RootCauseFactory(TenantScopedFactory):
    class Meta:
        model = "feedback.RootCause"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Cause {n}")


class AlertRuleFactory(TenantScopedFactory):
    """A detractor rule (NPS ≤ 6) for a named member; give `assignee` (a Membership of the tenant)."""

    class Meta:
        model = "feedback.AlertRule"

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    trigger = "nps_at_most"
    threshold = 6
    assign_to = "member"
    assignee = factory.SubFactory(MembershipFactory, tenant=factory.SelfAttribute("..tenant"))
    sla_hours = 48


class CaseFactory(TenantScopedFactory):
    class Meta:
        model = "feedback.Case"

    tenant = factory.SubFactory(TenantFactory)
    source = "client"
    client = factory.SubFactory(ClientFactory, tenant=factory.SelfAttribute("..tenant"))
    title = factory.Sequence(lambda n: f"Case {n}")
    opened_at = factory.LazyFunction(timezone.now)
    due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=48))


class CaseNoteFactory(TenantScopedFactory):
    class Meta:
        model = "feedback.CaseNote"

    case = factory.SubFactory(CaseFactory)
    tenant = factory.SelfAttribute("case.tenant")
    body = "Called the client."


class ActionPlanFactory(TenantScopedFactory):
    class Meta:
        model = "feedback.ActionPlan"

    tenant = factory.SubFactory(TenantFactory)
    title = factory.Sequence(lambda n: f"Plan {n}")
    metric = "nps"
    baseline_first = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=90))
    baseline_last = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=1))
    target_value = 20
    starts_on = factory.LazyFunction(timezone.localdate)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=90))


class AnnouncementFactory(TenantScopedFactory):
    class Meta:
        model = "feedback.Announcement"

    case = factory.SubFactory(CaseFactory)
    tenant = factory.SelfAttribute("case.tenant")
    subject = "You said, we did"
    you_said = "Waiting times were too long."
    we_did = "We added a second shift."


class WebhookEndpointFactory(TenantScopedFactory):
    class Meta:
        model = "integrations.WebhookEndpoint"

    tenant = factory.SubFactory(TenantFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    events = factory.LazyFunction(lambda: ["case.opened"])
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class WebhookDeliveryFactory(TenantScopedFactory):
    class Meta:
        model = "integrations.WebhookDelivery"

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    tenant = factory.SelfAttribute("endpoint.tenant")
    event_type = "case.opened"
    event_id = factory.Sequence(lambda n: f"msg_test{n}")
    payload = factory.LazyFunction(lambda: {"type": "case.opened", "data": {}})


class DigestSubscriptionFactory(TenantScopedFactory):
    class Meta:
        model = "digests.DigestSubscription"

    tenant = factory.SubFactory(TenantFactory)
    membership = factory.SubFactory(MembershipFactory, tenant=factory.SelfAttribute("..tenant"))
    frequency = "weekly"
