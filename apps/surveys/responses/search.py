"""Full-text search over response comments (issue 19 item 2), and the highlighting of what matched.

On Postgres each comment is stemmed in its own language — the language detected in it (`Response.comment_language`,
apps.surveys.responses.comments), else, until it is analysed, the language the survey was answered in
(`Response.language`): English, French, German, Dutch or Spanish text-search configuration; `simple` for any
other — through the expression the GIN index `surveys_resp_comment_fts` is built on (surveys migration 0016), so
a search reads the index, not the comments.
The query is read as a web search (`websearch_to_tsquery`: words, "quoted phrases", `or`, `-word`; any other
character is just text, never a syntax error) and stemmed in each comment's language: "bill" finds "billed" in
an English comment, "facture" finds "factures" in a French one. Two conditions: the query stemmed in every
language, OR-ed, is a constant the index answers (a superset), and the query in the row's own language then
decides exactly (a `-word` must be absent in that language's stemming, not in some other's). A query of stop
words or punctuation only matches nothing.

On SQLite (the one-process demo) every word of the query must appear in the comment, in any case.

Highlighting never lets the database rewrite the comment: Postgres only says which words of each shown comment
matched (`ts_debug`), and `highlighted` escapes the comment and wraps those words in `<mark>`.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.surveys.models import Response

# The respondent languages and their Postgres text-search configurations.
CONFIGS = {"en": "english", "fr": "french", "de": "german", "nl": "dutch", "es": "spanish"}
TABLE = Response._meta.db_table
MAX_QUERY = 200  # characters: longer queries are cut (a search box, not a document)

# The comment's configuration, as the index expression spells it (keep the two identical, or the index is unused).
_CONFIG = ("CASE COALESCE(NULLIF({detected}, ''), {language}) "
           + " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in CONFIGS.items()) + " ELSE 'simple'::regconfig END")
# The query stemmed in every configuration, OR-ed: one parameter per configuration.
QUERY_SQL = " || ".join(f"websearch_to_tsquery('{name}', %s)" for name in (*CONFIGS.values(), "simple"))
_QUERY_PARAMS = len(CONFIGS) + 1


class CommentMatches(Func):
    """True where the response's comment matches the search `text` (Postgres; see the module docstring). The columns
    are compiled by Django, so the condition is right under any table alias (a subquery, a join)."""

    output_field = BooleanField()

    def __init__(self, text: str):
        super().__init__(F("comment_language"), F("language"), F("comment"))
        self.text = text

    def as_sql(self, compiler, connection, **extra_context):
        (detected, detected_params), (language, language_params), (comment, comment_params) = (
            compiler.compile(e) for e in self.get_source_expressions())
        assert not detected_params and not language_params and not comment_params  # columns
        config = _CONFIG.format(detected=detected, language=language)
        vector = f"to_tsvector({config}, {comment})"
        return (f"({vector} @@ ({QUERY_SQL}) AND {vector} @@ websearch_to_tsquery({config}, %s))",
                [self.text] * (_QUERY_PARAMS + 1))


def clean_query(text: str | None) -> str:
    """The search text as searched: control characters out, spaces collapsed, cut to MAX_QUERY characters."""
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text or "")
    return " ".join(text.split())[:MAX_QUERY]


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def comment_search(qs: QuerySet[Response], text: str) -> QuerySet[Response]:
    """The responses of `qs` whose comment matches the search `text` (all of `qs` for an empty text)."""
    text = clean_query(text)
    if not text:
        return qs
    if connection.vendor == "postgresql":
        return qs.filter(CommentMatches(text))
    condition = Q()
    for word in words(text) or [text]:
        condition &= Q(comment__icontains=word)
    return qs.filter(condition)


def matched_words(responses: list[Response], text: str) -> dict[int, set[str]]:
    """{response id: the words of its comment that match the search}, for the rows shown. One query on Postgres."""
    text = clean_query(text)
    if not text or not responses:
        return {}
    if connection.vendor != "postgresql":
        wanted = {w.casefold() for w in words(text)}
        return {r.pk: {w for w in words(r.comment) if any(q in w.casefold() for q in wanted)} for r in responses}
    stems = " || ".join(f"to_tsvector('{name}', %s)" for name in (*CONFIGS.values(), "simple"))
    config = _CONFIG.format(detected="r.comment_language", language="r.language")
    sql = (f"SELECT r.id, ARRAY(SELECT DISTINCT d.token FROM ts_debug({config}, r.comment) d "
           f"WHERE d.lexemes && tsvector_to_array({stems})) FROM {TABLE} r WHERE r.tenant_id = %s AND r.id = ANY(%s)")
    with connection.cursor() as cursor:  # the tenant named: one shard's query on a Citus cluster
        cursor.execute(sql, [*([text] * _QUERY_PARAMS), responses[0].tenant_id, [r.pk for r in responses]])
        return {pk: set(tokens) for pk, tokens in cursor.fetchall()}


def highlighted(comment: str, matched: set[str], *, width: int = 240) -> SafeString:
    """The comment escaped, its matched words in `<mark>`, cut to about `width` characters around the first match."""
    if not comment:
        return mark_safe("")
    spans = []
    if matched:
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in sorted(matched, key=len, reverse=True)) + r")\b", re.IGNORECASE)
        spans = [m.span() for m in pattern.finditer(comment)]
    start = 0
    if len(comment) > width:
        first = spans[0][0] if spans else 0
        start = max(0, min(first - width // 3, len(comment) - width))
    end = min(len(comment), start + width)
    out, at = [], start
    for low, high in spans:
        if low < start or high > end:
            continue
        out += [escape(comment[at:low]), "<mark>", escape(comment[low:high]), "</mark>"]
        at = high
    out.append(escape(comment[at:end]))
    return mark_safe(("…" if start else "") + "".join(out) + ("…" if end < len(comment) else ""))
