"""The dry run and the apply of an import, batched: the tenant's contacts, clients, segments and
members are loaded into dicts once, every row is decided in memory, and the writes are bulk
operations. The review and the apply run the same `plan_rows`, so the apply writes exactly what the
review promised (it compares the plans' digests and refuses to differ).

Row rules (also explained on the upload page):
- a contact is matched by e-mail, case-insensitively, within the tenant: update, else create;
- its client is matched by name, case-insensitively, within the tenant, else created; a row without
  `client_name` keeps an existing contact's client; a new contact needs one;
- empty cells never erase a stored value; they leave it as it is;
- a segment that does not exist yet is created (the review lists the new ones);
- `owner_email` must be an active member of the workspace (or the client's current owner);
- the first row that sets a client's field wins; a later row setting it differently is rejected;
- a row with the same e-mail as an earlier row is rejected ("same e-mail as row N");
- a row with no e-mail but a client name updates or creates just the client.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from import_export.widgets import DateWidget, DecimalWidget

from apps.clients.models import Client, Contact, Segment
from apps.imports.reading import CLIENT_COLUMNS, CONTACT_COLUMNS
from apps.tenancy.models import Membership, Tenant

BATCH_SIZE = 1000
PROGRESS_EVERY = 500
TRUE_WORDS = {"yes", "y", "true", "t", "1", "x", "oui", "ja", "si", "sí"}
FALSE_WORDS = {"no", "n", "false", "f", "0", "non", "nee", "nein"}
LOCALE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
DATE_WIDGET = DateWidget(format="%Y-%m-%d")
DECIMAL_WIDGET = DecimalWidget()

# Import column → model field.
CONTACT_FIELD = {"contact_name": "name", "phone": "phone", "locale": "locale", "role": "role", "opted_out": "opted_out"}
CLIENT_FIELD = {"segment": "segment", "tier": "tier", "status": "status", "industry": "industry", "annual_value": "annual_value",
                "active_from": "active_from", "churned_on": "churned_on", "owner_email": "owner"}
CLIENT_FK_FIELDS = ("segment", "owner")
# Fields whose validation would query per row (foreign keys) are checked in memory instead.
CLEAN_EXCLUDE = ["tenant", "client", "segment", "owner"]


class RowRejected(Exception):
    pass


@dataclasses.dataclass
class Snapshot:
    """The tenant's current rows that an import can match, loaded once."""

    contacts_by_email: dict[str, Contact]
    clients_by_name: dict[str, list[Client]]
    segments_by_name: dict[str, Segment]
    active_members_by_email: dict[str, Membership]


def load_snapshot() -> Snapshot:
    """Five queries, whatever the size of the tenant or of the file."""
    members = {m.pk: m for m in Membership.objects.select_related("user")}
    segments = {s.pk: s for s in Segment.objects.all()}
    clients = {}
    for client in Client.objects.all():
        # Fill the relation caches from the dicts: reading client.segment never queries.
        client.segment = segments.get(client.segment_id)
        client.owner = members.get(client.owner_id)
        clients[client.pk] = client
    contacts_by_email = {}
    for contact in Contact.objects.exclude(email=""):
        contact.client = clients[contact.client_id]
        contacts_by_email[contact.email.strip().lower()] = contact
    clients_by_name: dict[str, list[Client]] = {}
    for client in clients.values():
        clients_by_name.setdefault(name_key(client.name), []).append(client)
    return Snapshot(
        contacts_by_email=contacts_by_email,
        clients_by_name=clients_by_name,
        segments_by_name={name_key(s.name): s for s in segments.values()},
        active_members_by_email={m.user.email.lower(): m for m in members.values() if m.is_active},
    )


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


# --- typed cells --------------------------------------------------------------------------------

def _field_clean(model, field_name: str, value, column: str):
    field = model._meta.get_field(field_name)
    try:
        return field.clean(value, None)
    except ValidationError as exc:
        raise RowRejected(f"{column}: {' '.join(exc.messages)}") from None


