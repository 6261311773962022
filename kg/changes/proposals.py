"""Review before publishing: a writer's change becomes a proposal, stored but not in the public graph,
until an admin approves it (planned and checked again against the graph as it is then, and committed
by the :class:`kg.changes.writer.Writer` like any change) or rejects it with a comment.

Proposals live in a store of their own (:class:`Proposals`, an SQLite database beside the graph's
store, ``proposals_path``), never in the graph: no query, linked-data page or dump can see them,
whatever the engine and its default graph. SQLite commits durably (write-ahead log, synced on every
commit) and serialises writers across processes, so the granian workers of one service, and several
front processes on one host, share it; every change of a proposal's status is one conditional
``UPDATE`` (``… WHERE status = 'pending'``), so of two admins deciding at once one wins and the
other is told (:class:`kg.errors.ProposalClosed`).

What a proposal holds is what to do again at approval, not a diff frozen at proposal time:

    kind     payload                                    planned again as
    patch    quads added, triples removed (a form edit)  Writer.plan_patch
    update   a SPARQL Update and its USING graphs        Writer.plan_update
    graph    a graph, a mode (add, replace, delete), quads  Writer.plan_graph
    quads    quads, each in its own graph              Writer.plan_quads

An approved change's record in the public change log names its proposal (``ak:proposal``), the admin
who approved it (``ak:approvedBy``) and carries the proposal's comments (``ak:comment``), so an
entity's history says who proposed it, who approved it and why. Planning an approval first looks in
the log for a change of that proposal: approving twice (two admins, or a retry after a crash between
the commit and the status update) commits nothing twice.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.changes.model import Change, Outcome, now
from kg.changes.writer import Writer
from kg.errors import NotFound, ProposalClosed, UsageError
from kg.rdf.names import PROV, RDF, RDFS, SCHEMA, XSD, Names

STATUSES = ("pending", "approved", "rejected", "withdrawn")
KINDS = ("patch", "update", "graph", "quads")
DECIDING_LEASE_S = 300  # an approval in progress holds its proposal this long at most
ACTIONS = {"approved": "approve", "rejected": "reject", "withdrawn": "withdraw"}

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS proposals (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    author TEXT NOT NULL,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    payload TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    labels TEXT NOT NULL DEFAULT '{}',
    added INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    deciding_by TEXT,
    deciding_until REAL,
    decided_by TEXT,
    decided_at TEXT,
    change TEXT
);
CREATE INDEX IF NOT EXISTS proposals_status ON proposals (status, created);
CREATE INDEX IF NOT EXISTS proposals_author ON proposals (author, created);
CREATE TABLE IF NOT EXISTS proposal_entities (
    proposal TEXT NOT NULL REFERENCES proposals (id),
    iri TEXT NOT NULL,
    minted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS proposal_entities_iri ON proposal_entities (iri);
CREATE TABLE IF NOT EXISTS comments (
    proposal TEXT NOT NULL REFERENCES proposals (id),
    seq INTEGER NOT NULL,
    created TEXT NOT NULL,
    author TEXT NOT NULL,
    action TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (proposal, seq)
);
"""


@dataclass(frozen=True)
class Comment:
    created: str
    author: str
    action: str  # comment, submit, approve, reject, withdraw, refused (an approval the shapes refused)
    text: str


@dataclass
class Proposal:
    id: str
    created: str
    author: str
    status: str
    kind: str
    operation: str
    payload: dict[str, Any]
    summary: str = ""
    source: str = ""
    subject: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # the subject's labels, by language, as proposed
    added: int = 0
    removed: int = 0
    decided_by: str | None = None
    decided_at: str | None = None
    change: str | None = None
    deciding_by: str | None = None
    entities: list[str] = field(default_factory=list)
    minted: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created,
            "author": self.author,
            "status": self.status,
            "operation": self.operation,
            "summary": self.summary,
            "source": self.source or None,
            "subject": self.subject or None,
            "added": self.added,
            "removed": self.removed,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "change": self.change,
            "comments": [c.__dict__ for c in self.comments],
        }


