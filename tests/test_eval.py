"""sheets-ai eval: metrics against a hand-computed confusion matrix, real PNGs, the cache, the source untouched."""

from __future__ import annotations

import csv
import json
import os
import struct
from pathlib import Path

import pytest
from conftest import local_answers, openai_args, run_json

import sheets_ai
from sheets_ai.testing.openai_server import FakeOpenAI

REPO = Path(__file__).resolve().parents[1]
# text, gold; the fake server's keyword rules answer: pos, neg, neutral, mixed, pos, neg, pos, neutral.
SMALL = [
    ("Love it, great.", "Positive"),
    ("Broken and late.", "NEGATIVE"),
    ("It is blue.", "neutral"),
    ("Great but broken.", "mixed"),
    ("Nice colour.", "neutral"),
    ("Slow but fine.", "neutral"),
    ("Perfect fit.", "positive"),
    ("The lid is blue.", "negative"),
    ("No gold for this one.", ""),
]
# Hand-computed from the table above (gold down, predicted across).
CONFUSION = {
    "positive": {"positive": 2},
    "negative": {"negative": 1, "neutral": 1},
    "neutral": {"neutral": 1, "positive": 1, "negative": 1},
    "mixed": {"mixed": 1},
}
PER_CLASS = {  # precision, recall, f1
    "positive": (0.6667, 1.0, 0.8),
    "negative": (0.5, 0.5, 0.5),
    "neutral": (0.5, 0.3333, 0.4),
    "mixed": (1.0, 1.0, 1.0),
}


@pytest.fixture(autouse=True)
def _matplotlib_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """One matplotlib font cache for the whole session (each test's HOME is new)."""
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.getbasetemp() / "matplotlib"))


