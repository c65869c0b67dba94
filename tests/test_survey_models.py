"""The survey data model's own guarantees: published versions and their questions never change,
one draft per survey, one response per invitation, all rows in their tenant."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.surveys.models import PublishedVersionIsImmutable, Question
from apps.tenancy.context import tenant_context
from tests import factories as f
from tests.builders import DOMAIN_FACTORIES, domain_object


def test_every_survey_model_has_a_factory_that_builds_in_one_tenant(world):
    for model in DOMAIN_FACTORIES:
        obj = domain_object(world, world.a, model)
        related = [getattr(obj, fld.name) for fld in model._meta.concrete_fields if fld.is_relation and fld.name != "tenant"]
        assert all(r.tenant_id == world.a.pk for r in related if r is not None and hasattr(r, "tenant_id")), model


def test_a_published_version_and_its_questions_are_immutable(world):
    with tenant_context(world.a):
        question = f.QuestionFactory(version__survey__tenant=world.a)
        version = question.version
        version.published_at = timezone.now()
        version.save()
        version.texts = {"en": {"title": "changed"}}
        with pytest.raises(PublishedVersionIsImmutable):
            version.save()
        with pytest.raises(PublishedVersionIsImmutable):
            version.delete()
        question.text = {"en": "changed"}
        with pytest.raises(PublishedVersionIsImmutable):
            question.save()
        with pytest.raises(PublishedVersionIsImmutable):
            Question(version=version, order=2, key="new", type="text", text={"en": "Why?"}).save()
        with pytest.raises(PublishedVersionIsImmutable):
            question.delete()


def test_a_survey_has_at_most_one_draft(world):
    with tenant_context(world.a):
        survey = f.SurveyFactory(tenant=world.a)
        f.SurveyVersionFactory(survey=survey, number=1)
        with pytest.raises(IntegrityError), transaction.atomic():
            f.SurveyVersionFactory(survey=survey, number=2)


def test_an_invitation_has_at_most_one_response(world):
    with tenant_context(world.a):
        invitation = f.InvitationFactory(survey__tenant=world.a)
        version = f.SurveyVersionFactory(survey=invitation.survey)
        f.ResponseFactory(version=version, invitation=invitation)
        with pytest.raises(IntegrityError), transaction.atomic():
            f.ResponseFactory(version=version, invitation=invitation)


def test_with_no_tenant_active_a_published_version_still_cannot_change(world):
    """The immutability check reads through the scoped manager: without a tenant it refuses, where an
    unscoped read under row-level security would have seen no row and let the change through."""
    from apps.tenancy.context import TenantNotActive

    with tenant_context(world.a):
        question = f.QuestionFactory(version__survey__tenant=world.a)
        version = question.version
        version.published_at = timezone.now()
        version.save()
    version.texts = {"en": {"title": "changed"}}
    with pytest.raises((TenantNotActive, PublishedVersionIsImmutable)):
        version.save()
    question.text = {"en": "changed"}
    with pytest.raises((TenantNotActive, PublishedVersionIsImmutable)):
        question.save()
