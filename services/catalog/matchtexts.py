"""The human texts of Match (reasons and gaps) in the caller's language (`puhui.kit.language`:
Chinese by default, English on request), and the service categories free-text needs name.

Labels are keyed by the domain enums' values (this module imports no domain, so the domain
can import it). Every text is built from the data of the match: a slot with no data is never
rendered; the caller leaves the reason out instead.
"""

from __future__ import annotations

import functools
import re

from puhui.kit.language import DEFAULT, EN

__all__ = ["DEFAULT", "EN", "asked", "asked_map", "label", "listed", "mentioned", "terms", "text"]

# value -> (Chinese, English)
CATEGORY = {
    1: ("专利检索", "patent search"),
    2: ("专利分析", "patent analysis"),
    3: ("商标与地理标志咨询", "trademark and GI consultation"),
    4: ("维权援助", "rights protection"),
    5: ("知识产权运营", "IP operations"),
    6: ("知识产权培训", "training"),
    7: ("政策咨询", "policy consultation"),
    8: ("集成电路布图设计咨询", "IC layout consultation"),
}
INNOVATOR_TYPE = {
    1: ("个人", "an individual"),
    2: ("企业", "an enterprise"),
    3: ("高校", "a university"),
    4: ("科研院所", "a research institute"),
}
ENTERPRISE_SIZE = {1: ("微型", "micro"), 2: ("小型", "small"), 3: ("中型", "medium"),
                   4: ("大型", "large")}  # fmt: skip
STAGE = {
    1: ("创意", "idea"),
    2: ("研发", "R&D"),
    3: ("申请", "filing"),
    4: ("授权", "granted"),
    5: ("产业化", "commercialisation"),
    6: ("纠纷", "dispute"),
}
TEMPLATES = {
    "offers": ("提供{category}", "offers {category}"),
    "asked": ("提供{category}，符合需求“{word}”", "offers {category}, as asked ({word!r})"),
    "suits_stage": ("{category}适合{stage}阶段", "{category} suits the {stage} stage"),
    "serves": ("服务{region}", "serves {region}"),
    "national": ("全国性服务", "national service"),
    "for_type": ("面向{type}", "for {type}"),
    "ipc": ("机构技术领域含 {ipc}", "IPC {ipc} in institution fields"),
    "mentions": ("服务说明提到“{word}”", "mentions {word!r}"),
    "free": ("免费", "free"),
    "public_interest": ("公益性收费", "public-interest pricing"),
    "outside_area": ("不在服务范围内", "outside service area"),
    "requires_type": ("仅限{types}", "requires {types}"),
    "sizes_only": ("仅限{sizes}企业", "for {sizes} enterprises only"),
    "stages_only": ("面向{stages}阶段", "intended for the {stages} stage"),
    "no_capacity": ("本月已无受理名额", "no capacity this month"),
}
_JOIN = {"types": ("或", " or "), "sizes": ("、", ", "), "stages": ("、", ", ")}

# Words of free-text needs -> the category they ask for (Chinese and English, lower case).
NEEDS_WORDS: dict[int, tuple[str, ...]] = {
    1: ("检索", "查新", "查询", "法律状态", "search", "novelty", "prior art"),
    2: ("分析", "导航", "预警", "评议", "analysis", "landscap", "navigation", "warning"),
    3: ("商标", "地理标志", "品牌", "trademark", "brand", "geographical indication"),
    4: ("维权", "纠纷", "侵权", "诉讼", "dispute", "infring", "enforce", "litigation"),
    5: (
        "运营",
        "转化",
        "转让",
        "许可",
        "质押",
        "融资",
        "transfer",
        "licens",
        "financ",
        "commercialis",
        "pledge",
    ),
    6: ("培训", "课程", "training", "course"),
    7: ("政策", "补贴", "资助", "policy", "subsid", "funding"),
    8: ("集成电路", "布图", "芯片", "integrated circuit", "layout", "chip"),
}
_SPLIT = re.compile(r"[\s,，。、;；:：/|]+")


def _pick(labels: tuple[str, str], language: str) -> str:
    return labels[1] if language == EN else labels[0]


@functools.lru_cache(maxsize=4096)  # a Match repeats its texts over sixty candidates
def text(key: str, language: str, **slots: object) -> str:
    return _pick(TEMPLATES[key], language).format(**slots)


def label(table: dict[int, tuple[str, str]], value: int, language: str) -> str:
    return _pick(table[value], language)


@functools.lru_cache(maxsize=1024)
def listed(key: str, table_name: str, values: tuple[int, ...], language: str) -> str:
    """A gap naming several values ("仅限个人或企业" / "requires an individual or an
    enterprise"); made once per set (labels are constants)."""
    table = {"types": INNOVATOR_TYPE, "sizes": ENTERPRISE_SIZE, "stages": STAGE}[table_name]
    joiner = _pick(_JOIN[table_name], language)
    return text(
        key, language, **{table_name: joiner.join(label(table, v, language) for v in values)}
    )


@functools.lru_cache(maxsize=1024)
def asked(needs_text: str) -> tuple[tuple[int, str], ...]:
    """(category, the word that asked for it) for each category the free text names."""
    lowered = needs_text.lower()
    found: list[tuple[int, str]] = []
    for category, words in NEEDS_WORDS.items():
        for word in words:
            # English words start at a word boundary ("research" does not ask for "search").
            hit = re.search(
                ("" if not word.isascii() else r"(?<![a-z])") + re.escape(word), lowered
            )
            if hit:
                found.append((category, needs_text[hit.start() : hit.end()]))
                break
    return tuple(found)


@functools.lru_cache(maxsize=1024)
def terms(needs_text: str) -> tuple[str, ...]:
    """The words of the free text to look for in an item's name and description: the text
    itself, its words of two or more characters, and the needs words it contains."""
    words = [needs_text.strip()] + [w for w in _SPLIT.split(needs_text) if len(w) >= 2]
    words += [word for _, word in asked(needs_text)]
    return tuple(dict.fromkeys(w for w in words if w))


@functools.lru_cache(maxsize=1024)
def asked_map(needs_text: str) -> dict[int, str]:
    """`asked` as category -> word (shared: do not modify)."""
    return dict(asked(needs_text))


@functools.lru_cache(maxsize=4096)
def mentioned(needs_text: str, haystacks: tuple[str, ...]) -> str:
    """The longest run of the free text around one of its terms that an item's name or
    description contains ("需要商标注册咨询" in "商标注册咨询（示例）": "商标注册咨询"), else ""."""
    lowered = needs_text.lower()
    best = ""
    for hay in (h.lower() for h in haystacks):
        for term in terms(needs_text):
            start = lowered.find(term.lower())
            if start < 0 or term.lower() not in hay:
                continue
            end = start + len(term)
            while end < len(lowered) and lowered[start : end + 1] in hay:
                end += 1
            while start > 0 and lowered[start - 1 : end] in hay:
                start -= 1
            if end - start > len(best):
                best = needs_text[start:end].strip()
            break
    return best
