"""Request validation against the Sheets v4 discovery document, and ``fields`` response masks.

The discovery document ships inside google-api-python-client
(``googleapiclient/discovery_cache/documents/sheets.v4.json``). It is loaded lazily, once; when the
package is missing, validation is skipped with a logged notice.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
from pathlib import Path
from typing import Any

from sheets_ai.testing._sheets_cells import ApiError

log = logging.getLogger("sheets_ai.testing.sheets_server")

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|NaN|-?Infinity")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


@functools.cache
def load_discovery() -> dict[str, Any] | None:
    """The Sheets v4 discovery document, or None (with a logged notice) when it is not installed."""
    spec = importlib.util.find_spec("googleapiclient")
    if spec is not None and spec.submodule_search_locations:
        for base in spec.submodule_search_locations:
            path = Path(base) / "discovery_cache" / "documents" / "sheets.v4.json"
            if path.is_file():
                doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
                return doc
    log.warning("google-api-python-client not installed: Sheets request validation is skipped")
    return None


def _methods(resources: dict[str, Any], out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for res in resources.values():
        for method in res.get("methods", {}).values():
            out[method["id"]] = method
        _methods(res.get("resources", {}), out)
    return out


class Validator:
    """Checks query parameters and JSON bodies of one method against the discovery document."""

    def __init__(self, doc: dict[str, Any]):
        self.schemas: dict[str, Any] = doc["schemas"]
        self.global_params: dict[str, Any] = doc.get("parameters", {})
        self.methods = _methods(doc["resources"], {})

    def check(self, method_id: str, query: dict[str, list[str]], body: Any) -> Any:
        """Raise ApiError(400) on invalid input; return the body with snake_case keys made camelCase."""
        method = self.methods.get(method_id)
        if method is None:
            return body
        errors: list[tuple[str, str]] = []
        params = method.get("parameters", {})
        for key, values in query.items():
            spec = params.get(key) or self.global_params.get(key)
            if spec is None or spec.get("location") == "path":
                errors.append(
                    (
                        key,
                        f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query parameter. '
                        f"Field '{key}' could not be found in request message.",
                    )
                )
                continue
            for value in values:
                if not self._scalar_ok(value, spec, from_query=True):
                    label = f"type.googleapis.com/google.apps.sheets.v4.{key[0].upper()}{key[1:]}"
                    if "enum" not in spec:
                        label = _type_label(spec)
                    errors.append((key, f"Invalid value at '{_snake(key)}' ({label}), \"{value}\""))
        if "request" in method:
            if body is None:
                body = {}
            body = self._value(body, {"$ref": method["request"]["$ref"]}, "", errors)
        if errors:
            violations = [{"field": f, "description": d} for f, d in errors]
            raise ApiError(
                400,
                "\n".join(d for _, d in errors),
                details=[
                    {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}
                ],
            )
        return body

    def _scalar_ok(self, value: Any, spec: dict[str, Any], from_query: bool = False) -> bool:
        kind = spec.get("type")
        if "enum" in spec:
            return isinstance(value, str) and value in spec["enum"]
        if kind == "string":
            return isinstance(value, str) or (spec.get("format") in ("int64", "uint64") and _is_int(value))
        if kind == "integer":
            return _is_int(value) or (isinstance(value, str) and bool(_INT.fullmatch(value)))
        if kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return ok or (isinstance(value, str) and bool(_FLOAT.fullmatch(value)))
        if kind == "boolean":
            if from_query:
                return isinstance(value, str) and value.lower() in ("true", "false", "1", "0")
            return isinstance(value, bool)
        return True

    def _value(self, value: Any, spec: dict[str, Any], path: str, errors: list[tuple[str, str]]) -> Any:
        if value is None:
            return None
        if "$ref" in spec:
            schema = self.schemas[spec["$ref"]]
            if not isinstance(value, dict):
                label = f"type.googleapis.com/google.apps.sheets.v4.{spec['$ref']}"
                errors.append((path, f"Invalid value at '{path}' ({label}), {json.dumps(value)}"))
                return value
            return self._object(value, schema, path, errors)
        kind = spec.get("type")
        if kind == "array":
            if not isinstance(value, list):
                errors.append((path, f"Invalid value at '{path}' (TYPE_LIST), {json.dumps(value)}"))
                return value
            return [
                self._value(v, spec.get("items", {}), f"{path}[{i}]", errors) for i, v in enumerate(value)
            ]
        if kind == "object":
            if not isinstance(value, dict):
                errors.append((path, f"Invalid value at '{path}' (TYPE_MESSAGE), {json.dumps(value)}"))
                return value
            if "properties" in spec:
                return self._object(value, spec, path, errors)
            extra = spec.get("additionalProperties", {"type": "any"})
            return {k: self._value(v, extra, f"{path}[{k}]", errors) for k, v in value.items()}
        if kind == "any":
            return value
        if not self._scalar_ok(value, spec):
            errors.append((path, f"Invalid value at '{path}' ({_type_label(spec)}), {json.dumps(value)}"))
        return value

    def _object(
        self, value: dict[str, Any], schema: dict[str, Any], path: str, errors: list[tuple[str, str]]
    ) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        by_snake = {_snake(k): k for k in props}
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if key in props else by_snake.get(key)
            if name is None:
                where = f" at '{path}'" if path else ""
                errors.append(
                    (
                        path or key,
                        f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.',
                    )
                )
                continue
            sub = f"{path}.{_snake(name)}" if path else _snake(name)
            out[name] = self._value(item, props[name], sub, errors)
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_label(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return "TYPE_ENUM"
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "integer":
        return "TYPE_UINT32" if fmt == "uint32" else "TYPE_INT32"
    if kind == "number":
        return "TYPE_FLOAT" if fmt == "float" else "TYPE_DOUBLE"
    if kind == "boolean":
        return "TYPE_BOOL"
    if fmt in ("int64", "uint64"):
        return "TYPE_INT64"
    return "TYPE_STRING"


@functools.cache
def validator() -> Validator | None:
    doc = load_discovery()
    return Validator(doc) if doc is not None else None


# ------------------------------------------------------------------------------------------ field masks

FieldTree = dict[str, "FieldTree | None"]


def parse_fields(text: str) -> FieldTree | None:
    """Parse a ``fields`` mask (``a.b,c(d,e)``) into a tree; None selects everything."""
    tokens = re.findall(r"[A-Za-z0-9_*]+|[.,()/]|\s+", text)
    if "".join(tokens) != text:
        raise ApiError(400, f"Invalid field selection {text}")
    toks = [t for t in tokens if not t.isspace()]
    pos = 0

    def parse_list() -> FieldTree | None:
        nonlocal pos
        tree: FieldTree | None = {}
        while True:
            if pos >= len(toks) or not re.fullmatch(r"[A-Za-z0-9_*]+", toks[pos]):
                raise ApiError(400, f"Invalid field selection {text}")
            path = [toks[pos]]
            pos += 1
            while pos < len(toks) and toks[pos] in "./":
                path.append(toks[pos + 1] if pos + 1 < len(toks) else "")
                pos += 2
            sub: FieldTree | None = None
            if pos < len(toks) and toks[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(toks) or toks[pos] != ")":
                    raise ApiError(400, f"Invalid field selection {text}")
                pos += 1
            tree = _merge(tree, path, sub)
            if pos < len(toks) and toks[pos] == ",":
                pos += 1
                continue
            return tree

    tree = parse_list()
    if pos != len(toks):
        raise ApiError(400, f"Invalid field selection {text}")
    return tree


def _merge(tree: FieldTree | None, path: list[str], sub: FieldTree | None) -> FieldTree | None:
    if tree is None or path[0] == "*":
        return None
    head, rest = path[0], path[1:]
    if head in tree and tree[head] is None:
        return tree
    if rest:
        tree[head] = _merge(tree.get(head) or {}, rest, sub)
    elif sub is None:
        tree[head] = None
    else:
        cur: FieldTree | None = tree.get(head) or {}
        for key, value in sub.items():
            cur = _merge(cur, [key], value)
        tree[head] = cur
    return tree


def apply_fields(value: Any, tree: FieldTree | None) -> Any:
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: apply_fields(value[k], sub) for k, sub in tree.items() if k in value}
    return value