# --- payloads: what to plan again ---------------------------------------------------------------------


def nquads(quads: Iterable[ox.Quad]) -> str:
    buffer = io.BytesIO()
    ox.serialize(sorted(quads, key=str), buffer, format=ox.RdfFormat.N_QUADS)
    return buffer.getvalue().decode("utf-8")


def parse_nquads(text: str) -> list[ox.Quad]:
    return list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_QUADS)) if text else []


def patch_payload(added: Iterable[ox.Quad], removed: Iterable[tuple[Any, Any, Any]]) -> dict[str, Any]:
    return {"added": nquads(added), "removed": nquads(ox.Quad(s, p, o) for s, p, o in removed)}


def update_payload(sparql: str, using: list[str], using_named: list[str]) -> dict[str, Any]:
    return {"update": sparql, "using": using, "using_named": using_named}


def graph_payload(graph: str | None, quads: Iterable[ox.Quad], mode: str) -> dict[str, Any]:
    return {"graph": graph, "mode": mode, "quads": nquads(quads)}


def quads_payload(quads: Iterable[ox.Quad]) -> dict[str, Any]:
    return {"quads": nquads(quads)}


def replan(
    writer: Writer, proposal: Proposal, precondition: Callable[[ox.Store], None] | None = None
) -> Change:
    """The proposal's change, planned against the graph as it is now."""
    p = proposal.payload
    if proposal.kind == "patch":
        removed = [(q.subject, q.predicate, q.object) for q in parse_nquads(p["removed"])]
        change = writer.plan_patch(
            parse_nquads(p["added"]),
            removed,  # type: ignore[arg-type]
            operation=proposal.operation,
            precondition=precondition,
        )
    elif proposal.kind == "update":
        change = writer.plan_update(
            p["update"],
            using=p.get("using") or [],
            using_named=p.get("using_named") or [],
            precondition=precondition,
        )
    elif proposal.kind == "graph":
        change = writer.plan_graph(
            p["graph"], parse_nquads(p["quads"]), mode=p["mode"], precondition=precondition
        )
    elif proposal.kind == "quads":
        change = writer.plan_quads(parse_nquads(p["quads"]), precondition=precondition)
    else:
        raise UsageError(f"unknown kind of proposal {proposal.kind!r}")
    change.operation = proposal.operation
    return change


# --- the store ---------------------------------------------------------------------------------------


