""""You said, we did" (issue 8 item 4): tell the respondents a case or an action plan concerns what
changed because of what they said, and log who was written to and who was not, and why.

Drafts are prefilled from their source and edited before sending:
- from a case: you said = its comment (the answer's comment, else the case description), we did = its
  action taken, the subject names the root cause when there is one;
- from an action plan: you said = its title and metric (and scope), we did = the actions taken on its
  linked cases (or the plan's description).

Recipients (`announcement_recipients`) — "the affected respondents", one per contact:
- a case: its contact, else the contact of its response;
- a plan: the contacts of its linked cases (as for a case) plus every contact who gave a negative answer
  on the plan's metric (NPS ≤ 6, CSAT ≤ 2, CES ≤ 3) in the plan's scope (touchpoint, stage, journey,
  segment, survey) during its baseline window (by the answer's tenant-local day; bot-flagged answers
  never count). Anonymous answers (no contact) cannot be written to: they are counted, not listed.
Skipped, with the reason logged on the recipient row: `opted_out` (the contact opted out of messages),
`no_email`, `churned` (the client has churned — as for survey invitations, a churned client is not
written to). Everyone else gets one e-mail.

Sending (`announcement_send`) is idempotent: the announcement row is locked, a sent one is returned
unchanged; each contact gets one AnnouncementRecipient (unique per announcement and contact) and one
outbox e-mail whose Message-ID is derived from the announcement's and the contact's uuids, so a double
click or a retry never e-mails anyone twice. The e-mail is in the contact's language when the product
speaks it, else the workspace's, else English; text and HTML, from the workspace's sender, with an
opt-out link /u/<token>/: a random 256-bit token per recipient, only its SHA-256 kept on the recipient
row. The link says nothing about whom it is for (it used to be a signed, readable payload of the tenant's
and the contact's uuids); the public view finds the row by the hash before any tenant is active. Links
of that older, signed form, already in people's mailboxes, keep working.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import secrets

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from apps.clients.models import Client, Contact
from apps.core.dates import local_today
from apps.core.site import site_url
from apps.core.text import render_text
from apps.feedback.models import ActionPlan, Announcement, AnnouncementRecipient, Case
from apps.messaging.models import OutboundEmail
from apps.messaging.services import email_enqueue, sender_name
from apps.surveys.distribution.services import message_domain
from apps.surveys.models import INVITATIONS_CHANGED, Invitation, Response
from apps.tenancy.context import rows_by_key_including_cross_tenant, tenant_context
from apps.tenancy.due import due_note
from apps.tenancy.models import Tenant
from apps.tenancy.services import audit_event_record
from apps.tenancy.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)

OPTOUT_SALT = "feedback.announcement-optout"
NEGATIVE = {"nps": Q(nps__lte=6), "csat": Q(csat__lte=2), "ces": Q(ces__lte=3)}
METRIC_WORDS = {"nps": "how likely you are to recommend us", "csat": "your satisfaction", "ces": "how easy it was to deal with us"}
SCOPE_FIELDS = ("touchpoint", "stage", "journey", "segment", "survey")


class Skip:
    OPTED_OUT = "opted_out"
    NO_EMAIL = "no_email"
    CHURNED = "churned"


SKIP_LABELS = {Skip.OPTED_OUT: "Opted out of messages", Skip.NO_EMAIL: "No e-mail address", Skip.CHURNED: "Client has churned"}

# The e-mail's own words per language (the subject and the two texts are the sender's, as written).
TEXT = {
    "en": {"hello": "Hello {name},", "hello_anonymous": "Hello,", "intro": "You told {sender} something, and we acted on it.",
           "you_said": "You said", "we_did": "We did", "thanks": "Thank you for telling us — it made a difference.",
           "optout": "Do not want messages from {sender}? Unsubscribe:"},
    "fr": {"hello": "Bonjour {name},", "hello_anonymous": "Bonjour,", "intro": "Vous avez fait part de votre avis à {sender}, et nous avons agi.",
           "you_said": "Vous nous avez dit", "we_did": "Ce que nous avons fait", "thanks": "Merci de nous l’avoir dit : cela a fait la différence.",
           "optout": "Vous ne souhaitez plus recevoir de messages de {sender} ? Se désinscrire :"},
    "nl": {"hello": "Hallo {name},", "hello_anonymous": "Hallo,", "intro": "U gaf {sender} uw mening, en we hebben er iets mee gedaan.",
           "you_said": "U zei", "we_did": "Wat we deden", "thanks": "Bedankt dat u het ons liet weten: het heeft verschil gemaakt.",
           "optout": "Wilt u geen berichten meer van {sender}? Afmelden:"},
    "de": {"hello": "Hallo {name},", "hello_anonymous": "Hallo,", "intro": "Sie haben {sender} Ihre Meinung gesagt, und wir haben gehandelt.",
           "you_said": "Sie sagten", "we_did": "Was wir getan haben", "thanks": "Danke, dass Sie es uns gesagt haben – es hat etwas bewirkt.",
           "optout": "Sie möchten keine Nachrichten mehr von {sender}? Abmelden:"},
    "es": {"hello": "Hola, {name}:", "hello_anonymous": "Hola:", "intro": "Nos dio su opinión sobre {sender} y hemos actuado.",
           "you_said": "Usted nos dijo", "we_did": "Lo que hicimos", "thanks": "Gracias por decírnoslo: ha marcado la diferencia.",
           "optout": "¿No desea recibir más mensajes de {sender}? Darse de baja:"},
}
# The opt-out pages' words.
PAGE_TEXT = {
    "en": {"title": "Stop receiving messages", "body": "Do you no longer want to receive messages or surveys from {org}?",
           "confirm": "Stop sending me messages", "done_title": "You will not receive messages any more",
           "done_body": "{org} will not send you messages or surveys from now on.",
           "gone_title": "This link does not work", "gone_body": "The link is incomplete or was changed. Please use the link from the e-mail."},
    "fr": {"title": "Ne plus recevoir de messages", "body": "Vous ne souhaitez plus recevoir de messages ni d’enquêtes de {org} ?",
           "confirm": "Ne plus m’envoyer de messages", "done_title": "Vous ne recevrez plus de messages",
           "done_body": "{org} ne vous enverra plus de messages ni d’enquêtes.",
           "gone_title": "Ce lien ne fonctionne pas", "gone_body": "Le lien est incomplet ou a été modifié. Utilisez le lien de l’e-mail."},
    "nl": {"title": "Geen berichten meer ontvangen", "body": "Wilt u geen berichten of enquêtes meer ontvangen van {org}?",
           "confirm": "Stuur mij geen berichten meer", "done_title": "U ontvangt geen berichten meer",
           "done_body": "{org} stuurt u vanaf nu geen berichten of enquêtes meer.",
           "gone_title": "Deze link werkt niet", "gone_body": "De link is onvolledig of gewijzigd. Gebruik de link uit de e-mail."},
    "de": {"title": "Keine Nachrichten mehr erhalten", "body": "Möchten Sie keine Nachrichten oder Umfragen mehr von {org} erhalten?",
           "confirm": "Keine Nachrichten mehr senden", "done_title": "Sie erhalten keine Nachrichten mehr",
           "done_body": "{org} sendet Ihnen ab jetzt keine Nachrichten oder Umfragen mehr.",
           "gone_title": "Dieser Link funktioniert nicht",
           "gone_body": "Der Link ist unvollständig oder wurde verändert. Bitte nutzen Sie den Link aus der E-Mail."},
    "es": {"title": "Dejar de recibir mensajes", "body": "¿Ya no desea recibir mensajes ni encuestas de {org}?",
           "confirm": "No enviarme más mensajes", "done_title": "No recibirá más mensajes",
           "done_body": "{org} no le enviará más mensajes ni encuestas.",
           "gone_title": "Este enlace no funciona", "gone_body": "El enlace está incompleto o se ha modificado. Use el enlace del correo."},
}


def language_for(tenant: Tenant, contact: Contact | None) -> str:
    """The contact's language when the e-mail speaks it, else the workspace's, else English."""
    for lang in ((contact.locale if contact is not None else ""), tenant.locale):
        lang = (lang or "").split("-")[0].lower()
        if lang in TEXT:
            return lang
    return "en"


def page_text(lang: str, org: str) -> dict:
    return {key: value.format(org=org) for key, value in PAGE_TEXT.get(lang, PAGE_TEXT["en"]).items()}


# --- the opt-out link -----------------------------------------------------------------------------

OPTOUT_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def optout_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def optout_token_new() -> tuple[str, str]:
    """(token, its hash): the token goes into the e-mail, the hash onto the recipient row."""
    token = secrets.token_urlsafe(32)
    return token, optout_token_hash(token)


def optout_url(token: str) -> str:
    return f"{site_url()}/u/{token}/"


def _optout_read_signed(value: str) -> tuple[str, str] | None:
    """(tenant uuid, contact uuid) of a genuine link of the older, signed form, else None."""
    try:
        payload = signing.loads(value, salt=OPTOUT_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("t"), str) or not isinstance(payload.get("c"), str):
        return None
    return payload["t"], payload["c"]


def optout_find_including_cross_tenant(value: str) -> tuple[Tenant, Contact] | None:
    """The (active) tenant and the contact an opt-out link's value denotes, else None: unknown, altered,
    forged or garbage values, and links whose contact is gone, are all the same None."""
    if OPTOUT_TOKEN_RE.fullmatch(value):
        rows = rows_by_key_including_cross_tenant(AnnouncementRecipient, "optout_token_hash", optout_token_hash(value))
        if len(rows) != 1 or rows[0].contact_id is None or not rows[0].tenant.is_active:
            return None
        tenant, lookup = rows[0].tenant, {"pk": rows[0].contact_id}
    elif ":" in value and (signed := _optout_read_signed(value)) is not None:
        tenant = Tenant.objects.filter(uuid=signed[0], is_active=True).first()
        if tenant is None:
            return None
        lookup = {"uuid": signed[1]}
    else:
        return None
    with tenant_context(tenant):
        contact = Contact.objects.filter(**lookup).first()
    return (tenant, contact) if contact is not None else None


@transaction.atomic
def contact_messages_opt_out(*, tenant: Tenant, contact: Contact) -> Contact:
    """The contact gets no more messages or surveys: flagged opted out (audited once), their queued
    invitations skipped and their pending e-mails — survey invitations and "you said, we did"
    messages — cancelled. Idempotent."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    now = timezone.now()
    if not contact.opted_out:
        contact.opted_out = True
        contact.save(update_fields=["opted_out", "updated_at"])
        audit_event_record(tenant=tenant, acting_user=None, action="contact.opted_out", target=contact,
                           changes={"opted_out": [False, True], "via": [None, "you said, we did e-mail"]})
    if Invitation.objects.filter(contact=contact, status=Invitation.Status.QUEUED).update(
            status=Invitation.Status.SKIPPED, skip_reason=Invitation.SkipReason.OPTED_OUT, updated_at=now):
        due_note(tenant.pk, INVITATIONS_CHANGED)  # the funnel's catch-up counts them
    pending = OutboundEmail.objects.filter(status=OutboundEmail.Status.PENDING).filter(
        Q(invitation__contact=contact) | Q(pk__in=AnnouncementRecipient.objects.filter(contact=contact).values("outbound_email_id")))
    pending.update(status=OutboundEmail.Status.FAILED, last_error="Not sent: the contact opted out.", next_attempt_at=None,
                   updated_at=now)
    return contact


