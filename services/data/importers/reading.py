"""What every reader shares: the `Item` it yields, the options it reads with, and text
decoded line by line.

Decoding is per line, so one row in another encoding costs that row, not the file: the
line is reported (`DecodedLines.bad`) and the reader quarantines the record it belongs to.
`auto` picks the file's encoding from its first 64 KiB (more, up to 4 MiB, while those
are ASCII only): a UTF-8 byte-order mark means UTF-8; otherwise each line holding
non-ASCII bytes votes for UTF-8 if it decodes as UTF-8 and for GB18030 (a superset of GBK
and GB2312, what Excel writes on Chinese Windows) if not, and the majority wins. A file
that is mostly UTF-8 with a few GBK rows stays UTF-8 and those rows are quarantined;
nothing is ever decoded as a guess that could turn it into other characters silently.
XML is not decoded here: a document declares its own encoding.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from puhui.data.domain import Record

MAX_RAW = 2000
SAMPLE = 1 << 16
MAX_SAMPLE = 1 << 22  # read on while the sample is ASCII only, up to 4 MiB
ENCODINGS = ("auto", "utf-8", "utf-8-sig", "gb18030", "gbk")


@dataclass(frozen=True)
class Item:
    position: str
    record: Record | None = None
    error: str = ""
    raw: str = ""
    data_set: str = ""  # set by a reader that knows it when `record` is None


@dataclass
class ReadOptions:
    """How to read one file: the text encoding (`auto` or a codec of ENCODINGS) and, once
    the reader opened the file, its handle, so the importer can tell how far it got."""

    encoding: str = "auto"
    handle: IO[bytes] | None = field(default=None, repr=False)

    def bytes_done(self, size: int) -> int:
        """Bytes read so far of a file of `size` bytes (all of them once it is closed)."""
        handle = self.handle
        if handle is None:
            return 0
        return size if handle.closed else handle.tell()


def raw_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:MAX_RAW]


def open_bytes(path: Path, options: ReadOptions) -> IO[bytes]:
    handle = path.open("rb")
    options.handle = handle
    return handle


def detect(head: bytes) -> str:
    """`utf-8-sig`, `utf-8` or `gb18030` for the first bytes of a file (see the module doc)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    utf8 = other = 0
    for line in head.split(b"\n"):
        if line.isascii():
            continue
        try:  # incremental: the sample may end inside a character
            codecs.getincrementaldecoder("utf-8")().decode(line, final=False)
            utf8 += 1
        except UnicodeDecodeError:
            other += 1
    return "gb18030" if other > utf8 else "utf-8"


def _codec(requested: str, head: bytes) -> str:
    if requested not in ENCODINGS:
        raise ValueError(f"unknown encoding {requested!r}; one of {', '.join(ENCODINGS)}")
    return detect(head) if requested == "auto" else requested


def describe(exc: UnicodeDecodeError, codec: str, column: int) -> str:
    bad = exc.object[exc.start : exc.start + 4]
    return (
        f"not {codec.upper().removesuffix('-SIG')} text: bytes {bad.hex(' ')} at byte"
        f" {column} of the line (another encoding? choose it with --encoding)"
    )


class DecodedLines:
    """The lines of a text file, decoded one by one. `numbered()` yields (number, text,
    error). Iterating yields the text only (undecodable bytes replaced, so the structure
    is kept), for `csv.reader`, and records in `bad` why each undecodable line failed."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.codec = ""
        self.bad: dict[int, str] = {}

    def numbered(self) -> Iterator[tuple[int, str, str]]:
        with open_bytes(self.path, self.options) as handle:
            head = handle.read(SAMPLE)
            while head.isascii() and len(head) < MAX_SAMPLE:  # nothing to vote on yet
                more = handle.read(SAMPLE)
                if not more:
                    break
                head += more
            codec = self.codec = _codec(self.options.encoding, head)
            handle.seek(0)
            strip_bom = codec.startswith("utf-8")
            if strip_bom:
                codec = "utf-8"
            for n, line in enumerate(handle, 1):
                if strip_bom and n == 1:
                    line = line.removeprefix(codecs.BOM_UTF8)
                try:
                    yield n, line.decode(codec), ""
                except UnicodeDecodeError as exc:
                    yield n, line.decode(codec, "replace"), describe(exc, codec, exc.start + 1)

    def __iter__(self) -> Iterator[str]:
        for n, text, error in self.numbered():
            if error:  # the reader pops it when it meets the row holding line n
                self.bad[n] = error
            yield text


def read_text(path: Path, options: ReadOptions) -> str:
    """A whole file's text (JSON documents); undecodable bytes fail the file, naming the line."""
    with open_bytes(path, options) as handle:
        data = handle.read()
    sample = data[:SAMPLE]
    if sample.isascii():  # nothing to vote on yet
        sample = data[:MAX_SAMPLE]
    codec = _codec(options.encoding, sample)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise ValueError(f"line {line}: {describe(exc, codec, column)}") from None