class Proposals:
    """The proposals of one service, in an SQLite database at ``path``."""

    def __init__(self, path: Path, names: Names):
        self.path = path
        self.names = names
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA_SQL)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        # One connection per use: safe across threads and forked worker processes.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")  # a commit that returned survives a power loss
            db.execute("PRAGMA foreign_keys=ON")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")  # writers queue here, across processes
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # --- writing ---------------------------------------------------------------------------------

    def create(
        self,
        *,
        author: str,
        kind: str,
        operation: str,
        payload: dict[str, Any],
        summary: str = "",
        source: str = "",
        subject: str = "",
        labels: dict[str, str] | None = None,
        entities: Iterable[str] = (),
        minted: Iterable[str] = (),
        counts: tuple[int, int] = (0, 0),
    ) -> Proposal:
        """Store a new pending proposal; once this returns, it is kept."""
        if kind not in KINDS:
            raise UsageError(f"unknown kind of proposal {kind!r}")
        stamp = now().replace(":", "").replace("-", "")
        pid = f"{stamp}-{uuid.uuid4().hex[:8]}"
        created = now()
        minted_set = set(minted)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO proposals (id, created, author, status, kind, operation, payload, summary,"
                " source, subject, labels, added, removed)"
                " VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    pid,
                    created,
                    author,
                    kind,
                    operation,
                    json.dumps(payload, ensure_ascii=False),
                    summary,
                    source,
                    subject,
                    json.dumps(labels or {}, ensure_ascii=False),
                    counts[0],
                    counts[1],
                ),
            )
            for iri in dict.fromkeys([*entities, *minted_set]):
                db.execute(
                    "INSERT INTO proposal_entities (proposal, iri, minted) VALUES (?, ?, ?)",
                    (pid, iri, int(iri in minted_set)),
                )
            if summary:
                _comment(db, pid, created, author, "submit", summary)
        return self.get(pid)

    def comment(self, pid: str, author: str, text: str, action: str = "comment") -> Proposal:
        text = text.strip()
        if not text:
            raise UsageError("the comment is empty")
        with self._transaction() as db:
            _exists(db, pid)
            _comment(db, pid, now(), author, action, text)
        return self.get(pid)

    def claim(self, pid: str, admin: str) -> Proposal:
        """Hold a pending proposal while ``admin`` approves it (others are refused until the approval
        ends or its lease lapses)."""
        with self._transaction() as db:
            _exists(db, pid)
            taken = db.execute(
                "UPDATE proposals SET deciding_by = ?, deciding_until = ? WHERE id = ? AND status = 'pending'"
                " AND (deciding_until IS NULL OR deciding_until < ?)",
                (admin, time.time() + DECIDING_LEASE_S, pid, time.time()),
            ).rowcount
        proposal = self.get(pid)
        if not taken:
            raise _closed(proposal)
        return proposal

    def release(self, pid: str, admin: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE proposals SET deciding_by = NULL, deciding_until = NULL"
                " WHERE id = ? AND deciding_by = ?",
                (pid, admin),
            )

    def decide(
        self,
        pid: str,
        status: str,
        by: str,
        comment: str = "",
        *,
        change: str | None = None,
        holder: str | None = None,
    ) -> Proposal:
        """Close a pending proposal (approved, rejected, withdrawn). ``holder``: the admin whose claim
        the decision completes (an approval); others may decide only a proposal nobody holds."""
        if status not in STATUSES[1:]:
            raise UsageError(f"a proposal is approved, rejected or withdrawn, not {status!r}")
        with self._transaction() as db:
            _exists(db, pid)
            decided = now()
            condition = "deciding_by = ?" if holder else "(deciding_until IS NULL OR deciding_until < ?)"
            done = db.execute(
                "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, change = ?,"
                " deciding_by = NULL, deciding_until = NULL"
                f" WHERE id = ? AND status = 'pending' AND {condition}",
                (status, by, decided, change, pid, holder if holder else time.time()),
            ).rowcount
            if done and comment.strip():
                _comment(db, pid, decided, by, ACTIONS[status], comment.strip())
        proposal = self.get(pid)
        if not done:
            raise _closed(proposal)
        return proposal

    # --- reading ---------------------------------------------------------------------------------

    def get(self, pid: str) -> Proposal:
        with self._connection() as db:
            row = db.execute("SELECT * FROM proposals WHERE id = ?", (pid,)).fetchone()
            if row is None:
                raise NotFound(f"no proposal {pid}")
            return self._proposal(db, row, full=True)

    def list(
        self,
        *,
        author: str | None = None,
        status: str | None = None,
        entity: str | None = None,
        limit: int = 200,
    ) -> list[Proposal]:
        """Proposals, newest first (for the review queue: ``status="pending"``)."""
        where, params = [], []
        if author is not None:
            where.append("author = ?")
            params.append(author)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if entity is not None:
            where.append("id IN (SELECT proposal FROM proposal_entities WHERE iri = ?)")
            params.append(entity)
        sql = "SELECT * FROM proposals" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY created DESC, id DESC LIMIT ?"
        with self._connection() as db:
            rows = db.execute(sql, (*params, int(limit))).fetchall()
            return [self._proposal(db, row, full=False) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._connection() as db:
            rows = db.execute("SELECT status, COUNT(*) AS n FROM proposals GROUP BY status").fetchall()
        found = dict.fromkeys(STATUSES, 0)
        found.update({row["status"]: row["n"] for row in rows})
        return found

    def taken(self, iri: str) -> bool:
        """Whether a pending proposal mints ``iri`` (a new entity's IRI is then not free)."""
        with self._connection() as db:
            row = db.execute(
                "SELECT 1 FROM proposal_entities e JOIN proposals p ON p.id = e.proposal"
                " WHERE e.iri = ? AND e.minted = 1 AND p.status = 'pending' LIMIT 1",
                (iri,),
            ).fetchone()
        return row is not None

    def _proposal(self, db: sqlite3.Connection, row: sqlite3.Row, *, full: bool) -> Proposal:
        proposal = Proposal(
            id=row["id"],
            created=row["created"],
            author=row["author"],
            status=row["status"],
            kind=row["kind"],
            operation=row["operation"],
            payload=json.loads(row["payload"]) if full else {},
            summary=row["summary"],
            source=row["source"],
            subject=row["subject"],
            labels=json.loads(row["labels"]),
            added=row["added"],
            removed=row["removed"],
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
            change=row["change"],
            deciding_by=row["deciding_by"] if (row["deciding_until"] or 0) > time.time() else None,
        )
        if full:
            entities = db.execute(
                "SELECT iri, minted FROM proposal_entities WHERE proposal = ? ORDER BY rowid", (proposal.id,)
            ).fetchall()
            proposal.entities = [e["iri"] for e in entities]
            proposal.minted = [e["iri"] for e in entities if e["minted"]]
            comments = db.execute(
                "SELECT created, author, action, text FROM comments WHERE proposal = ? ORDER BY seq",
                (proposal.id,),
            ).fetchall()
            proposal.comments = [Comment(c["created"], c["author"], c["action"], c["text"]) for c in comments]
        return proposal


def _exists(db: sqlite3.Connection, pid: str) -> None:
    if db.execute("SELECT 1 FROM proposals WHERE id = ?", (pid,)).fetchone() is None:
        raise NotFound(f"no proposal {pid}")


def _comment(db: sqlite3.Connection, pid: str, created: str, author: str, action: str, text: str) -> None:
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM comments WHERE proposal = ?", (pid,)).fetchone()[
        0
    ]
    db.execute(
        "INSERT INTO comments (proposal, seq, created, author, action, text) VALUES (?, ?, ?, ?, ?, ?)",
        (pid, seq, created, author, action, text[:4000]),
    )


