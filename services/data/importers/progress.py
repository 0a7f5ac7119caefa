"""Import progress: records per second and an estimate of the time left, on standard error.

On a terminal a progress bar (tqdm) per file, over the file's bytes, with the record rate;
otherwise one JSON line at most every `interval` seconds and one when a file is done:

    {"progress": {"file": "a.csv", "read": 51000, "records_per_s": 2712.4,
                  "bytes": 10485760, "bytes_total": 41943040, "percent": 25.0, "eta_s": 34.1}}

How many records a file holds is not known until it is read, so the estimate is the bytes
still to read at the byte rate so far.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from tqdm import tqdm

from puhui.data import domain


class JsonProgress:
    def __init__(
        self,
        stream: TextIO,
        path: Path,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.path = path
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.shown = self.started

    def __call__(self, counts: domain.Counts, done: int, total: int) -> None:
        now = self.clock()
        finished = total > 0 and done >= total
        if not finished and now - self.shown < self.interval:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        line = {
            "file": str(self.path),
            "read": counts.read,
            "records_per_s": round(counts.read / elapsed, 1),
            "bytes": done,
            "bytes_total": total,
            "percent": round(100 * done / total, 1) if total else None,
            "eta_s": round((total - done) * elapsed / done, 1) if done and total else None,
        }
        print(json.dumps({"progress": line}), file=self.stream, flush=True)

    def close(self) -> None:
        """Nothing to release (the bar's counterpart)."""


class BarProgress:
    def __init__(self, stream: TextIO, path: Path) -> None:
        self.started = time.monotonic()
        self.bar = tqdm(
            total=path.stat().st_size if path.is_file() else 0,
            desc=path.name,
            unit="B",
            unit_scale=True,
            file=stream,
            leave=True,
            dynamic_ncols=True,
        )

    def __call__(self, counts: domain.Counts, done: int, total: int) -> None:
        rate = counts.read / max(time.monotonic() - self.started, 1e-9)
        self.bar.set_postfix_str(f"{counts.read:,} records, {rate:,.0f} records/s", refresh=False)
        self.bar.update(max(done - self.bar.n, 0))

    def close(self) -> None:
        self.bar.close()


def reporter(mode: str, stream: TextIO, path: Path) -> JsonProgress | BarProgress | None:
    """`mode`: auto (a bar on a terminal, JSON lines otherwise), bar, json or none."""
    if mode == "none":
        return None
    if mode == "bar" or (mode == "auto" and stream.isatty()):
        return BarProgress(stream, path)
    return JsonProgress(stream, path)
