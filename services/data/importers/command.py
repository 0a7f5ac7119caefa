"""`python -m puhui.data import --format FORMAT FILE...`: load files into this node's database.

The import writes to the data service's own database (PUHUI_DATABASE_URL, PUHUI_NODE_ID as
for the service) and records every change in the outbox; the running service's relay
publishes them (events and the mirror topic). Prints one JSON line of counts per file and a
total on standard output; progress goes to standard error (see `progress`).

Every record read is imported or quarantined (`read == inserted + updated + unchanged +
quarantined`); a quarantined row names its file, data set, line or document and reason.
Exit codes: 0 when every file was read (its bad records quarantined, the rest imported);
1 when a file could not be read at all (missing, empty, not the format's shape, a JSON
document that does not parse or is not in the encoding) — it is quarantined as one
"whole file" row, the other files are still imported; 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from puhui.data import domain
from puhui.data.adapters.tables import metadata
from puhui.data.config import DataConfig
from puhui.data.importers import progress
from puhui.data.importers.reading import ENCODINGS
from puhui.data.importers.runner import Importer
from puhui.data.importers.sources import FORMATS
from puhui.kit import config as kit_config
from puhui.kit import logs, migrations
from puhui.kit.db import Database
from puhui.kit.errors import PuhuiError
from puhui.kit.ids import new_id
from puhui.kit.outbox import Outbox

logger = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m puhui.data import", description=__doc__.split("\n")[0]
    )
    p.add_argument("--format", required=True, choices=FORMATS, help="source format of the files")
    p.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default="auto",
        help="encoding of CSV and JSON files (default: detected per file; XML declares its own)",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "bar", "json", "none"),
        default="auto",
        help="progress on standard error: a bar on a terminal, JSON lines otherwise (auto)",
    )
    p.add_argument("--batch-size", type=int, default=0, help="records per transaction")
    p.add_argument("--database-url", default="", help="overrides PUHUI_DATABASE_URL")
    p.add_argument("files", nargs="+", type=Path)
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    overrides = {"database_url": args.database_url} if args.database_url else {}
    config = kit_config.load(DataConfig, **overrides)
    logs.configure("data", config.node_id, config.log_level)
    db = Database(config.effective_database_url())
    db.start()
    try:
        if config.migrate_on_start:
            migrations.upgrade("data", db.url)
        importer = Importer(
            db,
            domain.DataSets(config.node_id, mirror=config.is_mirror),
            Outbox(metadata.tables["puhui_outbox"], config.node_id, "data"),
            mirror_stream=config.mirror_stream,
            batch_size=args.batch_size or config.import_batch_size,
        )
        import_id = new_id()
        total = domain.Counts()
        for path in args.files:
            report = progress.reporter(args.progress, sys.stderr, path)
            try:
                counts = importer.run(
                    args.format,
                    path,
                    import_id=import_id,
                    encoding=args.encoding,
                    progress=report,
                )
            finally:
                if report is not None:
                    report.close()
            print(
                json.dumps({"file": str(path), "import_id": import_id, **counts.as_dict()}),
                flush=True,
            )
            for name, value in counts.as_dict().items():
                setattr(total, name, getattr(total, name) + value)
        print(json.dumps({"total": total.as_dict()}), flush=True)
        return 1 if total.unreadable_files else 0
    except PuhuiError as exc:
        print(f"import: {exc.message}", file=sys.stderr)
        return 1
    finally:
        db.stop()
