"""Writes for journeys, their stages and the touchpoints placed on them.

Rules every function here applies:
- orders are contiguous 1..n per parent (a journey's stages, a stage's placements) after every
  write; inserting, moving and deleting renumber the siblings in the same transaction;
- a reorder names rows by public uuid, and every uuid must belong to the journey being edited:
  an unknown or foreign one is a ValidationError and nothing is changed (the caller's transaction
  rolls back; these functions check before they write);
- concurrent edits of one journey are serialised by locking the journey row;
- each change is recorded in the audit log (journey design is admin configuration).
"""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from apps.clients.models import Segment
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.tenancy.models import Tenant
from apps.tenancy.services import audit_changes, audit_event_record
from apps.touchpoints.models import Touchpoint

JOURNEY_FIELDS = ("name", "description", "segment", "status")
ORDER_CONSTRAINTS = ("journeys_stage_order_unique", "journeys_placement_order_unique")


# --- helpers ----------------------------------------------------------------------------------------

def _lock(journey: Journey) -> Journey:
    """Serialise writers of one journey (a no-op on SQLite, which serialises all writers anyway)."""
    return Journey.objects.select_for_update().get(pk=journey.pk)


def _check_orders_now() -> None:
    """On Postgres, check the deferred order constraints at once rather than at commit, so a bug
    surfaces as an error in the request that caused it."""
    if connection.vendor == "postgresql":
        names = ", ".join(ORDER_CONSTRAINTS)
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {names} IMMEDIATE")
            cursor.execute(f"SET CONSTRAINTS {names} DEFERRED")


def _renumber(model, rows: list, extra_fields: Iterable[str] = ()) -> None:
    """Give `rows` (in their new order) the orders 1..n; write only those that changed."""
    now = timezone.now()
    changed = []
    for position, row in enumerate(rows, start=1):
        if row.order != position or getattr(row, "_moved", False):
            row.order = position
            row.updated_at = now
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, ["order", "updated_at", *extra_fields])


def _insert(rows: list, row, position: int | None) -> list:
    """`rows` without `row`, then `row` inserted at 1-based `position` (None: at the end)."""
    rest = [r for r in rows if r.pk != row.pk]
    index = len(rest) if position is None else position - 1
    return [*rest[:index], row, *rest[index:]]


def _check_position(position: int | None, count: int, field: str = "order") -> None:
    if position is not None and not 1 <= position <= count:
        raise ValidationError({field: f"Choose a position from 1 to {count}."})


def _parse_uuids(values, field: str) -> list[str]:
    try:
        parsed = [str(uuid_lib.UUID(str(v))) for v in values]
    except (TypeError, ValueError, AttributeError):
        raise ValidationError({field: "Give a list of ids (UUIDs)."}) from None
    if len(set(parsed)) != len(parsed):
        raise ValidationError({field: "An id appears more than once."})
    return parsed


def _stages(journey: Journey) -> list[Stage]:
    return list(Stage.objects.filter(journey=journey).order_by("order", "id"))


def _placements(stage: Stage) -> list[StageTouchpoint]:
    return list(StageTouchpoint.objects.filter(stage=stage).order_by("order", "id"))


# --- journeys -----------------------------------------------------------------------------------------

def _check_journey_name(name: str, exclude_pk=None) -> None:
    clash = Journey.objects.filter(name__iexact=name)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({"name": "A journey with this name already exists."})


@transaction.atomic
def journey_create(*, tenant: Tenant, acting_user, name: str, description: str = "", segment: Segment | None = None,
                   status: str = Journey.Status.DRAFT) -> Journey:
    journey = Journey(tenant=tenant, name=name.strip(), description=description.strip(), segment=segment, status=status)
    _check_journey_name(journey.name)
    journey.full_clean()
    journey.save()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="journey.created", target=journey)
    return journey


