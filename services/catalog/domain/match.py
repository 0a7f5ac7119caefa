"""Match: scoring, ranking and the use case. The ranking is decided here; the
MatchReadModel port pre-ranks candidates the same way (tested against `rank`)."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from puhui.catalog import matchtexts as texts
from puhui.catalog.domain.common import (
    STAGE_NEEDS,
    Category,
    CostClass,
    EnterpriseSize,
    InnovatorType,
    Stage,
    Tier,
    _enum_ok,
    _ipc_list,
    region_filter,
)
from puhui.catalog.domain.institutions import Institution
from puhui.catalog.domain.items import ServiceItem
from puhui.kit.errors import Violations
from puhui.refdata import divisions


@dataclass(frozen=True)
class Profile:
    region_code: str
    innovator_type: int = 0
    enterprise_size: int = 0
    stage: int = 0
    ipc_fields: tuple[str, ...] = ()
    needs: tuple[int, ...] = ()
    needs_text: str = ""


@dataclass(frozen=True)
class Match:
    item: ServiceItem
    institution: Institution
    score: float
    reasons: tuple[str, ...]
    gaps: tuple[str, ...]
    nearness: int


class MatchCandidates(Protocol):
    def match_candidates(
        self, profile: Profile, categories: tuple[int, ...], limit: int, results: int = 0
    ) -> list[tuple[ServiceItem, Institution]]: ...


# --------------------------------------------------------------------------- matching


def nearness(inst: Institution, profile_region: str) -> int | None:
    """0 county, 1 city, 2 province, 3 national for an institution whose location or service
    area covers the innovator's region; None if it does not serve it."""
    if inst.tier == Tier.NATIONAL:
        return 3
    covering = _covering(profile_region)
    serves = inst.region_code in covering or any(code in covering for code in inst.service_area)
    if not serves:
        return None
    return _division_nearness(inst.region_code)


@functools.lru_cache(maxsize=4096)
def _covering(profile_region: str) -> frozenset[str]:
    """The region codes whose institutions serve `profile_region` (refdata is immutable)."""
    if not divisions.is_valid(profile_region):
        return frozenset()
    return frozenset(region_filter(profile_region).covering)


@functools.lru_cache(maxsize=8192)
def _division_nearness(region_code: str) -> int:
    division = divisions.get(region_code)
    level = division.level if division is not None else "province"
    return {"county": 0, "city": 1, "province": 2}[level]


def _ipc_overlap(wanted: Sequence[str], offered: Sequence[str]) -> str:
    for w in wanted:
        for o in offered:
            a, b = w.replace(" ", ""), o.replace(" ", "")
            if a.startswith(b) or b.startswith(a):
                return o
    return ""


@functools.lru_cache(maxsize=4096)
def _capacity_score(capacity: int) -> float:
    return min(5.0, math.log10(1 + capacity) * 2)


def score_match(
    item: ServiceItem,
    inst: Institution,
    profile: Profile,
    wanted: tuple[int, ...],
    language: str = texts.DEFAULT,
) -> Match:
    """Score one candidate: reasons it fits, gaps (what the innovator lacks), nearness; the
    texts in `language` (puhui.catalog.matchtexts), built from the data, never an empty
    slot."""
    reasons: list[str] = []
    gaps: list[str] = []
    score = 0.0
    category = texts.label(texts.CATEGORY, item.category, language)
    asked = texts.asked_map(profile.needs_text)
    if item.category in profile.needs:
        score += 40
        reasons.append(texts.text("offers", language, category=category))
    elif item.category in asked:
        score += 40
        reasons.append(texts.text("asked", language, category=category, word=asked[item.category]))
    elif item.category in wanted:
        score += 25
        if _enum_ok(profile.stage, Stage):
            stage = texts.label(texts.STAGE, profile.stage, language)
            reasons.append(texts.text("suits_stage", language, category=category, stage=stage))
    near = nearness(inst, profile.region_code)
    if near is None:
        gaps.append(texts.text("outside_area", language))
        near = 4
    else:
        score += 20 - 4 * near
        reasons.append(
            texts.text("serves", language, region=_region_name(profile.region_code, language))
            if near < 3
            else texts.text("national", language)
        )
    e = item.eligibility
    if e.innovator_types and profile.innovator_type not in e.innovator_types:
        gaps.append(texts.listed("requires_type", "types", e.innovator_types, language))
    elif e.innovator_types:
        kind = texts.label(texts.INNOVATOR_TYPE, profile.innovator_type, language)
        reasons.append(texts.text("for_type", language, type=kind))
    if (
        e.enterprise_sizes
        and profile.innovator_type == InnovatorType.ENTERPRISE
        and profile.enterprise_size not in e.enterprise_sizes
    ):
        gaps.append(texts.listed("sizes_only", "sizes", e.enterprise_sizes, language))
    if e.stages and profile.stage not in e.stages:
        gaps.append(texts.listed("stages_only", "stages", e.stages, language))
    overlap = _ipc_overlap(profile.ipc_fields, inst.ipc_fields)
    if overlap:
        score += 15
        reasons.append(texts.text("ipc", language, ipc=overlap))
    if profile.needs_text:
        word = texts.mentioned(profile.needs_text, (item.name, item.description))
        if word:
            score += 10
            if word != asked.get(item.category):  # not the word the first reason quoted
                reasons.append(texts.text("mentions", language, word=word))
    if item.cost_class == CostClass.FREE:
        score += 5
        reasons.append(texts.text("free", language))
    elif item.cost_class == CostClass.PUBLIC_INTEREST:
        score += 3
        reasons.append(texts.text("public_interest", language))
    if inst.monthly_capacity <= 0:
        gaps.append(texts.text("no_capacity", language))
    else:
        score += _capacity_score(inst.monthly_capacity)
    score -= 30 * len(gaps)
    return Match(item, inst, round(score, 3), tuple(reasons), tuple(gaps), near)


