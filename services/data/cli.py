"""`python -m puhui.data` serves; `python -m puhui.data import --format F FILE...` imports."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "import":
        from puhui.data.importers.command import run

        raise SystemExit(run(args[1:]))
    from puhui.data.server import main as serve

    serve()
