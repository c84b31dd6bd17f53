"""The result store: SQLite, one row per design point, keyed by its content hash.

Every result is committed as soon as it arrives (write-ahead log), so a sweep
killed at any moment keeps every completed point, and a re-run finds them by key.
A search is a study: its settings and its trials (which result, at which fidelity,
for what cost, in which order) live in the same file, so the store is the search's
whole state and an interrupted search resumes from it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Iterator

from .backends.base import METRICS, DesignPoint, Result
from .errors import DseError

SCHEMA_VERSION = 1
_COLUMNS = ("key", "kernel", "source_hash", "backend", "backend_version", "fidelity", "target", "clock_ns",
            "config", "config_hash", "status", *METRICS, "metrics", "error", "runtime_s", "log_path", "details",
            "created")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    kernel TEXT NOT NULL, source_hash TEXT NOT NULL,
    backend TEXT NOT NULL, backend_version TEXT NOT NULL, fidelity TEXT NOT NULL,
    target TEXT NOT NULL, clock_ns REAL NOT NULL,
    config TEXT NOT NULL, config_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    {", ".join(f"{m} REAL" for m in METRICS)},
    metrics TEXT NOT NULL, error TEXT, runtime_s REAL, log_path TEXT, details TEXT,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_study ON results (kernel, backend, fidelity, target);
CREATE TABLE IF NOT EXISTS studies (name TEXT PRIMARY KEY, settings TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    study TEXT NOT NULL, number INTEGER NOT NULL, key TEXT NOT NULL, fidelity TEXT NOT NULL, cost REAL NOT NULL,
    PRIMARY KEY (study, number)
);
"""


def holds(row: dict, timeout: float | None) -> bool:
    """Whether a stored result stands for a run limited to ``timeout`` seconds (None: no limit):
    any result but a timeout that had less time, which is run again."""
    if row["status"] != "timeout":
        return True
    return timeout is not None and row["details"].get("timeout_s", row["runtime_s"] or 0.0) >= timeout