@functools.lru_cache(maxsize=4096)
def _region_name(code: str, language: str) -> str:
    """ "440305" in English; "南山区（440305）" in Chinese (the division's name from GB/T 2260)."""
    division = divisions.get(code)
    if language == texts.EN or division is None:
        return code
    return f"{division.name}（{code}）"


# At most this many of one institution's items among a Match's results.
PER_INSTITUTION = 3


def rank(matches: Sequence[Match], limit: int) -> list[Match]:
    """Capable before incapable, then nearest tier, then score; ties by ids: deterministic.
    At most 3 items per institution, so one large centre does not take every slot."""
    ordered = sorted(
        matches,
        key=lambda m: (
            bool(m.gaps),
            m.nearness,
            -m.score,
            m.institution.institution_id,
            m.item.item_id,
        ),
    )
    out: list[Match] = []
    per_institution: dict[str, int] = {}
    for m in ordered:
        n = per_institution.get(m.institution.institution_id, 0)
        if n >= PER_INSTITUTION:
            continue
        per_institution[m.institution.institution_id] = n + 1
        out.append(m)
        if len(out) >= limit:
            break
    return out


def wanted_categories(profile: Profile) -> tuple[int, ...]:
    """The categories stated (needs) or named in the free text (needs_text), else those of
    the innovator's stage, else all."""
    asked = {category for category, _ in texts.asked(profile.needs_text)}
    if profile.needs or asked:
        return tuple(sorted(set(profile.needs) | asked))
    if _enum_ok(profile.stage, Stage):
        return tuple(sorted(int(c) for c in STAGE_NEEDS[Stage(profile.stage)]))
    return tuple(int(c) for c in Category)


def validate_profile(profile: Profile) -> Profile:
    v = Violations()
    region = profile.region_code.strip()
    if v.require(region, "profile.region_code"):
        v.check(
            divisions.is_valid(region),
            "profile.region_code",
            f"{region!r} is not a GB/T 2260 division code",
        )
    if profile.innovator_type:
        v.check(
            _enum_ok(profile.innovator_type, InnovatorType),
            "profile.innovator_type",
            "unknown type",
        )
    if profile.enterprise_size:
        v.check(
            _enum_ok(profile.enterprise_size, EnterpriseSize),
            "profile.enterprise_size",
            "unknown size",
        )
    if profile.stage:
        v.check(_enum_ok(profile.stage, Stage), "profile.stage", "unknown stage")
    for i, n in enumerate(profile.needs):
        v.check(_enum_ok(n, Category), f"profile.needs[{i}]", "unknown category")
    fields = _ipc_list(v, profile.ipc_fields, "profile.ipc_fields")
    v.check(len(profile.needs_text) <= 100, "profile.needs_text", "at most 100 characters")
    v.raise_if_any()
    return replace(
        profile,
        region_code=divisions.normalise_code(region),
        ipc_fields=fields,
        needs_text=profile.needs_text.strip(),
    )


class MatchCases:
    """The Match use case: candidates from the read model, ranked here (`rank`)."""

    match_candidates: int
    match_reads: MatchCandidates

    def match(
        self,
        profile: Profile,
        max_results: int,
        language: str = texts.DEFAULT,
    ) -> list[Match]:
        profile = validate_profile(profile)
        v = Violations()
        v.check(0 <= max_results <= 100, "max_results", "must be 0 to 100")
        v.raise_if_any()
        wanted = wanted_categories(profile)
        results = max_results or 20
        candidates = self.match_reads.match_candidates(
            profile, wanted, self.match_candidates, results
        )
        scored = [score_match(item, inst, profile, wanted, language) for item, inst in candidates]
        return rank(scored, results)
