"""One contract for both repositories (the in-memory fake and the SQL one): the fake the
unit tests trust behaves like PostgreSQL does."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from puhui.identity import domain as d
from puhui.kit.errors import AlreadyExists
from puhui.kit.pagination import page_request

UnitOfWork = Callable[[], AbstractContextManager[tuple[Any, Any]]]
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def person(n: int, **kw: Any) -> d.Person:
    fields: dict[str, Any] = {
        "person_id": f"440000:{uuid.uuid4()}",
        "home_node": "440000",
        "display_name": f"用户{n}",
        "email": f"user{n}@example.cn",
        "mobile": "",
        "id_number_masked": "",
        "assurance": d.Assurance.LOW,
        "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        "created_at": T0,
    }
    fields.update(kw)
    return d.Person(**fields)


def org(n: int, region: str) -> d.Organisation:
    return d.Organisation(
        f"440000:org-{n}",
        f"CODE{n:014d}",
        f"机构{n}",
        d.OrganisationType.ENTERPRISE,
        region,
        "440000",
        T0,
    )


def check_persons_grants_and_logins(uow: UnitOfWork) -> None:
    a = person(1, mobile="13800138001")
    with uow() as (repo, _):
        repo.add_person(a, b"cipher", "lookup-1")
        assert repo.add_grant(a.person_id, d.Grant(d.Role.INNOVATOR), "self", T0)
        assert not repo.add_grant(a.person_id, d.Grant(d.Role.INNOVATOR), "self", T0)
        assert repo.add_grant(
            a.person_id, d.Grant(d.Role.INSTITUTION_STAFF, "440000-000001"), "x", T0
        )
    with uow() as (repo, _):
        got = repo.get_person(a.person_id)
        assert got is not None
        assert got.email == "user1@example.cn"
        assert got.grants == (
            d.Grant(d.Role.INNOVATOR),
            d.Grant(d.Role.INSTITUTION_STAFF, "440000-000001"),
        )
        assert repo.person_by_login("13800138001").person_id == a.person_id
        assert repo.person_by_login("user1@example.cn").person_id == a.person_id
        assert repo.person_by_login("nobody@example.cn") is None
        assert repo.person_clashes("user1@example.cn", "13800138001", "lookup-1") == [
            "email",
            "mobile",
            "id_number",
        ]
        assert repo.person_clashes("other@example.cn", "", "") == []
        repo.set_assurance(a.person_id, d.Assurance.SUBSTANTIAL)
        repo.set_password_hash(a.person_id, "$argon2id$new")
        assert repo.remove_grant(a.person_id, d.Grant(d.Role.INSTITUTION_STAFF, "440000-000001"))
        assert not repo.remove_grant(a.person_id, d.Grant(d.Role.NATIONAL_ADMIN))
    with uow() as (repo, _):
        got = repo.get_person(a.person_id)
        assert got.assurance == d.Assurance.SUBSTANTIAL
        assert got.password_hash == "$argon2id$new"
        assert got.grants == (d.Grant(d.Role.INNOVATOR),)


def check_duplicate_email_is_already_exists(uow: UnitOfWork) -> None:
    with uow() as (repo, _):
        repo.add_person(person(2), None, None)
    with pytest.raises(AlreadyExists), uow() as (repo, _):
        repo.add_person(person(2), None, None)


def check_organisations_and_memberships(uow: UnitOfWork) -> None:
    p = person(3)
    orgs = [org(1, "440305"), org(2, "440106"), org(3, "440304"), org(4, "320100")]
    with uow() as (repo, _):
        repo.add_person(p, None, None)
        for o in orgs:
            repo.add_organisation(o)
    with uow() as (repo, _):
        assert repo.organisation_by_code("CODE00000000000002") == orgs[1]
        assert repo.get_organisation("440000:org-9") is None
        query = d.OrganisationQuery(region_code="440300")
        first, total = repo.list_organisations(query, page_request(1, "", query.filters()))
        assert total == 2
        assert [o.organisation_id for o in first] == ["440000:org-1"]
        everything = repo.list_organisations(d.OrganisationQuery(), page_request(10, "", {}))
        assert everything[1] == 4
        repo.put_membership(d.Membership(p.person_id, "440000:org-1", d.MembershipRole.MEMBER))
        repo.put_membership(d.Membership(p.person_id, "440000:org-1", d.MembershipRole.ADMIN))
        repo.put_membership(d.Membership(p.person_id, "440000:org-2", d.MembershipRole.MEMBER))
    with uow() as (repo, _):
        assert repo.membership(p.person_id, "440000:org-1").role == d.MembershipRole.ADMIN
        assert [m.organisation_id for m in repo.get_person(p.person_id).memberships] == [
            "440000:org-1",
            "440000:org-2",
        ]
        assert repo.remove_membership(p.person_id, "440000:org-2")
        assert not repo.remove_membership(p.person_id, "440000:org-2")
        assert repo.membership(p.person_id, "440000:org-2") is None


def check_keys_refresh_and_service_accounts(uow: UnitOfWork) -> None:
    p = person(4)
    key = d.SigningKey(
        "440000-k1", {"kty": "EC", "kid": "440000-k1"}, b"sealed", d.KeyStatus.ACTIVE, T0
    )
    family = d.RefreshFamily("fam-1", p.person_id, "puhui", T0 + timedelta(days=30))
    with uow() as (repo, _):
        repo.add_person(p, None, None)
        repo.add_signing_key(key)
        repo.add_signing_key(
            d.SigningKey(
                "440000-k2", {"kid": "440000-k2"}, b"s2", d.KeyStatus.ACTIVE, T0 + timedelta(1)
            )
        )
        repo.set_key_status("440000-k1", d.KeyStatus.PASSIVE, T0)
        repo.add_family(family)
        repo.add_refresh(d.RefreshRecord("hash-1", "fam-1", T0))
        repo.add_service_account(
            d.ServiceAccount("sync", "secret-hash", "440000", ("a.read", "b.read"), T0)
        )
    with uow() as (repo, _):
        assert [(k.kid, k.status) for k in repo.signing_keys()] == [
            ("440000-k1", d.KeyStatus.PASSIVE),
            ("440000-k2", d.KeyStatus.ACTIVE),
        ]
        assert repo.signing_keys()[0].public_jwk == {"kty": "EC", "kid": "440000-k1"}
        record = repo.refresh_for_update("hash-1")
        assert record is not None
        assert record.used_at is None
        repo.mark_refresh_used("hash-1", T0 + timedelta(minutes=5))
        assert repo.refresh_for_update("nope") is None
        repo.save_family(
            d.RefreshFamily(
                "fam-1",
                p.person_id,
                "puhui",
                family.expires_at,
                T0,
                "jti-9",
                T0 + timedelta(minutes=15),
            )
        )
        assert repo.service_account("sync").scopes == ("a.read", "b.read")
        assert repo.service_account("nobody") is None
    with uow() as (repo, _):
        assert repo.refresh_for_update("hash-1").used_at == T0 + timedelta(minutes=5)
        saved = repo.family("fam-1")
        assert saved.revoked_at == T0
        assert saved.last_jti == "jti-9"
        assert saved.expires_at == family.expires_at


def check_served_persons(uow: UnitOfWork) -> None:
    pid = f"440000:{uuid.uuid4()}"
    with uow() as (repo, _):
        assert not repo.served_by(pid, ["440000-000001"])
        assert repo.add_served(pid, "440000-000001", T0)
        assert not repo.add_served(pid, "440000-000001", T0 + timedelta(days=1))  # once
    with uow() as (repo, _):
        assert repo.served_by(pid, ["440000-000009", "440000-000001"])
        assert not repo.served_by(pid, ["440000-000002"])
        assert not repo.served_by(pid, [])
        assert not repo.served_by(f"440000:{uuid.uuid4()}", ["440000-000001"])


def check_failed_unit_of_work_keeps_nothing(uow: UnitOfWork) -> None:
    p = person(5)

    def fail() -> None:
        with uow() as (repo, _):
            repo.add_person(p, None, None)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    with uow() as (repo, _):
        assert repo.get_person(p.person_id) is None


CHECKS = [
    check_persons_grants_and_logins,
    check_duplicate_email_is_already_exists,
    check_organisations_and_memberships,
    check_keys_refresh_and_service_accounts,
    check_served_persons,
    check_failed_unit_of_work_keeps_nothing,
]
