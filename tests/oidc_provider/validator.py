from oauth2_provider.oauth2_validators import OAuth2Validator


class ClaimsValidator(OAuth2Validator):
    """The claims a workforce identity provider gives: the e-mail (verified) and the name."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "email": "email", "email_verified": "email", "name": "profile"}

    def get_additional_claims(self, request):
        user = request.user
        return {"email": user.email, "email_verified": True, "name": f"{user.first_name} {user.last_name}".strip()}