@transaction.atomic
def journey_update(*, tenant: Tenant, acting_user, journey: Journey, **fields) -> Journey:
    """Change any of name, description, segment, status (only the keys given)."""
    unknown = set(fields) - set(JOURNEY_FIELDS)
    if unknown:
        raise ValidationError({k: "This field cannot be changed." for k in unknown})
    journey = _lock(journey)
    before = {k: str(getattr(journey, k) or "") for k in fields}
    for key, value in fields.items():
        setattr(journey, key, value.strip() if isinstance(value, str) else value)
    if "name" in fields:
        _check_journey_name(journey.name, exclude_pk=journey.pk)
    journey.full_clean()
    changes = audit_changes(before, {k: str(getattr(journey, k) or "") for k in fields})
    if changes:
        journey.save()
        audit_event_record(tenant=tenant, acting_user=acting_user, action="journey.updated", target=journey, changes=changes)
    return journey


@transaction.atomic
def journey_delete(*, tenant: Tenant, acting_user, journey: Journey) -> None:
    """Delete a journey with its stages and placements (the touchpoints themselves stay)."""
    audit_event_record(tenant=tenant, acting_user=acting_user, action="journey.deleted", target=journey)
    journey.delete()


# --- stages -------------------------------------------------------------------------------------------

@transaction.atomic
def stage_create(*, tenant: Tenant, acting_user, journey: Journey, name: str, goal: str = "",
                 expected_emotion: str = Stage.Emotion.NEUTRAL, order: int | None = None) -> Stage:
    """Add a stage at `order` (1..n+1; default: last), shifting the later ones down."""
    journey = _lock(journey)
    siblings = _stages(journey)
    _check_position(order, len(siblings) + 1)
    stage = Stage(tenant=tenant, journey=journey, name=name.strip(), goal=goal.strip(), expected_emotion=expected_emotion,
                  order=len(siblings) + 1)
    stage.full_clean()
    stage.save()
    _renumber(Stage, _insert(siblings, stage, order))
    _check_orders_now()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="stage.created", target=stage,
                       target_label=f"{journey.name}: {stage.name}")
    return stage


@transaction.atomic
def stage_update(*, tenant: Tenant, acting_user, stage: Stage, name: str | None = None, goal: str | None = None,
                 expected_emotion: str | None = None, order: int | None = None) -> Stage:
    """Change a stage's fields; a new `order` (1..n) moves it and renumbers its siblings."""
    _lock(stage.journey)
    stage = Stage.objects.select_related("journey").get(pk=stage.pk)
    before = {"name": stage.name, "goal": stage.goal, "expected_emotion": stage.expected_emotion}
    for key, value in (("name", name), ("goal", goal), ("expected_emotion", expected_emotion)):
        if value is not None:
            setattr(stage, key, value.strip())
    stage.full_clean()
    changes = audit_changes(before, {"name": stage.name, "goal": stage.goal, "expected_emotion": stage.expected_emotion})
    if changes:
        stage.save(update_fields=["name", "goal", "expected_emotion", "updated_at"])
    if order is not None and order != stage.order:
        siblings = _stages(stage.journey)
        _check_position(order, len(siblings))
        changes["order"] = [stage.order, order]
        rows = _insert(siblings, stage, order)
        _renumber(Stage, rows)
        stage.order = order
        _check_orders_now()
    if changes:
        audit_event_record(tenant=tenant, acting_user=acting_user, action="stage.updated", target=stage,
                           target_label=f"{stage.journey.name}: {stage.name}", changes=changes)
    return stage


def stage_move(*, tenant: Tenant, acting_user, stage: Stage, to_order: int) -> Stage:
    """Move a stage to position `to_order` (1..n) in its journey."""
    return stage_update(tenant=tenant, acting_user=acting_user, stage=stage, order=to_order)


