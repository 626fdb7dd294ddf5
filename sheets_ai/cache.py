"""SQLite result cache: the same text, task, provider and model is never paid for twice.

The key is a SHA-256 of (provider, model, task definition, prompt protocol version, input text). API keys
and credentials are never part of a key or a value. Each answer is stored with its confidence (NULL when
the answer had none, and in caches written before confidences existed: the column is added on open).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import platformdirs

log = logging.getLogger("sheets_ai")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
)


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("sheets-ai", appauthor=False))


def cache_key(*, provider: str, model: str, task_fingerprint: str, protocol: str, text: str) -> str:
    blob = json.dumps([provider, model, task_fingerprint, protocol, text], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class AnswerStore(Protocol):
    """Where a run finds and keeps answers: :class:`ResultCache` on disk, or :class:`MemoryCache`."""

    def get_entries(self, keys: Iterable[str]) -> dict[str, tuple[str, float | None]]: ...

    def put_many(self, items: Mapping[str, str], confidences: Mapping[str, float] | None = None) -> None: ...

    def close(self) -> None: ...


class ResultCache:
    """A small thread-safe key → answer store."""

    def __init__(self, directory: str | Path | None = None) -> None:
        folder = Path(directory) if directory is not None else default_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "results.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(results)")}
        if "confidence" not in columns:
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it first
                self._db.execute("ALTER TABLE results ADD COLUMN confidence REAL")
        self._db.commit()

    def get_entries(self, keys: Iterable[str]) -> dict[str, tuple[str, float | None]]:
        """key -> (answer, confidence or None) for the keys found."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, tuple[str, float | None]] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT key, value, confidence FROM results WHERE key IN ({marks})"
                for key, value, confidence in self._db.execute(sql, chunk).fetchall():
                    found[key] = (value, None if confidence is None else float(confidence))
        return found

    def put_many(self, items: Mapping[str, str], confidences: Mapping[str, float] | None = None) -> None:
        """Store answers, each with its confidence from ``confidences`` (key -> 0-1) where there is one."""
        if not items:
            return
        now = time.time()
        sure = confidences or {}
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO results (key, value, created, confidence) VALUES (?, ?, ?, ?)",
                [(k, v, now, sure.get(k)) for k, v in items.items()],
            )
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryCache:
    """The :class:`ResultCache` interface in memory, for one process: what several tasks answered in one pass
    hands to each task's run when the disk cache is off (``--no-cache``; sheets_ai.multitask)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def get_entries(self, keys: Iterable[str]) -> dict[str, tuple[str, float | None]]:
        with self._lock:
            return {k: self._entries[k] for k in keys if k in self._entries}

    def put_many(self, items: Mapping[str, str], confidences: Mapping[str, float] | None = None) -> None:
        sure = confidences or {}
        with self._lock:
            self._entries.update({k: (v, sure.get(k)) for k, v in items.items()})

    def close(self) -> None:
        """Nothing to release: the entries stay for the next run of this pass."""
