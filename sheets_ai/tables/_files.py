"""What local file tables share: locking, atomic saves and friendly checks."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import LockedError, SourceError
from .base import (
    InputCell,
    Table,
    WriteOutcome,
    check_confidence_column,
    normalize_header,
    resolve_output_column,
)

log = logging.getLogger("sheets_ai")


def real_path(path: Path) -> Path:
    """Where a file really lives: a symlinked workbook is updated there, and the link stays a link."""
    return Path(os.path.realpath(path))


def lock_path_for(path: Path) -> Path:
    path = real_path(path)
    return path.with_name(f".{path.name}.sheets-ai.lock")


class RunLock:
    """An exclusive lock beside the file being written; released when the process dies."""

    def __init__(self, target: Path) -> None:
        self.target = real_path(target)
        self.path = lock_path_for(target)
        self._lock: FileLock | None = None

    def acquire(self) -> None:
        lock = FileLock(str(self.path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise LockedError(
                f"Another sheets-ai run is already writing {self.target.name} (lock file {self.path.name}). "
                "Wait for it to finish, or stop it, then run again."
            ) from None
        except PermissionError:
            raise SourceError(
                f"Cannot write in folder {str(self.target.parent)!r} (permission denied). "
                "Use --output-file to write somewhere else."
            ) from None
        except OSError as exc:
            raise SourceError(f"Cannot create lock file {str(self.path)!r}: {exc.strerror}.") from None
        self._lock = lock
        remove_stale_temporaries(self.target)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
            with contextlib.suppress(OSError):
                self.path.unlink()


def _temporary_pattern(target: Path) -> re.Pattern[str]:
    # What atomic_save's mkstemp names look like for this target (8 random characters).
    return re.compile(rf"\.~{re.escape(target.stem)}\.[a-z0-9_]{{8}}{re.escape(target.suffix)}\.tmp")


def remove_stale_temporaries(target: Path) -> None:
    """Delete temporary files a killed run left beside ``target`` (call only while holding its lock)."""
    pattern = _temporary_pattern(target)
    with contextlib.suppress(OSError):
        for entry in target.parent.iterdir():
            if pattern.fullmatch(entry.name):
                log.debug("removing %s, left by an interrupted save", entry.name)
                with contextlib.suppress(OSError):
                    entry.unlink()


def check_writable(target: Path) -> None:
    """Fail early, before any work is done, when the result could not be saved."""
    target = real_path(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise SourceError(
            f"Folder {str(folder)!r} does not exist. Create it or choose another --output-file."
        )
    if target.exists() and not os.access(target, os.W_OK):
        raise SourceError(
            f"File {str(target)!r} is read-only. Make it writable or use --output-file to write a copy."
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SourceError(
            f"Cannot write in folder {str(folder)!r} (permission denied). "
            "Use --output-file to write somewhere else."
        )


def warn_if_open_in_excel(path: Path) -> str | None:
    owner = path.with_name("~$" + path.name)
    if owner.exists():
        return (
            f"{path.name} looks open in Excel ({owner.name} exists). Close it there first, or Excel may "
            "overwrite the results when it saves."
        )
    return None


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def atomic_save(target: Path, save: Callable[[Path], object]) -> None:
    """Save through a temporary file in the same folder, then replace the target in one step.

    A symlink is followed: the file it points to is replaced, the link itself is left as it is.
    """
    target = real_path(target)
    mode = target.stat().st_mode & 0o777 if target.exists() else None
    fd, tmp_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".~{target.stem}.", suffix=target.suffix + ".tmp"
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        save(tmp)
        # mkstemp makes the file 0600; keep the target's mode, or give a new file the usual one.
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


class ChangeGuard:
    """Notices when another program rewrites the file a run is about to replace.

    The lock only keeps other sheets-ai runs out; a person saving the file in Excel, or a script, can still
    write it during a run. Replacing it then would throw their edit away.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp = _stamp(path)

    def changed(self) -> bool:
        return _stamp(self.path) != self.stamp

    def saved(self) -> None:
        self.stamp = _stamp(self.path)


def divert_path(target: Path) -> Path:
    """A free sibling name for results that must not replace ``target``: NAME.sheets-ai[-N].ext."""
    stem = target.stem.removesuffix(".sheets-ai")
    suffix = ".xlsx" if target.suffix.lower() in (".xlsx", ".xlsm") else target.suffix
    for n in range(1, 1000):
        candidate = target.with_name(f"{stem}.sheets-ai{'' if n == 1 else f'-{n}'}{suffix}")
        if candidate != target and not candidate.exists():
            return candidate
    raise SourceError(
        f"Too many {stem}.sheets-ai-N files beside {target.name}; remove some."
    )  # pragma: no cover


def guarded_save(guard: ChangeGuard, save: Callable[[Path], object], notices: list[str]) -> Path:
    """Save to the guarded file, or beside it when someone else changed it during the run."""
    target = guard.path
    if guard.changed():
        new = divert_path(target)
        message = (
            f"{target.name} was changed by another program during the run; to keep those changes, the results "
            f"are saved to {new.name} instead."
        )
        log.warning("%s", message)
        notices.append(message)
        guard.path = new
        guard.stamp = None
        target = new
    atomic_save(target, save)
    guard.saved()
    return target