@transaction.atomic
def stage_delete(*, tenant: Tenant, acting_user, stage: Stage) -> None:
    """Delete a stage and its placements; the later stages move up."""
    journey = _lock(stage.journey)
    audit_event_record(tenant=tenant, acting_user=acting_user, action="stage.deleted", target=stage,
                       target_label=f"{journey.name}: {stage.name}")
    stage.delete()
    _renumber(Stage, _stages(journey))
    _check_orders_now()


@transaction.atomic
def stages_reorder(*, tenant: Tenant, acting_user, journey: Journey, stage_uuids) -> list[Stage]:
    """Put the journey's stages in the order given. The list must name every stage of this
    journey exactly once; anything else (an unknown or foreign id, a missing one) changes nothing."""
    journey = _lock(journey)
    wanted = _parse_uuids(stage_uuids, "stages")
    stages = _stages(journey)
    by_uuid = {str(s.uuid): s for s in stages}
    if set(wanted) != set(by_uuid):
        raise ValidationError({"stages": "List every stage of this journey exactly once, and nothing else."})
    rows = [by_uuid[u] for u in wanted]
    before = [s.name for s in stages]
    _renumber(Stage, rows)
    _check_orders_now()
    if before != [s.name for s in rows]:
        audit_event_record(tenant=tenant, acting_user=acting_user, action="journey.stages_reordered", target=journey,
                           changes={"stages": [before, [s.name for s in rows]]})
    return rows


# --- placements (a touchpoint on a stage) -------------------------------------------------------------

def _check_not_on_stage(stage: Stage, touchpoint: Touchpoint, field: str, exclude_pk=None) -> None:
    clash = StageTouchpoint.objects.filter(stage=stage, touchpoint=touchpoint)
    if exclude_pk:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ValidationError({field: f"“{touchpoint.name}” is already on the stage “{stage.name}”."})


@transaction.atomic
def placement_create(*, tenant: Tenant, acting_user, stage: Stage, touchpoint: Touchpoint, order: int | None = None,
                     moment_of_truth: bool = False, expectation: str = "") -> StageTouchpoint:
    """Place a touchpoint on a stage at `order` (1..n+1; default: last). Once per stage."""
    _lock(stage.journey)
    siblings = _placements(stage)
    _check_position(order, len(siblings) + 1)
    placement = StageTouchpoint(tenant=tenant, stage=stage, touchpoint=touchpoint, order=len(siblings) + 1,
                                moment_of_truth=moment_of_truth, expectation=expectation.strip())
    placement.full_clean(validate_constraints=False)
    _check_not_on_stage(stage, touchpoint, "touchpoint")
    placement.save()
    _renumber(StageTouchpoint, _insert(siblings, placement, order))
    _check_orders_now()
    audit_event_record(tenant=tenant, acting_user=acting_user, action="placement.created", target=placement)
    return placement


@transaction.atomic
def placement_update(*, tenant: Tenant, acting_user, placement: StageTouchpoint, stage: Stage | None = None,
                     order: int | None = None, moment_of_truth: bool | None = None,
                     expectation: str | None = None) -> StageTouchpoint:
    """Change a placement. `stage` (of the same journey) moves it there, at `order` or last;
    `order` alone moves it within its stage. Both stages stay numbered 1..n."""
    journey = _lock(placement.stage.journey)
    placement = StageTouchpoint.objects.select_related("stage__journey", "touchpoint").get(pk=placement.pk)
    source = placement.stage
    target = stage or source
    if target.journey_id != journey.pk:
        raise ValidationError({"stage": "Choose a stage of this journey."})
    changes = {}
    if moment_of_truth is not None and moment_of_truth != placement.moment_of_truth:
        changes["moment_of_truth"] = [placement.moment_of_truth, moment_of_truth]
        placement.moment_of_truth = moment_of_truth
    if expectation is not None and expectation.strip() != placement.expectation:
        changes["expectation"] = [placement.expectation, expectation.strip()]
        placement.expectation = expectation.strip()
    placement.full_clean(validate_constraints=False)
    if changes:
        placement.save(update_fields=["moment_of_truth", "expectation", "updated_at"])
    if target.pk != source.pk:
        _check_not_on_stage(target, placement.touchpoint, "stage")
        target_rows = _placements(target)
        _check_position(order, len(target_rows) + 1)
        placement.stage = target
        placement._moved = True
        _renumber(StageTouchpoint, _insert(target_rows, placement, order), extra_fields=["stage"])
        _renumber(StageTouchpoint, _placements(source))  # the moved row is no longer there: close its gap
        changes["stage"] = [source.name, target.name]
    elif order is not None and order != placement.order:
        rows = _placements(source)
        _check_position(order, len(rows))
        changes["order"] = [placement.order, order]
        _renumber(StageTouchpoint, _insert(rows, placement, order))
    placement.refresh_from_db()
    _check_orders_now()
    if changes:
        audit_event_record(tenant=tenant, acting_user=acting_user, action="placement.updated", target=placement, changes=changes)
    return placement


