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
REPORTS = {f"{TENANT}metrics/{name}/" for name in ("summary", "trend", "breakdown", "perception-gap", "volatility", "funnel", "churn")}


def test_every_collection_is_paginated(schema):
    unpaginated = []
    for path, method, op in operations(schema):
        if method != "get" or path.endswith("}/") or path.endswith("/me/") or path in REPORTS:
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