# --- drafts ---------------------------------------------------------------------------------------

def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def prefill_for_case(case: Case) -> dict:
    """subject / you_said / we_did from a case (module docstring)."""
    comment = (case.response.comment if case.response_id and case.response is not None else "") or case.description or case.title
    cause = case.root_cause.name if case.root_cause_id else ""
    subject = f"You said, we did: {cause.lower()}" if cause else "You said, we did"
    we_did = case.action_taken.strip()
    return {"subject": _clip(subject, 200), "you_said": comment.strip(), "we_did": we_did}


def prefill_for_plan(plan: ActionPlan) -> dict:
    scope = [str(getattr(plan, name)) for name in SCOPE_FIELDS if getattr(plan, f"{name}_id")]
    where = f" ({', '.join(scope)})" if scope else ""
    actions = [a.strip() for a in Case.objects.filter(action_plans=plan).exclude(action_taken="")
               .order_by("resolved_at", "id").values_list("action_taken", flat=True)[:10]]
    unique = list(dict.fromkeys(actions))
    we_did = "\n".join(f"- {a}" for a in unique) if unique else (plan.description or "").strip()
    return {"subject": _clip(f"You said, we did: {plan.title}", 200),
            "you_said": f"You told us about {METRIC_WORDS.get(plan.metric, plan.metric)}{where}, and it was not good enough.",
            "we_did": we_did}


