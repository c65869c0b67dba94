"""Who reads which page, and where each role lands (issue 7 "Role rules"). Here, in tenancy, because
the workspace's front door (tenancy's home view), the digests and every page app need it; the landing
pages are named by URL name only, so tenancy imports none of them.

- READERS (admin, CX lead, viewer): the analytical pages — overview, journeys, churn, perception gap
  for everyone, executive summary. Viewers read only (these pages write nothing).
- Staff: their own home and their own perception gap only (`perception_gap` forces the staff filter
  to themselves); no other staff member's numbers, no client outside their own.
- ADMINS: configuration health.
"""

from apps.tenancy.models import ADMINS, EVERYONE, LEADS, STAFF_AND_UP, Role

READERS = LEADS | {Role.VIEWER}

__all__ = ["ADMINS", "EVERYONE", "LEADS", "READERS", "STAFF_AND_UP", "Role", "landing_url_name"]


def landing_url_name(role: str) -> str:
    """The page a member lands on when opening the workspace: the dashboard made for their role."""
    return {Role.ADMIN: "dashboards:overview", Role.CX_LEAD: "dashboards:overview", Role.VIEWER: "dashboards:executive",
            Role.STAFF: "dashboards:staff_home"}.get(role, "dashboards:staff_home")
