"""Journey pages: the list and the map (everyone), the editor and its actions (CX leads and admins).

Reordering works without JavaScript: "Move up", "Move down" and "Move to stage" are plain POST
forms; after the redirect the moved item's same button (or the item) has focus again (autofocus,
the target kept in the session for one page view). With JavaScript, drag and drop posts the new
order to `journey_reorder`, which answers with the re-rendered stages and a sentence to announce.
"""

import json
import uuid as uuid_lib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.journeys import selectors, services
from apps.journeys.filters import JourneyFilter
from apps.journeys.forms import JourneyForm, MoveForm, PlacementEditForm, PlacementForm, StageForm
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.tenancy.models import EVERYONE, LEADS
from apps.tenancy.permissions import tenant_role_required
from apps.touchpoints.models import Touchpoint

FOCUS_KEY = "journeys_editor_focus"
# The editor shows the journey's form and the "add a stage" form: distinct ids for their "name" fields.
STAGE_FORM_IDS = "id_stage_%s"


def _journey(uuid):
    return get_object_or_404(Journey.objects.select_related("segment"), uuid=uuid)


def _stage(journey_uuid, uuid):
    # A stage of another journey (or tenant) under this journey's URL is a 404, like a missing one.
    return get_object_or_404(Stage.objects.select_related("journey"), uuid=uuid, journey__uuid=journey_uuid)


def _placement(journey_uuid, uuid):
    return get_object_or_404(StageTouchpoint.objects.select_related("stage__journey", "touchpoint"), uuid=uuid,
                             stage__journey__uuid=journey_uuid)


def _add_prefix(stage) -> str:
    return f"add-{stage.uuid.hex}"


def _to_editor(request, journey, focus: str = ""):
    if focus:
        request.session[FOCUS_KEY] = focus
    return redirect("journeys:edit", tenant_slug=request.tenant.slug, uuid=journey.uuid)


def _editor_context(request, journey, *, journey_form=None, stage_form=None, placement_forms=None, focus=""):
    rows = selectors.journey_editor_rows(journey=journey)
    placement_forms = placement_forms or {}
    touchpoints = list(Touchpoint.objects.filter(is_active=True).order_by("name"))
    for row in rows:
        # One "add a touchpoint" form per stage, its field ids prefixed by the stage (unique on the page).
        placed = {p.placement.touchpoint_id for p in row.placements}
        form = placement_forms.get(row.stage.pk) or PlacementForm(prefix=_add_prefix(row.stage))
        form.fields["touchpoint"].widget.choices = [
            ("", form.fields["touchpoint"].empty_label), *[(str(t.uuid), t.name) for t in touchpoints if t.pk not in placed]]
        object.__setattr__(row, "add_form", form)
    return {
        "journey": journey,
        "focus": _resolve_focus(rows, focus),
        "journey_form": journey_form or JourneyForm(initial={"name": journey.name, "description": journey.description,
                                                              "segment": journey.segment, "status": journey.status}),
        "stage_form": stage_form or StageForm(auto_id=STAGE_FORM_IDS),
        "rows": rows,
    }


def _resolve_focus(rows, focus: str) -> str:
    """The id to autofocus: the moved item's button that was pressed, or, when that button is now
    disabled (the item reached the top or bottom), the other one, or else the item itself."""
    if not focus:
        return ""
    items = {row.dom_id: row for row in rows} | {p.dom_id: p for row in rows for p in row.placements}
    base, _, button = focus.rpartition("-") if focus.endswith(("-up", "-down", "-stage")) else (focus, "", "")
    item = items.get(base)
    if item is None:
        return ""
    if button == "up" and item.is_first:
        button = "" if item.is_last else "down"
    elif button == "down" and item.is_last:
        button = "" if item.is_first else "up"
    return f"{base}-{button}" if button else base


# --- list, create, map ----------------------------------------------------------------------------------

@tenant_role_required(EVERYONE)
def journey_list_view(request, tenant_slug):
    filterset = JourneyFilter(request.GET or None, queryset=selectors.journey_list())
    valid = filterset.is_valid() if filterset.is_bound else True
    context = {"filter_form": filterset.form, "journeys": filterset.qs if valid else Journey.objects.none(),
               "form": JourneyForm(auto_id="id_new_%s"), "filtered": filterset.is_bound}
    return render(request, "journeys/list.html", context, status=200 if valid else 400)


