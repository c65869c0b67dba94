"""Webhook endpoint pages (admins): list, create, detail with the secret and the delivery log, edit,
enable/disable, delete, send a test event, redeliver.

Thin views: parse a form, authorise (decorator), call one service or selector, render. Pages that show
a signing secret are sent with `Cache-Control: no-store`."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.core.forms import add_service_errors
from apps.integrations import selectors, services
from apps.integrations.forms import EndpointForm
from apps.integrations.models import WebhookDelivery, WebhookEndpoint
from apps.tenancy.models import ADMINS
from apps.tenancy.permissions import tenant_role_required

DELIVERIES_PER_PAGE = 20
SHOW_SECRET_KEY = "webhooks_show_secret"


def _member(request):
    return request.tenant_access.membership


@tenant_role_required(ADMINS)
def endpoint_list(request, tenant_slug):
    return render(request, "integrations/list.html", {"endpoints": selectors.endpoint_list()})


@tenant_role_required(ADMINS)
def endpoint_create(request, tenant_slug):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(tenant=request.tenant, acting_member=_member(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            request.session[SHOW_SECRET_KEY] = str(endpoint.uuid)  # shown once on the next page
            messages.success(request, "Endpoint added. Copy its signing secret now; admins can reveal it again later.")
            return redirect("webhooks:detail", tenant_slug=tenant_slug, uuid=endpoint.uuid)
    return render(request, "integrations/form.html", {"form": form}, status=400 if form.errors else 200)


def _detail(request, endpoint: WebhookEndpoint, *, secret: str | None = None):
    page = Paginator(selectors.delivery_log(endpoint), DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "page": page, "deliveries": page.object_list, "counts": selectors.delivery_counts(endpoint),
               "secret": secret, "max_attempts": services.max_attempts()}
    response = render(request, "integrations/detail.html", context)
    response["Cache-Control"] = "no-store"
    return response


@tenant_role_required(ADMINS)
def endpoint_detail(request, tenant_slug, uuid):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    secret = endpoint.secret if request.session.pop(SHOW_SECRET_KEY, None) == str(endpoint.uuid) else None
    return _detail(request, endpoint, secret=secret)


@require_POST
@tenant_role_required(ADMINS)
def endpoint_reveal(request, tenant_slug, uuid):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    secret = services.endpoint_secret_reveal(tenant=request.tenant, acting_member=_member(request), endpoint=endpoint)
    return _detail(request, endpoint, secret=secret)


@require_POST
@tenant_role_required(ADMINS)
def endpoint_rotate(request, tenant_slug, uuid):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    services.endpoint_rotate_secret(tenant=request.tenant, acting_member=_member(request), endpoint=endpoint)
    request.session[SHOW_SECRET_KEY] = str(endpoint.uuid)
    messages.success(request, "New signing secret made: the old one no longer verifies. Update your receiver with this one.")
    return redirect("webhooks:detail", tenant_slug=tenant_slug, uuid=endpoint.uuid)


@tenant_role_required(ADMINS)
def endpoint_edit(request, tenant_slug, uuid):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    initial = {"url": endpoint.url, "events": endpoint.events, "description": endpoint.description}
    form = EndpointForm(request.POST or None, initial=initial, endpoint=endpoint)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(tenant=request.tenant, acting_member=_member(request), endpoint=endpoint, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("webhooks:detail", tenant_slug=tenant_slug, uuid=endpoint.uuid)
    return render(request, "integrations/form.html", {"form": form, "endpoint": endpoint}, status=400 if form.errors else 200)


@require_POST
@tenant_role_required(ADMINS)
def endpoint_test(request, tenant_slug, uuid):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    try:
        services.webhook_test_send(tenant=request.tenant, acting_member=_member(request), endpoint=endpoint)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Test event queued; its result appears in the delivery log below.")
    return redirect("webhooks:detail", tenant_slug=tenant_slug, uuid=endpoint.uuid)


def _set_active(request, tenant_slug, uuid, is_active: bool):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    services.endpoint_update(tenant=request.tenant, acting_member=_member(request), endpoint=endpoint, is_active=is_active)
    messages.success(request, "Endpoint enabled: waiting deliveries leave now." if is_active
                     else "Endpoint disabled: new events wait until it is enabled again.")
    return redirect("webhooks:detail", tenant_slug=tenant_slug, uuid=endpoint.uuid)


@require_POST
@tenant_role_required(ADMINS)
def endpoint_enable(request, tenant_slug, uuid):
    return _set_active(request, tenant_slug, uuid, True)


@require_POST
@tenant_role_required(ADMINS)
def endpoint_disable(request, tenant_slug, uuid):
    return _set_active(request, tenant_slug, uuid, False)


@require_POST
@tenant_role_required(ADMINS)
def endpoint_delete(request, tenant_slug, uuid):
    endpoint = get_object_or_404(WebhookEndpoint, uuid=uuid)
    services.endpoint_delete(tenant=request.tenant, acting_member=_member(request), endpoint=endpoint)
    messages.success(request, f"Endpoint {endpoint.url} deleted with its delivery log.")
    return redirect("webhooks:list", tenant_slug=tenant_slug)


@require_POST
@tenant_role_required(ADMINS)
def delivery_redeliver(request, tenant_slug, uuid):
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), uuid=uuid)
    try:
        services.delivery_redeliver(tenant=request.tenant, acting_member=_member(request), delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Delivery {delivery.event_id} queued again.")
    return redirect("webhooks:detail", tenant_slug=tenant_slug, uuid=delivery.endpoint.uuid)
