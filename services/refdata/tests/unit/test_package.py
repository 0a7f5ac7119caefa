"""The package ships its data, reads it lazily and never reaches outside itself."""

from __future__ import annotations

import doctest
import gzip
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

import puhui.refdata

PACKAGE_DIR = Path(puhui.refdata.__file__).parent
DATA_FILES = [
    "admin_divisions_gbt2260/province.csv",
    "admin_divisions_gbt2260/city.csv",
    "admin_divisions_gbt2260/area.csv",
    "admin_divisions_gbt2260/country.csv",
    "admin_divisions_gbt2260/history.csv",
    "admin_divisions_gbt2260/nbs_statistical.csv",
    "ipc/ipc_sections_classes_subclasses.csv",
    "ipc/ipc_scheme_en_full.csv.gz",
    "ipc/wipo_ipc_technology_concordance_patentsview.csv",
    "nice/nice_classes_45.csv",
    "nice/cn_similar_groups.csv",
    "nice/cn_goods_services_items.csv",
]


def _package_files() -> list[Path]:
    return [
        p
        for p in PACKAGE_DIR.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def test_nothing_in_the_package_references_the_shared_folder() -> None:
    # Built with join so that neither this file nor its bytecode contains the needle.
    needles = [b"/".join([b"", b"work", b"shared"]), b"/".join([b"..", b"shared", b""])]
    offenders = []
    for path in _package_files():
        content = path.read_bytes()
        if path.suffix == ".gz":
            content = gzip.decompress(content)
        offenders += [f"{path}: {n!r}" for n in needles if n in content]
    assert offenders == []


@pytest.mark.parametrize("relpath", DATA_FILES)
def test_data_is_a_package_resource_with_its_source_noted(relpath: str) -> None:
    resource = files("puhui.refdata").joinpath("data")
    for part in relpath.split("/"):
        resource = resource.joinpath(part)
    assert resource.is_file()
    sources = (PACKAGE_DIR / "data" / "SOURCES.md").read_text(encoding="utf-8")
    assert f"`{relpath}`" in sources


def test_import_does_no_io() -> None:
    code = (
        "import puhui.refdata as r\n"
        "loaders = [r.divisions._index, r.ipc._scheme, r.ipc._titles_zh, r.ipc._concordance,"
        " r.offices.codes,"
        " r.nice._index]\n"
        "assert all(f.cache_info().currsize == 0 for f in loaders)\n"
        "r.divisions.get('440000')\n"
        "assert r.divisions._index.cache_info().currsize == 1\n"
        "assert r.ipc._scheme.cache_info().currsize == 0\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(puhui.refdata)
    assert result.attempted >= 3
    assert result.failed == 0
