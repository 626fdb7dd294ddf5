"""RunConfig: every option of a run, and where it comes from.

Precedence: explicit values (CLI flags, keyword arguments) > ``SHEETS_AI_*`` environment variables >
an optional ``sheets-ai.toml`` > defaults. Unknown keys are rejected with the list of valid names.
"""

from __future__ import annotations

import codecs
import difflib
import os
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .errors import ConfigError, UsageError
from .models import EFFORT_LEVELS

TaskName = Literal["sentiment", "summarize", "classify", "extract"]
ProviderName = Literal["auto", "local", "openai"]
ENV_PREFIX = "SHEETS_AI_"
DEFAULT_CONFIG_FILE = "sheets-ai.toml"

_COLUMN_HINT = "give a header text such as Review or a column letter such as B"
#: Options where an empty value is always a mistake (``--input ""``), and what to give instead.
_NOT_BLANK = {
    "input": _COLUMN_HINT,
    "output": _COLUMN_HINT,
    "status_column": _COLUMN_HINT,
    "confidence_column": _COLUMN_HINT,
    "sheet": "give a worksheet name, or leave the option out for the active sheet",
    "log_sheet": "give a worksheet name, or leave the option out",
    "review_sheet": "give a worksheet name, or leave the option out",
    "instructions": "give the instructions text, or leave the option out",
    "instructions_file": "give the path of a text file, or leave the option out",
    "output_file": "give a file name, or leave the option out to write into the source",
    "credentials": "give the path of a key file, or leave the option out",
    "cache_dir": "give a folder, or leave the option out for the default",
    "model": "give a model name, or leave the option out for the default",
    "base_url": "give a URL, or leave the option out for the default",
}


@dataclass(frozen=True)
class Origin:
    """Where an option's value came from when it was not given explicitly (flag or keyword argument)."""

    kind: Literal["file", "env"]
    where: str  # the config file as the user would name it (./sheets-ai.toml), or the variable's name


class RunConfig(BaseModel):
    """All options of one run. Unknown fields are rejected."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    source: str = ""
    #: One task, or several answered in one pass: ``sentiment,summarize`` with one output column each
    #: (``output = "Sentiment,Summary"``; sheets_ai.multitask).
    task: str = "sentiment"
    input: str | None = None
    output: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    header_row: int = Field(1, ge=1)
    rows: str | None = None
    limit: int | None = Field(None, ge=1)
    overwrite: bool = False

    labels: list[str] | None = None
    #: A domain role and rules for any task, added to the system prompt (and so to the cache key).
    instructions: str | None = Field(None, max_length=20_000)
    #: The same, read from a UTF-8 text file.
    instructions_file: Path | None = None
    #: Worked examples (few-shot): a CSV of Input,Answer; default NAME.examples.csv beside the source; "none": off.
    examples: str | None = None
    max_chars: int = Field(200, ge=10, le=10_000)
    prompt: str | None = None

    provider: ProviderName = "auto"
    model: str | None = None
    #: OpenAI reasoning models: none, minimal, low, medium, high, xhigh (None: the cheapest the model takes).
    reasoning_effort: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = Field(None, exclude=True, repr=False)
    #: The environment variable whose value is sent as the API key instead of OPENAI_API_KEY. The only way
    #: a base_url from a config file gets a key: the same file must name the variable (see keys.py).
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    batch_size: int | None = Field(None, ge=1, le=500)
    max_batch_tokens: int | None = Field(None, ge=100)
    max_row_tokens: int | None = Field(None, ge=16)
    concurrency: int = Field(4, ge=1, le=64)
    rpm: int = Field(300, ge=1)
    tpm: int = Field(100_000, ge=100)
    request_timeout: float = Field(60.0, gt=0)
    #: How long a failed request (429, 5xx, timeout) is retried, from its first failure.
    retry_seconds: float = Field(300.0, gt=0)
    #: At most this many tries per request; None: only ``retry_seconds`` bounds the retries.
    retry_attempts: int | None = Field(None, ge=1, le=1000)
    #: The older name of ``retry_seconds``, still accepted (flags, environment, sheets-ai.toml).
    retry_max_seconds: float | None = Field(None, gt=0)
    max_cost: float | None = Field(None, ge=0)
    #: USD for the calendar month (UTC), shared through a ledger by every run that keeps it (sheets_ai.monthly).
    monthly_budget: float | None = Field(None, ge=0)
    #: Send the rows through OpenAI's Batch API (half price, answers within 24 h; sheets_ai.batch_api).
    batch_api: bool = False
    #: --batch-api: poll until every submitted batch is finished instead of returning at once.
    wait: bool = False
    #: OpenAI ``service_tier``: "flex" (half price, slower, sometimes 429 resource_unavailable) or "default".
    service_tier: Literal["default", "flex"] | None = None
    cache: bool = True
    cache_dir: Path | None = None

    output_file: Path | None = None
    dry_run: bool = False
    checkpoint_seconds: float = Field(30.0, gt=0)

    credentials: Path | None = None
    status_column: str | None = None
    #: Label tasks: write each row's confidence (0-1, two decimals) into this column.
    confidence_column: str | None = None
    #: Label tasks: rows whose confidence is below this are marked ``review`` and listed (sheets_ai.review).
    review_below: float | None = Field(None, gt=0, le=1)
    #: Google Sheets: list the rows to review in this worksheet (sheets_ai.tables._gsheets_review).
    review_sheet: str | None = None
    log_sheet: str | None = None

    @field_validator(*_NOT_BLANK, mode="before")
    @classmethod
    def _not_blank(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            raise PydanticCustomError(
                "blank", "is empty ({hint})", {"hint": _NOT_BLANK[info.field_name or ""]}
            )
        return value

    _origins: dict[str, Origin] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _old_retry_name(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("retry_max_seconds") is not None
            and "retry_seconds" not in data
        ):
            data = {**data, "retry_seconds": data["retry_max_seconds"]}
        return data

    @field_validator("task", mode="before")
    @classmethod
    def _check_tasks(cls, value: Any) -> Any:
        """``sentiment``, or several as ``sentiment,summarize`` (a list in sheets-ai.toml), each once."""
        names = [str(v).strip() for v in value] if isinstance(value, list | tuple) else None
        if isinstance(value, str):
            names = [part.strip() for part in value.split(",")]
        if names is None:
            return value
        choices = get_args(TaskName)
        for name in names:
            if name not in choices:
                raise ValueError(
                    f"{name!r} is not one of {', '.join(map(repr, choices))} (several tasks: sentiment,summarize)"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"{','.join(names)} names a task twice; give each task once")
        return ",".join(names)

    @field_validator("output", mode="before")
    @classmethod
    def _join_outputs(cls, value: Any) -> Any:
        """sheets-ai.toml may list one output column per task: ``output = ["Sentiment", "Summary"]``."""
        if isinstance(value, list | tuple):
            return ",".join(str(v).strip() for v in value)
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _split_labels(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list | tuple):
            labels = [str(v).strip() for v in value if str(v).strip()]
            if len(set(labels)) != len(labels):
                raise ValueError("labels must be distinct")
            return labels or None
        return value

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip()
        try:
            codecs.lookup(name)
            b"".decode(name)  # rejects bytes-to-bytes codecs such as base64
        except LookupError:
            raise ValueError(
                f"unknown text encoding {name!r}; use a name such as utf-8, cp1252, cp932 or latin-1"
            ) from None
        return name

    @field_validator("reasoning_effort", mode="before")
    @classmethod
    def _check_effort(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lower() or None
            if value is not None and value not in EFFORT_LEVELS:
                raise ValueError(
                    f"{value!r} is not a reasoning effort; use one of {', '.join(EFFORT_LEVELS)}"
                )
        return value

    @field_validator("rows")
    @classmethod
    def _check_rows(cls, value: str | None) -> str | None:
        if value is not None:
            parse_row_range(value)
        return value

    def origin_of(self, name: str) -> Origin | None:
        """The config file or environment variable ``name`` came from; None when given explicitly or a default."""
        return self._origins.get(name)

    def public_dict(self) -> dict[str, Any]:
        """The options as plain JSON-able data, without secrets."""
        return self.model_dump(mode="json", exclude={"api_key"})


FIELD_NAMES = tuple(RunConfig.model_fields)


def parse_row_range(spec: str) -> tuple[int | None, int | None]:
    """Parse ``--rows`` (``2:500``, ``10:``, ``:99`` or ``42``) into inclusive sheet row numbers."""
    text = spec.strip()
    try:
        if ":" in text:
            start_s, end_s = text.split(":", 1)
            start = int(start_s) if start_s.strip() else None
            end = int(end_s) if end_s.strip() else None
        else:
            start = end = int(text)
    except ValueError:
        raise ValueError(f"--rows {spec!r} is not a row range; use e.g. 2:500, 10: or :99") from None
    if (start is not None and start < 1) or (end is not None and end < 1):
        raise ValueError(f"--rows {spec!r}: row numbers start at 1")
    if start is not None and end is not None and end < start:
        raise ValueError(f"--rows {spec!r}: the end is before the start")
    return start, end


def _unknown_key_message(key: str, where: str) -> str:
    close = difflib.get_close_matches(key, FIELD_NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"Unknown option {key!r} in {where}.{hint} Valid options: {', '.join(FIELD_NAMES)}"


def read_toml(path: Path) -> dict[str, Any]:
    """Read a sheets-ai.toml file (top-level keys, or a ``[sheets-ai]`` table)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {str(path)!r} not found. Check --config.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {str(path)!r} is not valid TOML: {exc}") from None
    if isinstance(data.get("sheets-ai"), dict):
        data = data["sheets-ai"]
    cleaned: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in FIELD_NAMES or name == "api_key":
            if name == "api_key":
                raise ConfigError(
                    f"Do not put API keys in {path.name}; set OPENAI_API_KEY in the environment instead."
                )
            raise ConfigError(_unknown_key_message(key, str(path)))
        cleaned[name] = value
    return cleaned


