"""Domain events other apps listen to (webhooks, alert rules, Slack) without the emitting service
knowing them.

Every event is sent **inside** the emitting transaction, with the tenant active: a receiver writes its
own rows in that same transaction (so they exist exactly when the event's row does) and queues its
tasks with `enqueue_on_commit`. Receivers take the keyword arguments named below (and **kwargs).
"""

from django.dispatch import Signal

# A counted or bot response was stored (sent once, on creation). kwargs: tenant, response.
response_created = Signal()
# A response recorded from a score clicked in the invitation e-mail was changed: another click, or the respondent
# submitted the form (inside that transaction). kwargs: tenant, response, scores_changed. Metrics listens (its day
# is recounted when a score changed), and the alert rules look at it again (a case once per rule and response).
response_changed = Signal()
# An interaction was flagged for follow-up (logged with the flag, or the flag switched on). kwargs: tenant, interaction.
interaction_follow_up_flagged = Signal()
# A case was opened (by a rule or by hand). kwargs: tenant, case.
case_opened = Signal()
# A case was resolved (status resolved, with root cause and action). kwargs: tenant, case.
case_resolved = Signal()
# An account asked for a password reset (sent by a worker, never in the request), handed to the outbox of
# `tenant`, a workspace the account belongs to. kwargs: tenant, user, message_id.
password_reset_requested = Signal()
# An interaction was logged (sent once, on creation, inside its transaction). kwargs: tenant, interaction.
# Surveys listens: after-interaction surveys at its touchpoint are queued on commit.
interaction_logged = Signal()
# A touchpoint is about to be deleted (inside the deleting transaction; it has no interactions). kwargs: tenant,
# touchpoint. Journeys listens: the touchpoint's placements go and the stages it stood on close the gap.
touchpoint_deleting = Signal()
# A survey that never got a response was deleted (inside the deleting transaction). kwargs: tenant, survey_id.
# Metrics listens: the survey's funnel rows go.
survey_deleted = Signal()
# The workspace's time zone changed (inside the settings transaction). kwargs: tenant.
# Metrics listens: responses are re-dated and the rollups rebuilt, queued on commit.
tenant_time_zone_changed = Signal()
# Clients' churn risks were scored (inside the refresh's transaction). kwargs: tenant, changes — a list of
# (client_id, previous score or None, new score). Feedback listens: churn-risk alert rules open cases;
# each receiver returns how many cases it opened (summed into the refresh's result).
churn_risk_scored = Signal()
# Themes on response comments changed (assigned, corrected, or a theme deleted), inside the writing transaction.
# kwargs: tenant, days — the responses' local days, or None for every day (a rebuild). Metrics listens: those days'
# theme statistics are recomputed.
response_themes_changed = Signal()
# Past responses were imported in bulk (inside the import's transaction; no alert rule, webhook or funnel sees
# history). kwargs: tenant, days — their local days; journeys — (client_id, journey_id) pairs they joined; since —
# the earliest one's submitted_at. Metrics listens: the days they touch (theirs, and the days of later responses
# in those clients' journeys, whose transitions may now start from an imported one) are recomputed.
responses_imported = Signal()
