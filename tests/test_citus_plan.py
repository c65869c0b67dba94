"""The order `manage.py citus_distribute` creates tables in (no cluster needed): referenced tables first,
global ones before tenant ones, and a foreign-key cycle broken at one marked key (apps/tenancy/citus.py)."""

from apps.tenancy.citus import DISTRIBUTED, REFERENCE, TablePlan, _foreign_key_order


def plans(**tables) -> dict[str, TablePlan]:
    """tables: name=(kind, {referenced tables})."""
    return {name: TablePlan(name, kind, "tenant_id" if kind == DISTRIBUTED else None, "", references=set(refs))
            for name, (kind, refs) in tables.items()}


def test_it_creates_every_referenced_table_before_the_tables_referencing_it():
    order = [p.table for p in _foreign_key_order(plans(
        answer=(DISTRIBUTED, {"question", "response"}), question=(DISTRIBUTED, {"tenant"}),
        response=(DISTRIBUTED, {"tenant", "user"}), tenant=(REFERENCE, set()), user=(REFERENCE, set()),
    ))]
    assert order == ["tenant", "user", "question", "response", "answer"]


def test_it_marks_the_one_foreign_key_that_closes_a_cycle():
    result = _foreign_key_order(plans(
        survey=(DISTRIBUTED, {"version", "tenant"}), version=(DISTRIBUTED, {"survey", "tenant"}), tenant=(REFERENCE, set()),
    ))
    assert {p.table: p.cycle_references for p in result} == {"tenant": set(), "survey": set(), "version": {"survey"}}