def _closed(proposal: Proposal) -> ProposalClosed:
    if proposal.status != "pending":
        return ProposalClosed(f"the proposal {proposal.id} is {proposal.status} already")
    return ProposalClosed(
        f"{proposal.deciding_by} is deciding the proposal {proposal.id}; try again in a moment"
    )


# --- deciding ----------------------------------------------------------------------------------------


class AlreadyApproved(Exception):
    """The change log has a change of this proposal (approved before; its status is repaired)."""

    def __init__(self, change: str):
        super().__init__(change)
        self.change = change


def approved_change(working: ox.Store, names: Names, pid: str) -> str | None:
    """The change the log records for proposal ``pid``, if any."""
    ak = str(names.ak)
    graph = ox.NamedNode(names.changes_graph)
    literal = ox.Literal(pid)
    for q in working.quads_for_pattern(None, ox.NamedNode(ak + "proposal"), literal, graph):
        if isinstance(q.subject, ox.NamedNode):
            return q.subject.value
    return None


def subject_record(names: Names, subject: str) -> Callable[[ox.NamedNode], list[ox.Quad]]:
    """The quad that names the entity a form edited (``ak:subject``) in its change's record."""

    def annotate(change: ox.NamedNode) -> list[ox.Quad]:
        if not subject:
            return []
        g = ox.NamedNode(names.changes_graph)
        return [ox.Quad(change, ox.NamedNode(f"{names.ak}subject"), ox.NamedNode(subject), g)]

    return annotate


def record_of(
    names: Names, proposal: Proposal, admin: str, comment: str
) -> Callable[[ox.NamedNode], list[ox.Quad]]:
    """The quads an approved change's record adds: its proposal, who approved it, the comments."""

    def annotate(change: ox.NamedNode) -> list[ox.Quad]:
        g = ox.NamedNode(names.changes_graph)
        ak = str(names.ak)
        admin_node = ox.NamedNode(f"{names.base}id/agent/{admin}")
        quads = [
            *subject_record(names, proposal.subject)(change),
            ox.Quad(change, ox.NamedNode(ak + "proposal"), ox.Literal(proposal.id), g),
            ox.Quad(change, ox.NamedNode(ak + "approvedBy"), admin_node, g),
            ox.Quad(admin_node, ox.NamedNode(f"{RDF}type"), ox.NamedNode(f"{PROV}Agent"), g),
            ox.Quad(admin_node, ox.NamedNode(f"{RDFS}label"), ox.Literal(admin), g),
        ]
        thread = [*proposal.comments, *([Comment(now(), admin, "approve", comment)] if comment else [])]
        for i, c in enumerate(thread, start=1):
            node = ox.NamedNode(f"{change.value}/comment/{i}")
            quads += [
                ox.Quad(change, ox.NamedNode(ak + "comment"), node, g),
                ox.Quad(node, ox.NamedNode(f"{RDF}type"), ox.NamedNode(f"{SCHEMA}Comment"), g),
                ox.Quad(
                    node, ox.NamedNode(f"{SCHEMA}author"), ox.NamedNode(f"{names.base}id/agent/{c.author}"), g
                ),
                ox.Quad(
                    node,
                    ox.NamedNode(f"{SCHEMA}dateCreated"),
                    ox.Literal(c.created, datatype=ox.NamedNode(f"{XSD}dateTime")),
                    g,
                ),
                ox.Quad(node, ox.NamedNode(f"{SCHEMA}text"), ox.Literal(c.text), g),
                ox.Quad(node, ox.NamedNode(ak + "action"), ox.Literal(c.action), g),
                ox.Quad(
                    node,
                    ox.NamedNode(ak + "position"),
                    ox.Literal(str(i), datatype=ox.NamedNode(f"{XSD}integer")),
                    g,
                ),
            ]
        return quads

    return annotate


def approve(
    proposals: Proposals, writer: Writer, pid: str, admin: str, comment: str = ""
) -> tuple[Proposal, Outcome]:
    """Plan the proposal again against the graph as it is, check it and commit it through the
    writer; then mark it approved. A change the shapes now refuse raises ChangeRejected and the
    proposal stays pending (the refusal is kept in its comments)."""
    proposal = proposals.claim(pid, admin)
    names = writer.names

    def not_approved_yet(working: ox.Store) -> None:
        found = approved_change(working, names, pid)
        if found is not None:
            raise AlreadyApproved(found)

    try:
        change = replan(writer, proposal, not_approved_yet)
        outcome = writer.submit(
            change,
            agent=proposal.author,
            source=proposal.source,
            comment=proposal.summary,
            annotate=record_of(names, proposal, admin, comment),
        )
    except AlreadyApproved as done:
        proposals.decide(pid, "approved", admin, "", change=done.change, holder=admin)
        raise ProposalClosed(f"the proposal {pid} is approved already (change {done.change})") from None
    except BaseException:
        proposals.release(pid, admin)
        raise
    decided = proposals.decide(pid, "approved", admin, comment, change=outcome.change_iri, holder=admin)
    return decided, outcome


def reject(proposals: Proposals, pid: str, admin: str, comment: str) -> Proposal:
    """Reject a pending proposal; a rejection says why. The graph is not touched."""
    if not comment.strip():
        raise UsageError("say why the proposal is rejected (a comment is required)")
    return proposals.decide(pid, "rejected", admin, comment)


def withdraw(proposals: Proposals, pid: str, author: str, comment: str = "") -> Proposal:
    """The author takes back a pending proposal."""
    proposal = proposals.get(pid)
    if proposal.author != author:
        raise UsageError("only its author withdraws a proposal")
    return proposals.decide(pid, "withdrawn", author, comment)
