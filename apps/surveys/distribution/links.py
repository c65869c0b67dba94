"""A survey's ways in besides personal e-mail links: its public web link (anonymous), the embed snippet for other
sites, and their QR codes — shown on the send page and returned by the survey API (issue 20 item 7). Kiosk addresses
are shown once, when a device is created (apps/surveys/kiosks), with their own QR code."""

from __future__ import annotations

from django.utils.html import escape

from apps.core.site import site_url
from apps.surveys.models import Survey


def web_link_url(survey: Survey) -> str | None:
    """The public web link's address, or None while the survey's web link is off."""
    if not survey.web_link_enabled or not survey.web_token:
        return None
    return f"{site_url()}/w/{survey.web_token}/"


def embed_snippet(survey: Survey) -> str | None:
    """HTML to paste into another site: the web link's minimal page in a frame (the page allows any site to frame it)."""
    url = web_link_url(survey)
    if url is None:
        return None
    # Plain text (escaped again wherever it is shown): the survey's name is escaped inside the attribute.
    return (f'<iframe src="{escape(url)}?embed=1" title="{escape(survey.name)}" width="100%" height="640" style="border:0" '
            'loading="lazy"></iframe>')
