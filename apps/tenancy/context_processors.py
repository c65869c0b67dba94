from apps.tenancy.models import ADMINS, LEADS, STAFF_AND_UP


def tenancy(request):
    access = getattr(request, "tenant_access", None)
    role = access.role if access else None
    return {
        "tenant": getattr(request, "tenant", None),
        "tenant_access": access,
        "is_tenant_admin": role in ADMINS,
        "is_lead": role in LEADS,
        "is_staff_member": role in STAFF_AND_UP,
    }
