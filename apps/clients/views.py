"""Client, contact and segment pages. Everyone in the workspace reads; CX leads and admins write.

Thin views: parse a form, authorise (decorator), call one service or selector, render.
"""

from __future__ import annotations

import copy
import zoneinfo

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.clients import selectors, services
from apps.clients.forms import AttributeDefinitionForm, ClientFilterForm, ClientForm, ContactForm, SegmentForm
from apps.clients.models import AttributeDefinition, Client, Contact, Segment
from apps.core.forms import add_service_errors
from apps.tenancy.models import EVERYONE, LEADS
from apps.tenancy.permissions import tenant_role_required

CLIENTS_PER_PAGE = 50
INTERACTIONS_PER_PAGE = 25


def _status(form) -> int:
    return 400 if form.errors else 200


# --- clients ------------------------------------------------------------------------------------

@tenant_role_required(EVERYONE)
def client_list(request, tenant_slug):
    form = ClientFilterForm(request.GET or None)
    page = churn_set = None
    if not form.is_bound:
        page = Paginator(selectors.client_list(), CLIENTS_PER_PAGE).get_page(request.GET.get("page"))
    elif form.is_valid():
        kwargs = form.selector_kwargs()
        churn_set = kwargs["churn"]
        page = Paginator(selectors.client_list(**kwargs), CLIENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "export_query": query.urlencode(), "churn_set": churn_set,
               "filtered": form.is_bound and any(v for k, v in request.GET.items() if k not in ("page", "sort"))}
    return render(request, "clients/list.html", context, status=_status(form))


@tenant_role_required(LEADS)
def client_create(request, tenant_slug):
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(tenant=request.tenant, acting_user=request.user, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Client “{client.name}” created.")
            return redirect("clients:detail", tenant_slug=tenant_slug, uuid=client.uuid)
    return render(request, "clients/form.html", {"form": form, "client": None}, status=_status(form))


@tenant_role_required(LEADS)
def client_edit(request, tenant_slug, uuid):
    client = get_object_or_404(Client.objects.select_related("segment", "owner__user"), uuid=uuid)
    # A copy: validating a ModelForm writes the input onto its instance; the page title keeps the saved name.
    form = ClientForm(request.POST or None, instance=copy.copy(client))
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(tenant=request.tenant, acting_user=request.user, client=client, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Client saved.")
            return redirect("clients:detail", tenant_slug=tenant_slug, uuid=client.uuid)
    return render(request, "clients/form.html", {"form": form, "client": client}, status=_status(form))


@tenant_role_required(EVERYONE)
def client_detail(request, tenant_slug, uuid):
    client = selectors.client_get_detail(uuid=uuid)
    if client is None:
        raise Http404("No such client.")
    interactions = Paginator(selectors.client_interaction_list(client=client), INTERACTIONS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "client": client,
        "contacts": selectors.client_contact_list(client=client),
        "interactions": interactions,
        "today": timezone.localdate(timezone=zoneinfo.ZoneInfo(request.tenant.time_zone)),
    }
    return render(request, "clients/detail.html", context)


@require_POST
@tenant_role_required(LEADS)
def client_delete(request, tenant_slug, uuid):
    client = get_object_or_404(Client, uuid=uuid)
    try:
        services.client_delete(tenant=request.tenant, acting_user=request.user, client=client)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("clients:detail", tenant_slug=tenant_slug, uuid=client.uuid)
    messages.success(request, f"Client “{client.name}” deleted.")
    return redirect("clients:list", tenant_slug=tenant_slug)


# --- contacts -----------------------------------------------------------------------------------

@tenant_role_required(LEADS)
def contact_create(request, tenant_slug, uuid):
    client = get_object_or_404(Client, uuid=uuid)
    form = ContactForm(request.POST or None, instance=Contact(client=client))
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(tenant=request.tenant, acting_user=request.user, client=client, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Contact “{contact.name}” added.")
            return redirect("clients:detail", tenant_slug=tenant_slug, uuid=client.uuid)
    return render(request, "clients/contact_form.html", {"form": form, "client": client, "contact": None}, status=_status(form))


@tenant_role_required(LEADS)
def contact_edit(request, tenant_slug, uuid):
    contact = get_object_or_404(Contact.objects.select_related("client"), uuid=uuid)
    form = ContactForm(request.POST or None, instance=copy.copy(contact))
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(tenant=request.tenant, acting_user=request.user, contact=contact, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Contact saved.")
            return redirect("clients:detail", tenant_slug=tenant_slug, uuid=contact.client.uuid)
    context = {"form": form, "client": contact.client, "contact": contact}
    return render(request, "clients/contact_form.html", context, status=_status(form))


@require_POST
@tenant_role_required(LEADS)
def contact_delete(request, tenant_slug, uuid):
    contact = get_object_or_404(Contact.objects.select_related("client"), uuid=uuid)
    services.contact_delete(tenant=request.tenant, acting_user=request.user, contact=contact)
    messages.success(request, f"Contact “{contact.name}” deleted.")
    return redirect("clients:detail", tenant_slug=tenant_slug, uuid=contact.client.uuid)


# --- segments -----------------------------------------------------------------------------------

@tenant_role_required(EVERYONE)
def segment_list(request, tenant_slug):
    """Everyone sees the segments; leads also get the form that creates one (POST here)."""
    can_edit = request.tenant_access.role in LEADS
    if request.method == "POST" and not can_edit:
        raise PermissionDenied("Only CX leads and admins manage segments.")
    form = SegmentForm(request.POST or None) if can_edit else None
    if request.method == "POST" and form.is_valid():
        try:
            segment = services.segment_create(tenant=request.tenant, acting_user=request.user, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Segment “{segment.name}” created.")
            return redirect("clients:segments", tenant_slug=tenant_slug)
    context = {"form": form, "segments": selectors.segment_list()}
    return render(request, "clients/segments.html", context, status=400 if form is not None and form.errors else 200)


@tenant_role_required(LEADS)
def segment_edit(request, tenant_slug, uuid):
    segment = get_object_or_404(Segment, uuid=uuid)
    form = SegmentForm(request.POST or None, instance=copy.copy(segment))
    if request.method == "POST" and form.is_valid():
        try:
            services.segment_update(tenant=request.tenant, acting_user=request.user, segment=segment, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Segment saved.")
            return redirect("clients:segments", tenant_slug=tenant_slug)
    return render(request, "clients/segment_form.html", {"form": form, "segment": segment}, status=_status(form))


@require_POST
@tenant_role_required(LEADS)
def segment_delete(request, tenant_slug, uuid):
    segment = get_object_or_404(Segment, uuid=uuid)
    clients = services.segment_delete(tenant=request.tenant, acting_user=request.user, segment=segment)
    kept = f" Its {clients} client{'s' if clients != 1 else ''} now have no segment." if clients else ""
    messages.success(request, f"Segment “{segment.name}” deleted.{kept}")
    return redirect("clients:segments", tenant_slug=tenant_slug)


# --- custom attributes ----------------------------------------------------------------------------

@tenant_role_required(EVERYONE)
def attribute_list(request, tenant_slug):
    """Everyone sees the custom attributes; leads and admins define and delete them."""
    can_edit = request.tenant_access.role in LEADS
    if request.method == "POST" and not can_edit:
        raise PermissionDenied("Only CX leads and admins manage attributes.")
    form = AttributeDefinitionForm(request.POST or None) if can_edit else None
    if request.method == "POST" and form.is_valid():
        try:
            definition = services.attribute_definition_create(tenant=request.tenant, acting_user=request.user, data=form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Attribute “{definition.label}” added: fill it in on each {definition.applies_to}.")
            return redirect("clients:attributes", tenant_slug=tenant_slug)
    context = {"form": form, "definitions": AttributeDefinition.objects.order_by("applies_to", "label")}
    return render(request, "clients/attributes.html", context, status=400 if form is not None and form.errors else 200)


@require_POST
@tenant_role_required(LEADS)
def attribute_delete(request, tenant_slug, uuid):
    definition = get_object_or_404(AttributeDefinition, uuid=uuid)
    rows = services.attribute_definition_delete(tenant=request.tenant, acting_user=request.user, definition=definition)
    messages.success(request, f"Attribute “{definition.label}” deleted" + (f", with its value on {rows} {definition.applies_to}s." if rows else "."))
    return redirect("clients:attributes", tenant_slug=tenant_slug)
