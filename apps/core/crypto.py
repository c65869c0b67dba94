"""Secrets kept in the database encrypted (an identity provider's client secret): Fernet (AES-128-CBC with an
HMAC-SHA256, from `cryptography`). Keys: FIELD_ENCRYPTION_KEYS (comma-separated Fernet keys, the first encrypts,
all decrypt, so a key can be rotated), else one derived from SECRET_KEY — then changing SECRET_KEY makes the stored
secrets unreadable (re-enter them), which is why production should set its own keys."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class Undecryptable(Exception):
    """The stored value was encrypted with a key this deployment no longer has."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k.strip()]
    if not keys:
        derived = hashlib.sha256(b"cxm.field-encryption:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise Undecryptable("The stored secret cannot be read with this deployment's keys: enter it again.") from exc
