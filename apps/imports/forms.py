from django import forms

from apps.imports.reading import limit_label

ACCEPT = ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        help_text=f"At most {limit_label()}. CSV must be UTF-8 (comma, semicolon or tab separated); for XLSX the first sheet is read.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        error_messages={"required": "Choose a CSV or XLSX file to upload.",
                        "empty": "The file is empty. Upload a CSV or XLSX file with a header row and at least one row of data."},
    )

    def __init__(self, *args, too_large: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    def full_clean(self):
        super().full_clean()
        if self.is_bound and self.too_large:  # the upload handler stopped reading: no file arrived
            self._errors["file"] = self.error_class([f"The file is larger than the {limit_label()} limit. Split it into smaller files."])
            self.cleaned_data.pop("file", None)


class ExportFormatForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "XLSX")], required=False)
