"""``response_format`` checks of the fake server: OpenAI's rules for JSON mode and strict structured outputs.

Rules from OpenAI's *Structured Outputs* guide (Supported schemas, chat-completions API), answered the way the
live API answers them (HTTP 400, ``type: invalid_request_error``, ``param: response_format``, messages
"Invalid schema for response_format '<name>': In context=(…), …"):

* ``type`` is ``text``, ``json_object`` or ``json_schema``; ``json_object`` needs the word "json" somewhere in
  the messages (400 with ``param: messages``); ``json_schema`` needs a ``name`` (``a-z A-Z 0-9 _ -``, at most
  64 characters) and a ``schema``.
* with ``strict: true`` the schema must be an object at the root (not ``anyOf``); every object sets
  ``additionalProperties: false`` and lists every property in ``required``; every schema has a ``type``
  (or ``anyOf``/``$ref``/``enum``/``const``) from string, number, integer, boolean, object, array, null;
  only the supported keywords (``allOf``, ``not``, ``if``/``then``/``else``, ``dependentRequired``,
  ``dependentSchemas``, ``oneOf``, ``default``, ``patternProperties`` … are not permitted); string
  ``format`` is one of the supported formats; ``pattern`` must be a regular expression.
* limits: at most 5,000 object properties in all, 10 levels of object nesting, 1,000 enum values, and
  120,000 characters of property names, definition names, enum and const values together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._openai_tokens import message_text
from ._openai_wire import Reply, error

TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref",
    "$defs", "definitions", "description", "title", "pattern", "format", "minLength", "maxLength",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip
MAX_PROPERTIES, MAX_NESTING, MAX_ENUM_VALUES, MAX_STRING_LENGTH = 5000, 10, 1000, 120_000
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


class SchemaError(Exception):
    """One rule the schema breaks; the message is the part after "Invalid schema for response_format 'x': "."""


@dataclass
class _Tally:
    properties: int = 0
    enum_values: int = 0
    string_length: int = 0
    deepest: int = 0


def _context(path: Sequence[str]) -> str:
    return repr(tuple(path))


def _check(node: Any, path: tuple[str, ...], level: int, tally: _Tally) -> None:
    where = f"In context={_context(path)}"
    if not isinstance(node, Mapping):
        raise SchemaError(f"{where}, schema must be a JSON Schema object.")
    for key in node:
        if key not in KEYWORDS and not (key == "$schema" and not path):
            raise SchemaError(f"{where}, '{key}' is not permitted.")
    kind = node.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
    if kind is None and not any(k in node for k in ("anyOf", "$ref", "enum", "const")):
        raise SchemaError(f"{where}, schema must have a 'type' key.")
    for k in kinds:
        if k not in TYPES:
            raise SchemaError(f"{where}, '{k}' is not a supported type.")
    for name, defs in (("$defs", node.get("$defs")), ("definitions", node.get("definitions"))):
        if isinstance(defs, Mapping):
            for def_name, sub in defs.items():
                tally.string_length += len(def_name)
                _check(sub, (*path, name, def_name), level, tally)
    if "anyOf" in node:
        options = node["anyOf"]
        if not isinstance(options, list) or not options:
            raise SchemaError(f"{where}, 'anyOf' must be a non-empty array.")
        for i, sub in enumerate(options):
            _check(sub, (*path, "anyOf", str(i)), level, tally)
    if "enum" in node:
        values = node["enum"]
        if not isinstance(values, list) or not values:
            raise SchemaError(f"{where}, 'enum' must be a non-empty array.")
        tally.enum_values += len(values)
        tally.string_length += sum(len(v) for v in values if isinstance(v, str))
    if isinstance(node.get("const"), str):
        tally.string_length += len(node["const"])
    if "format" in node and node["format"] not in FORMATS:
        raise SchemaError(f"{where}, '{node['format']}' is not a supported format.")
    if "pattern" in node:
        try:
            re.compile(str(node["pattern"]))
        except re.error:
            raise SchemaError(
                f"{where}, pattern {node['pattern']!r} is not a valid regular expression."
            ) from None
    if "object" in kinds or "properties" in node:
        _check_object(node, path, level + 1, tally, where)
    if "array" in kinds and "items" in node:
        _check(node["items"], (*path, "items"), level, tally)


def _check_object(
    node: Mapping[str, Any], path: tuple[str, ...], level: int, tally: _Tally, where: str
) -> None:
    tally.deepest = max(tally.deepest, level)
    if node.get("additionalProperties") is not False:
        raise SchemaError(f"{where}, 'additionalProperties' is required to be supplied and to be false.")
    properties = node.get("properties", {})
    if not isinstance(properties, Mapping):
        raise SchemaError(f"{where}, 'properties' must be an object.")
    required = node.get("required")
    listed = list(required) if isinstance(required, list) else None
    missing = [k for k in properties if listed is None or k not in listed]
    if missing:
        raise SchemaError(
            f"{where}, 'required' is required to be supplied and to be an array including every key in "
            f"properties. Missing '{missing[0]}'."
        )
    extra = [k for k in listed or [] if k not in properties]
    if extra:
        raise SchemaError(f"{where}, 'required' has the extra key '{extra[0]}', which is not in properties.")
    tally.properties += len(properties)
    for name, sub in properties.items():
        tally.string_length += len(name)
        _check(sub, (*path, "properties", name), level, tally)


def strict_schema_problem(schema: Any) -> str | None:
    """Why a strict schema is refused (the message after the name), or None when OpenAI would accept it."""
    if not isinstance(schema, Mapping):
        return "schema must be a JSON Schema object."
    if "anyOf" in schema or schema.get("type") != "object":
        got = "anyOf" if "anyOf" in schema else f'type: "{schema.get("type")}"'
        return f"schema must be a JSON Schema of 'type: \"object\"', got '{got}'."
    tally = _Tally()
    try:
        _check(schema, (), 0, tally)
    except SchemaError as exc:
        return str(exc)
    if tally.deepest > MAX_NESTING:
        return f"{tally.deepest} levels of nesting exceeds limit of {MAX_NESTING}."
    if tally.properties > MAX_PROPERTIES:
        return f"{tally.properties} object properties exceeds limit of {MAX_PROPERTIES}."
    if tally.enum_values > MAX_ENUM_VALUES:
        return f"{tally.enum_values} enum values exceeds limit of {MAX_ENUM_VALUES}."
    if tally.string_length > MAX_STRING_LENGTH:
        return (
            f"total string length of property names, definition names, enum and const values "
            f"({tally.string_length}) exceeds limit of {MAX_STRING_LENGTH}."
        )
    return None


def _invalid(message: str, param: str, code: str | None = None) -> Reply:
    return error(400, message, "invalid_request_error", code, param=param)


def response_format_problem(body: Mapping[str, Any]) -> Reply | None:
    """A 400 reply when the request's ``response_format`` breaks OpenAI's rules, else None."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind not in ("text", "json_object", "json_schema"):
        return _invalid(
            f"Invalid value: {kind!r}. Supported values are: 'json_object', 'json_schema', and 'text'.",
            "response_format.type",
            "invalid_value",
        )
    if kind == "json_object":
        messages = body.get("messages") or []
        if not any("json" in message_text(m).lower() for m in messages if isinstance(m, Mapping)):
            return _invalid(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                "'json_object'.",
                "messages",
            )
    if kind != "json_schema":
        return None
    spec = fmt.get("json_schema")
    if not isinstance(spec, Mapping) or "name" not in spec:
        return _invalid(
            "Missing required parameter: 'response_format.json_schema.name'.",
            "response_format.json_schema.name",
            "missing_required_parameter",
        )
    name = str(spec["name"])
    if not NAME.match(name):
        return _invalid(
            "Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string "
            "that matches the pattern '^[a-zA-Z0-9_-]+$' of at most 64 characters.",
            "response_format.json_schema.name",
            "invalid_value",
        )
    if spec.get("strict") is True:
        problem = strict_schema_problem(spec.get("schema"))
        if problem is not None:
            return _invalid(
                f"Invalid schema for response_format '{name}': {problem}",
                "response_format",
                "invalid_json_schema",
            )
    return None
