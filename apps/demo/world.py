"""The demo world `make run` seeds: two tenants in different industries, with deliberately colliding data.

`build_world()` plans a tenant's world in memory, with no database: staff, a few hundred clients and
their contacts, touchpoints, two journeys, and several thousand interactions over the last 18 months.
It is deterministic: one random generator per tenant (and per client), dates relative to the run
date, so the same run date gives the same world. `seed_demo()` writes the plans with bulk inserts,
every tenant row inside `tenant_context()` with its tenant set explicitly (row-level security accepts
exactly those rows).

Each client carries a hidden, drifting "true" satisfaction (0–10; clients who churn sour in the
months before). Interaction moods, outcomes, staff-rated sentiment and the staff's predicted scores
are drawn from it (staff over-estimate a little, as seed 003 says they do), so later issues can
seed survey answers from the same latent value and compare them with the predictions: rebuild the
plan with `build_world(spec, today)` and call `PlannedClient.satisfaction_on(day)`.

Idempotent: a tenant that already has interactions has its world and is skipped; otherwise rows are
matched on natural keys (names, e-mails) before anything is inserted, so a database seeded by the
earlier, smaller demo is brought in line rather than duplicated.
"""

from __future__ import annotations

import dataclasses
import math
import random
import re
import zlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.clients.models import AttributeDefinition, Client, Contact, Segment
from apps.demo.feedback import seed_action_plans, seed_feedback
from apps.demo.surveys import seed_surveys
from apps.journeys.models import Journey, Stage, StageTouchpoint
from apps.metrics.churn.risk import churn_risk_refresh
from apps.metrics.funnel.services import funnel_rebuild
from apps.metrics.rollups import rollups_rebuild
from apps.surveys.models import Response, ResponseTheme, ThemeReview
from apps.surveys.themes.services import classifier_train, response_themes_set, themes_reassign, themes_seed_starter
from apps.tenancy.context import tenant_context
from apps.tenancy.models import Membership, Role, Team, Tenant
from apps.touchpoints.interactions.services import text_sentiment
from apps.touchpoints.models import Channel, Interaction, Touchpoint

DEMO_PASSWORD = "demo-password-2026"
SHARED_USER = "consultant@cxm.demo"  # CX lead at Northwind, admin at Harbor
DEFAULT_SIZE = 240  # clients per tenant
WINDOW_DAYS = 548  # interactions cover the last 18 months
BATCH = 1000

ROLES = [(Role.ADMIN, "admin"), (Role.CX_LEAD, "lead"), (Role.STAFF, "staff"), (Role.VIEWER, "viewer")]
Tier = Client.Tier
Outcome = Interaction.Outcome


# --- vocabulary ---------------------------------------------------------------------------------

REGIONS = ("North", "South", "East", "West")  # the demo clients' custom attribute "region"


@dataclasses.dataclass(frozen=True)
class SegmentSpec:
    name: str
    description: str
    weight: float
    tiers: tuple[float, float, float]  # strategic, key, standard
    private: bool = False  # clients are people and families, not companies


@dataclasses.dataclass(frozen=True)
class TouchpointSpec:
    name: str
    channel: str
    team: str
    description: str
    weight: float  # how often day-to-day service happens here (journey steps come on top)
    is_key: bool = False
    mood: float = 0.0  # how this touchpoint tends to shift the client's mood
    topics: tuple[str, ...] = ()  # what interactions here are about (default: the profile's topics)


@dataclasses.dataclass(frozen=True)
class StageSpec:
    name: str
    goal: str
    emotion: str
    placements: tuple[tuple[str, bool, str], ...]  # (touchpoint, moment of truth, what the client expects)


@dataclasses.dataclass(frozen=True)
class JourneySpec:
    name: str
    description: str
    stages: tuple[StageSpec, ...]


@dataclasses.dataclass(frozen=True)
class Profile:
    """What makes one industry's world look like itself."""

    teams: tuple[tuple[str, str], ...]  # the first two, Advisory and Client service, exist in every demo tenant
    staff: tuple[tuple[str, str], ...]  # (full name, team) of staff2, staff3, ...
    segments: tuple[SegmentSpec, ...]
    industries: tuple[tuple[str, tuple[str, ...]], ...]  # (client industry, company-name suffixes)
    company_words: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    roles: tuple[str, ...]  # contacts' roles at company clients
    private_roles: tuple[str, ...]
    locales: tuple[tuple[str, float], ...]
    phone: str  # format with {a} (3 digits) and {b} (2 digits)
    value_scale: float
    touchpoints: tuple[TouchpointSpec, ...]
    journeys: tuple[JourneySpec, ...]  # the onboarding journey first, the yearly renewal second
    topics: tuple[str, ...]


SHARED_TEAMS = (("Advisory", "Partners and managers who own client relationships"),
                ("Client service", "Front desk, phone, e-mail and chat"))

# Every interaction summary comes from one of these; {topic} is what it was about.
SUMMARIES = {
    "positive": (
        "Walked the client through the {topic}; they were pleased with how clear it was",
        "{Topic} delivered ahead of schedule, client thanked the team",
        "Quick answer on the {topic}, client satisfied",
        "Client praised our responsiveness on the {topic}",
        "Resolved the {topic} question in one call, great feedback",
        "Client happy with the proactive reminder about the {topic}",
        "Smooth hand-over of the {topic}; client loved how easy it was",
        "Client called the advice on the {topic} excellent and asked about more work",
    ),
    "neutral": (
        "Routine check-in about the {topic}",
        "Sent the requested documents for the {topic}",
        "Client asked for an update on the {topic}; timeline confirmed",
        "Scheduled a follow-up meeting about the {topic}",
        "Answered questions about the {topic}",
        "Collected missing information for the {topic}",
        "Reviewed the {topic} with the client, no open points",
        "Client confirmed receipt of the {topic}",
    ),
    "negative": (
        "Client frustrated by the delay on the {topic}",
        "Complaint about the invoice for the {topic}",
        "Client unhappy: had to chase us twice about the {topic}",
        "Error in the {topic}; client annoyed and asked for a correction",
        "Client confused and unhappy with how the {topic} was explained",
        "Long wait on the line before reaching someone about the {topic}, client upset",
        "Client disappointed with the fees for the {topic} and mentioned other firms",
        "Missed deadline on the {topic}; client angry",
    ),
}