def _validate(tenant: Tenant, announcement: Announcement) -> None:
    errors = {}
    for name in ("subject", "you_said", "we_did"):
        setattr(announcement, name, (getattr(announcement, name) or "").strip())
        if not getattr(announcement, name):
            errors[name] = "Write something here."
    if errors:
        raise ValidationError(errors)
    announcement.full_clean()


def _draft(*, tenant: Tenant, acting_member, source: dict, prefill: dict, overrides: dict) -> Announcement:
    values = {**prefill, **{k: v for k, v in overrides.items() if v is not None}}
    announcement = Announcement(tenant=tenant, **source, **values)
    _validate(tenant, announcement)
    announcement.save()
    audit_event_record(tenant=tenant, acting_user=getattr(acting_member, "user", None), action="announcement.drafted",
                       target=announcement)
    return announcement


@transaction.atomic
def announcement_draft_for_case(*, tenant: Tenant, acting_member, case: Case, subject: str | None = None,
                                you_said: str | None = None, we_did: str | None = None) -> Announcement:
    """A DRAFT prefilled from the case (module docstring); given texts replace the prefilled ones."""
    return _draft(tenant=tenant, acting_member=acting_member, source={"case": case}, prefill=prefill_for_case(case),
                  overrides={"subject": subject, "you_said": you_said, "we_did": we_did})


