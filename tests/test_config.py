"""Configuration: flags > SHEETS_AI_* environment > sheets-ai.toml > defaults; unknown keys rejected."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli, run_json

from sheets_ai.config import FIELD_NAMES, RunConfig, build_config
from sheets_ai.errors import ConfigError, UsageError


def _toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    config = build_config({}, env={})
    assert (config.task, config.provider, config.header_row, config.checkpoint_seconds) == (
        "sentiment",
        "auto",
        1,
        30.0,
    )
    assert config.limit is None and config.overwrite is False and config.cache is True


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = _toml(
        tmp_path / "sheets-ai.toml", 'limit = 5\nbatch_size = 9\nmax-chars = 120\ntask = "summarize"\n'
    )
    env = {"SHEETS_AI_LIMIT": "3", "SHEETS_AI_BATCH_SIZE": "4"}
    config = build_config({"limit": 2}, env=env, config_path=path)
    assert config.limit == 2  # flag
    assert config.batch_size == 4  # environment
    assert config.max_chars == 120 and config.task == "summarize"  # file (dashes accepted)
    assert config.concurrency == 4  # default
    assert build_config({}, env=env, config_path=path).limit == 3
    assert build_config({}, env={}, config_path=path).limit == 5


def test_a_sheets_ai_table_in_the_file_is_read(tmp_path: Path) -> None:
    path = _toml(tmp_path / "pyproject-like.toml", '[sheets-ai]\nprovider = "local"\noverwrite = true\n')
    config = build_config({}, env={}, config_path=path)
    assert config.provider == "local" and config.overwrite is True


def test_env_booleans_and_unrelated_variables(tmp_path: Path) -> None:
    config = build_config({}, env={"SHEETS_AI_OVERWRITE": "yes", "SHEETS_AI_SOMETHING_ELSE": "x"})
    assert config.overwrite is True
    assert build_config({}, env={"SHEETS_AI_OVERWRITE": "0"}).overwrite is False


def test_default_file_in_the_working_directory_and_env_path(tmp_path: Path) -> None:
    _toml(Path("sheets-ai.toml"), "limit = 7\n")  # the tests run in a fresh cwd
    assert build_config({}, env={}).limit == 7
    other = _toml(tmp_path / "other.toml", "limit = 8\n")
    assert build_config({}, env={"SHEETS_AI_CONFIG": str(other)}).limit == 8


def test_unknown_key_in_file_lists_valid_names(tmp_path: Path) -> None:
    path = _toml(tmp_path / "sheets-ai.toml", "batchsize = 10\n")
    with pytest.raises(ConfigError) as err:
        build_config({}, env={}, config_path=path)
    message = str(err.value)
    assert "Unknown option 'batchsize'" in message and "Did you mean 'batch_size'?" in message
    assert all(name in message for name in ("task", "input", "output", "max_chars", "checkpoint_seconds"))


def test_unknown_explicit_option_and_api_key_in_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="Valid options"):
        build_config({"tasks": "sentiment"}, env={})
    path = _toml(tmp_path / "sheets-ai.toml", 'api_key = "sk-secret"\n')
    with pytest.raises(ConfigError) as err:
        build_config({}, env={}, config_path=path)
    assert "OPENAI_API_KEY" in str(err.value) and "sk-secret" not in str(err.value)


def test_bad_values_name_their_origin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SHEETS_AI_LIMIT"):
        build_config({}, env={"SHEETS_AI_LIMIT": "lots"})
    path = _toml(tmp_path / "sheets-ai.toml", "batch_size = 0\n")
    with pytest.raises(ConfigError, match=r"sheets-ai\.toml"):
        build_config({}, env={}, config_path=path)
    with pytest.raises(ConfigError, match="not valid TOML"):
        build_config({}, env={}, config_path=_toml(tmp_path / "broken.toml", "limit = = 1"))
    with pytest.raises(ConfigError, match="not found"):
        build_config({}, env={}, config_path=tmp_path / "missing.toml")


def test_model_rejects_unknown_fields_and_keeps_secrets_out_of_dumps() -> None:
    with pytest.raises(ValueError):
        RunConfig(nope=1)  # type: ignore[call-arg]
    config = RunConfig(api_key="sk-test-123")  # type: ignore[arg-type]
    assert "sk-test-123" not in repr(config) and "api_key" not in config.public_dict()
    assert set(FIELD_NAMES) >= {"source", "task", "input", "output", "rows", "limit"}


# -- through the CLI ---------------------------------------------------------------------------------------


def test_cli_precedence(work: Path, tmp_path: Path) -> None:
    path = work / "reviews.xlsx"
    config = _toml(tmp_path / "settings.toml", 'limit = 5\ninput = "Review"\noutput = "Sentiment"\n')
    _, report = run_json("run", path, "--config", config)
    assert report["rows_processed"] == 5
    _, report = run_json("run", path, "--config", config, env={"SHEETS_AI_LIMIT": "3"})
    assert report["rows_processed"] == 3
    _, report = run_json("run", path, "--config", config, "--limit", "2", env={"SHEETS_AI_LIMIT": "3"})
    assert report["rows_processed"] == 2


def test_cli_unknown_key_in_file_exits_2_with_valid_names(work: Path, tmp_path: Path) -> None:
    config = _toml(tmp_path / "sheets-ai.toml", 'inptu = "Review"\n')
    before = (work / "reviews.xlsx").read_bytes()
    proc = run_cli("run", work / "reviews.xlsx", "--config", config, "--input", "Review", "--output", "S1")
    assert proc.returncode == 2
    assert "Unknown option 'inptu'" in proc.stderr and "Did you mean 'input'?" in proc.stderr
    assert "Valid options: source, task, input, output" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert (work / "reviews.xlsx").read_bytes() == before


def test_cli_bad_env_value_exits_2(work: Path) -> None:
    proc = run_cli(
        "run",
        work / "reviews.xlsx",
        "--input",
        "Review",
        "--output",
        "S1",
        env={"SHEETS_AI_CONCURRENCY": "0"},
    )
    assert proc.returncode == 2
    assert "concurrency (from SHEETS_AI_CONCURRENCY)" in proc.stderr
