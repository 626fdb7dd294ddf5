"""PNG charts of an evaluation, drawn with matplotlib's Agg backend (no display needed).

Each function writes one PNG of :data:`SIZE` pixels and returns what it plotted (the report keeps it, so
the numbers behind every chart can be checked): accuracy against cost per 1,000 rows, one point per
configuration; a confusion matrix per configuration; calibration, accuracy per confidence bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError

DPI = 100
SIZE = (800, 500)  # pixels


MISSING = (
    "matplotlib is not installed: pip install 'sheets-ai[eval]' (or pip install matplotlib) for the charts"
)


def available() -> bool:
    """Whether matplotlib can be imported (the charts are optional: the figures never depend on them)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            "The eval charts need matplotlib: pip install 'sheets-ai[eval]' (or pip install matplotlib)."
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _figure(plt: Any) -> tuple[Any, Any]:
    return plt.subplots(figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI)


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)  # no bbox_inches="tight": the image keeps exactly SIZE
    plt.close(fig)


def accuracy_vs_cost(configs: Sequence[dict[str, Any]], path: Path) -> dict[str, Any]:
    """One point per configuration: cost per 1,000 rows (x) and accuracy (y)."""
    plt = _pyplot()
    fig, ax = _figure(plt)
    points = [
        {"name": c["name"], "x": c["cost_per_1000_rows"], "y": c["metrics"]["accuracy"]}
        for c in configs
        if c["metrics"].get("accuracy") is not None
    ]
    for p in points:
        ax.scatter([p["x"]], [p["y"]], s=60)
        ax.annotate(p["name"], (p["x"], p["y"]), textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("cost per 1,000 rows (USD)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.set_title("Accuracy against cost")
    ax.grid(True, alpha=0.3)
    _save(plt, fig, path)
    return {"file": path.name, "width": SIZE[0], "height": SIZE[1], "points": points}


def confusion(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """The confusion matrix of one configuration: gold classes down, predictions across."""
    plt = _pyplot()
    matrix = config["metrics"]["confusion"]
    gold = list(matrix)
    predicted = gold + sorted({p for row in matrix.values() for p in row} - set(gold))
    cells = [[matrix[g].get(p, 0) for p in predicted] for g in gold]
    fig, ax = _figure(plt)
    ax.imshow(cells, cmap="Blues")
    ax.set_xticks(range(len(predicted)), predicted, rotation=30, ha="right")
    ax.set_yticks(range(len(gold)), gold)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(f"Confusion matrix: {config['name']}")
    peak = max((v for row in cells for v in row), default=0)
    for i, row in enumerate(cells):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > peak / 2 else "black")
    _save(plt, fig, path)
    return {
        "file": path.name,
        "width": SIZE[0],
        "height": SIZE[1],
        "gold": gold,
        "predicted": predicted,
        "cells": cells,
    }


def calibration(configs: Sequence[dict[str, Any]], path: Path) -> dict[str, Any]:
    """Accuracy per confidence bucket (mean confidence on x), one line per configuration with confidences."""
    plt = _pyplot()
    fig, ax = _figure(plt)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    series = []
    for c in configs:
        table = c["metrics"].get("calibration") or []
        if not table:
            continue
        xs = [b["mean_confidence"] for b in table]
        ys = [b["accuracy"] for b in table]
        ax.plot(xs, ys, marker="o", label=c["name"])
        series.append({"name": c["name"], "points": [{"x": x, "y": y} for x, y in zip(xs, ys, strict=True)]})
    ax.set_xlabel("confidence (mean in bucket)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.05)
    ax.set_title("Calibration")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, alpha=0.3)
    _save(plt, fig, path)
    return {"file": path.name, "width": SIZE[0], "height": SIZE[1], "series": series}
