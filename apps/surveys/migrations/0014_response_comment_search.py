"""Full-text search over response comments (issue 19 item 2): a GIN index on each comment's tsvector in its own
language. The expression is the one apps.surveys.responses.search queries with (CommentMatches): Postgres
uses an expression index only for the same expression. Postgres only (the demo's SQLite searches without one)."""

from django.db import migrations

CONFIG = ("CASE language WHEN 'en' THEN 'english'::regconfig WHEN 'fr' THEN 'french'::regconfig WHEN 'de' THEN 'german'::regconfig "
          "WHEN 'nl' THEN 'dutch'::regconfig WHEN 'es' THEN 'spanish'::regconfig ELSE 'simple'::regconfig END")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS surveys_resp_comment_fts ON surveys_response "
                              f"USING gin ((to_tsvector({CONFIG}, comment)))")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS surveys_resp_comment_fts")


class Migration(migrations.Migration):

    dependencies = [
        ('surveys', '0013_invitation_surveys_inv_updated'),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
