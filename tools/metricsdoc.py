"""Generate docs/metrics.md from the metrics the code registers (or check it is current).

python tools/metricsdoc.py           # write docs/metrics.md
python tools/metricsdoc.py --check   # exit 1 if docs/metrics.md is stale
python tools/metricsdoc.py --json    # the catalogue as JSON (for other tools)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from puhui.kit import metrics_docs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "metrics.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if docs/metrics.md is stale")
    parser.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    args = parser.parse_args(argv)
    entries = metrics_docs.catalogue()
    if args.json:
        rows = [{**dataclasses.asdict(e), "unit": e.unit} for e in entries]
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    text = metrics_docs.render(entries)
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(
                f"{DOC.relative_to(ROOT)} is stale: run python tools/metricsdoc.py", file=sys.stderr
            )
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} ({len(entries)} metric families)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
