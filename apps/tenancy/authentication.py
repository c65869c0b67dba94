"""`Authorization: Bearer <api key>` authentication. Kept apart from api.py: DRF imports its
authentication classes while rest_framework.views is still loading."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.tenancy.models import ApiKey
from apps.tenancy.selectors import api_key_get_by_raw_key_including_cross_tenant


class InvalidApiKey(exceptions.AuthenticationFailed):
    error_code = "invalid_api_key"
    default_detail = "The API key is malformed, unknown or revoked."


class ApiKeyPrincipal:
    """request.user for a call authenticated by an API key: it acts with the key's role."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.pk = self.id = f"apikey:{api_key.prefix}"  # throttling identity
        self.email = ""

    def __str__(self) -> str:
        return f"API key {self.api_key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer cxm_<prefix>_<secret>`; other schemes are left to other classes."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        if len(header) != 2:
            raise InvalidApiKey("Malformed Authorization header: expected `Bearer <api key>`.")
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidApiKey() from exc
        api_key = api_key_get_by_raw_key_including_cross_tenant(raw_key)
        if api_key is None or api_key.revoked_at is not None:
            raise InvalidApiKey()
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="cxm"'
