"""Standard Webhooks signatures (https://www.standardwebhooks.com/), for us and for receivers.

Every delivery carries three headers:

- `webhook-id`: the message id (`msg_…`), the same on every retry of one event to one endpoint, so a
  receiver can drop duplicates;
- `webhook-timestamp`: the attempt's time in integer Unix seconds;
- `webhook-signature`: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, where `key` is the
  base64-decoded part of the endpoint's secret `whsec_<base64>` and `body` the exact bytes sent.
  Several space-separated signatures may appear (e.g. while a secret is rotated); one match suffices.

A receiver verifies (this module needs only the standard library; copy `verify` if you like):

    from apps.integrations.signing import verify, WebhookVerificationError
    try:
        verify(secret="whsec_…", headers=request.headers, body=request.body)   # raw bytes, not re-serialised JSON
    except WebhookVerificationError:
        return 400

`verify` compares in constant time and refuses a timestamp more than `tolerance` seconds (5 minutes,
as the spec suggests) from now in either direction, which bounds replays.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec asks for 24–64 random bytes
TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The message is not authentic (missing header, bad signature, stale or future timestamp)."""


def secret_generate() -> str:
    """A new signing secret: `whsec_` + base64 of 32 random bytes from `secrets`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_`."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("The secret is not whsec_<base64>.") from exc


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else bytes(body)


def sign(*, secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The `webhook-signature` value for one message: `v1,<base64 signature>`."""
    to_sign = f"{msg_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secret: str, msg_id: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for a message sent now (or at `timestamp`)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"Missing header {name}.")


def verify(*, secret: str, headers: Mapping[str, str], body: bytes | str, tolerance: int = TOLERANCE_SECONDS,
           now: float | None = None) -> None:
    """Check a received message; raise `WebhookVerificationError` unless it is authentic and fresh.

    `headers` is any mapping (names compared case-insensitively); `body` the raw request body."""
    msg_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(timestamp_text)
    except ValueError as exc:
        raise WebhookVerificationError("Invalid webhook-timestamp.") from exc
    now = time.time() if now is None else now
    if timestamp < now - tolerance:
        raise WebhookVerificationError("The message timestamp is too old.")
    if timestamp > now + tolerance:
        raise WebhookVerificationError("The message timestamp is too new.")
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body).encode()
    for candidate in signatures.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            return
    raise WebhookVerificationError("No matching signature.")