# The earlier demo's 24 clients, in both tenants with the same names and contact e-mails: the same
# person can be a client of two firms, and nothing may ever mix them up.
SHARED_FIRST = ["Jordan", "Sam", "Alex", "Morgan", "Taylor", "Casey", "Robin", "Jamie", "Avery", "Riley", "Quinn", "Drew"]
SHARED_LAST = ["Lee", "Martin", "Dubois", "Peeters", "Janssens", "Smith", "Garcia", "Novak", "Rossi", "Murphy", "Kim", "Okafor"]
SHARED_COMPANIES = ["Acme", "Blue Harbor", "Cedar", "Delta", "Evergreen", "Fjord", "Granite", "Helix", "Iris", "Juniper",
                    "Kestrel", "Lumen", "Maple", "Nimbus", "Orion", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal",
                    "Umber", "Vertex", "Willow", "Zenith"]
SHARED_SUFFIXES = ["Logistics", "Foods", "Dental", "Engineering", "Retail", "Software", "Clinics", "Holdings"]
SHARED_ROLES = ["CEO", "CFO"]

INDUSTRIES = (
    ("Logistics", ("Logistics", "Freight", "Shipping")),
    ("Food & beverage", ("Foods", "Brewery", "Bakery")),
    ("Healthcare", ("Clinics", "Dental", "Care")),
    ("Software", ("Software", "Labs", "Digital")),
    ("Construction", ("Construction", "Builders")),
    ("Retail", ("Retail", "Stores", "Outfitters")),
    ("Engineering", ("Engineering", "Technics")),
    ("Hospitality", ("Hotels", "Catering")),
    ("Manufacturing", ("Industries", "Manufacturing", "Works")),
    ("Real estate", ("Properties", "Real Estate")),
    ("Professional services", ("Consulting", "Partners")),
    ("Energy", ("Energy", "Solar")),
)

NORTHWIND = Profile(
    teams=(*SHARED_TEAMS, ("Tax & accounts", "VAT, corporate tax and year-end accounts"), ("Payroll", "Payroll and HR administration"),
           ("Finance", "Billing and collections")),
    staff=(("Lotte Claes", "Client service"), ("Mathieu Dubois", "Tax & accounts"), ("Sofie Janssens", "Advisory"),
           ("Yusuf Demir", "Payroll"), ("Elena Rossi", "Client service")),
    segments=(
        SegmentSpec("Enterprise", "Over 1,000 employees", 0.10, (0.45, 0.4, 0.15)),
        SegmentSpec("Mid-market", "100 to 1,000 employees", 0.25, (0.12, 0.38, 0.5)),
        SegmentSpec("Small business", "Under 100 employees", 0.37, (0.02, 0.18, 0.8)),
        SegmentSpec("Start-ups", "Young, founder-led companies", 0.16, (0.02, 0.15, 0.83)),
        SegmentSpec("Non-profit & public", "Associations, schools and municipalities", 0.12, (0.05, 0.3, 0.65)),
    ),
    industries=INDUSTRIES,
    company_words=("Scheldt", "Brabant", "Meuse", "Ardenne", "Flanders", "Sonian", "Zenne", "Lys", "Dijle", "Kempen",
                   "Hainaut", "Gaume", "Condroz", "Famenne", "Westhoek", "Polder", "Dune", "Atlas", "Beacon", "Copper",
                   "Falcon", "Heron", "Linden", "Oak", "Saffron", "Silverline", "Tandem", "Trefoil", "Vantage", "Wavre",
                   "Lion", "Belfry", "Canal", "Mosaic", "Nova", "Prism", "Regent", "Solstice", "Tulip", "Yser"),
    first_names=("Lotte", "Wout", "Sofie", "Jens", "Elise", "Thomas", "Marie", "Lucas", "Camille", "Hugo", "Nora", "Arthur",
                 "Louise", "Victor", "Emma", "Noah", "Julie", "Maxime", "Laura", "Pieter", "Anouk", "Bram", "Charlotte",
                 "Dries", "Fatima", "Youssef", "Ines", "Mehmet", "Sarah", "Olivier"),
    last_names=("Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet",
                "Dubois", "Lambert", "Dupont", "Martin", "Leroy", "Simon", "Laurent", "Vermeulen", "Van Damme", "Hermans",
                "Aerts", "El Amrani", "Yilmaz", "Renard", "Michiels", "Lemaire", "Van den Bossche", "Verstraete"),
    roles=("CEO", "CFO", "Finance manager", "Office manager", "Founder", "HR manager", "Controller", "Bookkeeper"),
    private_roles=("Client",),
    locales=(("nl", 0.45), ("fr", 0.4), ("en", 0.15)),
    phone="+32 2 555 {a} {b}",
    value_scale=1.0,
    touchpoints=(
        TouchpointSpec("Discovery meeting", Channel.IN_PERSON, "Advisory", "First meeting with a prospect at their office or ours.",
                       0.2, is_key=True, mood=0.3, topics=("proposal", "scope of the engagement", "fee estimate")),
        TouchpointSpec("Proposal e-mail", Channel.EMAIL, "Advisory", "The written proposal with scope, team and fixed fees.",
                       0.1, topics=("proposal", "fee estimate")),
        TouchpointSpec("Engagement letter e-signature", Channel.WEB, "Client service", "Signing the engagement letter online.",
                       0.1, topics=("engagement letter",)),
        TouchpointSpec("Kick-off meeting", Channel.IN_PERSON, "Advisory", "Introduces the team and agrees the calendar.",
                       0.1, is_key=True, mood=0.3, topics=("onboarding checklist", "reporting calendar")),
        TouchpointSpec("Client portal", Channel.WEB, "Client service", "Document upload, deadlines and deliverables online.",
                       1.2, mood=-0.2),
        TouchpointSpec("Receipts app", Channel.APP, "Client service", "Mobile app where clients photograph receipts and expense notes.",
                       0.8, topics=("expense claims", "quarterly bookkeeping", "receipt upload")),
        TouchpointSpec("Service desk e-mail", Channel.EMAIL, "Client service", "service@ mailbox, answered within one working day.", 2.2),
        TouchpointSpec("Phone helpline", Channel.PHONE, "Client service", "The office number, weekdays 8:30 to 18:00.", 1.8, mood=-0.4),
        TouchpointSpec("Live chat", Channel.CHAT, "Client service", "Chat on the website and in the portal.", 1.0),
        TouchpointSpec("Deliverable walkthrough call", Channel.PHONE, "Tax & accounts", "Explaining a return or the accounts before filing.",
                       0.9, is_key=True, topics=("VAT return", "corporate tax return", "year-end accounts", "payroll run")),
        TouchpointSpec("Quarterly review meeting", Channel.IN_PERSON, "Advisory", "Numbers, risks and advice, every quarter.",
                       0.6, is_key=True, mood=0.4, topics=("cash-flow forecast", "budget review", "board reporting pack")),
        TouchpointSpec("Invoice and fee statement", Channel.EMAIL, "Finance", "Monthly invoice with time spent and fixed fees.",
                       0.6, mood=-0.7, topics=("invoice", "fee statement", "payment plan")),
        TouchpointSpec("Reception smiley kiosk", Channel.KIOSK, "Client service", "Three-smiley terminal at the Brussels office reception.",
                       0.3, topics=("office visit", "reception welcome")),
        TouchpointSpec("Planning workshop", Channel.IN_PERSON, "Advisory", "Half-day workshop on next year's priorities.",
                       0.05, mood=0.3, topics=("annual plan", "budget review")),
        TouchpointSpec("Deadline reminder SMS", Channel.SMS, "Tax & accounts", "Text reminders ahead of filing deadlines.",
                       0.4, topics=("VAT return", "corporate tax return", "payroll run")),
    ),
    journeys=(
        JourneySpec("Client onboarding", "From the first meeting to the first review: the months that decide whether a new client stays.", (
            StageSpec("Proposal", "Win the engagement with a clear scope", "positive", (
                ("Discovery meeting", True, "A partner who understands our business, not a sales pitch"),
                ("Proposal e-mail", False, "A fixed scope and fee we can compare"))),
            StageSpec("Engagement letter", "Agree terms without friction", "anxious", (
                ("Engagement letter e-signature", False, "Sign in minutes, without printing anything"),)),
            StageSpec("Kick-off meeting", "Set expectations and introduce the team", "positive", (
                ("Kick-off meeting", True, "Know who does what, and when we will hear from you"),
                ("Client portal", False, "Upload documents once and see what is still missing"))),
            StageSpec("First deliverable", "Deliver on time, explained plainly", "anxious", (
                ("Deliverable walkthrough call", True, "An explanation in plain language, before the deadline"),
                ("Service desk e-mail", False, "An answer within one working day"))),
            StageSpec("First review", "Confirm value and next steps", "delighted", (
                ("Quarterly review meeting", True, "Proof that the fee is worth it"),)),
        )),
        JourneySpec("Annual renewal", "The yearly look back and the renewal of the engagement.", (
            StageSpec("Year-end review", "Show the year's value", "neutral", (
                ("Quarterly review meeting", True, "A look back at what we saved and avoided"),)),
            StageSpec("Fee discussion", "Renew with transparent pricing", "anxious", (
                ("Invoice and fee statement", True, "No surprises on the invoice"),
                ("Phone helpline", False, "Someone who can explain the fees on the spot"))),
            StageSpec("Renewal signed", "Keep the relationship", "positive", (
                ("Engagement letter e-signature", False, "The same easy signing as last year"),)),
            StageSpec("Planning session", "Agree next year's priorities", "positive", (
                ("Planning workshop", False, "A plan with owners and dates"),)),
        )),
    ),
    topics=("VAT return", "quarterly bookkeeping", "payroll run", "year-end accounts", "corporate tax return", "cash-flow forecast",
            "audit preparation", "expense claims", "board reporting pack", "subsidy application", "budget review", "invoice"),
)

