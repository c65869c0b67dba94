"""The demo world `make run` seeds: two tenants with deliberately colliding data.

Deterministic and idempotent: every row is found by its natural key before it is created, so a
second run adds nothing. Later issues extend the same world (interactions, surveys, responses).
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from apps.accounts.models import User
from apps.clients.models import Client, Contact, Segment
from apps.journeys.models import Journey, Stage
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership, Role, Team, Tenant

DEMO_PASSWORD = "demo-password-2026"


@dataclasses.dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    time_zone: str
    industry: str
    sender_name: str
    seed: int


TENANTS = [
    DemoTenant("northwind", "Northwind Advisory", "Europe/Brussels", "Accounting & advisory", "Northwind Client Care", 11),
    DemoTenant("harbor", "Harbor Legal", "America/New_York", "Legal services", "Harbor Legal Client Team", 23),
]
ROLES = [(Role.ADMIN, "admin"), (Role.CX_LEAD, "lead"), (Role.STAFF, "staff"), (Role.VIEWER, "viewer")]
SHARED_USER = "consultant@cxm.demo"  # CX lead at Northwind, admin at Harbor
SEGMENTS = [("Enterprise", "Over 1,000 employees"), ("Mid-market", "100 to 1,000 employees"), ("Small business", "Under 100 employees")]
TEAMS = [("Advisory", "Partners and managers who own client relationships"), ("Client service", "Front desk, phone and e-mail")]
JOURNEYS = {
    "Client onboarding": [
        ("Proposal", "Win the engagement with a clear scope", "positive"),
        ("Engagement letter", "Agree terms without friction", "anxious"),
        ("Kick-off meeting", "Set expectations and introduce the team", "positive"),
        ("First deliverable", "Deliver on time, explained plainly", "anxious"),
        ("First review", "Confirm value and next steps", "delighted"),
    ],
    "Annual renewal": [
        ("Year-end review", "Show the year's value", "neutral"),
        ("Fee discussion", "Renew with transparent pricing", "anxious"),
        ("Renewal signed", "Keep the relationship", "positive"),
        ("Planning session", "Agree next year's priorities", "positive"),
    ],
}
FIRST = ["Jordan", "Sam", "Alex", "Morgan", "Taylor", "Casey", "Robin", "Jamie", "Avery", "Riley", "Quinn", "Drew"]
LAST = ["Lee", "Martin", "Dubois", "Peeters", "Janssens", "Smith", "Garcia", "Novak", "Rossi", "Murphy", "Kim", "Okafor"]
COMPANY = ["Acme", "Blue Harbor", "Cedar", "Delta", "Evergreen", "Fjord", "Granite", "Helix", "Iris", "Juniper",
           "Kestrel", "Lumen", "Maple", "Nimbus", "Orion", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal",
           "Umber", "Vertex", "Willow", "Zenith"]
SUFFIX = ["Logistics", "Foods", "Dental", "Engineering", "Retail", "Software", "Clinics", "Holdings"]


def demo_email(role_word: str, slug: str) -> str:
    return f"{role_word}@{slug}.demo"


@transaction.atomic
def seed_demo() -> list[tuple[str, list[tuple[str, str]]]]:
    """Create (or find) the demo world. Returns, per tenant, its (role, e-mail) logins."""
    logins = []
    shared = _user(SHARED_USER, "Casey Consultant")
    for spec in TENANTS:
        tenant, _ = Tenant.objects.get_or_create(
            slug=spec.slug,
            defaults=dict(name=spec.name, time_zone=spec.time_zone, industry=spec.industry,
                          sender_name=spec.sender_name, sender_email=f"care@{spec.slug}.demo"),
        )
        with tenant_context(tenant):
            teams = [Team.objects.get_or_create(name=n, defaults={"description": d})[0] for n, d in TEAMS]
            members = []
            for role, word in ROLES:
                user = _user(demo_email(word, spec.slug), f"{spec.name.split()[0]} {word.title()}")
                members.append(_member(tenant, user, role, teams[1] if role == Role.STAFF else teams[0]))
            shared_role = Role.CX_LEAD if spec.slug == "northwind" else Role.ADMIN
            _member(tenant, shared, shared_role, teams[0])
            segments = [Segment.objects.get_or_create(name=n, defaults={"description": d})[0] for n, d in SEGMENTS]
            _clients(random.Random(spec.seed), segments, owner=members[2])
            _journeys(segments[0])
        logins.append((f"{spec.name} ({spec.time_zone})", [(w, demo_email(w, spec.slug)) for _, w in ROLES]))
    return logins


def _user(email: str, full_name: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
    return user


def _member(tenant, user, role, team) -> Membership:
    membership, _ = Membership.objects.get_or_create(user=user, defaults={"tenant": tenant, "role": role, "team": team})
    return membership


def _clients(rng: random.Random, segments, owner) -> None:
    """24 clients with two contacts each. Contact e-mails are the same in both tenants on purpose:
    the same person can be a client of two firms, and nothing may ever mix them up."""
    today = date.today()
    for i, company in enumerate(COMPANY):
        name = f"{company} {SUFFIX[i % len(SUFFIX)]}"
        active_from = today - timedelta(days=rng.randint(60, 1500))
        churned = rng.random() < 0.15
        client, created = Client.objects.get_or_create(
            name=name,
            defaults=dict(
                segment=segments[i % len(segments)], tier=[Client.Tier.STRATEGIC, Client.Tier.KEY, Client.Tier.STANDARD][i % 3],
                industry=SUFFIX[i % len(SUFFIX)], owner=owner, annual_value=Decimal(rng.randrange(5_000, 250_000, 500)),
                active_from=active_from,
                churned_on=active_from + timedelta(days=rng.randint(30, (today - active_from).days)) if churned else None,
                status=Client.Status.CHURNED if churned else Client.Status.ACTIVE,
            ),
        )
        for j in range(2):
            first, last = FIRST[(i + j) % len(FIRST)], LAST[(i * 2 + j) % len(LAST)]
            email = f"{first}.{last}@{company.lower().replace(' ', '')}.example".lower()
            Contact.objects.get_or_create(email=email, defaults=dict(client=client, name=f"{first} {last}",
                                                                     role=["CEO", "CFO", "Office manager"][j % 3]))


def _journeys(segment) -> None:
    for name, stages in JOURNEYS.items():
        journey, _ = Journey.objects.get_or_create(name=name, defaults=dict(status=Journey.Status.ACTIVE, segment=segment,
                                                                             description=f"The {name.lower()} journey."))
        for order, (stage, goal, emotion) in enumerate(stages, start=1):
            Stage.objects.get_or_create(journey=journey, order=order,
                                        defaults=dict(name=stage, goal=goal, expected_emotion=emotion))
