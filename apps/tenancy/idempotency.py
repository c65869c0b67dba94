"""`Idempotency-Key` on API POSTs, as Stripe does it: a client that retries a POST (a timeout, a
dropped connection) with the same key gets the first response back instead of acting twice.

- The key is scoped to the tenant and the caller (a user or an API key); it lives for a day.
- Same key, same request → the stored response, with `Idempotent-Replayed: true`.
- Same key, another request (path or body differs) → 422 `idempotency_key_reused`.
- Two requests with the same key at once: the first inserts the record inside the request's
  transaction; the second's insert waits on the unique index until the first commits, then finds
  its record and replays it. If the first fails, its whole transaction (record included) rolls back
  and the retry runs as new. Only successful responses are kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from apps.tenancy.due import due_note, due_settle, due_version
from apps.tenancy.models import ApiKey, IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces: UUIDs, ULIDs, hashes


class IdempotencyKeyInvalid(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = f"The {HEADER} header must be 1 to 255 printable ASCII characters without spaces (a UUID is ideal)."
    error_code = "idempotency_key_invalid"


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = f"This {HEADER} was already used for a different request; send a new key for a new request."
    error_code = "idempotency_key_reused"


class Replay(Exception):
    """Raised before the view runs: answer with the stored response instead."""

    def __init__(self, response: Response):
        super().__init__("idempotent replay")
        self.response = response


@dataclasses.dataclass(frozen=True)
class Claim:
    record_pk: int


def begin(request) -> Claim | None:
    """Called after authentication and permissions, inside the request's transaction."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not _KEY.match(key):
        raise IdempotencyKeyInvalid()
    principal = _principal(request)
    fingerprint = _fingerprint(request)
    record = _existing(principal, key)
    if record is None:
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(principal=principal, key=key, method=request.method,
                                                          path=request.path[:500], request_hash=fingerprint)
            due_note(record.tenant_id, PURGE_DUE, record.created_at + LIFETIME)  # the purge wakes for it then
            return Claim(record_pk=record.pk)
        except IntegrityError:  # a concurrent request with this key committed first
            record = _existing(principal, key)
            if record is None:
                raise
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused()
    raise Replay(Response(record.response_body, status=record.response_status, headers={REPLAYED_HEADER: "true"}))


def finish(claim: Claim | None, response) -> None:
    """Store a successful response under the claimed key; a failed request keeps no record."""
    if claim is None:
        return
    if transaction.get_rollback():
        return  # the whole request, record included, is being rolled back
    records = IdempotencyRecord.objects.filter(pk=claim.record_pk)
    if 200 <= response.status_code < 400:
        body = json.loads(json.dumps(response.data, cls=JSONEncoder)) if response.data is not None else None
        records.update(response_status=response.status_code, response_body=body)
    else:
        records.delete()


PURGE_DUE = "idempotency"  # apps/tenancy/due.py: when the tenant's oldest record outlives LIFETIME


def purge_expired(tenant_id: int) -> int:
    """Delete the active tenant's records older than LIFETIME (run by a periodic task); note when the next one is."""
    version = due_version(tenant_id, PURGE_DUE)
    cutoff = timezone.now() - LIFETIME
    deleted = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
    oldest = IdempotencyRecord.objects.aggregate(t=Min("created_at"))["t"]
    due_settle(tenant_id, PURGE_DUE, version, oldest + LIFETIME if oldest is not None else None)
    return deleted


def _existing(principal: str, key: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if record is not None and record.created_at < timezone.now() - LIFETIME:
        record.delete()
        return None
    return record


def _principal(request) -> str:
    if isinstance(request.auth, ApiKey):
        return f"api_key:{request.auth.pk}"
    return f"user:{request.user.pk}"


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()