HARBOR = Profile(
    teams=(*SHARED_TEAMS, ("Litigation", "Disputes, hearings and settlements"), ("Private client", "Wills, estates and family matters"),
           ("Billing", "Invoices, retainers and trust accounts")),
    staff=(("Marcus Reed", "Client service"), ("Priya Raman", "Litigation"), ("Daniel Cohen", "Advisory"),
           ("Keisha Johnson", "Private client"), ("Miguel Alvarez", "Billing")),
    segments=(
        SegmentSpec("Corporate", "Companies with ongoing corporate and contract work", 0.3, (0.25, 0.4, 0.35)),
        SegmentSpec("Litigation", "Clients with a dispute in court or arbitration", 0.2, (0.15, 0.35, 0.5)),
        SegmentSpec("Real estate", "Buyers, sellers and landlords", 0.15, (0.05, 0.25, 0.7)),
        SegmentSpec("Employment", "Employers and executives", 0.15, (0.08, 0.3, 0.62)),
        SegmentSpec("Private clients", "Individuals and families: estates, wills, family law", 0.2, (0.0, 0.1, 0.9), private=True),
    ),
    industries=INDUSTRIES,
    company_words=("Hudson", "Empire", "Liberty", "Atlantic", "Madison", "Bowery", "Gotham", "Brooklyn", "Chelsea", "Harlem",
                   "Palisade", "Catskill", "Adirondack", "Montauk", "Seneca", "Mohawk", "Battery", "Bedrock", "Keystone", "Lexington",
                   "Meridian", "Northstar", "Parkside", "Ridgeline", "Riverside", "Skyline", "Steelworks", "Union", "Vanguard", "Westfield",
                   "Amber", "Broadway", "Cobalt", "Fulton", "Greenpoint", "Ironbound", "Lighthouse", "Mercer", "Pinnacle", "Tribeca"),
    first_names=("James", "Maria", "Michael", "Jennifer", "David", "Aisha", "Daniel", "Priya", "Kevin", "Sofia", "Brian", "Emily",
                 "Jose", "Grace", "Anthony", "Rachel", "Tyrone", "Mei", "Carlos", "Hannah", "Samuel", "Olivia", "Andre", "Nicole",
                 "Ethan", "Fatoumata", "Ryan", "Lauren", "Victor", "Chloe"),
    last_names=("Johnson", "Rodriguez", "Chen", "Williams", "Patel", "Nguyen", "Brown", "Garcia", "Kim", "Davis", "O'Brien",
                "Cohen", "Martinez", "Jackson", "Rossi", "Murphy", "Goldberg", "Lopez", "Thompson", "Walker", "Shapiro",
                "Washington", "Ali", "Kowalski", "Haddad", "Park", "Rivera", "Sullivan"),
    roles=("General counsel", "CEO", "COO", "HR director", "Founder", "Office manager", "Property manager", "CFO"),
    private_roles=("Client", "Executor", "Spouse", "Family member"),
    locales=(("en", 0.85), ("es", 0.15)),
    phone="+1 212-555-0{b}",
    value_scale=1.3,
    touchpoints=(
        TouchpointSpec("Online intake form", Channel.WEB, "Client service", "The \"Tell us about your matter\" form on the website.",
                       0.3, topics=("new matter enquiry", "consultation request")),
        TouchpointSpec("Initial consultation", Channel.IN_PERSON, "Advisory", "First meeting with an attorney, in person or by video.",
                       0.2, is_key=True, mood=0.3, topics=("consultation", "fee estimate", "legal options")),
        TouchpointSpec("Conflict check call", Channel.PHONE, "Client service", "Intake call to clear conflicts of interest.",
                       0.1, mood=-0.2, topics=("conflict check", "intake questionnaire")),
        TouchpointSpec("Engagement letter e-signature", Channel.WEB, "Client service", "Signing the engagement letter online.",
                       0.1, topics=("engagement letter", "retainer agreement")),
        TouchpointSpec("Matter kick-off meeting", Channel.IN_PERSON, "Advisory", "Plan, team, budget and how we will keep in touch.",
                       0.1, is_key=True, mood=0.3, topics=("case strategy", "matter budget")),
        TouchpointSpec("Client portal", Channel.WEB, "Client service", "Documents, deadlines and invoices for every matter.", 1.0, mood=-0.2),
        TouchpointSpec("Secure messaging app", Channel.APP, "Client service", "Encrypted messages with the matter team.", 1.2),
        TouchpointSpec("Case update e-mail", Channel.EMAIL, "Litigation", "Written update after every step in a matter.", 2.0),
        TouchpointSpec("Phone line", Channel.PHONE, "Client service", "The front desk, weekdays 8:00 to 18:00.", 1.8, mood=-0.4),
        TouchpointSpec("Court hearing", Channel.IN_PERSON, "Litigation", "Hearings, depositions and mediation sessions.",
                       0.5, is_key=True, mood=-0.3, topics=("court hearing", "deposition", "mediation session", "settlement offer")),
        TouchpointSpec("Hearing reminder SMS", Channel.SMS, "Litigation", "Text reminders before hearings and filing deadlines.",
                       0.4, topics=("court hearing", "filing deadline", "deposition")),
        TouchpointSpec("Invoice and billing statement", Channel.EMAIL, "Billing", "Monthly invoice with time entries per matter.",
                       0.7, mood=-0.8, topics=("invoice", "retainer balance", "billing statement")),
        TouchpointSpec("Lobby feedback kiosk", Channel.KIOSK, "Client service", "Three-smiley terminal in the Manhattan office lobby.",
                       0.3, topics=("office visit", "reception welcome")),
        TouchpointSpec("Annual matter review", Channel.IN_PERSON, "Advisory", "A yearly review of open matters, outcomes and fees.",
                       0.3, is_key=True, mood=0.3, topics=("annual review", "legal budget", "open matters")),
        TouchpointSpec("Live chat", Channel.CHAT, "Client service", "Chat on the website, answered by the front desk.", 0.7),
    ),
    journeys=(
        JourneySpec("Client onboarding", "From the first enquiry to the first update: where a client decides whether to trust us.", (
            StageSpec("First contact", "Answer fast and book a consultation", "anxious", (
                ("Online intake form", False, "A reply the same day"),
                ("Phone line", False, "A person, not a voicemail"))),
            StageSpec("Consultation", "Understand the matter and clear conflicts", "anxious", (
                ("Initial consultation", True, "A lawyer who listens and explains the options and the costs"),
                ("Conflict check call", False, "A quick, discreet check"))),
            StageSpec("Engagement letter", "Agree scope and fees in plain English", "neutral", (
                ("Engagement letter e-signature", False, "Clear fees and no legalese"),)),
            StageSpec("Matter kick-off", "Set the plan, the team and how we will communicate", "positive", (
                ("Matter kick-off meeting", True, "A plan, a budget and one person to call"),
                ("Client portal", False, "Every document in one place"))),
            StageSpec("First update", "Show progress before the client has to ask", "positive", (
                ("Case update e-mail", True, "Hearing from us before having to chase"),
                ("Secure messaging app", False, "Quick answers to quick questions"))),
        )),
        JourneySpec("Annual renewal", "The yearly review of a retained client and the renewal of the retainer.", (
            StageSpec("Annual review", "Show the year's outcomes", "neutral", (
                ("Annual matter review", True, "An honest account of wins, losses and costs"),)),
            StageSpec("Fee discussion", "Renew the retainer with transparent fees", "anxious", (
                ("Invoice and billing statement", True, "No surprise charges"),
                ("Phone line", False, "Someone who can explain the bill"))),
            StageSpec("Retainer renewed", "Keep the relationship", "positive", (
                ("Engagement letter e-signature", False, "The same easy signing as last year"),)),
            StageSpec("Priorities planning", "Agree next year's legal priorities", "positive", (
                ("Secure messaging app", False, "A short written plan we can refer to"),)),
        )),
    ),
    topics=("commercial lease", "employment contract", "shareholder agreement", "trademark filing", "settlement offer",
            "discovery documents", "estate plan", "real-estate closing", "NDA review", "compliance audit", "deposition schedule",
            "invoice"),
)


