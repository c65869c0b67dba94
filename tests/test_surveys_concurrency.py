"""20 invitations × 50 concurrent submits against a live server (issue 5 tests): exactly 20
responses, 0 server errors. Every submit gets a 200 page: "thank you" once per invitation,
"already recorded" for the others. Loopback only, a bounded thread pool."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from apps.surveys.i18n import UI_TEXT
from apps.surveys.models import Invitation, Response
from apps.tenancy.context import tenant_context
from tests.builders import bilingual_live_survey, invitation_with_token

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.usefixtures("unlimited_link_requests")]

INVITATIONS = 20
SUBMITS_EACH = 25
WORKERS = 32  # bounded: the server and Postgres are shared with other test runs


def test_concurrent_submits_store_exactly_one_response_per_invitation(world, live_server):
    survey, _ = bilingual_live_survey(world.a)
    tokens = [invitation_with_token(survey)[1] for _ in range(INVITATIONS)]
    # An invitation of tenant B answered at the same time must stay B's.
    survey_b, _ = bilingual_live_survey(world.b)
    _, token_b = invitation_with_token(survey_b)
    jobs = [(token, 1 + i % 10) for token in tokens for i in range(SUBMITS_EACH)] + [(token_b, 5)] * 10
    random.Random(5).shuffle(jobs)
    local = threading.local()

    def submit(job):
        token, score = job
        if not hasattr(local, "session"):
            local.session = requests.Session()
        response = local.session.post(f"{live_server.url}/s/{token}/", data={"q_nps": str(score), "lang": "en"}, timeout=60)
        thanks = UI_TEXT["en"]["thanks_body"] in response.text
        return token, response.status_code, thanks

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(submit, jobs))

    statuses = Counter(status for _, status, _ in results)
    assert statuses == {200: len(jobs)}, statuses  # 0 server errors, no other failures
    thanked = Counter(token for token, _, thanks in results if thanks)
    assert thanked == {token: 1 for token in [*tokens, token_b]}  # one "thank you" per link, the rest "already recorded"
    with tenant_context(world.a):
        assert Response.objects.count() == INVITATIONS
        assert Response.objects.values("invitation").distinct().count() == INVITATIONS
        assert Invitation.objects.filter(status=Invitation.Status.RESPONDED).count() == INVITATIONS
    with tenant_context(world.b):
        assert Response.objects.count() == 1
