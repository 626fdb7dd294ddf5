"""The evaluation's outputs: report.json, report.md, the PNG charts, and the terminal table."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from . import charts
from .runner import Evaluation

log = logging.getLogger("sheets_ai")

COLUMNS = (
    "configuration",
    "rows",
    "accuracy",
    "macro-F1",
    "rows/request",
    "requests",
    "tokens",
    "$/1k rows",
    "mean conf.",
)


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "—"
    return format(value, spec) if spec else str(value)


def table_rows(result: Evaluation) -> list[list[str]]:
    rows = []
    for c in result.configurations:
        m = c["metrics"]
        conf = (c.get("confidence") or {}).get("mean")
        rows.append(
            [
                c["name"],
                str(m["rows"]),
                _fmt(m.get("accuracy"), ".3f"),
                _fmt(m.get("macro_f1"), ".3f"),
                _fmt(c.get("rows_per_request")),
                str(c["requests"]),
                f"{c['prompt_tokens']}+{c['completion_tokens']}",
                _fmt(c["cost_per_1000_rows"], ".4f"),
                _fmt(conf, ".2f"),
            ]
        )
    return rows


def table_lines(result: Evaluation) -> list[str]:
    """The configurations as an aligned plain-text table (the terminal output)."""
    rows = [list(COLUMNS), *table_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result.skipped.items() if n)
    head = f"{result.rows_used} of {result.rows_labelled} labelled rows" + (
        f" (skipped: {skipped})" if skipped else ""
    )
    return [head, *lines]


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)] + [
        "| " + " | ".join(r) + " |" for r in rows
    ]


def markdown(result: Evaluation) -> str:
    lines = [f"# Evaluation: {result.task}", ""]
    skipped = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in result.skipped.items() if n) or "none"
    sample = f"a seeded sample (seed {result.seed}) of " if result.sample else ""
    lines += [
        f"Source `{Path(result.source).name}`: {sample}{result.rows_used} of {result.rows_labelled} labelled rows "
        f"(skipped: {skipped}).",
        "",
        *_markdown_table(list(COLUMNS), table_rows(result)),
        "",
    ]
    if "accuracy_vs_cost" in result.charts:
        lines += [f"![Accuracy against cost]({result.charts['accuracy_vs_cost']['file']})", ""]
    for c in result.configurations:
        m = c["metrics"]
        lines += [f"## {c['name']}", ""]
        lines.append(f"Cost per 1,000 rows: ${c['cost_per_1000_rows']:.4f} ({c['cost_source']}).")
        lines.append("")
        if "per_class" in m:
            per = [
                [label, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}", str(v["support"])]
                for label, v in m["per_class"].items()
            ]
            lines += [*_markdown_table(["class", "precision", "recall", "F1", "support"], per), ""]
            classes = list(m["confusion"])
            predicted = classes + sorted({p for r in m["confusion"].values() for p in r} - set(classes))
            matrix = [[g] + [str(m["confusion"][g].get(p, 0)) for p in predicted] for g in classes]
            lines += ["Confusion matrix (gold down, predicted across):", ""]
            lines += [*_markdown_table(["gold \\ predicted", *predicted], matrix), ""]
            chart = result.charts.get("confusion", {}).get(c["name"])
            if chart:
                lines += [f"![Confusion matrix]({chart['file']})", ""]
        if m.get("coverage"):
            cov = [
                [f"≥ {x['level']:.2f}", f"{x['coverage']:.0%}", _fmt(x["accuracy"], ".3f")]
                for x in m["coverage"]
            ]
            source = (c.get("confidence") or {}).get("source")
            lines += [f"Coverage at each confidence level{f' ({source})' if source else ''}:", ""]
            lines += [*_markdown_table(["confidence", "rows kept", "accuracy of those"], cov), ""]
        elif "per_class" in m:
            lines += ["No confidences (neither log-probabilities nor a self-reported one came back).", ""]
    if result.charts.get("skipped"):
        lines += [f"No charts: {result.charts['skipped']}.", ""]
    if result.charts.get("calibration", {}).get("series"):
        lines += ["## Calibration", "", f"![Calibration]({result.charts['calibration']['file']})", ""]
    return "\n".join(lines)


def write_report(result: Evaluation, out: Path) -> None:
    """report.json, report.md and the PNG charts into ``out`` (created if needed)."""
    out.mkdir(parents=True, exist_ok=True)
    configs = result.configurations
    if not charts.available():  # the figures are measured already: write them, say why there is no chart
        log.warning("No eval charts: %s.", charts.MISSING)
        result.charts = {"skipped": charts.MISSING}
    else:
        result.charts = {"accuracy_vs_cost": charts.accuracy_vs_cost(configs, out / "accuracy_vs_cost.png")}
    if configs and "confusion" in configs[0]["metrics"] and "skipped" not in result.charts:
        result.charts["confusion"] = {
            c["name"]: charts.confusion(c, out / f"confusion-{i}.png") for i, c in enumerate(configs, start=1)
        }
        result.charts["calibration"] = charts.calibration(configs, out / "calibration.png")
    (out / "report.json").write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (out / "report.md").write_text(markdown(result), encoding="utf-8")
