"""Comment search stems each comment in the language detected in it (Response.comment_language, issue 19 item 3),
falling back to the survey's language until the comment is analysed: the GIN index is rebuilt on that expression,
the one apps.surveys.responses.search queries with (CommentMatches). Postgres only."""

from django.db import migrations

WHEN = ("WHEN 'en' THEN 'english'::regconfig WHEN 'fr' THEN 'french'::regconfig WHEN 'de' THEN 'german'::regconfig "
        "WHEN 'nl' THEN 'dutch'::regconfig WHEN 'es' THEN 'spanish'::regconfig ELSE 'simple'::regconfig END")
DETECTED = f"CASE COALESCE(NULLIF(comment_language, ''), language) {WHEN}"
ANSWERED = f"CASE language {WHEN}"


def _index(config: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute("DROP INDEX IF EXISTS surveys_resp_comment_fts")
            schema_editor.execute(f"CREATE INDEX surveys_resp_comment_fts ON surveys_response USING gin ((to_tsvector({config}, comment)))")
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0015_response_comment_analysis'),
    ]

    operations = [migrations.RunPython(_index(DETECTED), _index(ANSWERED))]