@transaction.atomic
def placement_delete(*, tenant: Tenant, acting_user, placement: StageTouchpoint) -> None:
    """Take a touchpoint off a stage; the later placements move up."""
    _lock(placement.stage.journey)
    stage = placement.stage
    audit_event_record(tenant=tenant, acting_user=acting_user, action="placement.deleted", target=placement)
    placement.delete()
    _renumber(StageTouchpoint, _placements(stage))
    _check_orders_now()


@transaction.atomic
def placements_reorder(*, tenant: Tenant, acting_user, stage: Stage, placement_uuids) -> list[StageTouchpoint]:
    """Make `placement_uuids` the placements of `stage`, in that order.

    The list must hold every current placement of the stage; it may also hold placements of the
    journey's other stages, which move here (their old stages close the gap). An id that is not a
    placement of this journey, or a touchpoint that would then be on the stage twice, changes nothing.
    """
    journey = _lock(stage.journey)
    wanted = _parse_uuids(placement_uuids, "placements")
    in_journey = {str(p.uuid): p for p in StageTouchpoint.objects.filter(stage__journey=journey).select_related("touchpoint", "stage")}
    unknown = [u for u in wanted if u not in in_journey]
    if unknown:
        raise ValidationError({"placements": "Every id must be a placement of this journey."})
    current = {str(p.uuid) for p in in_journey.values() if p.stage_id == stage.pk}
    if not current <= set(wanted):
        raise ValidationError({"placements": "List every placement of this stage (a placement leaves a stage by moving to another)."})
    rows = [in_journey[u] for u in wanted]
    touchpoints = [p.touchpoint_id for p in rows]
    if len(set(touchpoints)) != len(touchpoints):
        raise ValidationError({"placements": "A touchpoint would be on this stage twice."})
    sources = {p.stage_id for p in rows if p.stage_id != stage.pk}
    for row in rows:
        if row.stage_id != stage.pk:
            row.stage, row._moved = stage, True
    before = [str(u) for u in sorted(current)]
    _renumber(StageTouchpoint, rows, extra_fields=["stage"])
    for source_id in sources:
        _renumber(StageTouchpoint, list(StageTouchpoint.objects.filter(stage_id=source_id).order_by("order", "id")))
    _check_orders_now()
    if sources or before != wanted:
        audit_event_record(tenant=tenant, acting_user=acting_user, action="stage.placements_reordered", target=stage,
                           target_label=f"{journey.name}: {stage.name}",
                           changes={"placements": [None, [p.touchpoint.name for p in rows]]})
    return rows


def placements_renumber_stages(*, stage_ids: Iterable[int]) -> None:
    """Close the gaps left in these stages after placements vanished by cascade (a touchpoint deleted)."""
    for stage_id in set(stage_ids):
        _renumber(StageTouchpoint, list(StageTouchpoint.objects.filter(stage_id=stage_id).order_by("order", "id")))
    _check_orders_now()
