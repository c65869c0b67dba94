from apps.accounts.models import normalize_email


def lockout_username(request, credentials) -> str:
    """django-axes counts failures per account: compare e-mails the way logins do (case-insensitively),
    so changing the case of an address buys no extra guesses on any login path."""
    credentials = credentials or {}
    raw = credentials.get("email") or credentials.get("username") or request.POST.get("login", "")
    return normalize_email(raw)
