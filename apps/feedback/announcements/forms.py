""""You said, we did" forms: the message, and the confirmation before sending."""

from __future__ import annotations

from django import forms


class AnnouncementForm(forms.Form):
    subject = forms.CharField(max_length=200, label="Subject",
                              error_messages={"required": "Write a subject.", "max_length": "Keep the subject under 200 characters."})
    you_said = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="You said",
                               help_text="What customers told us, in their words.", error_messages={"required": "Say what customers told you."})
    we_did = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="We did",
                             help_text="What changed because of it.", error_messages={"required": "Say what changed."})


class SendForm(forms.Form):
    confirm = forms.BooleanField(label="Yes, send this message now", required=True,
                                 error_messages={"required": "Tick the box to confirm the sending: it cannot be undone."})