@transaction.atomic
def announcement_draft_for_plan(*, tenant: Tenant, acting_member, plan: ActionPlan, subject: str | None = None,
                                you_said: str | None = None, we_did: str | None = None) -> Announcement:
    """A DRAFT prefilled from the action plan (module docstring); given texts replace the prefilled ones."""
    return _draft(tenant=tenant, acting_member=acting_member, source={"plan": plan}, prefill=prefill_for_plan(plan),
                  overrides={"subject": subject, "you_said": you_said, "we_did": we_did})


@transaction.atomic
def announcement_update(*, tenant: Tenant, acting_member, announcement: Announcement, subject: str, you_said: str,
                        we_did: str) -> Announcement:
    """Edit a draft's texts. A sent message cannot change (ValidationError)."""
    announcement = Announcement.objects.select_for_update().get(pk=announcement.pk)
    if announcement.status == Announcement.Status.SENT:
        raise ValidationError("This message was sent: it can no longer change.")
    before = {name: getattr(announcement, name) for name in ("subject", "you_said", "we_did")}
    announcement.subject, announcement.you_said, announcement.we_did = subject, you_said, we_did
    _validate(tenant, announcement)
    announcement.save(update_fields=["subject", "you_said", "we_did", "updated_at"])
    changes = {k: [v, getattr(announcement, k)] for k, v in before.items() if v != getattr(announcement, k)}
    if changes:
        audit_event_record(tenant=tenant, acting_user=getattr(acting_member, "user", None), action="announcement.updated",
                           target=announcement, changes=changes)
    return announcement


