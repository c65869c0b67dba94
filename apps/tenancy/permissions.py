"""Role checks for tenant pages. Wrong role → 403; not a member → 404 (in the middleware)."""

import functools

from django.core.exceptions import PermissionDenied


def tenant_role_required(roles: frozenset):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            access = getattr(request, "tenant_access", None)
            if access is None or access.role not in roles:
                raise PermissionDenied("Your role in this workspace does not allow this page.")
            return view(request, *args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator
