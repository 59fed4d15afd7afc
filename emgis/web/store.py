"""The workbench's store: projects, runs, users, permissions and sessions in one SQLite file
under the data folder (``DIR/workbench.sqlite``).

The schema is versioned (``PRAGMA user_version``): :data:`MIGRATIONS` are applied in order,
each in one transaction, so an older file is brought up to date when the server starts and a
newer one is refused. The file survives a restart; :meth:`Store.interrupt_running` marks every
run that was under way when the server stopped as ``interrupted`` (never ``done``).

Back it up while the server runs with ``sqlite3 DIR/workbench.sqlite ".backup copy.sqlite"``
(or :meth:`Store.backup`), which copies a consistent state.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emgis.web.security import hash_password, verify_password

FILE = "workbench.sqlite"

#: The schema, one step per version; never edit a step that was released, add one.
MIGRATIONS: tuple[str, ...] = (
    # 1: users, projects, permissions, sessions, runs
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        pw_hash TEXT NOT NULL,
        is_admin INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL
    );
    CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        slug TEXT NOT NULL UNIQUE,
        title TEXT NOT NULL,
        created REAL NOT NULL,
        created_by TEXT
    );
    CREATE TABLE user_projects (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, project_id)
    );
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        kind TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        user_name TEXT NOT NULL,
        created REAL NOT NULL,
        started REAL,
        finished REAL,
        progress REAL NOT NULL DEFAULT 0,
        step TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        changes TEXT NOT NULL DEFAULT '[]',
        snapshot TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX runs_project ON runs(project_id, id);
    """,
    # 2: failed logins, to slow down guessing
    """
    CREATE TABLE login_failures (
        name TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX login_failures_name ON login_failures(name, at);
    """,
)

#: States of a run. ``done`` only when the run's manifest says complete.
QUEUED, RUNNING, CANCELLING = "queued", "running", "cancelling"
DONE, FAILED, CANCELLED, INTERRUPTED = "done", "failed", "cancelled", "interrupted"
ACTIVE = (QUEUED, RUNNING, CANCELLING)
FINISHED = (DONE, FAILED, CANCELLED, INTERRUPTED)

#: Sessions last this long (seconds) and are renewed while used.
SESSION_SECONDS = 8 * 3600
#: Failed logins of one name within LOCK_WINDOW seconds that lock it for the rest of the window.
MAX_FAILURES = 5
LOCK_WINDOW = 15 * 60


