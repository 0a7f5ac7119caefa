"""The change feed, data-set status, and the base of every data set's repository."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from puhui.data.adapters.storage import _driver, insert_many
from puhui.data.adapters.tables import (
    changes,
    geographical_indications,
    ic_layouts,
    patents,
    trademarks,
)
from puhui.data.domain import DATA_SETS, HASH_MODULUS, Change, hash_hex
from puhui.kit.db import is_postgresql
from puhui.kit.times import aware_or_none


def stats(session: Session) -> dict[str, tuple[int, str, int, datetime | None]]:
    """Per data set: record count, order-independent content hash (sum of the records'
    SHA-256 values mod 2^256), position (highest change sequence; on a mirror, the hub's) and
    the time of the last change. Computed from the records themselves, streaming, so it can
    never drift from them (about a second per million records)."""
    found: dict[str, tuple[int, str, int, datetime | None]] = {}
    tables = (patents, trademarks, geographical_indications, ic_layouts)
    for data_set, table in zip(DATA_SETS, tables, strict=True):
        total, count = 0, 0
        rows = session.execute(
            select(table.c.content_hash).execution_options(yield_per=20_000, stream_results=True)
        )
        for (digest,) in rows:
            total += int(digest, 16)
            count += 1
        position, updated = session.execute(
            select(func.max(table.c.sequence), func.max(table.c.updated_at))
        ).one()
        digest_sum = hash_hex(total % HASH_MODULUS)
        found[data_set] = (count, digest_sum, int(position or 0), aware_or_none(updated))
    return found


def list_changes(session: Session, data_set: str, after: int, limit: int) -> list[Change]:
    c = changes
    query = select(c).where(c.c.seq > after).order_by(c.c.seq).limit(limit)
    if data_set:
        query = query.where(c.c.data_set == data_set)
    return [
        Change(
            r.data_set,
            r.record_id,
            r.change,
            r.content_hash,
            r.previous_hash,
            r.seq,
            aware_or_none(r.changed_at),
            r.source,
        )
        for r in session.execute(query)
    ]


class SqlRecords:
    """A data set stored in one table keyed by record id (`table`, rows built by `to_row`,
    read by `from_row`): hashes, get, save, and its part of the change feed."""

    table: Table
    to_row: Any
    from_row: Any

    def __init__(self, session: Session) -> None:
        self.session = session

    def hashes(self, record_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        if not record_ids:
            return {}
        t = self.table
        rows = self.session.execute(
            select(t.c.record_id, t.c.content_hash, t.c.sequence).where(
                t.c.record_id.in_(list(record_ids))
            )
        )
        return {r.record_id: (r.content_hash, r.sequence) for r in rows}

    def get(self, record_id: str) -> Any:
        t = self.table
        row = self.session.execute(select(t).where(t.c.record_id == record_id)).first()
        return type(self).from_row(row) if row else None

    def save(self, inserted: Sequence[Any], updated: Sequence[Any]) -> None:
        to_row = type(self).to_row
        if inserted:
            insert_many(self.session, self.table, [to_row(r) for r in inserted])
        if updated:
            rows = [{**to_row(r), "b_record_id": r.record_id} for r in updated]
            values: dict[str, Any] = {
                c: bindparam(c) for c in rows[0] if c not in ("record_id", "b_record_id")
            }
            self.session.execute(
                update(self.table)
                .where(self.table.c.record_id == bindparam("b_record_id"))
                .values(values),
                rows,
                execution_options={"synchronize_session": False},
            )

    def _record_changes_pg(self, rows: list[dict[str, Any]]) -> list[int]:
        """One INSERT … SELECT FROM unnest(…) for the batch; sequences in input order."""
        columns = list(rows[0])
        types = {"changed_at": "timestamptz"}
        arrays = ", ".join(f"%s::{types.get(c, 'text')}[]" for c in columns)
        with _driver(self.session).cursor() as cursor:
            cursor.execute(
                f"INSERT INTO changes ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM unnest({arrays}) WITH ORDINALITY "
                f"AS t({', '.join(columns)}, n) ORDER BY n RETURNING seq, record_id",
                [[r[c] for r in rows] for c in columns],
            )
            by_id = {record_id: seq for seq, record_id in cursor.fetchall()}
        return [by_id[r["record_id"]] for r in rows]

    def record_changes(self, items: Sequence[Change]) -> list[Change]:
        rows = [
            {
                "data_set": c.data_set,
                "record_id": c.record_id,
                "change": c.change,
                "content_hash": c.content_hash,
                "previous_hash": c.previous_hash,
                "source": c.source[:300],
                "changed_at": c.changed_at,
            }
            for c in items
        ]
        if is_postgresql(self.session):
            seqs = self._record_changes_pg(rows)
        else:
            result = self.session.execute(
                insert(changes).returning(changes.c.seq, sort_by_parameter_order=True), rows
            )
            seqs = [r.seq for r in result]
        return [
            Change(
                c.data_set,
                c.record_id,
                c.change,
                c.content_hash,
                c.previous_hash,
                seq,
                c.changed_at,
                c.source,
            )
            for c, seq in zip(items, seqs, strict=True)
        ]
