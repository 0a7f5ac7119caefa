"""Seeded generator of CNIPA-style patent records for scale tests and benchmarks.

The shape follows the real CNIPA export rows in the test fixtures: application numbers with
check digits (``CN202110012345.6``), publication numbers with kind codes, Chinese titles
built like the real ones (一种基于…的…方法及系统), real IPC symbols of the shipped IPC edition
and real GB/T 2260 province labels (``河南(41)``). Everything is derived from the seed, so a
figure quoted from a run can be reproduced. These records are synthetic: never present
them as real data.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from puhui.data.normalise import cn_check_digit
from puhui.refdata import divisions, ipc

COLUMNS = (
    "申请号",
    "公开号",
    "授权公告号",
    "专利类型",
    "专利名称",
    "申请摘要",
    "申请人",
    "发明人",
    "主分类号",
    "分类号",
    "申请日",
    "公开日",
    "授权公告日",
    "法律状态",
    "国省代码",
)
SUBCLASSES = (
    "G06F",
    "G06Q",
    "G06N",
    "G06T",
    "H04L",
    "H04N",
    "H04W",
    "H01L",
    "H01M",
    "H02J",
    "A61B",
    "A61K",
    "A01B",
    "A01G",
    "B25J",
    "B64C",
    "B65G",
    "C02F",
    "C07D",
    "C08L",
    "E04B",
    "F16H",
    "G01N",
    "G01S",
    "G05B",
    "B01D",
    "B23K",
    "F24F",
    "C12N",
    "E21B",
)
TECH = (
    "深度学习",
    "区块链",
    "物联网",
    "边缘计算",
    "图像识别",
    "自然语言处理",
    "北斗定位",
    "激光雷达",
    "机器视觉",
    "大数据",
    "云计算",
    "数字孪生",
    "知识图谱",
    "5G通信",
    "联邦学习",
    "超声波",
)
OBJECTS = (
    "无人机",
    "储能电池",
    "智能电网",
    "污水处理装置",
    "农业灌溉系统",
    "医疗影像",
    "机械臂",
    "光伏组件",
    "客服会话",
    "交通信号",
    "仓储物流",
    "锂电池",
    "发动机",
    "轴承",
    "传感器",
    "数据采集",
    "巡检机器人",
    "温室大棚",
    "电力变压器",
    "手术器械",
)
ACTIONS = (
    "检测方法",
    "控制系统",
    "处理方法及系统",
    "装置",
    "识别方法",
    "调度方法",
    "监测系统",
    "制备方法",
)
FIRMS = ("科技", "电子", "智能", "新能源", "信息技术", "生物医药", "机械制造", "数据")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红"
KINDS = (("发明公开", "1", "A"), ("发明授权", "1", "B"), ("实用新型", "2", "U"))
STATUSES = ("有权-审定授权", "实质审查的生效", "公开", "无权-未缴年费终止", "有权-审定授权")


@cache
def ipc_pool() -> tuple[str, ...]:
    """Real main groups and subgroups of common subclasses (the shipped IPC edition)."""
    from puhui.data.reference import _ipc_children

    children = _ipc_children()
    pool: list[str] = []
    for subclass in SUBCLASSES:
        for main in children.get(subclass, ())[:12]:
            pool.append(main)
            pool.extend(children.get(main, ())[:4])
    return tuple(s for s in pool if ipc.is_valid(s))


@cache
def province_labels() -> tuple[tuple[str, str], ...]:
    found = []
    for p in divisions.provinces():
        short = p.name.removesuffix("省").removesuffix("市").removesuffix("自治区")
        for suffix in ("壮族", "回族", "维吾尔", "特别行政区"):
            short = short.removesuffix(suffix)
        label = f"{short}({p.code[:2]})"
        if divisions.province_code_from_label(label) == p.code:
            found.append((label, p.name))
    return tuple(found)


def _date(rng: random.Random, year: int) -> str:
    return f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"


def rows(count: int, seed: int = 20260101) -> Iterator[dict[str, str]]:
    """`count` CNIPA-style rows; row i is the same for the same seed."""
    rng = random.Random(seed)
    codes = ipc_pool()
    provinces = province_labels()
    serial = rng.randint(0, 1000)
    for i in range(count):
        kind_name, type_digit, kind = rng.choice(KINDS)
        year = rng.randint(2012, 2024)
        serial += 1
        digits = f"{year}{type_digit}{(serial + i * 7) % 10_000_000:07d}"
        application = f"CN{digits}.{cn_check_digit(digits)}"
        publication = f"CN{100_000_000 + (seed % 1000) * 1_000_000 + i:09d}"[:11] + kind
        filed = _date(rng, year)
        published = _date(rng, min(year + 1, 2025))
        tech, obj, action = rng.choice(TECH), rng.choice(OBJECTS), rng.choice(ACTIONS)
        title = rng.choice(
            (
                f"一种基于{tech}的{obj}{action}",
                f"一种{obj}{action}",
                f"基于{tech}和{rng.choice(TECH)}的{obj}{action}",
            )
        )
        label, province_name = rng.choice(provinces)
        firm = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(FIRMS)}"
        applicant = f"{province_name.rstrip('省市')}{firm}有限公司"
        inventors = ";".join(
            rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
            for _ in range(rng.randint(1, 5))
        )
        chosen = rng.sample(codes, rng.randint(1, 4))
        written = [c.replace(" ", "") for c in chosen]
        abstract = (
            f"本发明公开了{title}，涉及{tech}技术领域。该{obj}{action}包括数据采集模块、"
            f"{rng.choice(TECH)}分析模块和控制模块，能够提高{obj}的效率和可靠性，降低成本。"
        )
        granted = kind in ("B", "U")
        yield {
            "申请号": application,
            "公开号": publication,
            "授权公告号": publication if granted else "",
            "专利类型": kind_name,
            "专利名称": title,
            "申请摘要": abstract,
            "申请人": applicant,
            "发明人": inventors,
            "主分类号": written[0],
            "分类号": ";".join(written),
            "申请日": filed,
            "公开日": published if published >= filed else filed,
            "授权公告日": (published if published >= filed else filed) if granted else "0",
            "法律状态": rng.choice(STATUSES),
            "国省代码": label,
        }


def write_cnipa_csv(path: Path, count: int, seed: int = 20260101) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows(count, seed):
            writer.writerow(row)
    return path
