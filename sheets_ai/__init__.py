"""sheets-ai: run AI tasks over a spreadsheet column, batched, checked row by row, cost-capped and safe.

Public API: :func:`run`, :func:`enrich`, :class:`RunConfig`, :class:`RunReport` and the errors.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import enrich, run_texts
from .config import RunConfig, build_config
from .errors import (
    BudgetExceededError,
    ColumnNotFoundError,
    ConfigError,
    Interrupted,
    ProviderError,
    SheetNotFoundError,
    SheetsAIError,
    SourceError,
    UsageError,
)
from .evaluation import evaluate
from .pipeline import run
from .report import Failure, RunReport

__all__ = [
    "BudgetExceededError",
    "ColumnNotFoundError",
    "ConfigError",
    "Failure",
    "Interrupted",
    "ProviderError",
    "RunConfig",
    "RunReport",
    "SheetNotFoundError",
    "SheetsAIError",
    "SourceError",
    "UsageError",
    "__version__",
    "build_config",
    "enrich",
    "evaluate",
    "run",
    "run_texts",
]
