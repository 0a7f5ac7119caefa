"""Reading the CSV files shipped in ``data/``: package resources, never the file system at large."""

from __future__ import annotations

import csv
import gzip
import io
from importlib.resources import files
from importlib.resources.abc import Traversable

__all__ = ["read_csv", "read_table"]


def _resource(relpath: str) -> Traversable:
    node = files(__package__ or __name__.rpartition(".")[0]).joinpath("data")
    for part in relpath.split("/"):
        node = node.joinpath(part)
    return node


def read_table(relpath: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of ``data/<relpath>``.

    Handles what the shipped files contain: an optional UTF-8 BOM, CRLF line ends, a last
    line without a newline, and gzip (``.gz``).
    """
    raw = _resource(relpath).read_bytes()
    if relpath.endswith(".gz"):
        raw = gzip.decompress(raw)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    if not rows:
        raise ValueError(f"empty data file {relpath}")
    header, body = rows[0], rows[1:]
    for number, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{relpath}:{number}: {len(row)} fields, header has {len(header)}")
    return header, body


def read_csv(relpath: str) -> list[dict[str, str]]:
    """Rows of ``data/<relpath>`` as dicts keyed by the header (see :func:`read_table`)."""
    header, body = read_table(relpath)
    return [dict(zip(header, row, strict=True)) for row in body]
