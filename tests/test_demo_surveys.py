"""The demo's surveys and answers (issue 5, "Demo data"): per tenant, the surveys and their kiosk,
18 months of responses pinned to their versions (one survey with two), predicted-versus-actual pairs
with staff over-estimating, skip reasons in the send log; the replayed responses follow
`response_submit`'s attribution rules; seeding twice changes nothing."""

from datetime import date, timedelta

from django.db.models import Avg, Count, F, Max, Min

from apps.demo.world import seed_demo
from apps.surveys.models import Answer, Invitation, KioskDevice, Response, ResponseTag, Survey, SurveyVersion, Tag
from apps.surveys.respond.services import _attribution
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Tenant

RUN_DATE = date(2026, 3, 16)
SURVEY_MODELS = [Survey, SurveyVersion, Invitation, Response, Answer, KioskDevice, Tag, ResponseTag]


def _counts():
    counts = {}
    for tenant in Tenant.objects.order_by("slug"):
        with tenant_context(tenant):
            counts[tenant.slug] = {m.__name__: m.objects.count() for m in SURVEY_MODELS}
    return counts


def test_it_seeds_surveys_and_18_months_of_answers_once(db):
    seed_demo(today=RUN_DATE)
    second_language = {"northwind": "fr", "harbor": "es"}
    pairs_total = 0
    for tenant in Tenant.objects.order_by("slug"):
        with tenant_context(tenant):
            surveys = {s.name: s for s in Survey.objects.select_related("current_version", "touchpoint")}
            kinds = {s.kind for s in surveys.values()}
            assert {"nps", "csat", "ces", "smiley"} <= kinds
            assert all(s.status == "live" and s.current_version.published_at for s in surveys.values())
            assert all(s.languages == ["en", second_language[tenant.slug]] for s in surveys.values())
            triggers = {s.trigger for s in surveys.values()}
            assert triggers == {"after_interaction", "recurring", "manual"}
            relationship = surveys["Relationship survey"]
            assert relationship.recurring_months == 6
            assert relationship.kind == "nps"
            assert any(s.touchpoint.is_key for s in surveys.values() if s.kind == "nps" and s.touchpoint)
            assert KioskDevice.objects.filter(survey__kind="smiley", revoked_at=None).count() == 1

            responses = Response.objects.filter(is_bot=False)
            assert responses.count() >= 1000
            span = responses.aggregate(first=Min("submitted_at"), last=Max("submitted_at"))
            assert (span["last"] - span["first"]).days >= 17 * 30
            assert span["last"].date() <= RUN_DATE
            assert set(responses.values_list("channel", flat=True)) == {"email", "kiosk"}
            assert Response.objects.filter(is_bot=True).exists()
            # Every response is pinned to a published version it was answered after; one survey has two versions in use.
            assert not responses.filter(version__published_at__gt=F("submitted_at")).exists()
            per_version = responses.values("survey").annotate(versions=Count("version", distinct=True))
            assert max(row["versions"] for row in per_version) == 2
            reworded = Survey.objects.annotate(n=Count("versions")).get(n=2)
            v1, v2 = reworded.versions.order_by("number")
            assert v1.questions.get(key="reason").text != v2.questions.get(key="reason").text
            assert responses.filter(version=v1).exists()
            assert responses.filter(version=v2).exists()
            assert reworded.current_version == v2
            # Answers: in both languages, comments from templates, scores on their scales.
            assert set(responses.values_list("language", flat=True)) >= {"en", second_language[tenant.slug]}
            assert responses.exclude(comment="").count() > responses.count() / 4
            assert Answer.objects.filter(response__in=responses).count() >= responses.count()
            # Predicted vs actual: the staff over-estimate, a little.
            pairs = responses.filter(nps__isnull=False, interaction__predicted_score__isnull=False)
            assert pairs.count() >= 100
            gap = pairs.aggregate(gap=Avg(F("interaction__predicted_score") - F("nps")))["gap"]
            assert 0 < gap < 2.5
            pairs_total += pairs.count()
            # The send log: sent and answered at a realistic rate, the rest skipped with their reasons.
            invitations = Invitation.objects.all()
            delivered = invitations.filter(status__in=["sent", "opened", "responded", "expired"]).count()
            responded = invitations.filter(status="responded").count()
            assert 0.30 <= responded / delivered <= 0.45
            assert responded == responses.filter(channel="email").count()
            reasons = set(invitations.filter(status="skipped").values_list("skip_reason", flat=True))
            assert {"fatigued", "opted_out"} <= reasons
            assert "" not in reasons
            assert not invitations.filter(status="responded", responded_at__isnull=True).exists()
            assert not invitations.exclude(sent_at=None).filter(token_hash="").exists()
            assert invitations.aggregate(first=Min("created_at"))["first"].date() < RUN_DATE - timedelta(days=500)
            assert ResponseTag.objects.exists()
    assert pairs_total >= 200

    before = _counts()
    seed_demo(today=RUN_DATE + timedelta(days=2))
    assert _counts() == before


def test_replayed_responses_follow_the_respondent_services_attribution(db):
    seed_demo(today=RUN_DATE)
    tenant = Tenant.objects.get(slug="harbor")
    with tenant_context(tenant):
        sample = (Response.objects.filter(is_bot=False).select_related("survey", "invitation__interaction", "invitation__contact", "kiosk")
                  .order_by("submitted_at")[::25])
        assert len(sample) > 40
        for response in sample:
            expected = _attribution(survey=response.survey, invitation=response.invitation, kiosk=response.kiosk)
            actual = {field: getattr(response, field) for field in expected}
            assert actual == expected, response.pk
            if response.invitation is not None:
                assert response.invitation.status == "responded"
                assert response.invitation.responded_at == response.submitted_at
                assert response.version_id == response.invitation.version_id
