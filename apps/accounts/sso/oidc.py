"""OpenID Connect, the relying party's side (issue 21 item 2): the authorization code flow with PKCE (S256), a
state and a nonce per attempt, the provider's discovery document and keys, and the id token checked as the
specification says — signature (asymmetric algorithms only) against the provider's published keys, issuer,
audience (and `azp` when there are several), expiry, issue time, and the nonce this browser was given.

Every refusal is an `SsoError` whose message a person can act on; nothing here writes to the database.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import secrets
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.core.cache import cache

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
CACHE_SECONDS = 3600
PENDING_SECONDS = 600  # a sign-in started more than 10 minutes ago must start again


class SsoError(Exception):
    """A single sign-on attempt refused; the message says why, for the person signing in or the admin."""


@dataclasses.dataclass(frozen=True)
class Pending:
    """What the browser's session keeps between sending the person to the provider and their return."""

    connection: str  # the connection's uuid
    state: str
    nonce: str
    verifier: str
    next: str
    started_at: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _get_json(url: str, **kwargs) -> dict:
    try:
        response = requests.get(url, timeout=settings.SSO_HTTP_TIMEOUT, **kwargs)
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoError(f"The identity provider could not be reached at {url} ({type(exc).__name__}).") from exc


def discovery(issuer: str, *, fresh: bool = False) -> dict:
    """The provider's discovery document (cached for an hour); its `issuer` must be the one configured, exactly."""
    key = "sso:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    document = None if fresh else cache.get(key)
    if document is None:
        document = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if document.get("issuer") != issuer:
            raise SsoError(f"The provider at {issuer} calls itself {document.get('issuer')!r}: enter its issuer exactly.")
        missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
        if missing:
            raise SsoError(f"The provider's discovery document lacks {', '.join(missing)}.")
        cache.set(key, document, CACHE_SECONDS)
    return document


def _jwks(uri: str, *, fresh: bool = False) -> dict:
    key = "sso:jwks:" + hashlib.sha256(uri.encode()).hexdigest()
    keys = None if fresh else cache.get(key)
    if keys is None:
        keys = _get_json(uri)
        cache.set(key, keys, CACHE_SECONDS)
    return keys


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def authorization_request(*, connection, redirect_uri: str, login_hint: str, next_url: str) -> tuple[str, Pending]:
    """The provider's URL to send the browser to, and what to keep in its session until it comes back."""
    document = discovery(connection.issuer)
    pending = Pending(connection=str(connection.uuid), state=secrets.token_urlsafe(32), nonce=secrets.token_urlsafe(32),
                      verifier=secrets.token_urlsafe(64), next=next_url, started_at=time.time())
    params = {
        "response_type": "code", "client_id": connection.client_id, "redirect_uri": redirect_uri,
        "scope": "openid email profile", "state": pending.state, "nonce": pending.nonce,
        "code_challenge": _b64url(hashlib.sha256(pending.verifier.encode()).digest()), "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    endpoint = document["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}", pending


def exchange_code(*, connection, client_secret: str, code: str, verifier: str, redirect_uri: str) -> dict:
    """The token endpoint's answer for the code (client_secret_basic, or _post when that is all it takes)."""
    document = discovery(connection.issuer)
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth = None
    if "client_secret_basic" in methods:
        auth = (connection.client_id, client_secret)
    else:
        data.update(client_id=connection.client_id, client_secret=client_secret)
    try:
        response = requests.post(document["token_endpoint"], data=data, auth=auth, timeout=settings.SSO_HTTP_TIMEOUT,
                                 headers={"Accept": "application/json"})
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SsoError("The identity provider could not be reached to finish the sign-in. Try again.") from exc
    if response.status_code != 200 or "id_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        raise SsoError(f"The identity provider refused to finish the sign-in: {reason}.")
    return body


def validate_id_token(id_token: str, *, issuer: str, client_id: str, nonce: str, jwks_uri: str) -> dict:
    """The id token's claims once every check holds; SsoError naming the first that does not."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError as exc:
        raise SsoError("The identity provider's answer is not a readable id token.") from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise SsoError(f"The id token is signed with {algorithm!r}; only public-key signatures are accepted.")
    jwk = _signing_key(jwks_uri, header.get("kid"))
    try:
        claims = jwt.decode(id_token, jwt.PyJWK(jwk, algorithm).key, algorithms=[algorithm], audience=client_id, issuer=issuer,
                            leeway=60, options={"require": ["iss", "sub", "aud", "exp", "iat"]})
    except jwt.InvalidAudienceError as exc:
        raise SsoError("The id token was issued for another application (its audience is not this workspace's client id).") from exc
    except jwt.InvalidIssuerError as exc:
        raise SsoError("The id token was issued by another provider than this workspace's.") from exc
    except jwt.ExpiredSignatureError as exc:
        raise SsoError("The id token has expired: sign in again.") from exc
    except jwt.InvalidSignatureError as exc:
        raise SsoError("The id token's signature does not match the provider's keys.") from exc
    except jwt.PyJWTError as exc:
        raise SsoError(f"The id token is not valid ({exc}).") from exc
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise SsoError("The id token names several audiences and was not issued to this workspace's client (azp).")
    if not nonce or not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SsoError("The id token does not carry the nonce this sign-in was given: it may be replayed. Sign in again.")
    return claims


def _signing_key(jwks_uri: str, kid: str | None) -> dict:
    """The published key with this id (the keys are fetched again once when it is unknown: a rotation)."""
    for fresh in (False, True):
        keys = [k for k in _jwks(jwks_uri, fresh=fresh).get("keys", []) if k.get("use", "sig") == "sig"]
        match = [k for k in keys if kid is None or k.get("kid") == kid]
        if match:
            return match[0]
    raise SsoError("The id token is signed with a key the provider does not publish.")


def userinfo(*, issuer: str, access_token: str) -> dict:
    endpoint = discovery(issuer).get("userinfo_endpoint")
    if not endpoint:
        return {}
    return _get_json(endpoint, headers={"Authorization": f"Bearer {access_token}"})
