"""Worlds built once and shared by several tests (a class of them), rolled back afterwards.

Building a dashboard world (hundreds of responses, rollups) costs seconds; the tests that only read it
need not rebuild it for every parametrised case. `built_once` opens a transaction on the test database
(as the app role, so row-level security stays live), the class-scoped fixture builds the world inside
it, every test then runs in its own savepoint inside that transaction (pytest-django's `db` nests), so
whatever a test writes is undone after it, and the whole world is rolled back when the class is done:
the next test starts from an empty database exactly as before.
"""

import dataclasses
from contextlib import contextmanager

from django.db import transaction

from apps.tenancy.context import tenant_context
from apps.tenancy.models import Role
from tests.factories import MembershipFactory, TeamFactory, TenantFactory, UserFactory


@dataclasses.dataclass
class World:
    a: object  # tenant "Acme"
    b: object  # tenant "Globex"
    c: object  # tenant "Initech" (nobody below belongs to it but carl)
    alice: object  # admin of A
    carol: object  # CX lead of A
    bob: object  # staff of A
    victor: object  # viewer of A
    charlie: object  # admin of B
    dana: object  # staff of A and admin of B
    carl: object  # admin of C

    def membership(self, user, tenant):
        from apps.tenancy.models import Membership

        with tenant_context(tenant):
            return Membership.objects.select_related("user").get(user=user)


def world_build() -> World:
    """Three tenants, people in each role, one person in two tenants (the `world` fixture)."""
    a = TenantFactory(name="Acme Advisory", slug="acme", time_zone="Europe/Brussels")
    b = TenantFactory(name="Globex Legal", slug="globex", time_zone="America/New_York")
    c = TenantFactory(name="Initech", slug="initech", time_zone="Asia/Tokyo")
    people = {name: UserFactory(email=f"{name}@example.com", full_name=name.title())
              for name in ["alice", "carol", "bob", "victor", "charlie", "dana", "carl"]}
    MembershipFactory(tenant=a, user=people["alice"], role=Role.ADMIN)
    MembershipFactory(tenant=a, user=people["carol"], role=Role.CX_LEAD)
    MembershipFactory(tenant=a, user=people["bob"], role=Role.STAFF)
    MembershipFactory(tenant=a, user=people["victor"], role=Role.VIEWER)
    MembershipFactory(tenant=b, user=people["charlie"], role=Role.ADMIN)
    MembershipFactory(tenant=a, user=people["dana"], role=Role.STAFF)
    MembershipFactory(tenant=b, user=people["dana"], role=Role.ADMIN)
    MembershipFactory(tenant=c, user=people["carl"], role=Role.ADMIN)
    # Deliberately colliding names across tenants.
    for tenant in (a, b):
        TeamFactory(tenant=tenant, name="Support")
    return World(a=a, b=b, c=c, **people)


@contextmanager
def built_once(django_db_blocker):
    """A transaction held open around a class of tests (use it in a class-scoped fixture that depends on
    `django_db_setup`); rolled back, never committed, when the class is done."""
    with django_db_blocker.unblock():
        with transaction.atomic():
            try:
                yield
            finally:
                transaction.set_rollback(True)