@dataclasses.dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    time_zone: str
    industry: str
    sender_name: str
    seed: int
    profile: Profile
    shared_role: str  # SHARED_USER's role here


TENANTS = [
    DemoTenant("northwind", "Northwind Advisory", "Europe/Brussels", "Accounting & advisory", "Northwind Client Care", 11,
               NORTHWIND, Role.CX_LEAD),
    DemoTenant("harbor", "Harbor Legal", "America/New_York", "Legal services", "Harbor Legal Client Team", 23, HARBOR, Role.ADMIN),
]


def demo_email(role_word: str, slug: str) -> str:
    return f"{role_word}@{slug}.demo"


# --- the plan -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PlannedMember:
    word: str  # the login is <word>@<slug>.demo
    full_name: str
    role: str
    team: str
    sentiment_rate: float = 0.0  # share of their interactions they rate
    predict_rate: float = 0.0  # share they give a predicted score
    predict_bias: float = 0.0  # staff over-estimate (seed 003)
    predict_noise: float = 1.0


@dataclasses.dataclass(frozen=True)
class PlannedContact:
    name: str
    email: str
    phone: str
    locale: str
    role: str
    opted_out: bool


@dataclasses.dataclass(frozen=True)
class PlannedClient:
    name: str
    segment: str
    industry: str
    tier: str
    owner: str  # a PlannedMember.word
    annual_value: Decimal
    active_from: date
    churned_on: date | None
    contacts: tuple[PlannedContact, ...]
    satisfaction_origin: date
    satisfaction_points: tuple[float, ...]  # the hidden "true" satisfaction (0–10), one point every 30 days

    @property
    def status(self) -> str:
        return Client.Status.CHURNED if self.churned_on else Client.Status.ACTIVE

    def satisfaction_on(self, day: date) -> float:
        """The client's latent satisfaction (0–10) on `day`, interpolated between monthly points."""
        x = (day - self.satisfaction_origin).days / 30
        points = self.satisfaction_points
        if x <= 0:
            return points[0]
        i = int(x)
        if i >= len(points) - 1:
            return points[-1]
        return points[i] + (points[i + 1] - points[i]) * (x - i)


