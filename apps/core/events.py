"""Domain events other apps listen to (webhooks, alert rules, Slack) without the emitting service
knowing them.

Every event is sent **inside** the emitting transaction, with the tenant active: a receiver writes its
own rows in that same transaction (so they exist exactly when the event's row does) and queues its
tasks with `enqueue_on_commit`. Receivers take the keyword arguments named below (and **kwargs).
"""

from django.dispatch import Signal

# A counted or bot response was stored (sent once, on creation). kwargs: tenant, response.
response_created = Signal()
# An interaction was flagged for follow-up (logged with the flag, or the flag switched on). kwargs: tenant, interaction.
interaction_follow_up_flagged = Signal()
# A case was opened (by a rule or by hand). kwargs: tenant, case.
case_opened = Signal()
# A case was resolved (status resolved, with root cause and action). kwargs: tenant, case.
case_resolved = Signal()
# An account asked for a password reset (sent by a worker, never in the request), handed to the outbox of
# `tenant`, a workspace the account belongs to. kwargs: tenant, user, message_id.
password_reset_requested = Signal()