# --- recipients -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Recipient:
    contact: Contact
    skip_reason: str  # "" = gets the e-mail

    @property
    def skip_label(self) -> str:
        return SKIP_LABELS.get(self.skip_reason, "")


@dataclasses.dataclass(frozen=True)
class RecipientPlan:
    recipients: tuple[Recipient, ...]
    anonymous: int  # negative answers without a contact: nobody to write to

    @property
    def to_send(self) -> list[Recipient]:
        return [r for r in self.recipients if not r.skip_reason]

    @property
    def skipped(self) -> list[Recipient]:
        return [r for r in self.recipients if r.skip_reason]

    @property
    def skipped_by_reason(self) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for r in self.skipped:
            counts[r.skip_label] = counts.get(r.skip_label, 0) + 1
        return sorted(counts.items())


def _case_contact_ids(cases) -> set[int]:
    ids = set()
    for contact_id, response_contact_id in cases.values_list("contact_id", "response__contact_id"):
        if contact_id or response_contact_id:
            ids.add(contact_id or response_contact_id)
    return ids


def _skip_reason(contact: Contact, today) -> str:
    if contact.opted_out:
        return Skip.OPTED_OUT
    if not (contact.email or "").strip():
        return Skip.NO_EMAIL
    client = contact.client
    if client is not None and (client.status == Client.Status.CHURNED or (client.churned_on is not None and client.churned_on <= today)):
        return Skip.CHURNED
    return ""


def announcement_recipients(*, tenant: Tenant, case: Case | None = None, plan: ActionPlan | None = None) -> RecipientPlan:
    """The affected respondents of a case or a plan, deduplicated by contact, each with its skip
    reason (module docstring). A fixed number of queries."""
    anonymous = 0
    if case is not None:
        ids = _case_contact_ids(Case.objects.filter(pk=case.pk))
    elif plan is not None:
        ids = _case_contact_ids(Case.objects.filter(action_plans=plan))
        negative = Response.objects.filter(NEGATIVE.get(plan.metric, Q(pk__in=[])), is_bot=False,
                                           local_day__range=(plan.baseline_first, plan.baseline_last))
        for name in SCOPE_FIELDS:
            if getattr(plan, f"{name}_id"):
                negative = negative.filter(**{f"{name}_id": getattr(plan, f"{name}_id")})
        ids |= set(negative.filter(contact__isnull=False).values_list("contact_id", flat=True).distinct())
        anonymous = negative.filter(contact__isnull=True).count()
    else:
        raise ValueError("Give a case or a plan.")
    contacts = Contact.objects.filter(pk__in=ids).select_related("client").order_by("name", "pk") if ids else []
    today = local_today(tenant.time_zone)
    return RecipientPlan(recipients=tuple(Recipient(contact=c, skip_reason=_skip_reason(c, today)) for c in contacts),
                         anonymous=anonymous)


def recipients_for(tenant: Tenant, announcement: Announcement) -> RecipientPlan:
    return announcement_recipients(tenant=tenant, case=announcement.case if announcement.case_id else None,
                                   plan=announcement.plan if announcement.plan_id else None)


# --- the e-mail -----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str
    language: str
    parts: dict = dataclasses.field(default_factory=dict)  # the words of the e-mail, for the page's preview


