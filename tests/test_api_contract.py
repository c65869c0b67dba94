"""The API contract (DESIGN.md), checked on the generated OpenAPI schema for every tenant operation:
a summary, examples on request bodies, paginated lists, public UUID ids, documented JSON errors."""

import re

import pytest
from django.test import Client

TENANT = "/api/v1/t/{tenant_slug}/"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/schema/?format=json").json()


def operations(schema):
    for path, ops in schema["paths"].items():
        if path.startswith(TENANT):
            for method, op in ops.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    yield path, method, op


def resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_operation_has_a_summary(schema):
    missing = [f"{m.upper()} {p}" for p, m, op in operations(schema) if not op.get("summary")]
    assert missing == []


def test_every_request_body_has_an_example(schema):
    missing = [f"{m.upper()} {p}" for p, m, op in operations(schema)
               if "requestBody" in op and not op["requestBody"]["content"].get("application/json", {}).get("examples")]
    assert missing == []


# Reports: one computed object each (the metrics summary, trend, …), not a collection of resources.
REPORTS = {f"{TENANT}metrics/{name}/" for name in ("summary", "trend", "breakdown", "perception-gap", "volatility", "funnel", "churn",
                                                 "themes", "themes/trend", "themes/breakdown")}


def test_every_collection_is_paginated(schema):
    unpaginated = []
    for path, method, op in operations(schema):
        if method != "get" or path.endswith("}/") or path.endswith(("/me/", "/settings/", "/endings/", "/sso/")) or path in REPORTS:  # singletons
            continue
        body = resolve(schema, op["responses"]["200"]["content"]["application/json"]["schema"])
        if not {"count", "next", "previous", "results"} <= set(body.get("properties", {})):
            unpaginated.append(path)
    assert unpaginated == []


def test_ids_are_uuids_never_integers(schema):
    integer_ids = []
    for name, component in schema["components"]["schemas"].items():
        for prop, spec in component.get("properties", {}).items():
            if (prop == "id" or prop.endswith("_id")) and spec.get("type") == "integer":
                integer_ids.append(f"{name}.{prop}")
            if prop == "id" and spec.get("format") != "uuid":
                integer_ids.append(f"{name}.{prop} is not a uuid")
    assert integer_ids == []
    assert all(re.fullmatch(r"[a-z0-9_-]+|\{uuid\}|\{\w+_uuid\}", part) for path, _, _ in operations(schema)
               for part in path.removeprefix(TENANT).strip("/").split("/") if part), "path parameters must be uuids"


def test_every_operation_documents_its_errors(schema):
    for path, method, op in operations(schema):
        for code in ("401", "403", "404"):
            assert op["responses"][code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if method in ("post", "patch", "put"):
            assert "400" in op["responses"], f"{method} {path}"


def test_the_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").stat().st_size > 10_000


# --- nullability: what the schema promises is what the API answers (issue 15, F14) --------------

def _model_serializers():
    from rest_framework import serializers

    import cxm.urls  # noqa: F401 — imports every API module

    stack, found = [serializers.ModelSerializer], []
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("apps.") and getattr(getattr(cls, "Meta", None), "model", None) is not None:
            found.append(cls)
    return found


def _may_be_null(model, attrs) -> bool:
    """Whether the value at `attrs` (a field's source) can be None: some model field on the way is
    nullable (a nullable foreign key, then anything reached through it, included)."""
    for attr in attrs:
        try:
            field = model._meta.get_field(attr)
        except Exception:  # a property or method: not ours to judge
            return False
        if not field.concrete:  # a reverse relation: a (possibly empty) list, never null
            return False
        if field.null:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def test_every_read_only_field_that_can_be_null_says_so(db):
    """A read-only field whose value can be None must be `allow_null` (the schema then says
    `nullable`): a generated client in a strict language rejects a null the schema did not allow."""
    undeclared = []
    for cls in _model_serializers():
        for name, field in cls().fields.items():
            if not field.read_only or field.allow_null or field.source == "*":
                continue
            if _may_be_null(cls.Meta.model, field.source_attrs) or field.default is None:
                undeclared.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
    assert undeclared == [], f"{len(undeclared)} read-only fields can be null but the schema says they cannot: {undeclared}"
