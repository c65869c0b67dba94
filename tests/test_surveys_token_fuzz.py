"""Token fuzzing (issue 5 tests): bit flips, truncation, extension, another survey's or tenant's
token, random strings → 0 accepted, 0 server errors, nothing stored. Kiosk keys and web tokens too."""

from __future__ import annotations

import base64
import secrets
import string

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.surveys.kiosks.services import kiosk_create
from apps.surveys.models import Response
from apps.tenancy.context import tenant_context
from tests.builders import bilingual_live_survey, invitation_with_token

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("unlimited_link_requests")]

URL_SAFE = string.ascii_letters + string.digits + "-_"


def bit_flips(token: str) -> list[str]:
    """The token with one bit of its decoded bytes flipped, for every bit position."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    flipped = []
    for i in range(len(raw) * 8):
        mutated = bytearray(raw)
        mutated[i // 8] ^= 1 << (i % 8)
        flipped.append(base64.urlsafe_b64encode(bytes(mutated)).rstrip(b"=").decode())
    return [t for t in flipped if t != token]


def mutations(token: str) -> list[str]:
    out = bit_flips(token)
    out += [token[:n] for n in (0, 1, 16, 32, len(token) - 1)]  # truncation
    out += [token + c for c in "A_-0"] + [token * 2, "A" + token]  # extension
    out += [token.upper(), token.lower(), token[::-1], token.replace("-", "_") if "-" in token else token.replace("_", "-") + "x"]
    out += [token[:10] + c + token[11:] for c in "aZ9" if token[10] != c]  # one character substituted
    out += [f"{token}%00", f"{token}%20", f"{token}.", "%2e%2e", "..", "null", "undefined", " " + token]
    return [t for t in out if t != token]


def assert_rejected(client, path: str) -> list[int]:
    statuses = []
    for method in ("get", "post"):
        response = getattr(client, method)(path, {"q_nps": "9", "q_smiley": "3"} if method == "post" else None)
        assert response.status_code < 500, f"{method} {path} → {response.status_code}"
        statuses.append(response.status_code)
    return statuses


def test_mutated_invitation_tokens_are_never_accepted(world, client):
    survey_a, _ = bilingual_live_survey(world.a)
    other_survey_a, _ = bilingual_live_survey(world.a)
    survey_b, _ = bilingual_live_survey(world.b)
    _, raw = invitation_with_token(survey_a)
    _, raw_other_survey = invitation_with_token(other_survey_a)
    _, raw_b = invitation_with_token(survey_b)
    candidates = mutations(raw)
    assert len(candidates) > 270  # 256 bit flips and the rest
    accepted = [t for t in candidates if 404 not in assert_rejected(client, f"/s/{t}/")]
    assert accepted == []
    with tenant_context(world.a):
        assert Response.objects.count() == 0
    # Another survey's or another tenant's real token only ever answers its own invitation.
    client.post(f"/s/{raw_other_survey}/", {"q_nps": "1"})
    client.post(f"/s/{raw_b}/", {"q_nps": "2"})
    with tenant_context(world.a):
        assert list(Response.objects.values_list("survey_id", "nps")) == [(other_survey_a.pk, 1)]
    with tenant_context(world.b):
        assert list(Response.objects.values_list("survey_id", "nps")) == [(survey_b.pk, 2)]
    # And the original token still works after all that.
    assert client.get(f"/s/{raw}/").status_code == 200


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(alphabet=URL_SAFE, min_size=0, max_size=120), st.text(min_size=1, max_size=60)))
def test_random_tokens_are_404_and_never_500(world, client, token):
    from urllib.parse import quote

    path = quote(token, safe="")
    if not path:
        return
    for prefix in ("s", "k", "w"):
        for method in ("get", "post"):
            response = getattr(client, method)(f"/{prefix}/{path}/")
            assert response.status_code == 404, (prefix, method, token, response.status_code)


def test_mutated_kiosk_keys_and_web_tokens_are_never_accepted(world, client):
    cache.clear()
    survey, _ = bilingual_live_survey(world.a, kind="smiley", questions=[("smiley", "smiley", True, {})],
                            web_token="pubTOKENfuzz1234", web_link_enabled=True)
    with tenant_context(world.a):
        _, key = kiosk_create(tenant=world.a, acting_user=None, survey=survey, name="Desk")
    assert [t for t in mutations(key)[:200] if 404 not in assert_rejected(client, f"/k/{t}/")] == []
    web_variants = ["pubTOKENfuzz123", "pubTOKENfuzz12345", "PUBTOKENFUZZ1234", "pubtokenfuzz1234", secrets.token_urlsafe(12)]
    assert [t for t in web_variants if 404 not in assert_rejected(client, f"/w/{t}/")] == []
    with tenant_context(world.a):
        assert Response.objects.count() == 0
    assert client.get(f"/k/{key}/").status_code == 200
    assert client.get("/w/pubTOKENfuzz1234/").status_code == 200