def check_earlier_output(
    target_headers: Sequence[str],
    source_headers: Sequence[str],
    own_columns: Iterable[int],
    source_name: str,
    target_name: str,
) -> None:
    """Refuse an --output-file that exists but was not written from this source by sheets-ai.

    An earlier output is the source plus the output (and status) column: every other header is the same.
    """
    own = set(own_columns)
    width = max(len(target_headers), len(source_headers))
    for col in range(1, width + 1):
        if col in own:
            continue
        theirs = target_headers[col - 1] if col <= len(target_headers) else ""
        ours = source_headers[col - 1] if col <= len(source_headers) else ""
        if normalize_header(theirs) != normalize_header(ours):
            raise SourceError(
                f"{target_name} exists but is not an earlier output of {source_name} (column {col} is headed "
                f"{theirs!r} there, {ours!r} here). Delete it, or choose another --output-file."
            )


def carry_over(
    cells: Sequence[InputCell], earlier: Mapping[int, tuple[str | None, str | None]]
) -> dict[int, str]:
    """Results an earlier run left in the output file, for rows whose input is still the same.

    Those rows count as done (their ``output`` is set); a row whose input changed is done again.
    """
    carried: dict[int, str] = {}
    for cell in cells:
        if cell.output is not None or cell.text is None or cell.row not in earlier:
            continue
        text, result = earlier[cell.row]
        if result is not None and text == cell.text:
            cell.output = result
            carried[cell.row] = result
    return carried


class FileTable(Table):
    """What the local-file tables share: the run lock, the write loop and guarded atomic saves.

    A subclass sets ``target``/``location``/``notices``/``for_writing`` and the columns, calls
    :meth:`_lock_target` and creates ``_guard`` before it reads the file, and implements :meth:`_set` and
    :meth:`_save_to`. Results stay in memory until :meth:`flush`.
    """

    target: Path
    notices: list[str]
    for_writing: bool
    _guard: ChangeGuard
    _input_col: int
    _output_col: int
    _status_col: int | None
    _confidence_col: int | None = None
    _lock: RunLock | None = None
    _dirty: bool = False
    _pending_headers: list[tuple[int, int, str]]

    def _place_confidence(
        self,
        spec: str | None,
        headers: list[str],
        status_column: str | None,
        status_made: bool,
        *,
        header_row: int,
        used: int,
    ) -> bool:
        """--confidence-column: its column (a new one goes right of every used cell and of the new status
        column, whose header is put into ``headers``); refused on the input, output or status column. True
        when the column is new."""
        if not spec:
            return False
        if status_made and self._status_col is not None:
            headers.extend([""] * (self._status_col - len(headers)))
            headers[self._status_col - 1] = (status_column or "").strip()
        self._confidence_col, made = resolve_output_column(
            spec,
            headers,
            header_row=header_row,
            used_width=max(used, self._output_col, self._status_col or 0),
        )
        check_confidence_column(self._confidence_col, self._input_col, self._output_col, self._status_col)
        return made

    def _lock_target(self) -> None:
        check_writable(self.target)
        lock = RunLock(self.target)
        lock.acquire()
        self._lock = lock

    @abstractmethod
    def _set(self, row: int, col: int, value: str, *, header: bool = False) -> None:
        """Put one value in memory (and mark the table dirty)."""

    @abstractmethod
    def _save_to(self, path: Path) -> None:
        """Write the whole file to ``path``."""

    def _result_text(self, value: str) -> str:
        """How a result is stored; a hook for formats that need escaping."""
        return value

    def _status_writable(self, row: int) -> bool:
        return True

    def _unstorable_result(self, value: str) -> str | None:
        """Why the file cannot hold this result (e.g. its encoding lacks a character), or None."""
        return None

    def _status_text(self, status: str) -> str:
        """How a status is stored; a hook for formats that cannot hold every character."""
        return status

    def write(
        self,
        results: Mapping[int, str],
        expected_inputs: Mapping[int, str],
        statuses: Mapping[int, str] | None = None,
        *,
        confidences: Mapping[int, str] | None = None,
    ) -> WriteOutcome:
        outcome = WriteOutcome()
        if (results or statuses) and self._pending_headers:
            for row, col, text in self._pending_headers:
                self._set(row, col, text, header=True)
            self._pending_headers = []
        for row, value in results.items():
            text = self._result_text(value)
            problem = self._unstorable_result(text)
            if problem is not None:  # not written at all rather than written damaged
                outcome.failed[row] = problem
                continue
            self._set(row, self._output_col, text)
            outcome.written.append(row)
        if statuses and self._status_col:
            for row, status in statuses.items():
                if row in outcome.failed:
                    status = f"error: {outcome.failed[row]}"
                if self._status_writable(row):
                    self._set(row, self._status_col, self._status_text(status))
        if confidences and self._confidence_col:
            for row in outcome.written:
                if row in confidences:
                    self._set(row, self._confidence_col, confidences[row])
        return outcome

    def flush(self) -> None:
        if not self._dirty or not self.for_writing:
            return
        log.debug("saving %s", self.target)
        try:
            self.target = guarded_save(self._guard, self._save_to, self.notices)
        except PermissionError:
            raise SourceError(
                f"Cannot save {str(self.target)!r} (permission denied). Use --output-file to write a copy."
            ) from None
        self.location = str(self.target)
        self._dirty = False
        log.debug("saved %s", self.target)

    def close(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
