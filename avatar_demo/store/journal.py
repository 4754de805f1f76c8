"""History writes that never lose a paid task id: a failed write is kept in memory and in a fallback journal."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sqlite3
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, DiskFull
from ..core.status import Status
from ..core.text import Text, text_from_data, text_to_data
from .history import History, Record

__all__ = ["Recorder", "default_journal"]

log = logging.getLogger(__name__)


def default_journal(data_dir: Path) -> Path:
    """The fallback journal of *data_dir*: in the system temp folder, so usually on another disk."""
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"avatar-demo-journal-{digest}.jsonl"


class Recorder:
    """The runner's view of the history: checks it can write before a create, and never drops a write after."""

    def __init__(self, history: History, journal: Path) -> None:
        self.history = history
        self.journal = Path(journal)
        #: Writes the store refused, by row, waiting to be recorded: the task ids of paid tasks among them.
        self.pending: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._replay()

    def ready(self) -> None:
        """Before a create: the store takes writes, or a ConfigError naming AVATAR_DATA_DIR (nothing is sent)."""
        self.flush()
        try:
            self.history.check_writable()
        except sqlite3.Error as exc:
            if DiskFull.caused(exc):
                raise DiskFull("the history cannot be written") from None
            raise ConfigError(Text("store.history_unwritable", error=str(exc))) from None
        if self.pending:
            raise ConfigError(Text("store.pending_writes"))

    def begin(self, provider: str, **fields: Any) -> int:
        """Record a create about to be sent; a ConfigError (nothing is sent) when the store refuses."""
        try:
            return self.history.begin(provider, **fields)
        except sqlite3.Error as exc:
            if DiskFull.caused(exc):
                raise DiskFull("the history cannot be written") from None
            raise ConfigError(Text("store.history_unwritable", error=str(exc))) from None

    def update(self, row: int, **fields: Any) -> bool:
        """Record *fields*; on failure keep them (memory and journal) for flush(). True when stored now."""
        with self._lock:
            merged = {**self.pending.pop(row, {}), **fields}
            try:
                self.history.update(row, **merged)
                if not self.pending:
                    self.journal.unlink(missing_ok=True)
                return True
            except sqlite3.Error as exc:
                self.pending[row] = merged
                log.warning("history write for row %s failed (%s); kept in memory and in %s", row, exc, self.journal)
                self._append(row, merged)
                return False

    def flush(self) -> bool:
        """Retry the pending writes; True when none is left (the journal is then emptied)."""
        for row in list(self.pending):
            self.update(row)
        if not self.pending:
            # Left behind, its lines would be replayed over newer writes at the next start.
            self.journal.unlink(missing_ok=True)
        return not self.pending

    def get(self, row: int) -> Record | None:
        """Row *row* as stored, with the writes still pending applied."""
        record = self.history.get(row)
        extra = self.pending.get(row)
        if record is None or not extra:
            return record
        values = {k: (Status.parse(v) if k == "status" else v) for k, v in extra.items()}
        return dataclasses.replace(record, **values)

    def _append(self, row: int, fields: dict[str, Any]) -> None:
        line = json.dumps({"row": row, "fields": {k: (v.value if isinstance(v, Status) else text_to_data(v))
                                                  for k, v in fields.items()}})
        try:
            with self.journal.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            log.error("fallback journal %s cannot be written either (%s); row %s is kept in memory",
                      self.journal, exc, row)

    def _replay(self) -> None:
        """Apply a journal left by an earlier run, then empty it."""
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
                self.update(int(entry["row"]), **{k: text_from_data(v) for k, v in entry["fields"].items()})
            except (ValueError, KeyError, TypeError):
                continue
        if not self.pending:
            self.journal.unlink(missing_ok=True)
