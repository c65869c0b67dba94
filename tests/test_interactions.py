"""Touchpoints and interactions (issue 4, first step): services, idempotent logging, follow-ups,
offline text sentiment, tenant checks on related rows."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.clients.models import Client, Contact
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from apps.touchpoints.interactions.services import interaction_follow_up_done, interaction_log, interaction_update, text_sentiment
from apps.touchpoints.models import Channel, Interaction
from apps.touchpoints.touchpoints.services import touchpoint_create


@pytest.fixture
def desk(world):
    """Acme's helpdesk touchpoint, a client with a contact, and the same-named client in Globex."""
    def build(tenant, admin):
        with tenant_context(tenant):
            touchpoint = touchpoint_create(tenant=tenant, acting_user=admin, name="Helpdesk call", channel=Channel.PHONE)
            client = Client.objects.create(name="Cedar Dental", active_from=date(2024, 1, 1))
            contact = Contact.objects.create(client=client, name="Jordan Lee", email="jordan@cedar.example")
        return touchpoint, client, contact

    a = build(world.a, world.alice)
    b = build(world.b, world.charlie)
    return {"a": a, "b": b}


def log(world, tenant, user, touchpoint, client, **kwargs):
    with tenant_context(tenant):
        staff = world.membership(user, tenant)
        defaults = {"outcome": Interaction.Outcome.RESOLVED, "summary": "Fixed the invoice address, client was happy"}
        return interaction_log(tenant=tenant, staff=staff, client=client, touchpoint=touchpoint, **{**defaults, **kwargs})


