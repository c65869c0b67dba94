"""Journeys as real data: ordered stages, and touchpoints placed on them in order (DESIGN.md).

Orders are contiguous 1..n per parent (a journey's stages, a stage's placements): the services in
apps.journeys.services keep them so. On Postgres a DEFERRABLE unique (tenant, parent, order), added
in migration 0006, makes a duplicate order impossible while still allowing a reorder to swap rows
inside one transaction; SQLite (the zero-setup default) has no deferrable constraints and relies on
the services alone.
"""

from django.db import models

from apps.clients.models import Segment
from apps.core.models import TimeStampedModel
from apps.tenancy.keys import TenantForeignKey
from apps.tenancy.models import TenantScopedModel
from apps.touchpoints.models import Touchpoint


class Journey(TenantScopedModel, TimeStampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    segment = TenantForeignKey(Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="journeys")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)

    class Meta:
        ordering = ["name"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "name"], name="journeys_journey_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        self.validate_same_tenant("segment")


class Stage(TenantScopedModel, TimeStampedModel):
    class Emotion(models.TextChoices):
        DELIGHTED = "delighted", "Delighted"
        POSITIVE = "positive", "Positive"
        NEUTRAL = "neutral", "Neutral"
        ANXIOUS = "anxious", "Anxious"
        FRUSTRATED = "frustrated", "Frustrated"

    journey = TenantForeignKey(Journey, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    goal = models.CharField(max_length=240, blank=True)
    expected_emotion = models.CharField(max_length=16, choices=Emotion.choices, default=Emotion.NEUTRAL)

    class Meta:
        ordering = ["journey_id", "order"]
        constraints = TenantScopedModel.Meta.constraints
        indexes = [models.Index(fields=["tenant", "journey", "order"], name="journeys_stage_tenant_order")]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def clean(self):
        self.validate_same_tenant("journey")


class StageTouchpoint(TenantScopedModel, TimeStampedModel):
    """A touchpoint placed on a journey stage, in order; moments of truth are marked."""

    stage = TenantForeignKey(Stage, on_delete=models.CASCADE, related_name="placements")
    touchpoint = TenantForeignKey(Touchpoint, on_delete=models.CASCADE, related_name="placements")
    order = models.PositiveSmallIntegerField()
    moment_of_truth = models.BooleanField(default=False)
    expectation = models.CharField(max_length=240, blank=True, help_text="What the client expects at this point.")

    class Meta:
        ordering = ["stage_id", "order"]
        constraints = [
            *TenantScopedModel.Meta.constraints,
            models.UniqueConstraint(fields=["tenant", "stage", "touchpoint"], name="journeys_placement_once_per_stage"),
        ]
        indexes = [models.Index(fields=["tenant", "stage", "order"], name="journeys_placement_stage_order")]

    def __str__(self) -> str:
        return f"{self.stage}: {self.touchpoint}"

    def clean(self):
        self.validate_same_tenant("stage", "touchpoint")


# Named for the OpenAPI schema (ENUM_NAME_OVERRIDES in settings): "status" is also a client's and an invitation's field.
JourneyStatus = Journey.Status