@dataclasses.dataclass(frozen=True)
class PlannedInteraction:
    client: int  # index into World.clients
    contact: str | None  # e-mail
    touchpoint: str
    staff: str  # a PlannedMember.word
    occurred_at: datetime
    channel: str
    summary: str
    outcome: str
    staff_sentiment: int | None
    predicted_score: int | None
    follow_up: bool
    follow_up_due: date | None
    follow_up_done_at: datetime | None


@dataclasses.dataclass(frozen=True)
class World:
    spec: DemoTenant
    today: date
    members: tuple[PlannedMember, ...]
    clients: tuple[PlannedClient, ...]
    interactions: tuple[PlannedInteraction, ...]


def build_world(spec: DemoTenant, today: date, size: int = DEFAULT_SIZE) -> World:
    """Plan one tenant's demo world (no database). Same spec, run date and size → the same world."""
    rng = random.Random(f"{spec.seed}:world")
    members = _plan_members(spec, rng)
    clients = _plan_clients(spec, today, size, members, rng)
    interactions = _plan_interactions(spec, today, members, clients)
    return World(spec, today, tuple(members), tuple(clients), tuple(interactions))


def _plan_members(spec: DemoTenant, rng: random.Random) -> list[PlannedMember]:
    first = spec.name.split()[0]
    base = [("admin", f"{first} Admin", Role.ADMIN, "Advisory"), ("lead", f"{first} Lead", Role.CX_LEAD, "Advisory"),
            ("staff", f"{first} Staff", Role.STAFF, "Client service"), ("viewer", f"{first} Viewer", Role.VIEWER, "Advisory")]
    base += [(f"staff{n}", name, Role.STAFF, team) for n, (name, team) in enumerate(spec.profile.staff, start=2)]
    members = []
    for word, name, role, team in base:
        if role in (Role.STAFF, Role.CX_LEAD):
            members.append(PlannedMember(word, name, role, team, sentiment_rate=rng.uniform(0.5, 0.85),
                                         predict_rate=rng.uniform(0.25, 0.45), predict_bias=rng.uniform(0.0, 1.4),
                                         predict_noise=rng.uniform(0.7, 1.5)))
        else:
            members.append(PlannedMember(word, name, role, team))
    return members


