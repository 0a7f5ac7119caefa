"""Identity use cases with the in-memory fakes (no network)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from puhui.identity import domain
from puhui.identity.errors import BAD_CREDENTIALS
from puhui.identity.tests.fakes import Clock, make_identity
from puhui.kit import tokens as kt
from puhui.kit.auth import Principal
from puhui.kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)

PASSWORD = "Correct-Horse-9"
ID_NUMBER = "440301199001011234"


def register(identity, email="zhang@example.cn", **kw):
    fields = {"display_name": "张三", "email": email, "password": PASSWORD}
    fields.update(kw)
    return identity.register_person(domain.NewPerson(**fields))


def fields_of(err: InvalidArgument) -> set[str]:
    return {v.field for v in err.violations}


def test_register_stores_hash_and_masked_id_only():
    identity, uow, _ = make_identity()
    person = register(identity, email="Zhang@Example.CN", id_number=ID_NUMBER)
    assert person.email == "zhang@example.cn"
    assert person.id_number_masked == "4403**********1234"
    assert person.assurance == domain.Assurance.LOW
    stored = uow.repo.persons[person.person_id]
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in repr(stored)
    cipher = uow.repo.id_cipher[person.person_id]
    assert cipher is not None
    assert ID_NUMBER.encode() not in cipher
    assert identity.id_numbers.decrypt(cipher, person.person_id) == ID_NUMBER
    assert uow.repo.id_lookup[person.person_id] == identity.id_numbers.lookup_hash(ID_NUMBER)
    assert uow.sink.named("person_registered") == [person.person_id]
    assert [g.claim() for g in identity.get_person(person.person_id).grants] == ["innovator"]


def test_bad_registration_names_every_field_and_writes_nothing():
    identity, uow, _ = make_identity()
    events_before = list(uow.sink.events)
    with pytest.raises(InvalidArgument) as info:
        register(
            identity,
            email="not-an-email",
            mobile="12345",
            password="short",
            id_number="440301199001011235",
            display_name=" ",
        )
    assert fields_of(info.value) == {"display_name", "email", "mobile", "password", "id_number"}
    assert uow.repo.persons == {}
    assert uow.sink.events == events_before


def test_duplicate_registration_already_exists():
    identity, uow, _ = make_identity()
    register(identity, id_number=ID_NUMBER)
    with pytest.raises(AlreadyExists, match="email"):
        register(identity)
    with pytest.raises(AlreadyExists, match="id_number"):
        register(identity, email="other@example.cn", id_number=ID_NUMBER)
    assert len(uow.repo.persons) == 1


def test_sign_in_issues_tokens_that_verify():
    identity, uow, verifier = make_identity()
    person = register(identity, mobile="13800138000", email="")
    session = identity.sign_in("+86 138 0013 8000", PASSWORD, "", "203.0.113.7")
    principal = verifier.verify(session.access_token)
    assert principal.subject == person.person_id
    assert principal.issuer == "440000"
    assert principal.roles == {"innovator"}
    assert principal.assurance == kt.ASSURANCE_LOW
    assert session.refresh_token.startswith("prt_")
    assert session.refresh_token not in str(uow.repo.refresh)  # only its hash is stored
    assert uow.sink.named("sign_in_attempted") == [
        (person.person_id, domain.SignInResult.SUCCESS, "203.0.113.0/24")
    ]


def test_unknown_user_and_wrong_password_look_the_same():
    identity, uow, _ = make_identity()
    register(identity)
    with pytest.raises(Unauthenticated) as unknown:
        identity.sign_in("nobody@example.cn", PASSWORD, "", "203.0.113.7")
    with pytest.raises(Unauthenticated) as wrong:
        identity.sign_in("zhang@example.cn", "Wrong-Password-1", "", "203.0.113.7")
    assert unknown.value.message == wrong.value.message == BAD_CREDENTIALS
    results = [r for _, r, _ in uow.sink.named("sign_in_attempted")]
    assert results == [domain.SignInResult.BAD_CREDENTIALS] * 2


def test_unknown_audience_is_invalid():
    identity, _, _ = make_identity()
    with pytest.raises(InvalidArgument) as info:
        identity.sign_in("zhang@example.cn", PASSWORD, "evil", "1.2.3.4")
    assert fields_of(info.value) == {"audience"}


def test_refresh_rotates_and_reuse_revokes_the_family():
    identity, uow, verifier = make_identity()
    register(identity)
    first = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4")
    second = identity.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert verifier.verify(second.access_token).subject
    with pytest.raises(Unauthenticated, match="already used"):
        identity.refresh(first.refresh_token)  # a stolen copy replayed
    # the whole family is dead: the newest refresh token and its access token too
    with pytest.raises(Unauthenticated):
        identity.refresh(second.refresh_token)
    with pytest.raises(Unauthenticated, match="revoked"):
        verifier.verify(second.access_token)
    assert all(f.revoked_at is not None for f in uow.repo.families.values())


def test_refresh_family_expires():
    clock = Clock()
    identity, _, _ = make_identity(clock=clock, refresh_ttl=3600)
    register(identity)
    s = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4")
    clock.advance(3601)
    with pytest.raises(Unauthenticated, match="expired"):
        identity.refresh(s.refresh_token)


def test_sign_out_revokes_access_and_refresh():
    identity, _, verifier = make_identity()
    register(identity)
    s = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4")
    principal = verifier.verify(s.access_token)
    identity.sign_out(principal, s.refresh_token)
    with pytest.raises(Unauthenticated):
        verifier.verify(s.access_token)
    with pytest.raises(Unauthenticated):
        identity.refresh(s.refresh_token)


def test_sign_out_checks_the_refresh_token_before_revoking_anything():
    identity, _, verifier = make_identity()
    register(identity)
    s = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4")
    principal = verifier.verify(s.access_token)
    with pytest.raises(Unauthenticated, match="refresh token is invalid"):
        identity.sign_out(principal, "prt_not-a-refresh-token")
    assert verifier.verify(s.access_token).subject == principal.subject  # still signed in
    register(identity, email="li@example.cn")
    other = identity.sign_in("li@example.cn", PASSWORD, "", "1.2.3.4")
    with pytest.raises(PermissionDenied, match="another person"):
        identity.sign_out(principal, other.refresh_token)
    assert verifier.verify(s.access_token).subject == principal.subject
    assert identity.refresh(other.refresh_token).access_token  # the other's session lives


def test_throttling_delays_then_locks_the_pair_but_not_other_addresses():
    clock = Clock()
    policy = domain.ThrottlePolicy(
        free_failures=2,
        base_delay=1,
        max_delay=8,
        lockout_failures=5,
        lockout_seconds=600,
        address_ceiling=1000,
    )
    identity, uow, _ = make_identity(clock=clock, policy=policy)
    register(identity)
    attacker, user = "198.51.100.9", "203.0.113.7"
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            identity.sign_in("zhang@example.cn", "Wrong-Password-1", "", attacker)
    with pytest.raises(Unauthenticated):
        identity.sign_in("zhang@example.cn", "Wrong-Password-1", "", attacker)  # 3rd: delay starts
    with pytest.raises(ResourceExhausted) as delayed:
        identity.sign_in(
            "zhang@example.cn", PASSWORD, "", attacker
        )  # even the right password waits
    assert delayed.value.retry_after_seconds == pytest.approx(1.0)
    for _ in range(2):
        clock.advance(10)
        with pytest.raises(Unauthenticated):
            identity.sign_in("zhang@example.cn", "Wrong-Password-1", "", attacker)
    clock.advance(10)
    with pytest.raises(ResourceExhausted) as locked:
        identity.sign_in("zhang@example.cn", PASSWORD, "", attacker)
    assert locked.value.retry_after_seconds == pytest.approx(590, abs=1)
    # the real user, from their own address, is not locked out
    assert identity.sign_in("zhang@example.cn", PASSWORD, "", user).access_token
    results = [r for _, r, _ in uow.sink.named("sign_in_attempted")]
    assert domain.SignInResult.THROTTLED in results
    assert domain.SignInResult.LOCKED in results


def test_per_address_ceiling_blocks_spraying_across_accounts():
    clock = Clock()
    policy = domain.ThrottlePolicy(address_ceiling=3)
    identity, _, _ = make_identity(clock=clock, policy=policy)
    register(identity)
    for n in range(3):
        with pytest.raises(Unauthenticated):
            identity.sign_in(f"user{n}@example.cn", "Wrong-Password-1", "", "198.51.100.9")
    with pytest.raises(ResourceExhausted):
        identity.sign_in("zhang@example.cn", PASSWORD, "", "198.51.100.9")
    assert identity.sign_in("zhang@example.cn", PASSWORD, "", "203.0.113.7").access_token


def signed_in(identity, verifier, email):
    s = identity.sign_in(email, PASSWORD, "", "1.2.3.4")
    return verifier.verify(s.access_token)


def test_grant_role_requires_admin_with_substantial_assurance():
    identity, uow, verifier = make_identity()
    alice = register(identity, email="alice@example.cn")
    bob = register(identity, email="bob@example.cn")
    innovator = signed_in(identity, verifier, "alice@example.cn")
    with pytest.raises(PermissionDenied):
        identity.change_role(
            innovator, bob.person_id, domain.Role.INSTITUTION_STAFF, "440000-000001", grant=True
        )
    identity.change_role(
        None, alice.person_id, domain.Role.PROVINCE_ADMIN, "440000", grant=True
    )  # operator
    low_admin = signed_in(identity, verifier, "alice@example.cn")
    with pytest.raises(PermissionDenied, match="assurance"):
        identity.change_role(
            low_admin, bob.person_id, domain.Role.INSTITUTION_STAFF, "440000-000001", grant=True
        )
    operator = Principal(
        subject="op", issuer="440000", roles=frozenset({"national_admin"}), assurance=3
    )
    identity.verify_person(operator, alice.person_id, domain.Assurance.SUBSTANTIAL, "id_check")
    admin = signed_in(identity, verifier, "alice@example.cn")
    assert admin.assurance == kt.ASSURANCE_SUBSTANTIAL
    bob_now = identity.change_role(
        admin, bob.person_id, domain.Role.INSTITUTION_STAFF, "440000-000001", grant=True
    )
    assert {g.claim() for g in bob_now.grants} == {"innovator", "institution_staff:440000-000001"}
    # a province admin cannot grant for another province nor make national admins
    with pytest.raises(InvalidArgument):
        identity.change_role(admin, bob.person_id, domain.Role.PROVINCE_ADMIN, "320000", grant=True)
    with pytest.raises(InvalidArgument):
        identity.change_role(admin, bob.person_id, domain.Role.NATIONAL_ADMIN, "", grant=True)
    identity.change_role(
        admin, bob.person_id, domain.Role.INSTITUTION_STAFF, "440000-000001", grant=False
    )
    changes = uow.sink.named("role_changed")
    assert [(pid, g.claim(), granted) for pid, g, granted, _ in changes] == [
        (alice.person_id, "province_admin:440000", True),
        (bob.person_id, "institution_staff:440000-000001", True),
        (bob.person_id, "institution_staff:440000-000001", False),
    ]
    assert changes[1][3] == alice.person_id  # the actor is recorded


def test_organisations_and_memberships():
    identity, uow, verifier = make_identity()
    alice = register(identity, email="alice@example.cn")
    bob = register(identity, email="bob@example.cn")
    a = signed_in(identity, verifier, "alice@example.cn")
    b = signed_in(identity, verifier, "bob@example.cn")
    org = identity.create_organisation(
        a, domain.NewOrganisation("91440300ma5f000007", "深圳某科技有限公司", 1, "440305")
    )
    assert org.credit_code.isupper()
    with pytest.raises(AlreadyExists):
        identity.create_organisation(
            b, domain.NewOrganisation(org.credit_code, "copy", 1, "440305")
        )
    with pytest.raises(InvalidArgument) as info:
        identity.create_organisation(
            b, domain.NewOrganisation("91440300MA5F000001", "", 9, "320100")
        )
    assert fields_of(info.value) == {"credit_code", "name", "type", "region_code"}
    with pytest.raises(PermissionDenied):
        identity.add_membership(b, org.organisation_id, bob.person_id, domain.MembershipRole.ADMIN)
    identity.add_membership(a, org.organisation_id, bob.person_id, domain.MembershipRole.MEMBER)
    assert identity.get_person(bob.person_id).memberships[0].role == domain.MembershipRole.MEMBER
    b2 = signed_in(identity, verifier, "bob@example.cn")
    assert b2.organisations == ((org.organisation_id, "member"),)
    identity.remove_membership(a, org.organisation_id, bob.person_id)
    with pytest.raises(FailedPrecondition):
        identity.remove_membership(a, org.organisation_id, bob.person_id)
    assert [(m.person_id, added) for m, added, _ in uow.sink.named("membership_changed")] == [
        (alice.person_id, True),
        (bob.person_id, True),
        (bob.person_id, False),
    ]


def test_get_person_privacy():
    identity, _, verifier = make_identity()
    alice = register(identity, email="alice@example.cn")
    bob = register(identity, email="bob@example.cn")
    a = signed_in(identity, verifier, "alice@example.cn")
    assert identity.get_me(a).person_id == alice.person_id
    assert identity.read_person(a, alice.person_id).email == "alice@example.cn"
    with pytest.raises(PermissionDenied):
        identity.read_person(a, bob.person_id)
    with pytest.raises(Unauthenticated):
        identity.get_me(Principal())
    admin = Principal(
        subject="x",
        issuer="440000",
        roles=frozenset({"province_admin"}),
        role_scopes=(("province_admin", "440000"),),
        assurance=2,
    )
    with pytest.raises(NotFound):
        identity.read_person(admin, "440000:missing")


def test_key_rotation_and_retirement():
    identity, uow, verifier = make_identity()
    register(identity)
    old = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4").access_token
    (first,) = [k.kid for k in identity.list_keys()]
    new_kid = identity.rotate_keys()
    jwks = identity.jwks()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid, first]
    assert all("d" not in k for k in jwks["keys"])  # public only
    assert verifier.verify(old).subject  # passive key still verifies
    fresh = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4").access_token
    assert fresh.split(".")[0] != old.split(".")[0]  # signed with the new kid
    with pytest.raises(FailedPrecondition):
        identity.retire_key(new_kid)
    identity.retire_key(first)
    assert [k["kid"] for k in identity.jwks()["keys"]] == [new_kid]
    with pytest.raises(Unauthenticated):
        verifier.verify(old)
    assert verifier.verify(fresh).subject
    changes = [(c, kid) for _, c, kid, _ in uow.sink.named("key_set_changed")]
    assert changes == [("rotated", first), ("rotated", new_kid), ("retired", first)]


def test_private_keys_are_sealed():
    identity, uow, _ = make_identity()
    (key,) = uow.repo.keys.values()
    assert b"PRIVATE KEY" not in key.sealed_private_key
    assert b"PRIVATE KEY" in identity.vault.open(key.sealed_private_key, key.kid)
    with pytest.raises(ValueError, match="cannot be decrypted"):
        identity.vault.open(key.sealed_private_key, "another-kid")


def test_service_accounts_client_credentials():
    identity, _, verifier = make_identity()
    account, secret = identity.create_service_account("catalog-sync", ["catalog.read", "data.read"])
    assert account.secret_hash != secret
    session = identity.issue_service_token("catalog-sync", secret, ["data.read"], "", "10.0.0.1")
    p = verifier.verify(session.access_token)
    assert p.subject == "440000:svc:catalog-sync"
    assert p.roles == {"node_service"}
    assert p.scopes == {"data.read"}
    assert session.refresh_token == ""
    with pytest.raises(Unauthenticated):
        identity.issue_service_token("catalog-sync", "pcs_wrong", [], "", "10.0.0.1")
    with pytest.raises(Unauthenticated):
        identity.issue_service_token("nobody", secret, [], "", "10.0.0.1")
    with pytest.raises(PermissionDenied):
        identity.issue_service_token("catalog-sync", secret, ["admin"], "", "10.0.0.1")


def test_revoke_token_by_jti():
    identity, _, verifier = make_identity()
    register(identity)
    s = identity.sign_in("zhang@example.cn", PASSWORD, "", "1.2.3.4")
    p = verifier.verify(s.access_token)
    with pytest.raises(PermissionDenied):
        identity.revoke_token(p, "someone-elses-jti")
    identity.revoke_token(p, p.token_id)  # one's own token
    with pytest.raises(Unauthenticated):
        verifier.verify(s.access_token)


def test_client_network_truncates_addresses():
    assert domain.client_network("203.0.113.77") == "203.0.113.0/24"
    assert domain.client_network("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert domain.client_network("unix:") == ""


def test_session_repr_hides_tokens():
    s = domain.Session("access.jwt.value", 900, "prt_secret")
    assert "access.jwt.value" not in repr(s)
    assert "prt_secret" not in repr(s)
    assert "password" not in [f.name for f in dataclasses.fields(domain.NewPerson) if f.repr]


def test_ipv6_clients_are_throttled_per_64():
    policy = domain.ThrottlePolicy(address_ceiling=2)
    identity, _, _ = make_identity(policy=policy)
    register(identity)
    for n, host in enumerate(("2001:db8:1:2::a", "2001:db8:1:2::b")):
        with pytest.raises(Unauthenticated):
            identity.sign_in(f"other{n}@example.cn", "Wrong-Password-1", "", host)
    with pytest.raises(ResourceExhausted):
        identity.sign_in("zhang@example.cn", PASSWORD, "", "2001:db8:1:2::c")
    assert identity.sign_in("zhang@example.cn", PASSWORD, "", "2001:db8:1:3::c").access_token
    assert domain.throttle_address("203.0.113.7") == "203.0.113.7"


SERVED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def staff_principal(institution: str, assurance: int = kt.ASSURANCE_SUBSTANTIAL) -> Principal:
    return Principal(
        subject=f"440000:staff-of-{institution}",
        issuer="440000",
        roles=frozenset({"institution_staff"}),
        role_scopes=(("institution_staff", institution),),
        assurance=assurance,
    )


def test_staff_read_only_persons_their_institution_served_and_only_the_staff_view():
    identity, uow, _ = make_identity()
    zhang = register(identity, mobile="13800138000", id_number=ID_NUMBER)
    ours, theirs = staff_principal("440000-000001"), staff_principal("440000-000002")
    for staff in (ours, theirs):  # not served: the person does not exist for them
        with pytest.raises(NotFound):
            identity.read_person(staff, zhang.person_id)
    uow.repo.add_served(zhang.person_id, "440000-000001", SERVED_AT)
    seen = identity.read_person(ours, zhang.person_id)
    assert (seen.person_id, seen.display_name) == (zhang.person_id, "张三")
    assert seen.id_number_masked == "4403**********1234"
    assert (seen.email, seen.mobile, seen.grants, seen.memberships) == ("", "", (), ())
    with pytest.raises(NotFound):
        identity.read_person(theirs, zhang.person_id)
    admin = Principal(
        subject="440000:admin",
        issuer="440000",
        roles=frozenset({"province_admin"}),
        role_scopes=(("province_admin", "440000"),),
    )
    assert identity.read_person(admin, zhang.person_id).mobile == "13800138000"
    assert identity.read_person(themself(zhang), zhang.person_id).email == "zhang@example.cn"


def themself(person):
    return Principal(subject=person.person_id, issuer="440000", roles=frozenset({"innovator"}))


def test_staff_verify_only_persons_their_institution_served():
    identity, uow, _ = make_identity()
    zhang = register(identity, mobile="13800138000")
    ours, theirs = staff_principal("440000-000001"), staff_principal("440000-000002")
    uow.repo.add_served(zhang.person_id, "440000-000001", SERVED_AT)
    with pytest.raises(NotFound):
        identity.verify_person(theirs, zhang.person_id, domain.Assurance.SUBSTANTIAL, "id_check")
    assert identity.get_person(zhang.person_id).assurance == domain.Assurance.LOW
    verified = identity.verify_person(
        ours, zhang.person_id, domain.Assurance.SUBSTANTIAL, "id_check"
    )
    assert verified.assurance == domain.Assurance.SUBSTANTIAL
    assert verified.mobile == ""  # the staff view
    with pytest.raises(PermissionDenied):  # HIGH is for admins only
        identity.verify_person(ours, zhang.person_id, domain.Assurance.HIGH, "id_check")