def _csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "gold")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_eval_metrics_match_a_hand_computed_confusion_matrix(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    source = _csv(tmp_path / "labelled.csv", SMALL)
    before = source.read_bytes()
    out = tmp_path / "report"
    args = ("eval", source, "--input", "text", "--gold", "gold", "--batch-sizes", "1,4", "--out", out)
    proc, report = run_json(*args, *openai_args(fake_openai), "--cache-dir", tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert source.read_bytes() == before  # the source is never written
    assert report["rows_used"] == 8 and report["skipped"] == {"no_input": 0, "no_gold": 1}
    one, four = report["configurations"]
    for config in (one, four):
        m = config["metrics"]
        assert m["confusion"] == CONFUSION
        assert m["accuracy"] == 0.625 and m["correct"] == 5
        assert m["macro_f1"] == pytest.approx(0.675, abs=1e-4)
        for label, (p, r, f1) in PER_CLASS.items():
            assert (m["per_class"][label]["precision"], m["per_class"][label]["recall"]) == (p, r)
            assert m["per_class"][label]["f1"] == pytest.approx(f1, abs=1e-4)
        assert m["rows_with_confidence"] == 8 and config["confidence"]["rows"] == 8
    assert (one["requests"], one["rows_per_request"]) == (8, 1.0)
    assert (four["requests"], four["rows_per_request"]) == (2, 4.0)
    assert one["cost_per_1000_rows"] > four["cost_per_1000_rows"] > 0  # the instructions are paid per request
    assert len(fake_openai.requests) == 10

    # The files: report.md, report.json and PNGs of the documented size with one point per configuration.
    assert (
        json.loads((out / "report.json").read_text())["configurations"][0]["metrics"]["confusion"]
        == CONFUSION
    )
    assert "| gold \\ predicted |" in (out / "report.md").read_text()
    charts = report["charts"]
    for name in ("accuracy_vs_cost.png", "calibration.png", "confusion-1.png", "confusion-2.png"):
        assert _png_size(out / name) == (800, 500)
    assert len(charts["accuracy_vs_cost"]["points"]) == 2
    assert [p["y"] for p in charts["accuracy_vs_cost"]["points"]] == [0.625, 0.625]
    assert [len(s["points"]) for s in charts["calibration"]["series"]] == [
        len(one["metrics"]["calibration"]),
        len(four["metrics"]["calibration"]),
    ]
    assert charts["confusion"][one["name"]]["cells"][0] == [2, 0, 0, 0]

    # The same configurations again: answered from the cache, nothing sent, the same figures.
    fake_openai.reset()
    proc, again = run_json(*args, *openai_args(fake_openai), "--cache-dir", tmp_path / "cache")
    assert proc.returncode == 0 and len(fake_openai.requests) == 0
    assert [c["metrics"] for c in again["configurations"]] == [one["metrics"], four["metrics"]]
    assert again["configurations"][0]["cost_per_1000_rows"] == pytest.approx(
        one["cost_per_1000_rows"], rel=0.05
    )


def test_eval_of_the_shipped_example_with_the_offline_analyzer(tmp_path: Path) -> None:
    source = REPO / "examples" / "labelled_reviews.csv"
    proc, report = run_json(
        "eval", source, "--input", "text", "--gold", "label", "--provider", "local", "--out", tmp_path / "r"
    )
    assert proc.returncode == 0, proc.stderr
    rows = [r for r in csv.DictReader(source.open(encoding="utf-8")) if r["text"] and r["label"]]
    predicted = local_answers("sentiment", [r["text"] for r in rows])
    correct = sum(p == r["label"] for p, r in zip(predicted, rows, strict=True))
    (config,) = report["configurations"]
    assert report["rows_used"] == len(rows) == 60
    assert report["skipped"] == {"no_input": 1, "no_gold": 1}
    assert config["metrics"]["accuracy"] == round(correct / 60, 4)
    assert config["confidence"]["rows"] == 60 and config["cost_per_1000_rows"] == 0
    assert sum(sum(r.values()) for r in config["metrics"]["confusion"].values()) == 60


def test_eval_without_matplotlib_still_writes_the_figures(tmp_path: Path) -> None:
    """The charts are an extra: without matplotlib the measured figures are written anyway, with the reason."""
    blocker = tmp_path / "no-matplotlib" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib is not installed')\n")
    source = REPO / "examples" / "labelled_reviews.csv"
    proc, report = run_json(
        "eval", source, "--input", "text", "--gold", "label", "--provider", "local", "--out", tmp_path / "r",
        env={**os.environ, "PYTHONPATH": str(blocker.parent)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "sheets-ai[eval]" in proc.stderr and "sheets-ai[eval]" in report["charts"]["skipped"]
    assert report["configurations"][0]["metrics"]["accuracy"] > 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["report.json", "report.md"]
    assert "No charts: matplotlib is not installed" in (tmp_path / "r" / "report.md").read_text(
        encoding="utf-8"
    )


def test_evaluate_from_python_with_a_sample_and_renamed_labels(tmp_path: Path) -> None:
    renamed = {"positive": "ポジティブ", "negative": "ネガティブ", "neutral": "中立", "mixed": "混在"}
    rows = [
        r
        for r in csv.DictReader((REPO / "examples" / "labelled_reviews.csv").open(encoding="utf-8"))
        if r["label"]
    ]
    source = _csv(tmp_path / "ja.csv", [(r["text"], renamed[r["label"]]) for r in rows], ("text", "gold"))
    options = {"input": "text", "gold": "gold", "provider": "local", "labels": ",".join(renamed.values())}
    plain = sheets_ai.evaluate(
        REPO / "examples" / "labelled_reviews.csv", input="text", gold="label", provider="local"
    )
    result = sheets_ai.evaluate(source, **options)
    assert result.configurations[0]["metrics"]["accuracy"] == plain.configurations[0]["metrics"]["accuracy"]
    assert set(result.configurations[0]["metrics"]["confusion"]) == {
        "positive",
        "negative",
        "neutral",
        "mixed",
    }
    first = sheets_ai.evaluate(source, sample=20, seed=3, **options)
    second = sheets_ai.evaluate(source, sample=20, seed=3, **options)
    assert first.rows_used == 20
    assert [p["row"] for p in first.configurations[0]["predictions"]] == [
        p["row"] for p in second.configurations[0]["predictions"]
    ]
    with pytest.raises(sheets_ai.UsageError, match="gold"):
        sheets_ai.evaluate(source, input="text", gold="Expected", provider="local")


def test_extract_is_scored_by_normalized_exact_match(fake_openai: FakeOpenAI, tmp_path: Path) -> None:
    # The fake server's extract rule: the first capitalised word after the first one.
    rows = [
        ("We bought the Zephyr lamp.", " zephyr. "),
        ("My Acme kettle broke.", "ACME"),
        ("I like Bolt.", "Bolt"),
    ]
    source = _csv(tmp_path / "x.csv", rows)
    proc, report = run_json(
        "eval", source, "--input", "text", "--gold", "gold", "--task", "extract", "--prompt", "Which product?",
        *openai_args(fake_openai), "--no-cache", "--out", tmp_path / "r",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert report["configurations"][0]["metrics"]["exact_match"] == round(2 / 3, 4)


def test_eval_with_examples_runs_each_configuration_without_and_with_them(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = _csv(tmp_path / "labelled.csv", SMALL)
    examples = _csv(tmp_path / "shots.csv", [("The lid is blue.", "negative")], ("Input", "Answer"))
    proc, report = run_json(
        "eval", source, "--input", "text", "--gold", "gold", "--examples", examples, "--batch-sizes", "8",
        *openai_args(fake_openai), "--no-cache", "--out", tmp_path / "r",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    without, with_ = report["configurations"]
    assert without["name"].endswith("· no examples") and with_["name"].endswith("· examples")
    assert without["examples"] is None and with_["examples"] == str(examples)
    systems = [r["body"]["messages"][0]["content"] for r in fake_openai.requests if "body" in r]
    assert len(systems) == 2 and "Example:" not in systems[0]
    assert "Example: The lid is blue. => negative" in systems[1]
    assert with_["prompt_tokens"] > without["prompt_tokens"]  # what the examples cost
    assert with_["metrics"]["confusion"] == without["metrics"]["confusion"] == CONFUSION  # keyword rules


def test_eval_of_a_reasoning_model_scores_its_self_reported_confidence(
    fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    source = _csv(tmp_path / "labelled.csv", SMALL)
    out = tmp_path / "report"
    args = ("eval", source, "--input", "text", "--gold", "gold", "--models", "gpt-5-mini,gpt-4.1-mini")
    proc, report = run_json(*args, "--out", out, *openai_args(fake_openai), "--cache-dir", tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    rated, logprobs = report["configurations"]
    assert rated["confidence"]["source"] == "self-reported" and rated["confidence"]["rows"] == 8
    assert logprobs["confidence"]["source"] == "logprobs" and logprobs["confidence"]["rows"] == 8
    assert rated["metrics"]["confusion"] == logprobs["metrics"]["confusion"] == CONFUSION
    assert rated["metrics"]["rows_with_confidence"] == 8 and rated["metrics"]["coverage"]
    # Each digit is the fake model's certainty in tenths, read as the middle of the tenth.
    for p in rated["predictions"]:
        assert p["confidence"].endswith("5")  # written as 0.95, 0.75 …
    text = (out / "report.md").read_text()
    assert "Coverage at each confidence level (self-reported):" in text
    assert "Coverage at each confidence level (logprobs):" in text
