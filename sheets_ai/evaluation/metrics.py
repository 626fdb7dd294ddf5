"""Metrics of one configuration against gold answers: no I/O, no pipeline.

Label tasks: accuracy, macro-F1 over the gold classes, per-class precision/recall/F1, the confusion matrix
(gold -> predicted -> count; a row with no answer is predicted ``(failed)``), coverage at confidence levels
(share of rows at or above each level, and the accuracy of those) and calibration (accuracy per confidence
bucket). Text tasks (extract, summarize): normalized exact match — NFKC, case-folded, whitespace collapsed,
surrounding punctuation and quotes removed.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FAILED = "(failed)"
LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
CALIBRATION_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_EDGE_PUNCT = re.compile(r"^[\s\"'`“”‘’「」『』.,;:!?。、！？]+|[\s\"'`“”‘’「」『』.,;:!?。、！？]+$")


def normalize(text: str | None) -> str:
    """Text for exact-match comparison (see the module docstring)."""
    if text is None:
        return ""
    flat = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return _EDGE_PUNCT.sub("", flat)


@dataclass(frozen=True)
class Scored:
    """One evaluated row: gold and predicted labels (canonical), and the confidence if any."""

    gold: str
    predicted: str | None
    confidence: float | None = None

    @property
    def correct(self) -> bool:
        return self.predicted is not None and self.predicted == self.gold


def label_metrics(rows: Sequence[Scored], classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class figures and the confusion matrix."""
    n = len(rows)
    correct = sum(r.correct for r in rows)
    gold_classes = [c for c in classes if any(r.gold == c for r in rows)]
    gold_classes += sorted({r.gold for r in rows} - set(gold_classes))
    confusion: dict[str, dict[str, int]] = {g: {} for g in gold_classes}
    for r in rows:
        pred = r.predicted if r.predicted is not None else FAILED
        confusion[r.gold][pred] = confusion[r.gold].get(pred, 0) + 1
    per_class: dict[str, dict[str, float | int | None]] = {}
    for c in gold_classes:
        tp = sum(1 for r in rows if r.gold == c and r.predicted == c)
        predicted = sum(1 for r in rows if r.predicted == c)
        support = sum(1 for r in rows if r.gold == c)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
        }
    macro = sum(float(v["f1"] or 0) for v in per_class.values()) / len(per_class) if per_class else 0.0
    return {
        "rows": n,
        "correct": correct,
        "accuracy": round(correct / n, 4) if n else None,
        "macro_f1": round(macro, 4) if per_class else None,
        "per_class": per_class,
        "confusion": confusion,
        "failed": sum(1 for r in rows if r.predicted is None),
        **confidence_metrics(rows),
    }


def exact_match_metrics(rows: Sequence[Scored]) -> dict[str, Any]:
    n = len(rows)
    correct = sum(1 for r in rows if r.predicted is not None and normalize(r.predicted) == normalize(r.gold))
    return {
        "rows": n,
        "correct": correct,
        "accuracy": round(correct / n, 4) if n else None,
        "exact_match": round(correct / n, 4) if n else None,
        "failed": sum(1 for r in rows if r.predicted is None),
    }


def confidence_metrics(rows: Sequence[Scored]) -> dict[str, Any]:
    """Coverage at each confidence level and the calibration table; empty lists without confidences."""
    sure = [r for r in rows if r.confidence is not None]
    coverage = []
    calibration = []
    if sure:
        for level in LEVELS:
            kept = [r for r in sure if (r.confidence or 0) >= level]
            coverage.append(
                {
                    "level": level,
                    "coverage": round(len(kept) / len(rows), 4),
                    "rows": len(kept),
                    "accuracy": round(sum(r.correct for r in kept) / len(kept), 4) if kept else None,
                }
            )
        for low, high in itertools.pairwise(CALIBRATION_EDGES):
            inside = [
                r
                for r in sure
                if low <= (r.confidence or 0) < high or (high == 1.0 and (r.confidence or 0) == 1.0)
            ]
            if inside:
                calibration.append(
                    {
                        "bucket": f"{low:.1f}-{high:.1f}",
                        "rows": len(inside),
                        "mean_confidence": round(sum(r.confidence or 0 for r in inside) / len(inside), 4),
                        "accuracy": round(sum(r.correct for r in inside) / len(inside), 4),
                    }
                )
    return {"rows_with_confidence": len(sure), "coverage": coverage, "calibration": calibration}


def canonical_labels(labels: Sequence[str], display: Mapping[str, str]) -> dict[str, str]:
    """casefolded spelling -> canonical label, for both the canonical names and their --labels renames."""
    out = {label.casefold(): label for label in labels}
    out.update({shown.casefold(): label for label, shown in display.items()})
    return out
