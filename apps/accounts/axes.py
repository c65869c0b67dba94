from apps.accounts.models import normalize_email


def lockout_username(request, credentials) -> str:
    """django-axes counts failures per account: compare e-mails the way logins do (case-insensitively),
    so changing the case of an address buys no extra guesses on any login path."""
    raw = (credentials or {}).get("username") or request.POST.get("username", "")
    return normalize_email(raw)
