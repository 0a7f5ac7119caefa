"""Test support for the catalog: a TokenVerifier of our own seam, and request builders.

`RoleTokens` is a fake of *our* verifier seam (puhui.kit.auth.TokenVerifier), not of any
infrastructure: a token is "subject|role@scope,role@scope", e.g.
"440000:ada|province_admin@440000". "national_admin" needs no scope.
"""

from __future__ import annotations

from puhui.catalog.v1 import catalog_pb2
from puhui.kit.auth import Principal
from puhui.kit.errors import Unauthenticated


class RoleTokens:
    def verify(self, token: str) -> Principal:
        subject, sep, grants = token.partition("|")
        if not sep or not subject:
            raise Unauthenticated("malformed test token")
        roles: set[str] = set()
        scoped: list[tuple[str, str]] = []
        for grant in filter(None, grants.split(",")):
            role, _, scope = grant.partition("@")
            roles.add(role)
            if scope:
                scoped.append((role, scope))
        return Principal(
            subject=subject, issuer="test", roles=frozenset(roles), role_scopes=tuple(scoped)
        )


def principal(token: str) -> Principal:
    return RoleTokens().verify(token)


GD_ADMIN = "440000:gd-admin|province_admin@440000"
JS_ADMIN = "320000:js-admin|province_admin@320000"
NATIONAL = "000000:cnipa|national_admin"


def staff(institution_id: str) -> str:
    return f"440000:staff-{institution_id}|institution_staff@{institution_id}"


def institution(**kw: object) -> catalog_pb2.Institution:
    fields: dict[str, object] = {
        "name": "深圳市知识产权保护中心",
        "tier": catalog_pb2.INSTITUTION_TIER_PREFECTURE_CENTRE,
        "region_code": "440300",
        "description": "专利检索与分析服务",
        "ipc_fields": ["G06F 16/00", "h04l"],
        "monthly_capacity": 120,
    }
    fields.update(kw)
    return catalog_pb2.Institution(**fields)  # type: ignore[arg-type]


def item(institution_id: str, **kw: object) -> catalog_pb2.ServiceItem:
    fields: dict[str, object] = {
        "institution_id": institution_id,
        "service_code": "PS-01",
        "name": "专利检索服务",
        "description": "面向中小企业的专利检索与查新",
        "category": catalog_pb2.SERVICE_CATEGORY_PATENT_SEARCH,
        "channel": catalog_pb2.CHANNEL_BOTH,
        "cost_class": catalog_pb2.COST_CLASS_FREE,
        "processing_days": 5,
        "required_materials": ["营业执照复印件", "技术交底书"],
    }
    fields.update(kw)
    return catalog_pb2.ServiceItem(**fields)  # type: ignore[arg-type]