def _weighted(rng: random.Random, items, weights):
    return rng.choices(items, weights=weights)[0]


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _plan_clients(spec: DemoTenant, today: date, size: int, members, rng: random.Random) -> list[PlannedClient]:
    profile = spec.profile
    owners = [m for m in members if m.role == Role.STAFF]
    owner_weights = [0.6 if m.team == "Client service" else 1.0 for m in owners]
    segments = profile.segments
    window_start = today - timedelta(days=WINDOW_DAYS)
    origin = window_start - timedelta(days=60)
    used_names: set[str] = set()
    used_emails: set[str] = set()
    clients = []
    for i in range(size):
        crng = random.Random(f"{spec.seed}:client:{i}")
        shared = i < len(SHARED_COMPANIES)
        if shared:
            companies = [s for s in segments if not s.private]
            segment = companies[i % len(companies)]
        else:
            segment = _weighted(crng, segments, [s.weight for s in segments])
        industry, suffixes = crng.choice(profile.industries)
        if shared:
            name = f"{SHARED_COMPANIES[i]} {SHARED_SUFFIXES[i % len(SHARED_SUFFIXES)]}"
            industry = SHARED_SUFFIXES[i % len(SHARED_SUFFIXES)]
        elif segment.private:
            first, last = crng.choice(profile.first_names), crng.choice(profile.last_names)
            name = crng.choice([f"{last} family", f"Estate of {first} {last}", f"{first} {last}"])
            industry = "Private individual"
        else:
            name = f"{crng.choice(profile.company_words)} {crng.choice(suffixes)}"
        while name in used_names:
            name = f"{name} {crng.choice(['Group', 'International', 'Co', 'Partners', 'II'])}"
        used_names.add(name)

        tier = _weighted(crng, [Tier.STRATEGIC, Tier.KEY, Tier.STANDARD], segment.tiers)
        median = {Tier.STRATEGIC: 180_000, Tier.KEY: 55_000, Tier.STANDARD: 11_000}[tier] * profile.value_scale
        annual_value = Decimal(max(1_000, round(crng.lognormvariate(math.log(median), 0.55) / 100) * 100))
        active_from = today - timedelta(days=crng.randint(20, 1095))

        # The hidden satisfaction: a mean-reverting monthly random walk around the client's own level.
        level = min(9.8, max(1.5, crng.gauss(7.3, 1.4)))
        churn_p = min(0.5, max(0.04, 0.16 + 0.08 * (7.3 - level))) * (0.5 if tier == Tier.STRATEGIC else 1.0)
        earliest_churn = max(window_start + timedelta(days=14), active_from + timedelta(days=120))
        latest_churn = today - timedelta(days=5)
        churned_on = None
        if crng.random() < churn_p and earliest_churn < latest_churn:
            churned_on = earliest_churn + timedelta(days=crng.randint(0, (latest_churn - earliest_churn).days))
        points, value = [], level
        dip, dip_days = crng.uniform(2.0, 3.5), crng.randint(90, 180)
        for k in range((today - origin).days // 30 + 2):
            value = min(10.0, max(0.0, value + 0.15 * (level - value) + crng.gauss(0, 0.45)))
            felt = value
            if churned_on:  # clients who leave sour in the months before they go
                to_go = (churned_on - (origin + timedelta(days=30 * k))).days
                felt = max(0.0, value - dip * min(1.0, max(0.0, 1 - to_go / dip_days)))
            points.append(round(felt, 3))

        if shared:
            contacts = []
            for j in range(2):
                first, last = SHARED_FIRST[(i + j) % len(SHARED_FIRST)], SHARED_LAST[(i * 2 + j) % len(SHARED_LAST)]
                email = f"{first}.{last}@{SHARED_COMPANIES[i].lower().replace(' ', '')}.example".lower()
                contacts.append(_contact(crng, profile, f"{first} {last}", email, SHARED_ROLES[j]))
                used_emails.add(email)
        else:
            contacts = []
            count = _weighted(crng, [1, 2, 3, 4], [0.3, 0.35, 0.2, 0.15])
            domain = f"{_ascii(name)}.example" if not segment.private else "homemail.example"
            roles = profile.private_roles if segment.private else profile.roles
            for j in range(count):
                first, last = crng.choice(profile.first_names), crng.choice(profile.last_names)
                local = f"{_ascii(first)}.{_ascii(last)}"
                email, n = f"{local}@{domain}", 2
                while email in used_emails:
                    email, n = f"{local}{n}@{domain}", n + 1
                used_emails.add(email)
                contacts.append(_contact(crng, profile, f"{first} {last}", email, roles[j] if j < len(roles) else crng.choice(roles)))
        clients.append(PlannedClient(
            name=name, segment=segment.name, industry=industry, tier=tier,
            owner=_weighted(crng, owners, owner_weights).word, annual_value=annual_value, active_from=active_from,
            churned_on=churned_on, contacts=tuple(contacts), satisfaction_origin=origin, satisfaction_points=tuple(points),
        ))
    return clients


def _contact(rng: random.Random, profile: Profile, name: str, email: str, role: str) -> PlannedContact:
    locale = _weighted(rng, [loc for loc, _ in profile.locales], [w for _, w in profile.locales])
    phone = profile.phone.format(a=f"{rng.randint(100, 999)}", b=f"{rng.randint(0, 99):02d}") if rng.random() < 0.8 else ""
    return PlannedContact(name=name, email=email, phone=phone, locale=locale, role=role, opted_out=rng.random() < 0.03)


def _plan_interactions(spec: DemoTenant, today: date, members, clients) -> list[PlannedInteraction]:
    """Service interactions at a rate set by the client's tier, plus the onboarding journey for
    clients who joined during the window and the renewal journey around each anniversary."""
    profile = spec.profile
    tz = ZoneInfo(spec.time_zone)
    window_start = today - timedelta(days=WINDOW_DAYS)
    last_day = today - timedelta(days=1)
    touchpoints = {t.name: t for t in profile.touchpoints}
    service = [t for t in profile.touchpoints if t.weight > 0]
    service_weights = [t.weight for t in service]
    handlers = [m for m in members if m.role in (Role.STAFF, Role.CX_LEAD)]
    by_word = {m.word: m for m in handlers}
    desk = [m for m in handlers if m.team == "Client service" and m.role == Role.STAFF]
    onboarding, renewal = profile.journeys
    rate = {Tier.STRATEGIC: 2.4, Tier.KEY: 1.5, Tier.STANDARD: 0.85}  # service interactions per client per month
    planned: list[PlannedInteraction] = []

    for index, client in enumerate(clients):
        rng = random.Random(f"{spec.seed}:interactions:{index}")
        start = max(window_start, client.active_from)
        end = min(last_day, client.churned_on - timedelta(days=1)) if client.churned_on else last_day
        if end < start:
            continue
        events: list[tuple[date, TouchpointSpec]] = []
        if client.active_from >= window_start:
            day = client.active_from
            for stage in onboarding.stages:
                events.append((day, touchpoints[_stage_touchpoint(rng, stage)]))
                day += timedelta(days=rng.randint(5, 25))
        anniversary = client.active_from
        while anniversary <= end:
            if anniversary > client.active_from and anniversary - timedelta(days=30) >= start:
                day = anniversary - timedelta(days=30)
                for stage in renewal.stages:
                    events.append((day, touchpoints[_stage_touchpoint(rng, stage)]))
                    day += timedelta(days=rng.randint(3, 14))
            anniversary = _add_year(anniversary)
        months = ((end - start).days + 1) / 30.4
        count = int(rate[client.tier] * months * rng.uniform(0.6, 1.4) + rng.random())
        for _ in range(count):
            day = start + timedelta(days=rng.randint(0, (end - start).days))
            events.append((day, _weighted(rng, service, service_weights)))

        for day, touchpoint in sorted(events, key=lambda e: (e[0], e[1].name)):
            if start <= day <= end:
                staff = _handler(rng, touchpoint, client, by_word, desk)
                planned.append(_interaction(rng, tz, today, profile, index, client, touchpoint, staff, day))

    # "My day" is never empty for the staff logins: a few open follow-ups, some overdue, some due soon.
    for member in (m for m in handlers if m.role == Role.STAFF):
        rng = random.Random(f"{spec.seed}:my-day:{member.word}")
        owned = [i for i, c in enumerate(clients) if c.owner == member.word and not c.churned_on and c.active_from < today - timedelta(days=30)]
        for k in range(rng.randint(5, 7) if owned else 0):
            overdue = k % 2 == 0
            index = rng.choice(owned)
            day = today - timedelta(days=rng.randint(4, 12) if overdue else rng.randint(1, 5))
            due = today - timedelta(days=rng.randint(1, 3)) if overdue else today + timedelta(days=rng.randint(0, 6))
            touchpoint = _weighted(rng, service, service_weights)
            interaction = _interaction(rng, tz, today, profile, index, clients[index], touchpoint, member, day, mood="negative")
            planned.append(dataclasses.replace(interaction, follow_up=True, follow_up_due=due, follow_up_done_at=None))
    planned.sort(key=lambda p: (p.occurred_at, p.client, p.touchpoint, p.staff))
    return planned


def _stage_touchpoint(rng: random.Random, stage: StageSpec) -> str:
    """Mostly the stage's moment of truth (or its first placement), sometimes another placement."""
    names = [name for name, _, _ in stage.placements]
    first = next((name for name, truth, _ in stage.placements if truth), names[0])
    return first if rng.random() < 0.7 or len(names) == 1 else rng.choice(names)


def _add_year(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _handler(rng: random.Random, touchpoint: TouchpointSpec, client: PlannedClient, by_word, desk) -> PlannedMember:
    if touchpoint.is_key and rng.random() < 0.12:
        return by_word["lead"]
    if touchpoint.team == "Client service" and rng.random() < 0.65:
        return rng.choice(desk)
    team = [m for m in by_word.values() if m.team == touchpoint.team and m.role == Role.STAFF]
    if team and rng.random() < 0.4:
        return rng.choice(team)
    return by_word[client.owner]


def _interaction(rng: random.Random, tz, today: date, profile: Profile, index: int, client: PlannedClient,
                 touchpoint: TouchpointSpec, staff: PlannedMember, day: date, mood: str | None = None) -> PlannedInteraction:
    self_service = touchpoint.channel in (Channel.WEB, Channel.APP, Channel.CHAT)
    if not self_service and day.weekday() >= 5:
        day -= timedelta(days=day.weekday() - 4)  # the Friday before
        day = max(day, client.active_from)
    occurred_at = datetime.combine(day, time(rng.randint(8, 17), rng.choice((0, 5, 10, 15, 20, 30, 40, 45, 50))), tzinfo=tz)

    satisfaction = client.satisfaction_on(day)
    felt = satisfaction + touchpoint.mood + rng.gauss(0, 1.3)
    if mood is None:
        mood = "positive" if felt >= 7.5 else "negative" if felt < 5.0 else "neutral"
    outcome = _weighted(rng, [Outcome.RESOLVED, Outcome.UNRESOLVED, Outcome.ESCALATED],
                        {"positive": (97, 3, 0), "neutral": (85, 12, 3), "negative": (50, 35, 15)}[mood])
    topic = rng.choice(touchpoint.topics or profile.topics)
    summary = rng.choice(SUMMARIES[mood]).format(topic=topic, Topic=topic[:1].upper() + topic[1:])

    staff_sentiment = None
    if rng.random() < staff.sentiment_rate:
        staff_sentiment = {"positive": 2 if felt >= 9 else 1, "neutral": 0, "negative": -2 if felt < 3 else -1}[mood]
    predicted_score = None
    if rng.random() < staff.predict_rate:
        guess = 0.6 * satisfaction + 0.4 * felt + staff.predict_bias + rng.gauss(0, staff.predict_noise)
        predicted_score = int(min(10, max(0, round(guess))))

    follow_up = outcome == Outcome.ESCALATED or rng.random() < {"positive": 0.04, "neutral": 0.12, "negative": 0.4}[mood]
    due = done_at = None
    if follow_up:
        due = day + timedelta(days=rng.randint(1, 10))
        # Follow-ups due more than six weeks ago have all been handled; recent ones are often still open.
        chance = rng.random()
        closed = due < today - timedelta(days=42) or chance < (0.9 if due < today - timedelta(days=14) else 0.4)
        if closed:
            latest = min((due - day).days + 3, (today - day).days - 1)
            if latest >= 0:
                done_day = day + timedelta(days=rng.randint(0, latest))
                done_at = datetime.combine(done_day, time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=tz)
                done_at = max(done_at, occurred_at + timedelta(minutes=30))
    return PlannedInteraction(
        client=index, contact=None if touchpoint.channel == Channel.KIOSK or rng.random() < 0.12 else _pick_contact(rng, client),
        touchpoint=touchpoint.name, staff=staff.word, occurred_at=occurred_at, channel=touchpoint.channel, summary=summary,
        outcome=outcome, staff_sentiment=staff_sentiment, predicted_score=predicted_score, follow_up=follow_up,
        follow_up_due=due, follow_up_done_at=done_at,
    )


def _pick_contact(rng: random.Random, client: PlannedClient) -> str:
    weights = [3] + [1] * (len(client.contacts) - 1)  # the main contact most often
    return _weighted(rng, client.contacts, weights).email


# --- writing it ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SeedReport:
    """What seed_demo() did for one tenant, for the command to print."""

    name: str
    slug: str
    time_zone: str
    created: bool  # False when the tenant already had its world
    counts: dict[str, int]
    logins: list[tuple[str, str]]


@transaction.atomic
def seed_demo(*, tenants: list[DemoTenant] | None = None, today: date | None = None, size: int = DEFAULT_SIZE) -> list[SeedReport]:
    """Create the demo world of each tenant that does not have it yet; report on every tenant.

    `today` defaults to each tenant's local date; `size` is the number of clients per tenant.
    """
    password = make_password(DEMO_PASSWORD)  # hashed once: hashing is deliberately slow
    shared = _user(SHARED_USER, "Casey Consultant", password)
    reports = []
    for spec in tenants or TENANTS:
        tenant, _ = Tenant.objects.get_or_create(
            slug=spec.slug,
            defaults=dict(name=spec.name, time_zone=spec.time_zone, industry=spec.industry,
                          sender_name=spec.sender_name, sender_email=f"care@{spec.slug}.demo"),
        )
        run_date = today or timezone.now().astimezone(ZoneInfo(tenant.time_zone)).date()
        with tenant_context(tenant):
            created = not Interaction.objects.exists()
            if created:
                _write_world(tenant, build_world(spec, run_date, size), shared, password)
            survey_counts = seed_surveys(tenant=tenant, spec=spec, today=run_date, size=size)  # issue 5: apps/demo/surveys.py
            survey_counts |= seed_feedback(tenant=tenant, spec=spec, today=run_date)  # issue 8: apps/demo/feedback.py
            # Issue 6: the history was written in bulk, so build its rollups and funnel once (idempotent).
            rollups_rebuild(tenant)
            funnel_rebuild(tenant)
            churn_risk_refresh(tenant)  # ClientHealth for the dashboards (rules, or the model with ≥ 30 churned and retained)
            seed_action_plans(tenant=tenant, today=run_date)  # baselines are read from the rollups just built
            themes_seed_starter(tenant=tenant, reassign=False)  # issue 19: the starter comment themes
            counts = {
                "clients": Client.objects.count(), "contacts": Contact.objects.count(), "touchpoints": Touchpoint.objects.count(),
                "journeys": Journey.objects.count(), "stages": Stage.objects.count(), "placements": StageTouchpoint.objects.count(),
                "interactions": Interaction.objects.count(), "members": Membership.objects.count(), **survey_counts,
            }
            words = list(Membership.objects.filter(user__email__endswith=f"@{spec.slug}.demo").values_list("user__email", flat=True))
        themes_reassign(tenant, recount_all=True)  # the comments (analysed as they were written) themed, their statistics built
        seed_theme_reviews(tenant)  # once: a world that has its reviews is left alone
        order = {word: n for n, (_, word) in enumerate(ROLES)}
        logins = sorted(((email.split("@")[0], email) for email in words), key=lambda w: (order.get(w[0], 9), len(w[0]), w[0]))
        reports.append(SeedReport(spec.name, spec.slug, spec.time_zone, created, counts, logins))
    return reports


THEME_REVIEWS = 240


def seed_theme_reviews(tenant: Tenant) -> None:
    """The demo lead has reviewed the themes of the newest comments (confirming what the keyword rules found, as the
    response page records a correction), so the classifier has human-confirmed examples and the Themes page shows
    each learned theme's held-out precision and recall. Trained once at the end."""
    with tenant_context(tenant):
        if ThemeReview.objects.exists():
            return
        lead = Membership.objects.filter(user__email=f"lead@{tenant.slug}.demo").first()
        rows = list(Response.objects.filter(is_bot=False).exclude(comment="").order_by("-submitted_at", "-pk")[:THEME_REVIEWS])
        on: dict[int, list] = {}
        for link in ResponseTheme.objects.filter(response__in=rows, present=True).select_related("theme"):
            on.setdefault(link.response_id, []).append(link.theme)
        for response in rows:
            response_themes_set(tenant=tenant, response=response, themes=on.get(response.pk, []), by=lead, retrain=False)
    classifier_train(tenant)


def _user(email: str, full_name: str, password: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create(email=email, full_name=full_name, password=password)
    return user


def _sync(model, rows: list, key, fields: list[str], among=None) -> dict:
    """Insert the rows whose natural key is missing, bring the existing ones in line; return {key: row}.

    `among` narrows the existing rows (default: all of the tenant's)."""
    among = model.objects.all() if among is None else among
    existing = {key(obj): obj for obj in among}
    attnames = [model._meta.get_field(f).attname for f in fields]
    missing, changed = [], []
    for row in rows:
        current = existing.get(key(row))
        if current is None:
            missing.append(row)
        elif any(getattr(current, a) != getattr(row, a) for a in attnames):
            for a in attnames:
                setattr(current, a, getattr(row, a))
            changed.append(current)
    model.objects.bulk_create(missing, batch_size=BATCH)
    if changed:
        model.objects.bulk_update(changed, fields, batch_size=BATCH)
    return {key(obj): obj for obj in among.all()}


def _write_world(tenant: Tenant, world: World, shared: User, password: str) -> None:
    spec, profile = world.spec, world.spec.profile
    teams = {}
    for name, description in profile.teams:
        teams[name] = Team.objects.get_or_create(name=name, defaults={"tenant": tenant, "description": description})[0]
    members = {}
    for m in world.members:
        user = _user(demo_email(m.word, spec.slug), m.full_name, password)
        members[m.word] = Membership.objects.get_or_create(user=user, defaults={"tenant": tenant, "role": m.role, "team": teams[m.team]})[0]
    Membership.objects.get_or_create(user=shared, defaults={"tenant": tenant, "role": spec.shared_role, "team": teams["Advisory"]})
    segments = {s.name: Segment.objects.get_or_create(name=s.name, defaults={"tenant": tenant, "description": s.description})[0]
                for s in profile.segments}

    touchpoints = _sync(Touchpoint, [
        Touchpoint(tenant=tenant, name=t.name, channel=t.channel, team=teams[t.team], description=t.description, is_key=t.is_key)
        for t in profile.touchpoints
    ], key=lambda t: t.name, fields=["channel", "team", "description", "is_key"])

    journeys = _sync(Journey, [
        Journey(tenant=tenant, name=j.name, description=j.description, status=Journey.Status.ACTIVE) for j in profile.journeys
    ], key=lambda j: j.name, fields=["description", "status"])
    for spec_journey in profile.journeys:
        journey = journeys[spec_journey.name]
        stages = _sync(Stage, [
            Stage(tenant=tenant, journey=journey, order=order, name=s.name, goal=s.goal, expected_emotion=s.emotion)
            for order, s in enumerate(spec_journey.stages, start=1)
        ], key=lambda s: s.order, fields=["name", "goal", "expected_emotion"], among=Stage.objects.filter(journey=journey))
        placed = {(p.stage_id, p.touchpoint_id) for p in StageTouchpoint.objects.filter(stage__journey=journey)}
        counts = {s.pk: StageTouchpoint.objects.filter(stage=s).count() for s in stages.values()}
        placements = []
        for order, s in enumerate(spec_journey.stages, start=1):
            stage = stages[order]
            for name, truth, expectation in s.placements:
                touchpoint = touchpoints[name]
                if (stage.pk, touchpoint.pk) not in placed:
                    counts[stage.pk] += 1
                    placements.append(StageTouchpoint(tenant=tenant, stage=stage, touchpoint=touchpoint, order=counts[stage.pk],
                                                      moment_of_truth=truth, expectation=expectation))
        StageTouchpoint.objects.bulk_create(placements)

    # A custom attribute (hidden field on every invitation, a filter on responses, {{client.region}} in texts).
    AttributeDefinition.objects.get_or_create(applies_to="client", key="region", defaults={"tenant": tenant, "label": "Region"})
    clients = _sync(Client, [
        Client(tenant=tenant, name=c.name, segment=segments[c.segment], industry=c.industry, tier=c.tier, owner=members[c.owner],
               annual_value=c.annual_value, active_from=c.active_from, churned_on=c.churned_on, status=c.status,
               attributes={"region": REGIONS[zlib.crc32(c.name.encode()) % len(REGIONS)]})
        for c in world.clients
    ], key=lambda c: c.name, fields=["segment", "industry", "tier", "owner", "annual_value", "active_from", "churned_on", "status",
                                     "attributes"])
    contacts = _sync(Contact, [
        Contact(tenant=tenant, client=clients[c.name], name=p.name, email=p.email, phone=p.phone, locale=p.locale, role=p.role,
                opted_out=p.opted_out)
        for c in world.clients for p in c.contacts
    ], key=lambda c: c.email.lower(), fields=["client", "name", "phone", "locale", "role", "opted_out"])

    sentiment: dict[str, float] = {}  # a few hundred distinct summaries among thousands of rows
    rows = []
    for p in world.interactions:
        if p.summary not in sentiment:
            sentiment[p.summary] = text_sentiment(p.summary)
        rows.append(Interaction(
            tenant=tenant, client=clients[world.clients[p.client].name], contact=contacts[p.contact] if p.contact else None,
            touchpoint=touchpoints[p.touchpoint], staff=members[p.staff], occurred_at=p.occurred_at, channel=p.channel,
            summary=p.summary, outcome=p.outcome, staff_sentiment=p.staff_sentiment, predicted_score=p.predicted_score,
            text_sentiment=sentiment[p.summary], follow_up=p.follow_up, follow_up_due=p.follow_up_due,
            follow_up_done_at=p.follow_up_done_at,
        ))
    Interaction.objects.bulk_create(rows, batch_size=BATCH)