@tenant_role_required(LEADS)
def journey_create_view(request, tenant_slug):
    form = JourneyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            journey = services.journey_create(tenant=request.tenant, acting_user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Journey “{journey.name}” created. Add its stages below.")
            return redirect("journeys:edit", tenant_slug=tenant_slug, uuid=journey.uuid)
    return render(request, "journeys/create.html", {"form": form}, status=400 if form.errors else 200)


@tenant_role_required(EVERYONE)
def journey_map_view(request, tenant_slug, uuid):
    journey = _journey(uuid)
    return render(request, "journeys/map.html", {"map": selectors.journey_map(journey=journey)})


# --- the editor -----------------------------------------------------------------------------------------

@tenant_role_required(LEADS)
def journey_edit_view(request, tenant_slug, uuid):
    journey = _journey(uuid)
    form = JourneyForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        try:
            services.journey_update(tenant=request.tenant, acting_user=request.user, journey=journey, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Journey saved.")
            return _to_editor(request, journey)
    focus = request.session.pop(FOCUS_KEY, "") if request.method == "GET" else ""
    context = _editor_context(request, journey, journey_form=form, focus=focus)
    return render(request, "journeys/edit.html", context, status=400 if form is not None and form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def journey_delete_view(request, tenant_slug, uuid):
    journey = _journey(uuid)
    services.journey_delete(tenant=request.tenant, acting_user=request.user, journey=journey)
    messages.success(request, f"Journey “{journey.name}” deleted.")
    return redirect("journeys:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(LEADS)
def stage_create_view(request, tenant_slug, uuid):
    journey = _journey(uuid)
    form = StageForm(request.POST, auto_id=STAGE_FORM_IDS)
    if form.is_valid():
        try:
            stage = services.stage_create(tenant=request.tenant, acting_user=request.user, journey=journey, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Stage “{stage.name}” added.")
            return _to_editor(request, journey, focus=f"stage-{stage.uuid}")
    return render(request, "journeys/edit.html", _editor_context(request, journey, stage_form=form), status=400)


@tenant_role_required(LEADS)
def stage_edit_view(request, tenant_slug, journey_uuid, uuid):
    stage = _stage(journey_uuid, uuid)
    form = StageForm(request.POST or None, initial={"name": stage.name, "goal": stage.goal, "expected_emotion": stage.expected_emotion})
    if request.method == "POST" and form.is_valid():
        try:
            services.stage_update(tenant=request.tenant, acting_user=request.user, stage=stage, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Stage “{form.cleaned_data['name']}” saved.")
            return _to_editor(request, stage.journey, focus=f"stage-{stage.uuid}")
    return render(request, "journeys/stage_edit.html", {"form": form, "stage": stage, "journey": stage.journey},
                  status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def stage_delete_view(request, tenant_slug, journey_uuid, uuid):
    stage = _stage(journey_uuid, uuid)
    services.stage_delete(tenant=request.tenant, acting_user=request.user, stage=stage)
    messages.success(request, f"Stage “{stage.name}” deleted.")
    return _to_editor(request, stage.journey)


@require_POST
@tenant_role_required(LEADS)
def stage_move_view(request, tenant_slug, journey_uuid, uuid):
    stage = _stage(journey_uuid, uuid)
    form = MoveForm(request.POST, journey=stage.journey)
    if not form.is_valid() or not form.cleaned_data["direction"]:
        messages.error(request, "Say which way to move the stage: up or down.")
        return _to_editor(request, stage.journey, focus=f"stage-{stage.uuid}")
    direction = form.cleaned_data["direction"]
    count = Stage.objects.filter(journey=stage.journey).count()
    target = stage.order - 1 if direction == "up" else stage.order + 1
    if 1 <= target <= count:
        services.stage_move(tenant=request.tenant, acting_user=request.user, stage=stage, to_order=target)
        messages.success(request, f"Moved stage “{stage.name}” to position {target} of {count}.")
    return _to_editor(request, stage.journey, focus=f"stage-{stage.uuid}-{direction}")


@require_POST
@tenant_role_required(LEADS)
def placement_create_view(request, tenant_slug, journey_uuid, uuid):
    stage = _stage(journey_uuid, uuid)
    form = PlacementForm(request.POST, prefix=_add_prefix(stage))
    if form.is_valid():
        try:
            placement = services.placement_create(tenant=request.tenant, acting_user=request.user, stage=stage, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{placement.touchpoint.name}” added to “{stage.name}”.")
            return _to_editor(request, stage.journey, focus=f"placement-{placement.uuid}")
    context = _editor_context(request, stage.journey, placement_forms={stage.pk: form})
    return render(request, "journeys/edit.html", context, status=400)


@tenant_role_required(LEADS)
def placement_edit_view(request, tenant_slug, journey_uuid, uuid):
    placement = _placement(journey_uuid, uuid)
    journey = placement.stage.journey
    initial = {"stage": placement.stage, "moment_of_truth": placement.moment_of_truth, "expectation": placement.expectation}
    form = PlacementEditForm(request.POST or None, initial=initial, journey=journey)
    if request.method == "POST" and form.is_valid():
        try:
            services.placement_update(tenant=request.tenant, acting_user=request.user, placement=placement, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"“{placement.touchpoint.name}” saved.")
            return _to_editor(request, journey, focus=f"placement-{placement.uuid}")
    return render(request, "journeys/placement_edit.html", {"form": form, "placement": placement, "journey": journey},
                  status=400 if form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def placement_delete_view(request, tenant_slug, journey_uuid, uuid):
    placement = _placement(journey_uuid, uuid)
    services.placement_delete(tenant=request.tenant, acting_user=request.user, placement=placement)
    messages.success(request, f"“{placement.touchpoint.name}” removed from “{placement.stage.name}”.")
    return _to_editor(request, placement.stage.journey, focus=f"stage-{placement.stage.uuid}")


@require_POST
@tenant_role_required(LEADS)
def placement_move_view(request, tenant_slug, journey_uuid, uuid):
    placement = _placement(journey_uuid, uuid)
    stage, journey = placement.stage, placement.stage.journey
    form = MoveForm(request.POST, journey=journey)
    if not form.is_valid():
        messages.error(request, "Say where to move the touchpoint: up, down, or to another stage.")
        return _to_editor(request, journey, focus=f"placement-{placement.uuid}")
    name = placement.touchpoint.name
    to_stage, direction = form.cleaned_data["to_stage"], form.cleaned_data["direction"]
    try:
        if to_stage is not None and to_stage.pk != stage.pk:
            services.placement_update(tenant=request.tenant, acting_user=request.user, placement=placement, stage=to_stage)
            messages.success(request, f"Moved “{name}” to the end of stage “{to_stage.name}”.")
            return _to_editor(request, journey, focus=f"placement-{placement.uuid}-stage")
        if direction:
            count = StageTouchpoint.objects.filter(stage=stage).count()
            target = placement.order - 1 if direction == "up" else placement.order + 1
            if 1 <= target <= count:
                services.placement_update(tenant=request.tenant, acting_user=request.user, placement=placement, order=target)
                messages.success(request, f"Moved “{name}” to position {target} of {count} in “{stage.name}”.")
            return _to_editor(request, journey, focus=f"placement-{placement.uuid}-{direction}")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _to_editor(request, journey, focus=f"placement-{placement.uuid}")


@require_POST
@tenant_role_required(LEADS)
def journey_reorder_view(request, tenant_slug, uuid):
    """Drag and drop: `{"stages": [uuid, …]}` orders the stages; `{"stage": uuid, "placements": [uuid, …]}`
    makes those placements the stage's, in that order. Answers JSON: a sentence to announce and the
    re-rendered stages; an id that is not this journey's → 400 and nothing changed."""
    journey = _journey(uuid)
    try:
        body = json.loads(request.body or b"{}")
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        return JsonResponse({"error": {"code": "parse_error", "message": "Send a JSON object."}}, status=400)
    try:
        if "stages" in body:
            if not isinstance(body["stages"], list):
                raise ValidationError({"stages": "Give a list of stage ids."})
            rows = services.stages_reorder(tenant=request.tenant, acting_user=request.user, journey=journey,
                                           stage_uuids=body["stages"])
            moved = next((s for s in rows if str(s.uuid) == str(body.get("moved"))), None)
            message = (f"Moved stage “{moved.name}” to position {moved.order} of {len(rows)}." if moved
                       else "Stages reordered.")
        elif "placements" in body:
            stage = Stage.objects.filter(journey=journey, uuid=_uuid_or_none(body.get("stage"))).first()
            if stage is None or not isinstance(body["placements"], list):
                raise ValidationError({"stage": "Choose a stage of this journey."})
            rows = services.placements_reorder(tenant=request.tenant, acting_user=request.user, stage=stage,
                                               placement_uuids=body["placements"])
            moved = next((p for p in rows if str(p.uuid) == str(body.get("moved"))), None)
            message = (f"Moved “{moved.touchpoint.name}” to position {moved.order} of {len(rows)} in stage “{stage.name}”."
                       if moved else f"Touchpoints of “{stage.name}” reordered.")
        else:
            raise ValidationError("Send “stages” or “stage” with “placements”.")
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return JsonResponse({"error": {"code": "validation_error", "message": " ".join(exc.messages), "fields": fields}},
                            status=400)
    html = render_to_string("journeys/partials/_stages.html", _editor_context(request, journey), request=request)
    return JsonResponse({"message": message, "html": html})


def _uuid_or_none(value):
    try:
        return uuid_lib.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
