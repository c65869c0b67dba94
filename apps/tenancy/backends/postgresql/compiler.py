"""Django's PostgreSQL SQL compilers, but a bulk insert is a plain multi-row `INSERT … VALUES`.

Django 5.2 inserts several rows as `INSERT … SELECT * FROM UNNEST(%s::type[], …)` (less planning). On a Citus
cluster that is an INSERT … SELECT whose rows are pulled to the coordinator and sent to the shard with COPY,
which a table under row-level security refuses ("COPY FROM not supported with row-level security"); a
multi-row `VALUES` of one tenant is routed to its shard as one INSERT. The same SQL on plain Postgres keeps the
suite testing what the cluster runs.
"""

from django.db.backends.postgresql import compiler as postgresql
from django.db.models.sql.compiler import SQLInsertCompiler as BaseSQLInsertCompiler

SQLAggregateCompiler = postgresql.SQLAggregateCompiler
SQLCompiler = postgresql.SQLCompiler
SQLDeleteCompiler = postgresql.SQLDeleteCompiler
SQLUpdateCompiler = postgresql.SQLUpdateCompiler

__all__ = ["SQLAggregateCompiler", "SQLCompiler", "SQLDeleteCompiler", "SQLInsertCompiler", "SQLUpdateCompiler"]


class SQLInsertCompiler(postgresql.SQLInsertCompiler):
    def assemble_as_sql(self, fields, value_rows):
        return BaseSQLInsertCompiler.assemble_as_sql(self, fields, value_rows)
