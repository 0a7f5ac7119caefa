"""Decoding per line, encoding detection and progress lines (no database)."""

from __future__ import annotations

import io
import json

import pytest

from puhui.data import domain
from puhui.data.importers import progress, reading, sources

ROW = "CN202110012345.6,一种数据处理方法\n"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xef\xbb\xbfa,b\n", "utf-8-sig"),
        (("h\n" + ROW * 5).encode("utf-8"), "utf-8"),
        (("h\n" + ROW * 5).encode("gb18030"), "gb18030"),
        ((ROW * 5).encode("utf-8") + ROW.encode("gbk"), "utf-8"),  # the majority wins
        (b"plain ascii\n", "utf-8"),
        ("一种".encode()[:-1], "utf-8"),  # a sample cut inside a character
    ],
)
def test_detect(data, expected):
    assert reading.detect(data) == expected


def test_a_line_in_another_encoding_is_reported_and_the_rest_decoded(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"h\n" + ROW.encode("utf-8") + ROW.encode("gbk") + ROW.encode("utf-8"))
    decoded = list(reading.DecodedLines(path, reading.ReadOptions()).numbered())
    assert [text for _n, text, error in decoded if not error] == ["h\n", ROW, ROW]
    ((n, error),) = [(n, error) for n, _text, error in decoded if error]
    assert n == 3
    assert error.startswith("not UTF-8 text: bytes d6 d6 ca fd at byte 20 of the line")
    for_csv = reading.DecodedLines(path, reading.ReadOptions())
    assert len(list(for_csv)) == 4  # the bad line is kept (replaced) so rows stay aligned
    assert list(for_csv.bad) == [3]


def test_an_unknown_encoding_is_refused(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("申请号\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown encoding 'latin-1'"):
        list(sources.cnipa_csv(path, reading.ReadOptions("latin-1")))


def test_a_json_document_not_in_its_encoding_names_the_line(tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(b'{"trademarks": [\n{"a": "' + "商标".encode("gbk") + b'"}]}')
    with pytest.raises(ValueError, match=r"^line 2: not UTF-8 text: bytes .* at byte 8 "):
        list(sources.euipo_json(path, reading.ReadOptions("utf-8")))


def test_json_progress_lines_are_throttled_and_the_last_always_shown(tmp_path):
    now = [100.0]
    out = io.StringIO()
    report = progress.JsonProgress(out, tmp_path / "f.csv", interval=1.0, clock=lambda: now[0])
    counts = domain.Counts(read=500)
    now[0] = 100.5
    report(counts, 250, 1000)  # within the interval: not shown
    now[0] = 102.0
    report(counts, 250, 1000)
    counts.read = 2000
    now[0] = 108.0
    report(counts, 1000, 1000)
    lines = [json.loads(line)["progress"] for line in out.getvalue().splitlines()]
    assert [(p["read"], p["records_per_s"], p["percent"], p["eta_s"]) for p in lines] == [
        (500, 250.0, 25.0, 6.0),
        (2000, 250.0, 100.0, 0.0),
    ]


def test_the_bar_counts_bytes_on_a_terminal_stream(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * 4096)
    out = io.StringIO()
    bar = progress.reporter("bar", out, path)
    assert isinstance(bar, progress.BarProgress)
    bar(domain.Counts(read=10), 2048, 4096)
    bar.close()
    assert "records/s" in out.getvalue()
    assert "50%" in out.getvalue()
    assert progress.reporter("auto", io.StringIO(), path).__class__ is progress.JsonProgress
    assert progress.reporter("none", out, path) is None


def test_detection_reads_past_an_ascii_only_start(tmp_path):
    path = tmp_path / "late_chinese.csv"
    ascii_rows = b"CN202110012345.6,plain title\n" * 3000  # 87 KB of ASCII first
    path.write_bytes(b"h\n" + ascii_rows + ROW.encode("gb18030") * 3)
    lines = reading.DecodedLines(path, reading.ReadOptions())
    decoded = list(lines.numbered())
    assert lines.codec == "gb18030"
    assert [error for _n, _text, error in decoded if error] == []
    assert decoded[-1][1] == ROW