class Store:
    """A results database (a SQLite file)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise DseError(f"{self.path}: is a folder, not a database file")
        if not self.path.parent.is_dir():
            raise DseError(f"{self.path}: cannot create the database (no folder {self.path.parent})")
        try:
            self.connection = sqlite3.connect(self.path, timeout=30)
            version = self.connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in self.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "results" not in tables:
                raise DseError(f"{self.path}: an SQLite database, but not an hls-dse one (tables: "
                               f"{', '.join(sorted(tables))})")
            if version > SCHEMA_VERSION:
                raise DseError(f"{self.path}: written by a newer hls-dse (schema {version})")
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.executescript(_SCHEMA)
            self.connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self.connection.commit()
        except sqlite3.DatabaseError as error:
            raise DseError(f"{self.path}: cannot use as a results database ({error})") from None

    @classmethod
    def existing(cls, path: str | Path, option: str | None = None) -> Store:
        """The database at ``path``, which must exist already (``option``: the command-line
        option that named it, for the error)."""
        if not Path(path).is_file():
            raise DseError(f"{path}: no such database" + (f" ({option})" if option else ""))
        return cls(path)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def known(self, keys: Iterable[str], timeout: float | None = None) -> set[str]:
        """The keys among ``keys`` whose result is stored and :func:`holds` for runs limited to
        ``timeout`` seconds."""
        keys = list(keys)
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self._decoded(self.connection.execute(
                f"SELECT key, status, runtime_s, details FROM results WHERE key IN ({','.join('?' * len(chunk))})",
                chunk))
            found.update(row["key"] for row in rows if holds(row, timeout))
        return found

    def put(self, key: str, point: DesignPoint, backend: str, result: Result,
            trial: tuple[str, float] | None = None) -> None:
        """Record one result and commit it; ``trial`` (study, cost) records it as that
        study's next trial in the same transaction."""
        row = {
            "key": key, "kernel": point.kernel, "source_hash": point.source_hash, "backend": backend,
            "backend_version": result.tool_version, "fidelity": point.fidelity, "target": point.target,
            "clock_ns": point.clock_ns, "config": point.config.canonical, "config_hash": point.config.hash,
            "status": result.status, **{m: result.metrics.get(m) for m in METRICS},
            "metrics": json.dumps(result.metrics), "error": result.error, "runtime_s": result.runtime_s,
            "log_path": result.log_path, "details": json.dumps(result.details), "created": time.time(),
        }
        try:
            with self.connection:
                self.connection.execute(
                    f"INSERT OR REPLACE INTO results ({','.join(_COLUMNS)}) VALUES ({','.join('?' * len(_COLUMNS))})",
                    [row[c] for c in _COLUMNS])
                if trial is not None:
                    self._add_trial(trial[0], key, point.fidelity, trial[1])
        except sqlite3.DatabaseError as error:
            raise DseError(f"{self.path}: cannot write ({error})") from None

    def add_trial(self, study: str, key: str, fidelity: str, cost: float) -> None:
        """Record a result already in the store as the study's next trial."""
        with self.connection:
            self._add_trial(study, key, fidelity, cost)

    def _add_trial(self, study: str, key: str, fidelity: str, cost: float) -> None:
        number = self.connection.execute("SELECT COUNT(*) FROM trials WHERE study = ?", [study]).fetchone()[0]
        self.connection.execute("INSERT INTO trials VALUES (?, ?, ?, ?, ?)", [study, number, key, fidelity, cost])

    def open_study(self, name: str, settings: dict) -> dict:
        """The study's settings: created with ``settings``, or those it was created with; a study
        whose settings differ in anything but ``budget`` cannot be continued with these (a setting
        one side lacks counts as its default)."""
        row = self.connection.execute("SELECT settings FROM studies WHERE name = ?", [name]).fetchone()
        if row is None:
            with self.connection:
                self.connection.execute("INSERT INTO studies VALUES (?, ?, ?)", [name, json.dumps(settings), time.time()])
            return settings
        stored = json.loads(row[0])
        shown = lambda value: "the default" if value is None else repr(value)  # a setting left out: the default
        for field in sorted(set(settings) | set(stored)):
            if field != "budget" and stored.get(field) != settings.get(field):
                raise DseError(f"{self.path}: study '{name}' was run with {field} = {shown(stored.get(field))}, not "
                               f"{shown(settings.get(field))}; continue it with the same settings or name another "
                               f"(--study)")
        return stored

    def studies(self) -> dict[str, dict]:
        return {name: json.loads(settings) for name, settings in
                self.connection.execute("SELECT name, settings FROM studies ORDER BY created")}

    def trials(self, study: str) -> list[dict]:
        """The study's trials in order, each with its result's row (``config`` etc. decoded)."""
        query = ("SELECT t.number, t.cost, r.* FROM trials t JOIN results r ON r.key = t.key "
                 "WHERE t.study = ? ORDER BY t.number")
        return list(self._decoded(self.connection.execute(query, [study])))

    def rows(self, **where: str) -> Iterator[dict]:
        """Every result as a dict (``config``, ``metrics`` and ``details`` decoded), optionally filtered."""
        clause = " AND ".join(f"{column} = ?" for column in where)
        query = "SELECT * FROM results" + (f" WHERE {clause}" if clause else "") + " ORDER BY created, key"
        yield from self._decoded(self.connection.execute(query, list(where.values())))

    @staticmethod
    def _decoded(cursor) -> Iterator[dict]:
        names = [d[0] for d in cursor.description]
        for values in cursor:
            row = dict(zip(names, values))
            for column in {"config", "metrics", "details"} & set(row):
                row[column] = json.loads(row[column]) if row[column] else {}
            yield row

    def __len__(self) -> int:
        return self.connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