class StoreError(RuntimeError):
    """The store cannot be used (a newer schema, a broken file)."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    is_admin: bool


@dataclass(frozen=True)
class Session:
    token_hash: str
    user: User | None
    csrf: str
    expires: float


@dataclass(frozen=True)
class Project:
    id: int
    slug: str
    title: str
    created: float
    created_by: str | None


@dataclass(frozen=True)
class Run:
    id: int
    project_id: int
    folder: str
    kind: str
    options: dict[str, Any]
    status: str
    user_name: str
    created: float
    started: float | None
    finished: float | None
    progress: float
    step: str
    error: str
    changes: list[Any]
    snapshot: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """The SQLite file, opened once per process; every method is one short transaction."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                   isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=30000")
        self.migrate()

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args))

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        with self._lock:
            row: sqlite3.Row | None = self._db.execute(sql, args).fetchone()
            return row

    @property
    def version(self) -> int:
        row = self._one("PRAGMA user_version")
        return int(row[0]) if row else 0

    def migrate(self) -> None:
        """Apply the migrations this file lacks, each in its own transaction."""
        have = self.version
        if have > len(MIGRATIONS):
            raise StoreError(f"{self.path} has schema version {have}; this emgis knows "
                             f"{len(MIGRATIONS)}: use a newer emgis")
        for n, sql in enumerate(MIGRATIONS[have:], start=have + 1):
            with self._tx() as db:
                for stmt in (s.strip() for s in sql.split(";")):
                    if stmt:
                        db.execute(stmt)
                db.execute(f"PRAGMA user_version = {n}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def backup(self, dest: str | Path) -> None:
        """A consistent copy of the store (while the server runs)."""
        target = sqlite3.connect(dest)
        try:
            with self._lock:
                self._db.backup(target)
        finally:
            target.close()

    # -- users -----------------------------------------------------------------------------
    def add_user(self, name: str, password: str, *, admin: bool = False,
                 projects: Sequence[str] = ()) -> User:
        """Add a user (or set an existing user's password, role and projects)."""
        name = name.strip()
        if not name or len(name) > 64 or any(not c.isprintable() for c in name):
            raise ValueError("a user name is 1-64 printable characters")
        if len(password) < 8:
            raise ValueError("a password has at least 8 characters")
        pw = hash_password(password)
        with self._tx() as db:
            row = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row:
                uid = int(row["id"])
                db.execute("UPDATE users SET pw_hash = ?, is_admin = ? WHERE id = ?",
                           (pw, int(admin), uid))
            else:
                uid = int(db.execute(
                    "INSERT INTO users (name, pw_hash, is_admin, created) VALUES (?, ?, ?, ?)",
                    (name, pw, int(admin), time.time())).lastrowid or 0)
            for slug in projects:
                p = db.execute("SELECT id FROM projects WHERE slug = ?", (slug,)).fetchone()
                if p is None:
                    raise ValueError(f"no project {slug!r}")
                db.execute("INSERT OR IGNORE INTO user_projects VALUES (?, ?)", (uid, p["id"]))
        return User(uid, name, admin)

    def users(self) -> list[User]:
        return [User(int(r["id"]), r["name"], bool(r["is_admin"]))
                for r in self._all("SELECT * FROM users ORDER BY name")]

    def user_count(self) -> int:
        row = self._one("SELECT COUNT(*) FROM users")
        return int(row[0]) if row else 0

    def user(self, uid: int) -> User | None:
        r = self._one("SELECT * FROM users WHERE id = ?", (uid,))
        return User(int(r["id"]), r["name"], bool(r["is_admin"])) if r else None

    def login(self, name: str, password: str) -> User | None:
        """The user if the password is right and the name is not locked by failures."""
        now = time.time()
        row = self._one("SELECT COUNT(*) FROM login_failures WHERE name = ? AND at > ?",
                        (name, now - LOCK_WINDOW))
        if row and int(row[0]) >= MAX_FAILURES:
            return None
        r = self._one("SELECT * FROM users WHERE name = ?", (name,))
        ok = verify_password(password, r["pw_hash"] if r else None)
        if not ok or r is None:
            with self._tx() as db:
                db.execute("INSERT INTO login_failures VALUES (?, ?)", (name[:64], now))
                db.execute("DELETE FROM login_failures WHERE at < ?", (now - LOCK_WINDOW,))
            return None
        with self._tx() as db:
            db.execute("DELETE FROM login_failures WHERE name = ?", (name,))
        return User(int(r["id"]), r["name"], bool(r["is_admin"]))

    def grant(self, user_id: int, project_id: int) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO user_projects VALUES (?, ?)", (user_id, project_id))

    # -- sessions --------------------------------------------------------------------------
    def new_session(self, user: User | None) -> tuple[str, Session]:
        """A new session (``user`` None: before login); returns the cookie's token."""
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        h = _token_hash(token)
        with self._tx() as db:
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                       (h, user.id if user else None, csrf, now, now + SESSION_SECONDS))
            db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
        return token, Session(h, user, csrf, now + SESSION_SECONDS)

    def session(self, token: str | None) -> Session | None:
        """The session of a cookie's token, if it exists and has not expired (renewed)."""
        if not token or len(token) > 200:
            return None
        h = _token_hash(token)
        r = self._one("SELECT * FROM sessions WHERE token_hash = ?", (h,))
        now = time.time()
        if r is None or r["expires"] < now:
            return None
        user = self.user(int(r["user_id"])) if r["user_id"] is not None else None
        if r["user_id"] is not None and user is None:
            return None
        expires = float(r["expires"])
        if expires - now < SESSION_SECONDS / 2:  # renew while used
            expires = now + SESSION_SECONDS
            with self._tx() as db:
                db.execute("UPDATE sessions SET expires = ? WHERE token_hash = ?", (expires, h))
        return Session(h, user, r["csrf"], expires)

    def end_session(self, token_hash: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def expire_session(self, token_hash: str) -> None:
        """Make a session expired (tests; an administrator's logout of a user)."""
        with self._tx() as db:
            db.execute("UPDATE sessions SET expires = 0 WHERE token_hash = ?", (token_hash,))

    # -- projects --------------------------------------------------------------------------
    def add_project(self, slug: str, title: str, created_by: User | None) -> Project:
        now = time.time()
        with self._tx() as db:
            pid = int(db.execute("INSERT INTO projects (slug, title, created, created_by) "
                                 "VALUES (?, ?, ?, ?)",
                                 (slug, title, now, created_by.name if created_by else None)
                                 ).lastrowid or 0)
            if created_by is not None:
                db.execute("INSERT OR IGNORE INTO user_projects VALUES (?, ?)",
                           (created_by.id, pid))
        return Project(pid, slug, title, now, created_by.name if created_by else None)

    def project(self, slug: str) -> Project | None:
        r = self._one("SELECT * FROM projects WHERE slug = ?", (slug,))
        return _project(r) if r else None

    def projects(self, user: User | None = None) -> list[Project]:
        """Every project (``user`` None or an administrator), else the user's."""
        if user is None or user.is_admin:
            rows = self._all("SELECT * FROM projects ORDER BY title, slug")
        else:
            rows = self._all("SELECT p.* FROM projects p JOIN user_projects up ON "
                             "up.project_id = p.id WHERE up.user_id = ? ORDER BY title, slug",
                             (user.id,))
        return [_project(r) for r in rows]

    def can_see(self, user: User | None, project: Project) -> bool:
        if user is None:
            return False
        if user.is_admin:
            return True
        return self._one("SELECT 1 FROM user_projects WHERE user_id = ? AND project_id = ?",
                         (user.id, project.id)) is not None

    # -- runs ------------------------------------------------------------------------------
    def add_run(self, project: Project, *, folder: str, kind: str, options: dict[str, Any],
                user_name: str, changes: list[Any], snapshot: dict[str, Any]) -> Run:
        with self._tx() as db:
            rid = int(db.execute(
                "INSERT INTO runs (project_id, folder, kind, options, status, user_name, "
                "created, changes, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (project.id, folder, kind, json.dumps(options, ensure_ascii=False), QUEUED,
                 user_name, time.time(), json.dumps(changes, ensure_ascii=False),
                 json.dumps(snapshot, ensure_ascii=False))).lastrowid or 0)
        run = self.run(rid)
        assert run is not None
        return run

    def run(self, rid: int) -> Run | None:
        r = self._one("SELECT * FROM runs WHERE id = ?", (rid,))
        return _run(r) if r else None

    def runs(self, project: Project | None = None, *, status: Sequence[str] = ()) -> list[Run]:
        sql = "SELECT * FROM runs WHERE 1=1"
        args: list[Any] = []
        if project is not None:
            sql += " AND project_id = ?"
            args.append(project.id)
        if status:
            sql += f" AND status IN ({','.join('?' * len(status))})"
            args.extend(status)
        return [_run(r) for r in self._all(sql + " ORDER BY id", args)]

    def update_run(self, rid: int, **values: Any) -> None:
        allowed = {"status", "started", "finished", "progress", "step", "error"}
        assert set(values) <= allowed, values
        if not values:
            return
        cols = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*values.values(), rid))

    def interrupt_running(self, why: str) -> list[int]:
        """Mark every run under way as ``interrupted`` (the server stopped during it)."""
        with self._tx() as db:
            rows = db.execute("SELECT id FROM runs WHERE status IN (?, ?)",
                              (RUNNING, CANCELLING)).fetchall()
            ids = [int(r["id"]) for r in rows]
            db.execute("UPDATE runs SET status = ?, error = ?, finished = ? "
                       "WHERE status IN (?, ?)",
                       (INTERRUPTED, why, time.time(), RUNNING, CANCELLING))
        return ids


def _project(r: sqlite3.Row) -> Project:
    return Project(int(r["id"]), r["slug"], r["title"], float(r["created"]), r["created_by"])


def _run(r: sqlite3.Row) -> Run:
    return Run(int(r["id"]), int(r["project_id"]), r["folder"], r["kind"],
               json.loads(r["options"]), r["status"], r["user_name"], float(r["created"]),
               r["started"], r["finished"], float(r["progress"]), r["step"], r["error"],
               json.loads(r["changes"]), json.loads(r["snapshot"]))
