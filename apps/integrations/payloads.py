"""What a webhook says: Standard Webhooks JSON bodies and Slack messages.

A standard body is `{"type": "<event>", "timestamp": "<ISO 8601 UTC of the event>", "data": {...}}`.
`data` names the workspace by its slug (`"tenant"`) and every object by its public `id` (the uuid the
pages and the API use), never by an internal database id; `url` links to the object's page.
"""

from __future__ import annotations

from datetime import datetime

from django.urls import NoReverseMatch, reverse

from apps.core.site import site_url

COMMENT_EXCERPT = 300
# Detractor alerts (Slack): the negative band of METRICS.md for NPS and CSAT.
NPS_DETRACTOR_MAX = 6
CSAT_NEGATIVE_MAX = 2


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def page_url(name: str, tenant, **kwargs) -> str | None:
    try:
        return site_url() + reverse(name, kwargs={"tenant_slug": tenant.slug, **kwargs})
    except NoReverseMatch:
        return None


def _ref(obj, label_field: str = "name") -> dict | None:
    if obj is None:
        return None
    return {"id": str(obj.uuid), "name": getattr(obj, label_field, "") or str(obj)}


def _member(membership) -> dict | None:
    if membership is None:
        return None
    user = membership.user
    return {"id": str(membership.uuid), "name": user.get_full_name() or user.email}


def envelope(event_type: str, occurred_at: datetime, data: dict) -> dict:
    return {"type": event_type, "timestamp": _iso(occurred_at), "data": data}


def response_data(tenant, response) -> dict:
    return {
        "tenant": tenant.slug,
        "response": {
            "id": str(response.uuid),
            "url": page_url("responses:detail", tenant, uuid=response.uuid),
            "submitted_at": _iso(response.submitted_at),
            "channel": response.channel,
            "language": response.language,
            "survey": _ref(response.survey),
            "scores": {name: getattr(response, name) for name in ("nps", "csat", "ces", "smiley", "enps")
                       if getattr(response, name) is not None},
            "comment": response.comment,
            "client": _ref(response.client),
            "contact": {"id": str(response.contact.uuid)} if response.contact_id else None,
            "touchpoint": _ref(response.touchpoint),
            "stage": _ref(response.stage),
            "staff": _member(response.staff),
        },
    }


def case_data(tenant, case) -> dict:
    return {
        "tenant": tenant.slug,
        "case": {
            "id": str(case.uuid),
            "url": page_url("cases:detail", tenant, uuid=case.uuid),
            "title": case.title,
            "status": case.status,
            "source": case.source,
            "trigger": {"metric": case.trigger_metric, "score": case.trigger_score} if case.trigger_metric else None,
            "opened_at": _iso(case.opened_at),
            "due_at": _iso(case.due_at),
            "resolved_at": _iso(case.resolved_at),
            "assignee": _member(case.assignee),
            "team": _ref(case.team),
            "client": _ref(case.client),
            "contact": {"id": str(case.contact.uuid)} if case.contact_id else None,
            "response": {"id": str(case.response.uuid)} if case.response_id else None,
            "interaction": {"id": str(case.interaction.uuid)} if case.interaction_id else None,
            "root_cause": _ref(case.root_cause),
            "action_taken": case.action_taken or None,
        },
    }


def test_data(tenant, endpoint) -> dict:
    return {"tenant": tenant.slug, "endpoint": {"id": str(endpoint.uuid)},
            "message": "A test event sent from the webhooks page; it needs no action."}


# --- Slack --------------------------------------------------------------------------------------

def detractor_score(response) -> tuple[str, int] | None:
    """("NPS", score) or ("CSAT", score) when the response is a detractor alert, else None."""
    if response.nps is not None and response.nps <= NPS_DETRACTOR_MAX:
        return "NPS", response.nps
    if response.csat is not None and response.csat <= CSAT_NEGATIVE_MAX:
        return "CSAT", response.csat
    return None


def _slack_escape(text: str) -> str:
    """Slack mrkdwn: &, < and > must be escaped (they would start links and mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_detractor_message(tenant, response) -> dict:
    metric, score = detractor_score(response)
    scale = "0–10" if metric == "NPS" else "1–5"
    client = response.client.name if response.client_id else "an unknown client"
    touchpoint = response.touchpoint.name if response.touchpoint_id else "no touchpoint"
    comment = (response.comment or "").strip()
    if len(comment) > COMMENT_EXCERPT:
        comment = comment[:COMMENT_EXCERPT - 1].rstrip() + "…"
    url = page_url("responses:detail", tenant, uuid=response.uuid)
    headline = f"Detractor alert: {metric} {score} ({scale}) from {client} at {touchpoint}"
    fields = [
        {"type": "mrkdwn", "text": f"*Score*\n{metric} {score} ({scale})"},
        {"type": "mrkdwn", "text": f"*Client*\n{_slack_escape(client)}"},
        {"type": "mrkdwn", "text": f"*Touchpoint*\n{_slack_escape(touchpoint)}"},
        {"type": "mrkdwn", "text": f"*Survey*\n{_slack_escape(response.survey.name)}"},
    ]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Detractor alert: {metric} {score}", "emoji": False}},
        {"type": "section", "fields": fields},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"> {_slack_escape(comment)}" if comment else "_No comment._"}},
    ]
    if url:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the response"}, "url": url}]})
    return {"text": _slack_escape(headline), "blocks": blocks}


def slack_test_message(tenant) -> dict:
    text = f"Test message from CXM ({tenant.name}): detractor alerts will arrive here."
    return {"text": _slack_escape(text), "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(text)}}]}
