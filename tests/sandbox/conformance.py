"""OpenAPI conformance for the sandbox: every response (and request body) against Kantata's schemas.

The official OpenAPI files (kept verbatim in `openapi/` beside this module, so the tests need
nothing outside the repository; docs/kantata-api.md cites them) describe each operation's
request body and responses by status. The checker validates every exchange the sandbox
answers, with jsonschema (2020-12 dialect, as OpenAPI 3.1+ uses), and records each violation
as a readable line.

Stricter than the documents, on purpose: objects in typed maps and the top-level envelope
may carry only documented keys (plus each object's `id`, which the schemas omit although
every Brainstem object has it), so an invented field is caught. Wrapped request objects
(`{"story": {...}}`) may carry only documented fields.

Known imprecisions of the documents, tolerated explicitly:
- no property is ever marked nullable, yet real responses carry nulls (`parent_id`,
  `description`, `deleted_at`, dates, ...): every property also accepts null;
- `Story.priority` is typed integer while real values are strings ("normal", ...): it
  accepts both;
- an `Error` may carry `field` (documented only in prose) and `index` (Brainstem, bulk);
- statuses the documents do not list (429) are checked against the generic `Errors` schema;
- `creator_role` on POST /workspaces: its enum lists `client`, `consultant`, its own
  description `maven`/`consultant` and `buyer`/`client`: all four are accepted;
- form-encoded request bodies (documented in the overview, not in the operation schemas,
  which are JSON) are not checked; their responses are.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kxplan.sandbox.server import Exchange

SPEC_DIR = Path(__file__).resolve().parent / "openapi"
METHODS = ("get", "post", "put", "delete")


def _walk(node: Any, uri: str, *, in_properties: bool = False) -> Any:
    """Rewrite local refs to absolute ones and make property schemas nullable."""
    if isinstance(node, list):
        return [_walk(n, uri) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith("#"):
            out[key] = uri + value
        elif key == "properties" and isinstance(value, dict):
            out[key] = {k: _walk(v, uri, in_properties=True) for k, v in value.items()}
        else:
            out[key] = _walk(value, uri)
    if in_properties and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _strict_components(doc: dict[str, Any]) -> None:
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        if schema.get("type") == "object" and "properties" in schema and name != "Errors":
            schema["properties"].setdefault("id", {"type": ["string", "null"]})
            schema["additionalProperties"] = False
    error = doc.get("components", {}).get("schemas", {}).get("Error")
    if error:
        # The prose documents `field` on validation errors; Brainstem adds `index` (bulk).
        error["properties"]["field"] = {"type": "string"}
        error["properties"]["index"] = {"type": "integer"}
        error["properties"].pop("id", None)
    story = doc.get("components", {}).get("schemas", {}).get("Story")
    if story:
        story["properties"]["priority"] = {"type": ["integer", "string", "null"]}


def _described_roles(doc: dict[str, Any]) -> None:
    """POST /workspaces' creator_role takes what its description lists, not only its enum."""
    op = doc.get("paths", {}).get("/workspaces", {}).get("post")
    if op is None:
        return
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    role = schema["properties"]["workspace"]["properties"].get("creator_role")
    if role is not None:
        role["enum"] = [*sorted({*role["enum"], "maven", "buyer"} - {None}), None]


@cache
def _load() -> tuple[Registry, dict[tuple[str, str], tuple[str, dict[str, Any]]]]:
    registry: Registry = Registry()
    ops: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    for path in sorted(SPEC_DIR.glob("*.yml")):
        uri = f"urn:kxplan:{path.stem}"
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        doc = _walk(raw, uri)
        _strict_components(doc)
        registry = registry.with_resource(uri, Resource.from_contents(doc, DRAFT202012))
        _described_roles(doc)
        for api_path, item in doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    ops[(method.upper(), api_path)] = (uri, item[method])
    return registry, ops


@cache
def _validator(schema_key: str, schema_json: str) -> Draft202012Validator:
    import json

    registry, _ = _load()
    return Draft202012Validator(json.loads(schema_json), registry=registry)


def _errors(schema: dict[str, Any], instance: Any, where: str) -> list[str]:
    import json

    text = json.dumps(schema, sort_keys=True)
    validator = _validator(where, text)
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [
        f"{where}: {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message[:300]}"
        for e in found[:5]
    ]


class ConformanceChecker:
    """Collects violations from every exchange; attach with `server.on_response = checker`."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.checked = 0
        self._lock = threading.Lock()

    def __call__(self, ex: Exchange) -> None:
        problems = check_exchange(ex)
        with self._lock:
            self.checked += 1
            self.violations.extend(problems)


def check_exchange(ex: Exchange) -> list[str]:
    """Every way this request/response pair departs from the documents."""
    _, ops = _load()
    where = f"{ex.method} {ex.route} -> {ex.status}"
    found = ops.get((ex.method, ex.route))
    if found is None:
        return [f"{where}: no such operation in the OpenAPI documents"]
    uri, op = found
    problems = _check_request(uri, op, ex, where)
    responses = op.get("responses", {})
    documented = responses.get(str(ex.status))
    if ex.status == 204:
        if documented is None or ex.response_body is not None:
            problems.append(f"{where}: 204 is not documented or has a body")
        return problems
    if documented is None:
        if ex.status in (429, 500):
            schema = {"$ref": f"{uri}#/components/schemas/Errors"}
            return problems + _errors(schema, ex.response_body, where)
        return [*problems, f"{where}: status {ex.status} is not documented for this operation"]
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return problems
    if ex.status == 200:
        schema = {**schema, "additionalProperties": False}
    return problems + _errors(schema, ex.response_body, where)


def _check_request(uri: str, op: dict[str, Any], ex: Exchange, where: str) -> list[str]:
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema")
    if schema is None or ex.request_body is None or ex.status >= 400 or ex.form:
        # The documents describe JSON bodies only; a Rails form body carries strings.
        return []
    props = schema.get("properties", {})
    problems: list[str] = []
    instance = ex.request_body
    if ex.route == "/stories" and isinstance(instance, dict) and "stories" in instance:
        item_schema = {**props["story"], "additionalProperties": False}
        for i, item in enumerate(instance.get("stories") or []):
            problems += _errors(item_schema, item, f"{where} request stories[{i}]")
        return problems
    strict = {
        **schema,
        "properties": {
            k: ({**v, "additionalProperties": False} if v.get("type") == "object" else v)
            for k, v in props.items()
        },
    }
    return _errors(strict, instance, f"{where} request")