def announcement_render(*, tenant: Tenant, subject: str, you_said: str, we_did: str, contact: Contact | None = None,
                        language: str | None = None, optout_token: str = "") -> RenderedEmail:
    """The e-mail as the contact gets it, with the opt-out link of `optout_token` (or, without one, the
    preview: a placeholder link)."""
    lang = language or language_for(tenant, contact)
    words = TEXT.get(lang, TEXT["en"])
    sender = sender_name(tenant)
    name = contact.name if contact is not None else ""
    context = {
        "lang": lang, "subject": subject, "you_said": you_said, "we_did": we_did, "sender": sender,
        "hello": words["hello"].format(name=name) if name else words["hello_anonymous"],
        "intro": words["intro"].format(sender=sender), "you_said_label": words["you_said"], "we_did_label": words["we_did"],
        "thanks": words["thanks"], "optout": words["optout"].format(sender=sender),
        "optout_url": optout_url(optout_token) if optout_token else f"{site_url()}/u/…/",
    }
    return RenderedEmail(subject=subject, text=render_text("feedback/email/announcement.txt", context),
                         html=render_to_string("feedback/email/announcement.html", context), language=lang, parts=context)


def message_id(announcement: Announcement, contact: Contact) -> str:
    return f"<announcement-{announcement.uuid}-{contact.uuid}@{message_domain()}>"


# --- sending --------------------------------------------------------------------------------------

@transaction.atomic
def announcement_send(*, tenant: Tenant, acting_member, announcement: Announcement) -> Announcement:
    """Send a draft to its recipients (module docstring). A sent announcement is returned unchanged;
    a retry after a failure part-way writes no second row or e-mail for anyone."""
    announcement = Announcement.objects.select_for_update(of=("self",)).select_related("case", "plan").get(pk=announcement.pk)
    if announcement.status == Announcement.Status.SENT:
        return announcement
    _validate(tenant, announcement)
    plan = recipients_for(tenant, announcement)
    existing = {r.contact_id: r for r in AnnouncementRecipient.objects.filter(announcement=announcement)}
    queued = skipped = 0
    for recipient in plan.recipients:
        contact = recipient.contact
        row = existing.get(contact.pk)
        if recipient.skip_reason:
            skipped += 1
            logger.info("announcement %s: skipped contact %s (%s)", announcement.uuid, contact.uuid, recipient.skip_reason)
            if row is None:
                AnnouncementRecipient.objects.create(tenant=tenant, announcement=announcement, contact=contact, email=contact.email,
                                                     status=AnnouncementRecipient.Status.SKIPPED, skip_reason=recipient.skip_reason)
            continue
        queued += 1
        if row is not None and row.status == AnnouncementRecipient.Status.QUEUED:
            continue  # written by an earlier try, with its e-mail (whose link is that row's token)
        token, token_hash = optout_token_new()
        rendered = announcement_render(tenant=tenant, subject=announcement.subject, you_said=announcement.you_said,
                                       we_did=announcement.we_did, contact=contact, optout_token=token)
        email = email_enqueue(tenant=tenant, kind=OutboundEmail.Kind.ANNOUNCEMENT, to_email=contact.email, subject=rendered.subject,
                              body_text=rendered.text, body_html=rendered.html, message_id=message_id(announcement, contact),
                              deliver=False)
        if row is None:
            row = AnnouncementRecipient(tenant=tenant, announcement=announcement, contact=contact, email=contact.email)
        row.status, row.skip_reason, row.outbound_email, row.optout_token_hash = AnnouncementRecipient.Status.QUEUED, "", email, token_hash
        row.save()
    announcement.status, announcement.sent_at = Announcement.Status.SENT, timezone.now()
    announcement.sent_by = acting_member
    announcement.recipients_count, announcement.skipped_count = queued, skipped
    announcement.save(update_fields=["status", "sent_at", "sent_by", "recipients_count", "skipped_count", "updated_at"])
    audit_event_record(tenant=tenant, acting_user=getattr(acting_member, "user", None), action="announcement.sent",
                       target=announcement, changes={"recipients": [None, queued], "skipped": [None, skipped]})
    if queued:
        from apps.messaging.tasks import deliver_outbox

        enqueue_on_commit(deliver_outbox, tenant.pk)
    return announcement
