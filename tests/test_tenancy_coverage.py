"""Layer 1 and 4 of DESIGN.md: every model is tenant-scoped or allowlisted with a reason; every
unique constraint and index of a tenant model leads with / includes the tenant; the default
manager fails closed; saves cannot cross tenants."""

import pytest
from django.apps import apps
from django.db import models

from apps.tenancy.context import CrossTenantWrite, TenantNotActive, get_current_tenant, tenant_context
from apps.tenancy.managers import TenantScopedManager
from apps.tenancy.models import Membership, Team, TenantScopedModel
from tests.builders import tenant_models

# Global (not tenant-owned) models, each with the reason it may not carry a tenant.
GLOBAL_MODELS = {
    "tenancy.Tenant": "the tenant registry itself: the key every scope uses",
    "accounts.User": "a person may belong to several tenants; access to each goes through Membership",
    "accounts.UserSession": "a browser signed in as a user, who may belong to several tenants; only that user sees and ends it",
    "accounts.User_groups": "Django auth plumbing for platform operators (Django admin), not tenant data",
    "accounts.User_user_permissions": "Django auth plumbing for platform operators (Django admin), not tenant data",
    "auth.Permission": "Django's permission catalogue: code metadata, not tenant data",
    "auth.Group": "Django admin groups for platform operators; tenant roles live on Membership",
    "auth.Group_permissions": "Django auth plumbing for platform operators",
    "contenttypes.ContentType": "Django's model registry: code metadata, not tenant data",
    "sessions.Session": "a login session exists before a tenant is chosen and can switch tenants",
    "admin.LogEntry": "platform operators' Django-admin history (tenant models are not in that admin)",
    "axes.AccessAttempt": "login lockout bookkeeping happens before any tenant is known",
    "axes.AccessLog": "login lockout bookkeeping happens before any tenant is known",
    "axes.AccessFailureLog": "login lockout bookkeeping happens before any tenant is known",
    "axes.AccessAttemptExpiration": "login lockout bookkeeping happens before any tenant is known",
    "mfa.Authenticator": "a person's second factor (authenticator app, recovery codes, passkey): it signs the person in, "
                         "before any tenant is chosen, and serves every workspace they belong to",
    "account.EmailAddress": "django-allauth's record of a person's sign-in address, global like the person",
    "account.EmailConfirmation": "django-allauth's e-mail confirmation bookkeeping (unused: members are invited), global like the person",
    "tenancy.DeferredTask": "a task the broker refused (task name and ids, like a broker message): sent later by the "
                            "sweep, which runs before any tenant is active",
    "tenancy.TenantDue": "when each tenant next has work due (tenant ids, kind names, times): the beat's one query reads it "
                         "across tenants to wake only those (apps/tenancy/due.py)",
}


def test_it_scopes_every_model_or_allowlists_it_with_a_reason():
    unaccounted = [
        m._meta.label for m in apps.get_models(include_auto_created=True)
        if not issubclass(m, TenantScopedModel) and m._meta.label not in GLOBAL_MODELS
    ]
    assert unaccounted == [], f"Make these TenantScopedModel or allowlist them with a reason: {unaccounted}"


def test_it_keeps_the_allowlist_honest():
    labels = {m._meta.label for m in apps.get_models(include_auto_created=True)}
    assert set(GLOBAL_MODELS) <= labels, f"stale allowlist entries: {set(GLOBAL_MODELS) - labels}"
    assert all(len(reason) > 20 for reason in GLOBAL_MODELS.values())


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_it_includes_the_tenant_in_every_unique_constraint(model):
    opts = model._meta
    for field in opts.local_fields:
        assert not field.unique or field.primary_key, f"{opts.label}.{field.name} is unique without the tenant"
    for together in opts.unique_together:
        assert "tenant" in together, f"{opts.label} unique_together {together} lacks tenant"
    uniques = [c for c in opts.constraints if isinstance(c, models.UniqueConstraint)]
    if any(f.name == "uuid" for f in opts.local_fields):
        assert any(tuple(c.fields) == ("tenant", "uuid") for c in uniques), f"{opts.label}: public uuid not unique per tenant"
    else:  # rollup and lock tables: never addressed one row at a time, keyed by their natural key
        assert len(opts.pk_fields) > 1, f"{opts.label}: a table without a public uuid needs a natural primary key"
        assert opts.pk_fields[0].name == "tenant", f"{opts.label}: its natural key must lead with tenant"
    for constraint in uniques:
        assert leading_field(constraint) == "tenant", f"{opts.label}: {constraint.name} must lead with tenant"


def leading_field(constraint):
    if constraint.fields:
        return constraint.fields[0]
    return getattr(constraint.expressions[0], "name", None)  # UniqueConstraint("tenant", Lower("email"))


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_it_leads_every_declared_index_with_the_tenant(model):
    for index in model._meta.indexes:
        assert index.fields[0] == "tenant", f"{model._meta.label}: index {index.name} must lead with tenant"


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_it_makes_the_scoped_manager_the_default(model):
    assert isinstance(model._default_manager, TenantScopedManager)
    assert model._default_manager.name == "objects"
    assert hasattr(model, "all_tenants")


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_it_raises_without_an_active_tenant(model, db):
    assert get_current_tenant() is None
    with pytest.raises(TenantNotActive):
        list(model.objects.all())
    with pytest.raises(TenantNotActive):
        model.objects.filter(pk=1).exists()


def test_it_scopes_queries_to_the_active_tenant(world):
    with tenant_context(world.a):
        assert {m.user.email for m in Membership.objects.select_related("user")} == {
            "alice@example.com", "carol@example.com", "bob@example.com", "victor@example.com", "dana@example.com"}
    with tenant_context(world.b):
        assert {m.user.email for m in Membership.objects.select_related("user")} == {"charlie@example.com", "dana@example.com"}


def test_it_scopes_reverse_relations(world):
    with tenant_context(world.b):
        assert [m.tenant_id for m in world.dana.memberships.all()] == [world.b.pk]


def test_it_refuses_to_save_into_another_tenant(world):
    with tenant_context(world.a):
        team_a = Team.objects.get(name="Support")
    with tenant_context(world.b):
        team_a.name = "Hijacked"
        with pytest.raises(CrossTenantWrite):
            team_a.save()
    with tenant_context(world.a):
        assert Team.objects.get(pk=team_a.pk).name == "Support"


def test_it_fills_the_tenant_from_the_context_and_refuses_without_one(world):
    with tenant_context(world.c):
        team = Team(name="Ops")
        team.save()
        assert team.tenant_id == world.c.pk
    with pytest.raises(TenantNotActive):
        Team(name="Nowhere").save()


def test_it_restores_the_enclosing_tenant_when_contexts_nest(world):
    with tenant_context(world.a):
        with tenant_context(world.b):
            assert get_current_tenant() == world.b
            assert Team.objects.get(name="Support").tenant_id == world.b.pk
        assert get_current_tenant() == world.a
        assert Team.objects.get(name="Support").tenant_id == world.a.pk
    assert get_current_tenant() is None


def test_it_resets_the_tenant_when_the_block_raises(world):
    with pytest.raises(ZeroDivisionError):
        with tenant_context(world.a):
            raise ZeroDivisionError
    assert get_current_tenant() is None
