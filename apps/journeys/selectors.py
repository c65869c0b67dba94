"""Reads for journeys: the list, the editor's rows, the API's nested detail and the journey map.

Every function issues a fixed number of queries whatever the number of stages and placements; the
editor and the map return frozen dataclasses, so templates never query.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.touchpoints.models import Interaction

ACTIVITY_DAYS = 90
# Expected emotion as a level on the map's emotion curve (5 = delighted … 1 = frustrated).
EMOTION_LEVELS = {"delighted": 5, "positive": 4, "neutral": 3, "anxious": 2, "frustrated": 1}


def journey_list() -> QuerySet[Journey]:
    """Journeys with `segment`, `stage_count` and `touchpoint_count` (distinct touchpoints placed)."""
    return (
        Journey.objects.select_related("segment")
        .annotate(stage_count=Count("stages", distinct=True),
                  touchpoint_count=Count("stages__placements__touchpoint", distinct=True))
        .order_by("name")
    )


def placement_list() -> QuerySet[StageTouchpoint]:
    return StageTouchpoint.objects.select_related("stage__journey", "touchpoint__team").order_by("order", "id")


def stage_list() -> QuerySet[Stage]:
    """Stages in order, each with its placements (in order) prefetched."""
    return (
        Stage.objects.select_related("journey")
        .prefetch_related(Prefetch("placements", queryset=placement_list()))
        .order_by("order", "id")
    )


def journey_detail() -> QuerySet[Journey]:
    """Journeys with their stages and each stage's placements prefetched (the API's nested detail)."""
    return journey_list().prefetch_related(Prefetch("stages", queryset=stage_list()))


# --- the editor -----------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PlacementRow:
    placement: StageTouchpoint
    position: int
    count: int

    @property
    def dom_id(self) -> str:
        return f"placement-{self.placement.uuid}"

    @property
    def is_first(self) -> bool:
        return self.position == 1

    @property
    def is_last(self) -> bool:
        return self.position == self.count


@dataclasses.dataclass(frozen=True)
class StageRow:
    stage: Stage
    position: int
    count: int
    placements: tuple[PlacementRow, ...]
    other_stages: tuple[Stage, ...]

    @property
    def dom_id(self) -> str:
        return f"stage-{self.stage.uuid}"

    @property
    def is_first(self) -> bool:
        return self.position == 1

    @property
    def is_last(self) -> bool:
        return self.position == self.count


def journey_editor_rows(*, journey: Journey) -> tuple[StageRow, ...]:
    """The editor's stages and placements with their positions (two queries)."""
    stages = list(stage_list().filter(journey=journey))
    rows = []
    for position, stage in enumerate(stages, start=1):
        placements = list(stage.placements.all())
        rows.append(StageRow(
            stage=stage, position=position, count=len(stages),
            placements=tuple(PlacementRow(p, i, len(placements)) for i, p in enumerate(placements, start=1)),
            other_stages=tuple(s for s in stages if s.pk != stage.pk),
        ))
    return tuple(rows)


# --- the journey map ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class MapCard:
    placement: StageTouchpoint
    interactions_recent: int


@dataclasses.dataclass(frozen=True)
class MapColumn:
    stage: Stage
    position: int
    tone: int  # 1..6, the column's colour band (cycles)
    emotion_level: int  # 1..5
    curve_points: str  # this column's piece of the emotion curve, in a 0..100 × 0..100 box
    cards: tuple[MapCard, ...]
    moments_of_truth: int
    interactions_recent: int  # logged in the last ACTIVITY_DAYS days at this stage's touchpoints


@dataclasses.dataclass(frozen=True)
class JourneyMap:
    journey: Journey
    columns: tuple[MapColumn, ...]
    activity_days: int
    touchpoint_count: int
    moment_of_truth_count: int


def _curve_y(level: float) -> float:
    return round(20 + (5 - level) * 15, 2)  # level 5 → 20 (top), level 1 → 80 (bottom), as in journeys.css


def journey_map(*, journey: Journey) -> JourneyMap:
    """The journey map: stages as columns, placements as cards, the expected-emotion curve, and the
    real activity at each stage (interactions logged at its touchpoints in the last ACTIVITY_DAYS
    days; a touchpoint on several stages counts at each). Three queries."""
    stages = list(stage_list().filter(journey=journey))
    touchpoint_ids = {p.touchpoint_id for s in stages for p in s.placements.all()}
    since = timezone.now() - timedelta(days=ACTIVITY_DAYS)
    counts = dict(
        Interaction.objects.filter(touchpoint_id__in=touchpoint_ids, occurred_at__gte=since)
        .values_list("touchpoint_id").annotate(n=Count("id")).order_by()
    ) if touchpoint_ids else {}
    levels = [EMOTION_LEVELS.get(s.expected_emotion, 3) for s in stages]
    columns = []
    for i, stage in enumerate(stages):
        level = levels[i]
        left = (levels[i - 1] + level) / 2 if i > 0 else level
        right = (levels[i + 1] + level) / 2 if i + 1 < len(stages) else level
        points = f"0,{_curve_y(left)} 50,{_curve_y(level)} 100,{_curve_y(right)}"
        placements = list(stage.placements.all())
        cards = tuple(MapCard(p, counts.get(p.touchpoint_id, 0)) for p in placements)
        columns.append(MapColumn(
            stage=stage, position=i + 1, tone=i % 6 + 1, emotion_level=level, curve_points=points, cards=cards,
            moments_of_truth=sum(1 for p in placements if p.moment_of_truth),
            interactions_recent=sum(counts.get(t, 0) for t in {p.touchpoint_id for p in placements}),
        ))
    return JourneyMap(
        journey=journey, columns=tuple(columns), activity_days=ACTIVITY_DAYS, touchpoint_count=len(touchpoint_ids),
        moment_of_truth_count=sum(c.moments_of_truth for c in columns),
    )