def test_it_logs_an_interaction_and_scores_its_sentiment_after_commit(world, desk, django_capture_on_commit_callbacks):
    touchpoint, client, contact = desk["a"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        interaction, created = log(world, world.a, world.bob, touchpoint, client, contact=contact, predicted_score=9)
    assert created
    assert len(callbacks) == 1
    with tenant_context(world.a):
        interaction.refresh_from_db()
    assert interaction.channel == Channel.PHONE  # from the touchpoint
    assert interaction.text_sentiment is not None
    assert interaction.text_sentiment > 0.05
    assert interaction.predicted_score == 9
    assert interaction.tenant_id == world.a.pk


def test_it_scores_negative_text_below_zero():
    assert text_sentiment("Terrible service, the client is furious and angry") < -0.05
    assert text_sentiment("") == 0.0


def test_it_never_creates_two_rows_for_one_idempotency_key(world, desk):
    touchpoint, client, _ = desk["a"]
    first, created_first = log(world, world.a, world.bob, touchpoint, client, idempotency_key="form-123")
    second, created_second = log(world, world.a, world.bob, touchpoint, client, idempotency_key="form-123",
                                 summary="a retried post with other text")
    assert created_first
    assert not created_second
    assert first.pk == second.pk
    with tenant_context(world.a):
        assert Interaction.objects.count() == 1
    # Keys belong to one staff member: another's identical key is another interaction.
    _, created_other = log(world, world.a, world.carol, touchpoint, client, idempotency_key="form-123")
    assert created_other


def test_it_rejects_another_tenants_client_and_writes_nothing(world, desk):
    touchpoint_a, _, _ = desk["a"]
    _, client_b, _ = desk["b"]
    with pytest.raises(ValidationError) as excinfo:
        log(world, world.a, world.bob, touchpoint_a, client_b)
    assert "client" in excinfo.value.message_dict
    with tenant_context(world.a):
        assert Interaction.objects.count() == 0


@pytest.mark.parametrize("kwargs,field", [
    ({"predicted_score": 11}, "predicted_score"),
    ({"follow_up": True}, "follow_up_due"),
    ({"follow_up_due": date(2030, 1, 1)}, "follow_up_due"),
    ({"outcome": "maybe"}, "outcome"),
    ({"summary": ""}, "summary"),
])
def test_it_rejects_bad_input_with_a_field_error(world, desk, kwargs, field):
    touchpoint, client, _ = desk["a"]
    with pytest.raises(ValidationError) as excinfo:
        log(world, world.a, world.bob, touchpoint, client, **kwargs)
    assert field in excinfo.value.message_dict


def test_it_rejects_a_contact_of_another_client(world, desk):
    touchpoint, client, _ = desk["a"]
    with tenant_context(world.a):
        other = Client.objects.create(name="Other", active_from=date(2024, 1, 1))
        stranger = Contact.objects.create(client=other, name="Sam", email="sam@other.example")
    with pytest.raises(ValidationError) as excinfo:
        log(world, world.a, world.bob, touchpoint, client, contact=stranger)
    assert "contact" in excinfo.value.message_dict


def test_it_lets_the_owner_or_a_lead_close_a_follow_up_once(world, desk):
    touchpoint, client, _ = desk["a"]
    due = date.today() + timedelta(days=2)
    interaction, _ = log(world, world.a, world.bob, touchpoint, client, follow_up=True, follow_up_due=due)
    with tenant_context(world.a):
        dana = world.membership(world.dana, world.a)  # another staff member
        with pytest.raises(PermissionDenied):
            interaction_follow_up_done(tenant=world.a, acting_member=dana, interaction=interaction)
        bob = world.membership(world.bob, world.a)
        done = interaction_follow_up_done(tenant=world.a, acting_member=bob, interaction=interaction).follow_up_done_at
        again = interaction_follow_up_done(tenant=world.a, acting_member=world.membership(world.carol, world.a), interaction=interaction)
        assert done is not None
        assert again.follow_up_done_at == done
        assert world.membership(world.carol, world.a).role == Role.CX_LEAD


def test_only_an_active_staff_member_or_above_logs(world, desk):
    touchpoint, client, _ = desk["a"]
    with pytest.raises(ValidationError) as excinfo:
        log(world, world.a, world.victor, touchpoint, client)  # a viewer
    assert "staff" in excinfo.value.message_dict
    with tenant_context(world.a):
        assert Interaction.objects.count() == 0


def test_the_sentiment_task_fills_text_sentiment_and_is_idempotent(world, desk):
    from apps.touchpoints.tasks import score_interaction_sentiment

    touchpoint, client, _ = desk["a"]
    interaction, _ = log(world, world.a, world.bob, touchpoint, client, summary="Terrible delay, the client is angry")
    with tenant_context(world.a):
        assert Interaction.objects.get(pk=interaction.pk).text_sentiment is None  # not committed in this test: not scored yet
    first = score_interaction_sentiment(world.a.pk, interaction.pk)
    second = score_interaction_sentiment(world.a.pk, interaction.pk)
    with tenant_context(world.a):
        stored = Interaction.objects.get(pk=interaction.pk).text_sentiment
    assert first == second == stored
    assert stored < -0.05
    assert score_interaction_sentiment(world.b.pk, interaction.pk) is None  # another tenant's task never sees it


def test_it_corrects_an_interaction_and_rescores_a_new_summary(world, desk, django_capture_on_commit_callbacks):
    touchpoint, client, _ = desk["a"]
    interaction, _ = log(world, world.a, world.bob, touchpoint, client, summary="Okay call")
    with tenant_context(world.a):
        bob, dana = world.membership(world.bob, world.a), world.membership(world.dana, world.a)
        with pytest.raises(PermissionDenied):
            interaction_update(tenant=world.a, acting_member=dana, interaction=interaction, outcome="escalated")
        with pytest.raises(PermissionDenied):  # an API key with a staff role has no interactions of its own
            interaction_update(tenant=world.a, acting_member=None, role=Role.STAFF, interaction=interaction, outcome="escalated")
        with pytest.raises(ValidationError):
            interaction_update(tenant=world.a, acting_member=bob, interaction=interaction, client=client)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            updated = interaction_update(tenant=world.a, acting_member=bob, interaction=interaction, summary="Wonderful, they love it",
                                         follow_up=True, follow_up_due=date.today())
        assert len(callbacks) == 1
        assert updated.follow_up
        updated.refresh_from_db()
        assert updated.text_sentiment > 0.05
        done = interaction_follow_up_done(tenant=world.a, acting_member=None, role=Role.CX_LEAD, interaction=updated)
        assert done.follow_up_done_at is not None
        reopened = interaction_update(tenant=world.a, acting_member=bob, interaction=done, follow_up=True, follow_up_due=date.today())
        assert reopened.follow_up_done_at is None
        off = interaction_update(tenant=world.a, acting_member=bob, interaction=reopened, follow_up=False)
        assert not off.follow_up
        assert off.follow_up_due is None
