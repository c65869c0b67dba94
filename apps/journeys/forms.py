from django import forms

from apps.clients.models import Segment
from apps.journeys.models import Journey, Stage
from apps.touchpoints.models import Touchpoint


class JourneyForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    segment = forms.ModelChoiceField(queryset=Segment.objects.none(), required=False, to_field_name="uuid",
                                     empty_label="All clients", help_text="The clients this journey describes.")
    status = forms.ChoiceField(choices=Journey.Status.choices, initial=Journey.Status.DRAFT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")


class StageForm(forms.Form):
    name = forms.CharField(max_length=120)
    goal = forms.CharField(max_length=240, required=False, help_text="What the client wants to achieve here.")
    expected_emotion = forms.ChoiceField(choices=Stage.Emotion.choices, initial=Stage.Emotion.NEUTRAL)


class PlacementForm(forms.Form):
    """Put a touchpoint on a stage. Field ids are prefixed per stage (several forms on one page)."""

    touchpoint = forms.ModelChoiceField(queryset=Touchpoint.objects.none(), to_field_name="uuid", empty_label="Choose…")
    moment_of_truth = forms.BooleanField(required=False, label="Moment of truth",
                                         help_text="A moment that makes or breaks the relationship.")
    expectation = forms.CharField(max_length=240, required=False, help_text="What the client expects at this point.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["touchpoint"].queryset = Touchpoint.objects.filter(is_active=True).order_by("name")


class PlacementEditForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), to_field_name="uuid", empty_label=None)
    moment_of_truth = forms.BooleanField(required=False, label="Moment of truth",
                                         help_text="A moment that makes or breaks the relationship.")
    expectation = forms.CharField(max_length=240, required=False, help_text="What the client expects at this point.")

    def __init__(self, *args, journey, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(journey=journey).order_by("order")
        self.fields["stage"].label_from_instance = lambda s: f"{s.order}. {s.name}"


class MoveForm(forms.Form):
    """The keyboard way to reorder: one step up or down, or (placements) to another stage."""

    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")], required=False)
    to_stage = forms.ModelChoiceField(queryset=Stage.objects.none(), to_field_name="uuid", required=False)

    def __init__(self, *args, journey, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].queryset = Stage.objects.filter(journey=journey)

    def clean(self):
        data = super().clean()
        if not data.get("direction") and not data.get("to_stage"):
            raise forms.ValidationError("Say where to move it: up, down, or to a stage.")
        return data