def parse_bool(value: str, column: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise RowRejected(f"{column}: “{value}” is not yes or no")


def parse_date(value: str, column: str) -> datetime.date:
    try:
        return DATE_WIDGET.clean(value)
    except (ValueError, TypeError):
        raise RowRejected(f"{column}: “{value}” is not a date (use YYYY-MM-DD, e.g. 2024-03-31)") from None


def parse_decimal(value: str, column: str) -> Decimal:
    text = value.replace("\u00a0", "").replace(" ", "").replace("_", "")
    if "," in text and "." in text:  # 1,234.50 or 1.234,50: the last one is the decimal separator
        thousands = "," if text.rfind(".") > text.rfind(",") else "."
        text = text.replace(thousands, "").replace(",", ".")
    elif text.count(",") == 1 and len(text.split(",")[1]) <= 2:
        text = text.replace(",", ".")
    try:
        number = DECIMAL_WIDGET.clean(text)
    except (InvalidOperation, ValueError, TypeError):
        raise RowRejected(f"{column}: “{value}” is not a number") from None
    if not number.is_finite():
        raise RowRejected(f"{column}: “{value}” is not a number")
    return _field_clean(Client, "annual_value", number, column)


def parse_choice(value: str, column: str, choices) -> str:
    word = value.strip().lower()
    for key, label in choices:
        if word in (key, str(label).lower()):
            return key
    allowed = ", ".join(key for key, _ in choices)
    raise RowRejected(f"{column}: “{value}” is not one of {allowed}")


# --- the plan -----------------------------------------------------------------------------------

@dataclasses.dataclass
class ClientPlan:
    client: Client
    is_new: bool
    first_row: int
    changed: set[str] = dataclasses.field(default_factory=set)
    set_by: dict[str, int] = dataclasses.field(default_factory=dict)
    used: bool = False  # a new client is created only if an accepted row needs it


@dataclasses.dataclass
class Plan:
    rows_total: int = 0
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    rejections: list[dict] = dataclasses.field(default_factory=list)
    new_segments: dict[str, Segment] = dataclasses.field(default_factory=dict)
    client_plans: dict[int, ClientPlan] = dataclasses.field(default_factory=dict)  # id(client) → plan
    new_contacts: list[Contact] = dataclasses.field(default_factory=list)
    changed_contacts: dict[int, tuple[Contact, set[str]]] = dataclasses.field(default_factory=dict)
    digest: str = ""

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def new_clients(self) -> list[Client]:
        return [p.client for p in self.client_plans.values() if p.is_new and p.used]

    @property
    def changed_clients(self) -> list[tuple[Client, set[str]]]:
        return [(p.client, p.changed) for p in self.client_plans.values() if not p.is_new and p.changed]

    @property
    def writes(self) -> int:
        return (len([s for s in self.new_segments.values() if s.pk is None]) + len(self.new_clients) + len(self.changed_clients)
                + len(self.new_contacts) + len(self.changed_contacts))

    def summary(self) -> dict:
        return {
            "new_clients": len(self.new_clients),
            "updated_clients": len(self.changed_clients),
            "new_segments": sorted(s.name for s in self.new_segments.values()),
        }


def _value_text(value) -> str:
    if isinstance(value, models.Model):
        return name_key(getattr(value, "name", "")) if not isinstance(value, Membership) else value.user.email.lower()
    if value is None:
        return ""
    return str(value)


class Planner:
    def __init__(self, *, tenant: Tenant, snapshot: Snapshot, today: datetime.date):
        self.tenant = tenant
        self.snap = snapshot
        self.today = today
        self.plan = Plan()
        self.seen_emails: dict[str, int] = {}
        self.new_clients_by_name: dict[str, Client] = {}
        self._digest = hashlib.sha256()

    # -- per row --

    def row(self, number: int, cells: dict[str, str]) -> None:
        self.plan.rows_total += 1
        email = cells.get("email", "").strip().lower()
        try:
            if "__extra__" in cells:
                raise RowRejected(f"the row has {cells['__extra__']} cells but the header has fewer (a stray delimiter?)")
            if email:
                try:
                    Contact._meta.get_field("email").run_validators(email)
                except ValidationError:
                    raise RowRejected(f"“{cells.get('email', '').strip()}” is not a valid e-mail address") from None
                if email in self.seen_emails:
                    raise RowRejected(f"same e-mail as row {self.seen_emails[email]}")
                self.seen_emails[email] = number
            action, detail = self._decide(number, email, cells)
        except RowRejected as exc:
            reason = str(exc)
            self.plan.rejections.append({"row": number, "email": cells.get("email", "").strip(), "reason": reason})
            self._note(["reject", number, reason])
            return
        setattr(self.plan, action, getattr(self.plan, action) + 1)
        self._note([action, number, email, detail])

    def _note(self, item) -> None:
        self._digest.update(json.dumps(item, sort_keys=True, default=str).encode())
        self._digest.update(b"\n")

    def _contact_values(self, cells) -> dict:
        values = {}
        for column in CONTACT_COLUMNS:
            raw = cells.get(column, "")
            if not raw:
                continue
            field = CONTACT_FIELD[column]
            if column == "opted_out":
                values[field] = parse_bool(raw, column)
            elif column == "locale":
                code = raw.replace("_", "-")
                code = code.split("-")[0].lower() + code[len(code.split("-")[0]):]
                if not LOCALE_RE.match(code):
                    raise RowRejected(f"locale: “{raw}” is not a language code (e.g. en, fr, nl-BE)")
                values[field] = _field_clean(Contact, "locale", code, column)
            else:
                values[field] = _field_clean(Contact, field, raw, column)
        return values

    def _client_values(self, cells, client: Client | None) -> dict:
        values = {}
        for column in CLIENT_COLUMNS:
            raw = cells.get(column, "")
            if not raw:
                continue
            field = CLIENT_FIELD[column]
            if column == "segment":
                name = _field_clean(Segment, "name", " ".join(raw.split()), column)
                segment = self.snap.segments_by_name.get(name_key(name)) or self.plan.new_segments.get(name_key(name))
                values[field] = segment or Segment(tenant=self.tenant, name=name)
            elif column == "owner_email":
                owner_email = raw.strip().lower()
                current = client.owner if client is not None else None
                if current is not None and current.user.email.lower() == owner_email:
                    values[field] = current
                elif owner_email in self.snap.active_members_by_email:
                    values[field] = self.snap.active_members_by_email[owner_email]
                else:
                    raise RowRejected(f"owner_email: {raw.strip()} is not an active member of this workspace")
            elif column in ("tier", "status"):
                values[field] = parse_choice(raw, column, Client._meta.get_field(field).choices)
            elif column == "annual_value":
                values[field] = parse_decimal(raw, column)
            elif column in ("active_from", "churned_on"):
                values[field] = _field_clean(Client, field, parse_date(raw, column), column)  # the model's day range
            else:
                values[field] = _field_clean(Client, field, raw, column)
        if "churned_on" in values and "status" not in values:
            values["status"] = Client.Status.CHURNED  # a churn date says the client churned (Client.clean)
        return values

    def _find_client(self, number: int, client_name: str, contact: Contact | None) -> tuple[Client | None, bool]:
        """(client, is_new) for the row; None with is_new when a new client is needed but unnamed."""
        if not client_name:
            return (contact.client, False) if contact is not None else (None, True)
        key = name_key(client_name)
        matches = self.snap.clients_by_name.get(key, [])
        if len(matches) > 1:
            raise RowRejected(f"client_name: {len(matches)} clients are named “{client_name}”; rename one so the name is unique")
        if matches:
            return matches[0], False
        if key in self.new_clients_by_name:
            return self.new_clients_by_name[key], True
        name = _field_clean(Client, "name", " ".join(client_name.split()), "client_name")
        return Client(tenant=self.tenant, name=name, active_from=self.today), True

    def _client_plan(self, client: Client, is_new: bool, number: int) -> ClientPlan:
        plan = self.plan.client_plans.get(id(client))
        if plan is None:
            plan = ClientPlan(client=client, is_new=is_new, first_row=number)
        return plan

    def _decide(self, number: int, email: str, cells: dict[str, str]) -> tuple[str, dict]:
        contact = self.snap.contacts_by_email.get(email) if email else None
        contact_values = self._contact_values(cells)
        if not email:
            if contact_values:
                raise RowRejected("no e-mail: contacts are matched by e-mail, so a contact without one cannot be imported")
            if not cells.get("client_name"):
                raise RowRejected("no e-mail and no client_name: nothing to import")
        client, client_is_new = self._find_client(number, cells.get("client_name", ""), contact)
        if client is None:
            raise RowRejected("client_name is required for a new contact")
        if contact is None and email and not contact_values.get("name"):
            raise RowRejected("contact_name is required for a new contact")
        client_plan = self._client_plan(client, client_is_new, number)
        client_values = self._client_values(cells, client)
        client_changes = self._client_changes(number, client_plan, client_values)
        self._check_client(client, client_changes)

        # Accepted: from here on the row's effects enter the plan.
        if id(client) not in self.plan.client_plans:
            self.plan.client_plans[id(client)] = client_plan
            if client_is_new:
                self.new_clients_by_name[name_key(client.name)] = client
        client_plan.used = True
        for field, value in client_changes.items():
            setattr(client, field, value)
            client_plan.set_by[field] = number
            if not client_plan.is_new:
                client_plan.changed.add(field)
            if field == "segment" and value.pk is None:
                self.plan.new_segments[name_key(value.name)] = value
        detail = {"client": [client.name, client_is_new and client_plan.first_row == number],
                  **{f"client.{k}": _value_text(v) for k, v in client_changes.items()}}
        if not email:
            if client_is_new and client_plan.first_row == number:
                return "to_create", detail
            return ("to_update" if client_changes else "unchanged"), detail

        if contact is None:
            contact = Contact(tenant=self.tenant, client=client, email=email, locale=self.tenant.locale or "en")
            for field, value in contact_values.items():
                setattr(contact, field, value)
            self._check_contact(contact)
            self.plan.new_contacts.append(contact)
            self.snap.contacts_by_email[email] = contact
            return "to_create", {**detail, **{k: _value_text(v) for k, v in contact_values.items()}}

        contact_changes = {f: v for f, v in contact_values.items() if getattr(contact, f) != v}
        if contact.client is not client:
            contact_changes["client"] = client
        if contact_changes:
            entry = self.plan.changed_contacts.setdefault(contact.pk, (contact, set()))
            for field, value in contact_changes.items():
                setattr(contact, field, value)
                entry[1].add(field)
        detail.update({k: _value_text(v) for k, v in contact_changes.items()})
        return ("to_update" if contact_changes or client_changes else "unchanged"), detail

    def _client_changes(self, number: int, plan: ClientPlan, values: dict) -> dict:
        changes = {}
        client = plan.client
        for field, value in values.items():
            current = getattr(client, field)
            same = current is value if field in CLIENT_FK_FIELDS else current == value
            if field == "segment" and current is not None and value is not None:
                same = name_key(current.name) == name_key(value.name)
            if same:
                continue
            if field in plan.set_by and plan.set_by[field] != number:
                column = next(c for c, f in CLIENT_FIELD.items() if f == field)
                raise RowRejected(f"{column}: conflicts with row {plan.set_by[field]}, which set “{_value_text(current)}” "
                                  f"for client “{client.name}”")
            changes[field] = value
        return changes

    def _check_client(self, client: Client, changes: dict) -> None:
        """Client.clean() on the client as the row would leave it (its rules: churn date and status agree…)."""
        if not changes:
            return
        before = {field: getattr(client, field) for field in changes}
        for field, value in changes.items():
            setattr(client, field, value)
        try:
            client.clean()
        except ValidationError as exc:
            raise RowRejected(_message(exc)) from None
        finally:
            for field, value in before.items():
                setattr(client, field, value)

    def _check_contact(self, contact: Contact) -> None:
        try:
            contact.clean()
        except ValidationError as exc:
            raise RowRejected(_message(exc)) from None

    def finish(self) -> Plan:
        self.plan.digest = self._digest.hexdigest()
        return self.plan


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        reverse = {**{v: k for k, v in CLIENT_FIELD.items()}, **{v: k for k, v in CONTACT_FIELD.items()}}
        return "; ".join(f"{reverse.get(field, field)}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def plan_rows(*, tenant: Tenant, rows: Iterable[tuple[int, dict[str, str]]], today: datetime.date,
              progress: Callable[[int], None] | None = None) -> Plan:
    """Decide every row against the tenant's current data (the dry run). Writes nothing."""
    planner = Planner(tenant=tenant, snapshot=load_snapshot(), today=today)
    for number, cells in rows:
        planner.row(number, cells)
        if progress is not None and planner.plan.rows_total % PROGRESS_EVERY == 0:
            progress(planner.plan.rows_total)
    plan = planner.finish()
    if progress is not None:
        progress(plan.rows_total)
    return plan


def _batches(items: list):
    size = BATCH_SIZE
    for start in range(0, len(items), size):
        yield items[start:start + size]


def apply_plan(plan: Plan, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Write the plan with bulk operations (call inside a transaction). Returns how many rows were written.

    Every object is validated with full_clean() first (foreign keys are checked in memory by the plan,
    since validating them here would query per row); the unique e-mail and name rules were settled by the plan.
    """
    now = timezone.now()
    new_segments = [s for s in plan.new_segments.values() if s.pk is None]
    new_clients = plan.new_clients
    changed_clients = plan.changed_clients
    changed_contacts = list(plan.changed_contacts.values())
    total = plan.writes
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    for segment in new_segments:
        segment.full_clean(exclude=CLEAN_EXCLUDE, validate_unique=False, validate_constraints=False)
    for batch in _batches(new_segments):
        Segment.objects.bulk_create(batch)
        step(len(batch))

    for client in new_clients:
        client.full_clean(exclude=CLEAN_EXCLUDE, validate_unique=False, validate_constraints=False)
    for batch in _batches(new_clients):
        Client.objects.bulk_create(batch)
        step(len(batch))

    for client, _ in changed_clients:
        client.updated_at = now
        client.full_clean(exclude=CLEAN_EXCLUDE, validate_unique=False, validate_constraints=False)
    client_fields = sorted({field for _, fields in changed_clients for field in fields} | {"updated_at"})
    for batch in _batches(changed_clients):
        Client.objects.bulk_update([c for c, _ in batch], client_fields)
        step(len(batch))

    for contact in plan.new_contacts:
        contact.full_clean(exclude=CLEAN_EXCLUDE, validate_unique=False, validate_constraints=False)
    for batch in _batches(plan.new_contacts):
        Contact.objects.bulk_create(batch)
        step(len(batch))

    for contact, _ in changed_contacts:
        contact.updated_at = now
        contact.full_clean(exclude=CLEAN_EXCLUDE, validate_unique=False, validate_constraints=False)
    contact_fields = sorted({field for _, fields in changed_contacts for field in fields} | {"updated_at"})
    for batch in _batches(changed_contacts):
        Contact.objects.bulk_update([c for c, _ in batch], contact_fields)
        step(len(batch))
    return total
