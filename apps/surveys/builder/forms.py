"""Builder forms: create a survey, its settings, the draft's texts per language, and a question
with its text and answer options per language. Related rows are chosen by public uuid in the
tenant (the default managers are tenant-scoped; querysets are set per request)."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.text import slugify

from apps.clients.models import Segment
from apps.journeys.models import Stage
from apps.surveys import kinds
from apps.surveys.models import QuestionType, Survey, SurveyKind
from apps.touchpoints.models import Touchpoint

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
LANGUAGE_CHOICES = [(code, f"{name} ({code})") for code, name in kinds.LANGUAGE_NAMES.items()]


def _touchpoint_field():
    return forms.ModelChoiceField(queryset=Touchpoint.objects.none(), required=False, to_field_name="uuid", empty_label="None",
                                  help_text="The touchpoint this survey measures (after-interaction surveys listen to it).")


def _stage_field():
    return forms.ModelChoiceField(queryset=Stage.objects.none(), required=False, to_field_name="uuid", empty_label="None",
                                  label="Journey stage", help_text="The journey stage this survey measures.")


def _set_link_querysets(form):
    form.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True).order_by("name")
    form.fields["stage"].queryset = Stage.objects.select_related("journey").order_by("journey__name", "order")
    form.fields["stage"].label_from_instance = lambda s: f"{s.journey.name}: {s.order}. {s.name}"


class LanguagesMixin:
    def clean(self):
        data = super().clean()
        langs, default = data.get("languages") or [], data.get("default_language")
        if langs and default and default not in langs:
            self.add_error("default_language", "The default language must be one of the languages offered.")
        return data


class SurveyCreateForm(LanguagesMixin, forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=SurveyKind.choices, initial=SurveyKind.NPS, widget=forms.RadioSelect,
                             help_text="Each kind starts from the standard, correctly worded question in every language.")
    languages = forms.MultipleChoiceField(choices=LANGUAGE_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["en", "fr"],
                                          help_text="Respondents get their browser's language when offered, else the default.")
    default_language = forms.ChoiceField(choices=LANGUAGE_CHOICES, initial="en")
    touchpoint = _touchpoint_field()
    stage = _stage_field()
    include_follow_up = forms.BooleanField(required=False, initial=True, label="Add the follow-up question",
                                           help_text="“What is the main reason for your score?”, optional for respondents.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _set_link_querysets(self)


class SurveySettingsForm(LanguagesMixin, forms.Form):
    name = forms.CharField(max_length=120)
    languages = forms.MultipleChoiceField(choices=LANGUAGE_CHOICES, widget=forms.CheckboxSelectMultiple,
                                          help_text="A language added gets the standard wording in the draft; respondents "
                                                    "are offered it once a version with its texts is published.")
    default_language = forms.ChoiceField(choices=LANGUAGE_CHOICES)
    touchpoint = _touchpoint_field()
    stage = _stage_field()
    opens_at = forms.DateTimeField(required=False, label="Opens", input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET,
                                   help_text="Empty: as soon as it is published. In the workspace's time zone.")
    closes_at = forms.DateTimeField(required=False, label="Closes", input_formats=DATETIME_FORMATS, widget=DATETIME_WIDGET,
                                    help_text="Empty: no end date.")
    trigger = forms.ChoiceField(choices=Survey.Trigger.choices, widget=forms.RadioSelect, label="Who is asked, and when")
    trigger_delay_minutes = forms.IntegerField(min_value=0, max_value=60 * 24 * 30, label="Delay after the interaction (minutes)",
                                               help_text="After-interaction surveys: 120 = two hours.")
    recurring_months = forms.IntegerField(min_value=1, max_value=36, required=False, label="Ask each contact every (months)",
                                          help_text="Recurring surveys only.")
    recurring_segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid",
                                               empty_label="All clients", label="Recurring: only clients in segment")
    reminder_count = forms.IntegerField(min_value=0, max_value=3, label="Reminders",
                                        help_text="Sent only to those who have not answered, with the same link.")
    reminder_interval_days = forms.IntegerField(min_value=1, max_value=30, label="Days between reminders")
    invitation_valid_days = forms.IntegerField(min_value=1, max_value=180, label="A link stays valid for (days)")
    web_link_enabled = forms.BooleanField(required=False, label="Public web link",
                                          help_text="An anonymous link (and embeddable form) anyone can answer.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _set_link_querysets(self)
        self.fields["recurring_segment"].queryset = Segment.objects.order_by("name")

    @classmethod
    def initial_for(cls, survey: Survey) -> dict:
        return {name: getattr(survey, name) for name in cls.base_fields}


class TextsForm(forms.Form):
    """The draft's title, introduction and thank-you text, per language (fields `<part>_<lang>`)."""

    PARTS = {"title": ("Title", 200, False), "intro": ("Introduction", 1000, True), "thanks": ("Thank-you message", 1000, True)}

    def __init__(self, *args, languages, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = list(languages)
        for lang in self.languages:
            for part, (label, max_length, long) in self.PARTS.items():
                widget = forms.Textarea(attrs={"rows": 2}) if long else forms.TextInput
                self.fields[f"{part}_{lang}"] = forms.CharField(label=label, max_length=max_length, required=False, widget=widget)

    @classmethod
    def initial_for(cls, texts: dict, languages) -> dict:
        return {f"{part}_{lang}": ((texts or {}).get(lang) or {}).get(part, "") for lang in languages for part in cls.PARTS}

    def by_language(self):
        return [(lang, kinds.LANGUAGE_NAMES[lang], [self[f"{part}_{lang}"] for part in self.PARTS]) for lang in self.languages]

    def texts(self) -> dict:
        return {lang: {part: self.cleaned_data[f"{part}_{lang}"] for part in self.PARTS} for lang in self.languages}


OP_LABELS = {"between": "is between (score)", "any_of": "is one of (choices)", "none_of": "is answered, but not one of (choices)",
             "answered": "is answered", "not_answered": "is not answered"}


class RuleFieldsMixin:
    """The fields of one rule (apps/surveys/logic.py) on a form: show always, or only if all/any of up to `slots`
    parts hold, each part reading one question of `readable` (the questions before). `rule()` is the condition in
    its canonical form, once the form is valid. Works without JavaScript: every field is a plain control."""

    RULE_PREFIX = "rule"

    def add_rule_fields(self, readable: list, *, always: str, slots: int) -> None:
        self.readable = {q.key: q for q in readable}
        self.rule_slots = max(1, slots)
        lang = next(iter(getattr(self, "languages", []) or ["en"]))
        p = self.RULE_PREFIX
        self.fields[f"{p}_match"] = forms.ChoiceField(
            choices=[("", always), ("all", "Only if all of these hold"), ("any", "Only if any of these holds")], required=False,
            label="When", widget=forms.RadioSelect)
        question_choices = [("", "(no question)")] + [
            (q.key, f"{q.order}. {q.key}: {(q.text or {}).get(lang) or next(iter((q.text or {}).values()), '')}"[:90]) for q in readable]
        value_choices = [(f"{q.key}={value}", f"{q.key}: {label}") for q in readable if q.type in kinds.CHOICE_TYPES
                         for value, label in kinds.choice_list(q, lang)]
        for i in range(1, self.rule_slots + 1):
            self.fields[f"{p}_{i}_question"] = forms.ChoiceField(choices=question_choices, required=False, label=f"Part {i}: question")
            self.fields[f"{p}_{i}_op"] = forms.ChoiceField(choices=[("", "(choose)"), *OP_LABELS.items()], required=False,
                                                           label=f"Part {i}: condition")
            self.fields[f"{p}_{i}_min"] = forms.IntegerField(required=False, min_value=0, max_value=10, label=f"Part {i}: from score")
            self.fields[f"{p}_{i}_max"] = forms.IntegerField(required=False, min_value=0, max_value=10, label=f"Part {i}: to score")
            self.fields[f"{p}_{i}_values"] = forms.MultipleChoiceField(choices=value_choices, required=False,
                                                                       widget=forms.CheckboxSelectMultiple, label=f"Part {i}: choices")

    def rule_parts(self):
        """[(part number, [bound fields])] for the template."""
        p = self.RULE_PREFIX
        names = ("question", "op", "min", "max", "values") if self.fields[f"{p}_1_values"].choices else ("question", "op", "min", "max")
        return [(i, [self[f"{p}_{i}_{name}"] for name in names]) for i in range(1, self.rule_slots + 1)]

    @classmethod
    def rule_initial(cls, condition: dict | None) -> dict:
        p = cls.RULE_PREFIX
        condition = condition or {}
        initial = {f"{p}_match": condition.get("match", "") if condition.get("rules") else ""}
        for i, rule in enumerate(condition.get("rules") or [], start=1):
            initial |= {f"{p}_{i}_question": rule["question"], f"{p}_{i}_op": rule["op"], f"{p}_{i}_min": rule.get("min"),
                        f"{p}_{i}_max": rule.get("max"), f"{p}_{i}_values": [f"{rule['question']}={v}" for v in rule.get("values", [])]}
        return initial

    def clean_rule(self, data: dict) -> None:
        """Builds self.condition from the rule fields, with an error on the part that is incomplete."""
        p = self.RULE_PREFIX
        self.condition = {}
        match = data.get(f"{p}_match") or ""
        if not match:
            return
        rules = []
        for i in range(1, self.rule_slots + 1):
            key, op = data.get(f"{p}_{i}_question"), data.get(f"{p}_{i}_op")
            if not key and not op:
                continue
            if not key or not op:
                self.add_error(f"{p}_{i}_question" if not key else f"{p}_{i}_op", "Choose both the question and the condition.")
                continue
            rule = {"question": key, "op": op}
            if op == "between":
                low, high = data.get(f"{p}_{i}_min"), data.get(f"{p}_{i}_max")
                if low is None or high is None:
                    self.add_error(f"{p}_{i}_max", "Give the lowest and the highest score of the band.")
                    continue
                rule |= {"min": low, "max": high}
            elif op in ("any_of", "none_of"):
                picked = data.get(f"{p}_{i}_values") or []
                values = [v.split("=", 1)[1] for v in picked if v.startswith(f"{key}=")]
                if len(values) != len(picked) or not values:
                    self.add_error(f"{p}_{i}_values", f"Tick one or more choices of “{key}” (and only of it).")
                    continue
                rule["values"] = values
            rules.append(rule)
        if not rules and not self.errors:
            self.add_error(f"{p}_match", "Add at least one part, or choose to show it always.")
            return
        from apps.surveys import logic

        try:
            self.condition = logic.condition_clean({"match": match, "rules": rules})
        except logic.LogicError as exc:
            self.add_error(f"{p}_match", str(exc))


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class QuestionForm(RuleFieldsMixin, forms.Form):
    """A question: type, key, required, and per language its text and answer options. Only the
    option fields of the chosen type count (the page hides the others with JavaScript). Its logic: whether it
    starts a page, and the rule that shows it (on the questions before it, `readable`)."""

    type = forms.ChoiceField(choices=QuestionType.choices, label="Question type")
    key = forms.SlugField(max_length=40, required=False, label="Key",
                          help_text="A stable name for reports and exports (e.g. “nps”, “reason”). Empty: chosen for you.")
    required = forms.BooleanField(required=False, initial=True, label="An answer is required")
    new_page = forms.BooleanField(required=False, label="Start a new page with this question",
                                  help_text="A question shown on a rule must be on a later page than the questions it reads.")
    rating_min = forms.IntegerField(min_value=0, max_value=10, required=False, initial=1, label="Lowest rating")
    rating_max = forms.IntegerField(min_value=1, max_value=10, required=False, initial=5, label="Highest rating")

    # field → the question types it applies to (the template marks them; JavaScript shows only those).
    TYPE_FIELDS = {
        "rating_min": [QuestionType.RATING], "rating_max": [QuestionType.RATING],
        "min_label": list(kinds.END_LABEL_TYPES), "max_label": list(kinds.END_LABEL_TYPES), "choices": list(kinds.CHOICE_TYPES),
    }

    def __init__(self, *args, languages, question=None, readable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = list(languages)
        self.question = question
        existing = len(((question.show_if if question is not None else None) or {}).get("rules") or [])
        self.add_rule_fields(list(readable), always="Always show it", slots=max(3, existing))
        for lang in self.languages:
            self.fields[f"text_{lang}"] = forms.CharField(label="Question", max_length=500, required=False,
                                                          widget=forms.Textarea(attrs={"rows": 2}))
            self.fields[f"min_label_{lang}"] = forms.CharField(label="Label of the lowest point", max_length=80, required=False)
            self.fields[f"max_label_{lang}"] = forms.CharField(label="Label of the highest point", max_length=80, required=False)
            self.fields[f"choices_{lang}"] = forms.CharField(
                label="Choices", required=False, widget=forms.Textarea(attrs={"rows": 4}),
                help_text="One per line, in the same order in every language.")

    # --- rendering helpers --------------------------------------------------------------------------
    def common_fields(self):
        return [self["type"], self["key"], self["required"]]

    def rating_fields(self):
        return [self["rating_min"], self["rating_max"]]

    def by_language(self):
        rows = []
        for lang in self.languages:
            rows.append((lang, kinds.LANGUAGE_NAMES[lang], self[f"text_{lang}"],
                         [(self[f"{base}_{lang}"], " ".join(self.TYPE_FIELDS[base])) for base in ("min_label", "max_label", "choices")]))
        return rows

    @classmethod
    def initial_for(cls, question, languages) -> dict:
        initial = {"type": question.type, "key": question.key, "required": question.required, "new_page": question.new_page,
                   **cls.rule_initial(question.show_if)}
        options = question.options
        if isinstance(options, dict):
            if question.type == QuestionType.RATING:
                initial.update(rating_min=options.get("min", 1), rating_max=options.get("max", 5))
            for lang in languages:
                initial[f"min_label_{lang}"] = (options.get("min_label") or {}).get(lang, "")
                initial[f"max_label_{lang}"] = (options.get("max_label") or {}).get(lang, "")
        elif isinstance(options, list):
            for lang in languages:
                initial[f"choices_{lang}"] = "\n".join((c.get("label") or {}).get(lang, "") for c in options)
        for lang in languages:
            initial[f"text_{lang}"] = (question.text or {}).get(lang, "")
        return initial

    # --- cleaning -----------------------------------------------------------------------------------
    def clean(self):
        data = super().clean()
        self.clean_rule(data)
        qtype = data.get("type")
        if not qtype:
            return data
        if not any((data.get(f"text_{lang}") or "").strip() for lang in self.languages):
            self.add_error(f"text_{self.languages[0]}", "Write the question in at least one language.")
        if qtype == QuestionType.RATING:
            low, high = data.get("rating_min"), data.get("rating_max")
            if low is None or high is None or low >= high:
                self.add_error("rating_max", "The highest rating must be above the lowest.")
        if qtype in kinds.CHOICE_TYPES:
            counts = {lang: len(_lines(data.get(f"choices_{lang}"))) for lang in self.languages}
            most = max(counts.values())
            if most < 2:
                self.add_error(f"choices_{self.languages[0]}", "Give at least two choices, one per line.")
            for lang, n in counts.items():
                if n and n != most:
                    self.add_error(f"choices_{lang}", f"Give {most} choices here too (the same ones, in the same order), or none yet.")
        return data

    def service_kwargs(self) -> dict:
        """type, key, text, options, required, as the builder services take them."""
        data = self.cleaned_data
        qtype = data["type"]
        text = {lang: data[f"text_{lang}"].strip() for lang in self.languages if data[f"text_{lang}"].strip()}
        kept = {}
        if self.question is not None and self.question.type == qtype:
            kept = self.question.text or {}
        text = {**{k: v for k, v in kept.items() if k not in self.languages}, **text}  # languages not shown stay
        return {"type": qtype, "key": data.get("key") or "", "text": text, "options": self._options(qtype),
                "required": data.get("required", False), "new_page": data.get("new_page", False), "show_if": self.condition}

    def _options(self, qtype):
        data = self.cleaned_data
        if qtype in kinds.CHOICE_TYPES:
            return self._choices()
        options = {}
        if qtype == QuestionType.RATING:
            options.update(min=data["rating_min"], max=data["rating_max"])
        if qtype in kinds.END_LABEL_TYPES:
            for end in ("min_label", "max_label"):
                labels = {lang: data[f"{end}_{lang}"].strip() for lang in self.languages if data[f"{end}_{lang}"].strip()}
                if labels:
                    options[end] = labels
        return options

    def _choices(self) -> list[dict]:
        """Choices by position across languages; existing values are kept by position, new ones
        are made from the first language's label."""
        per_lang = {lang: _lines(self.cleaned_data[f"choices_{lang}"]) for lang in self.languages}
        count = max(len(v) for v in per_lang.values())
        old = self.question.options if self.question is not None and isinstance(self.question.options, list) else []
        values, choices = set(), []
        for i in range(count):
            label = {lang: lines[i] for lang, lines in per_lang.items() if i < len(lines)}
            value = old[i]["value"] if i < len(old) else ""
            if not value or value in values:
                base = slugify(next(iter(label.values()), ""))[:36] or f"choice-{i + 1}"
                value, n = base, 2
                while value in values:
                    value, n = f"{base}-{n}", n + 1
            values.add(value)
            choices.append({"value": value, "label": label})
        return choices


class EndingForm(RuleFieldsMixin, forms.Form):
    """An ending of the survey (apps/surveys/logic.py): its key, the rule of its branch (on any question) and its
    title and thank-you text per language."""

    key = forms.SlugField(max_length=40, label="Key", help_text="A short name, e.g. “detractors”.")

    def __init__(self, *args, languages, readable, ending=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.languages = list(languages)
        for lang in self.languages:
            self.fields[f"title_{lang}"] = forms.CharField(label="Title", max_length=200, required=False,
                                                           help_text="Empty: the survey's title.")
            self.fields[f"thanks_{lang}"] = forms.CharField(label="Thank-you message", max_length=1000, required=False,
                                                            widget=forms.Textarea(attrs={"rows": 3}))
        existing = len((((ending or {}).get("when")) or {}).get("rules") or [])
        self.add_rule_fields(list(readable), always="Always (for everyone the endings above do not catch)", slots=max(3, existing))

    @classmethod
    def initial_for(cls, ending: dict, languages) -> dict:
        initial = {"key": ending["key"], **cls.rule_initial(ending.get("when"))}
        for lang in languages:
            parts = (ending.get("texts") or {}).get(lang) or {}
            initial |= {f"title_{lang}": parts.get("title", ""), f"thanks_{lang}": parts.get("thanks", "")}
        return initial

    def by_language(self):
        return [(lang, kinds.LANGUAGE_NAMES[lang], [self[f"title_{lang}"], self[f"thanks_{lang}"]]) for lang in self.languages]

    def clean(self):
        data = super().clean()
        self.clean_rule(data)
        return data

    def ending(self) -> dict:
        data = self.cleaned_data
        texts = {lang: {"title": data[f"title_{lang}"].strip(), "thanks": data[f"thanks_{lang}"].strip()} for lang in self.languages}
        return {"key": data["key"], "when": self.condition, "texts": texts}


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])



class SurveyFilter(django_filters.FilterSet):
    """Survey list filters (page and API); the touchpoint and stage are public uuids in the tenant."""

    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices, empty_label="Any kind")
    status = django_filters.ChoiceFilter(choices=Survey.Status.choices, empty_label="Any status")
    touchpoint = django_filters.ModelChoiceFilter(field_name="touchpoint", to_field_name="uuid", queryset=Touchpoint.objects,
                                                  empty_label="Any touchpoint")
    stage = django_filters.ModelChoiceFilter(field_name="stage", to_field_name="uuid", queryset=Stage.objects,
                                             empty_label="Any stage", label="Journey stage")

    class Meta:
        model = Survey
        fields = ["kind", "status", "touchpoint", "stage"]