def read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Options from ``SHEETS_AI_<NAME>`` variables (other SHEETS_AI_ variables are ignored)."""
    values: dict[str, Any] = {}
    for name in FIELD_NAMES:
        if name == "api_key":
            continue
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        values[name] = raw
    return values


def _coerce_bools(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for name, value in values.items():
        field = RunConfig.model_fields[name]
        if field.annotation is bool and isinstance(value, str):
            low = value.strip().lower()
            if low in {"1", "true", "yes", "on"}:
                out[name] = True
            elif low in {"0", "false", "no", "off"}:
                out[name] = False
    return out


def _format_validation_error(exc: ValidationError, origin: Mapping[str, str]) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "config"
        where = origin.get(loc.split(".")[0], "")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            parts.append(_unknown_key_message(loc, where or "options"))
            continue
        name = loc.replace("_", "-")
        label = f"--{name}" if not where else f"{name} (from {where})"
        parts.append(f"{label} {msg}" if err["type"] == "blank" else f"{label}: {msg}")
    return "Invalid configuration: " + "; ".join(parts)


def build_config(
    explicit: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
    ignore: Collection[str] = (),
) -> RunConfig:
    """Merge defaults < sheets-ai.toml < SHEETS_AI_* env < explicit values into a RunConfig.

    ``config_path`` None means: use ./sheets-ai.toml if it exists (or SHEETS_AI_CONFIG). Options named in
    ``ignore`` are taken from neither the file nor the environment (the Python API ignores file-run settings).
    """
    env = os.environ if env is None else env
    explicit = {k: v for k, v in (explicit or {}).items() if v is not None}
    origin: dict[str, str] = {}
    merged: dict[str, Any] = {}

    origins: dict[str, Origin] = {}

    path: Path | None = None
    shown = ""
    if config_path is not None:
        path = Path(config_path)
    elif env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
        shown = f"./{DEFAULT_CONFIG_FILE}"  # found in the current folder, not named by the user: say so
    if path is not None:
        file_values = {k: v for k, v in read_toml(path).items() if k not in ignore}
        merged.update(file_values)
        origin.update({k: str(path) for k in file_values})
        origins.update({k: Origin("file", shown or str(path)) for k in file_values})

    env_values = {k: v for k, v in read_env(env).items() if k not in ignore}
    merged.update(env_values)
    origin.update({k: ENV_PREFIX + k.upper() for k in env_values})
    origins.update({k: Origin("env", ENV_PREFIX + k.upper()) for k in env_values})

    for key in explicit:
        if key not in FIELD_NAMES:
            raise UsageError(_unknown_key_message(key, "options"))
    merged.update(explicit)
    for key in explicit:
        origin.pop(key, None)
        origins.pop(key, None)

    try:
        config = RunConfig(**_coerce_bools(merged))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin)) from None
    config._origins = origins
    return config
