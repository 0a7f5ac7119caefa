"""In-memory fakes of identity's own adapters (repository, events, unit of work).

The fake repository is held to the same contract as the SQL one by
`tests/contract_repository.py` (run against both).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from puhui.identity import crypto, domain
from puhui.kit import tokens
from puhui.kit.errors import AlreadyExists
from puhui.kit.pagination import Page


class FakeRepository:
    def __init__(self) -> None:
        self.persons: dict[str, domain.Person] = {}
        self.id_cipher: dict[str, bytes | None] = {}
        self.id_lookup: dict[str, str | None] = {}
        self.grants: dict[tuple[str, domain.Grant], str] = {}
        self.organisations: dict[str, domain.Organisation] = {}
        self.memberships: dict[tuple[str, str], domain.Membership] = {}
        self.keys: dict[str, domain.SigningKey] = {}
        self.families: dict[str, domain.RefreshFamily] = {}
        self.refresh: dict[str, domain.RefreshRecord] = {}
        self.accounts: dict[str, domain.ServiceAccount] = {}
        self.served: dict[tuple[str, str], datetime] = {}

    def served_by(self, person_id: str, institution_ids: Sequence[str]) -> bool:
        return any((person_id, i) in self.served for i in institution_ids)

    def add_served(self, person_id: str, institution_id: str, now: datetime) -> bool:
        if (person_id, institution_id) in self.served:
            return False
        self.served[person_id, institution_id] = now
        return True

    def person_clashes(self, email: str, mobile: str, id_lookup: str) -> list[str]:
        out = []
        if email and any(p.email == email for p in self.persons.values()):
            out.append("email")
        if mobile and any(p.mobile == mobile for p in self.persons.values()):
            out.append("mobile")
        if id_lookup and id_lookup in self.id_lookup.values():
            out.append("id_number")
        return out

    def add_person(
        self, person: domain.Person, id_cipher: bytes | None, id_lookup: str | None
    ) -> None:
        if self.person_clashes(person.email, person.mobile, id_lookup or ""):
            raise AlreadyExists("duplicate")
        self.persons[person.person_id] = replace(person, grants=(), memberships=())
        self.id_cipher[person.person_id] = id_cipher
        self.id_lookup[person.person_id] = id_lookup

    def get_person(self, person_id: str) -> domain.Person | None:
        p = self.persons.get(person_id)
        if p is None:
            return None
        grants = tuple(
            sorted(
                (g for (pid, g) in self.grants if pid == person_id), key=lambda g: (g.role, g.scope)
            )
        )
        members = tuple(
            sorted(
                (m for (pid, _), m in self.memberships.items() if pid == person_id),
                key=lambda m: m.organisation_id,
            )
        )
        return replace(p, grants=grants, memberships=members)

    def person_by_login(self, login: str) -> domain.Person | None:
        for p in self.persons.values():
            if login and login in (p.email, p.mobile):
                return self.get_person(p.person_id)
        return None

    def set_password_hash(self, person_id: str, password_hash: str) -> None:
        self.persons[person_id] = replace(self.persons[person_id], password_hash=password_hash)

    def set_assurance(self, person_id: str, level: domain.Assurance) -> None:
        self.persons[person_id] = replace(self.persons[person_id], assurance=level)

    def add_grant(self, person_id: str, grant: domain.Grant, actor: str, now: datetime) -> bool:
        if (person_id, grant) in self.grants:
            return False
        self.grants[(person_id, grant)] = actor
        return True

    def remove_grant(self, person_id: str, grant: domain.Grant) -> bool:
        return self.grants.pop((person_id, grant), None) is not None

    def add_organisation(self, organisation: domain.Organisation) -> None:
        if self.organisation_by_code(organisation.credit_code):
            raise AlreadyExists("duplicate")
        self.organisations[organisation.organisation_id] = organisation

    def get_organisation(self, organisation_id: str) -> domain.Organisation | None:
        return self.organisations.get(organisation_id)

    def organisation_by_code(self, credit_code: str) -> domain.Organisation | None:
        return next((o for o in self.organisations.values() if o.credit_code == credit_code), None)

    def list_organisations(
        self, query: domain.OrganisationQuery, page: Page
    ) -> tuple[list[domain.Organisation], int]:
        code = query.region_code
        prefix = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
        rows = sorted(
            (
                o
                for o in self.organisations.values()
                if (not query.type or o.type == query.type) and o.region_code.startswith(prefix)
            ),
            key=lambda o: (o.name, o.organisation_id),
        )
        total = len(rows)
        if page.after:
            rows = [o for o in rows if f"{o.name}\x00{o.organisation_id}" > page.after]
        return rows[: page.size], total

    def membership(self, person_id: str, organisation_id: str) -> domain.Membership | None:
        return self.memberships.get((person_id, organisation_id))

    def put_membership(self, membership: domain.Membership) -> None:
        self.memberships[(membership.person_id, membership.organisation_id)] = membership

    def remove_membership(self, person_id: str, organisation_id: str) -> bool:
        return self.memberships.pop((person_id, organisation_id), None) is not None

    def signing_keys(self) -> list[domain.SigningKey]:
        return sorted(self.keys.values(), key=lambda k: k.created_at)

    def add_signing_key(self, key: domain.SigningKey) -> None:
        self.keys[key.kid] = key

    def set_key_status(self, kid: str, status: domain.KeyStatus, now: datetime) -> None:
        retired = now if status == domain.KeyStatus.RETIRED else None
        self.keys[kid] = replace(self.keys[kid], status=status, retired_at=retired)

    def add_family(self, family: domain.RefreshFamily) -> None:
        self.families[family.family_id] = family

    def family(self, family_id: str) -> domain.RefreshFamily | None:
        return self.families.get(family_id)

    def save_family(self, family: domain.RefreshFamily) -> None:
        self.families[family.family_id] = family

    def add_refresh(self, record: domain.RefreshRecord) -> None:
        self.refresh[record.token_hash] = record

    def refresh_for_update(self, token_hash: str) -> domain.RefreshRecord | None:
        return self.refresh.get(token_hash)

    def mark_refresh_used(self, token_hash: str, now: datetime) -> None:
        self.refresh[token_hash] = replace(self.refresh[token_hash], used_at=now)

    def add_service_account(self, account: domain.ServiceAccount) -> None:
        self.accounts[account.client_id] = account

    def service_account(self, client_id: str) -> domain.ServiceAccount | None:
        return self.accounts.get(client_id)


class FakeEvents:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def person_registered(self, person: domain.Person) -> None:
        self.events.append(("person_registered", person.person_id))

    def person_verified(self, person: domain.Person, method: str, actor: str) -> None:
        self.events.append(
            ("person_verified", (person.person_id, int(person.assurance), method, actor))
        )

    def sign_in_attempted(
        self, person_id: str, result: domain.SignInResult, client_network: str
    ) -> None:
        self.events.append(("sign_in_attempted", (person_id, result, client_network)))

    def role_changed(self, person_id: str, grant: domain.Grant, granted: bool, actor: str) -> None:
        self.events.append(("role_changed", (person_id, grant, granted, actor)))

    def membership_changed(self, membership: domain.Membership, added: bool, actor: str) -> None:
        self.events.append(("membership_changed", (membership, added, actor)))

    def key_set_changed(self, issuer: str, jwks: dict[str, Any], change: str, kid: str) -> None:
        self.events.append(("key_set_changed", (issuer, change, kid, jwks)))

    def named(self, name: str) -> list[Any]:
        return [payload for n, payload in self.events if n == name]


class FakeUnitOfWork:
    """Transactions over the fake: changes are kept only when the block succeeds."""

    def __init__(self) -> None:
        self.repo = FakeRepository()
        self.sink = FakeEvents()

    @contextmanager
    def __call__(self) -> Iterator[tuple[FakeRepository, FakeEvents]]:
        saved_repo = copy.deepcopy(self.repo.__dict__)
        saved_events = list(self.sink.events)
        try:
            yield self.repo, self.sink
        except BaseException:
            self.repo.__dict__.update(saved_repo)
            self.sink.events[:] = saved_events
            raise


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


FAST_ARGON2 = crypto.Argon2Parameters(time_cost=1, memory_kib=1024, parallelism=1)
TEST_KEY = b"k" * 32


def make_identity(
    node: str = "440000",
    clock: Clock | None = None,
    policy: domain.ThrottlePolicy | None = None,
    **settings: Any,
):  # type: ignore[no-untyped-def]
    from puhui.identity.adapters.revocations import NodeRevocations
    from puhui.identity.adapters.throttle import MemoryThrottle

    clock = clock or Clock()
    uow = FakeUnitOfWork()
    revocations = tokens.MemoryRevocationStore(clock)
    identity = domain.Identity(
        node,
        uow,
        passwords=crypto.Passwords(FAST_ARGON2),
        id_numbers=crypto.IdNumberProtector(TEST_KEY),
        vault=crypto.KeyVault(TEST_KEY),
        throttle=MemoryThrottle(policy or domain.ThrottlePolicy(), clock),
        revocations=NodeRevocations(node, lambda: revocations),
        settings=domain.TokenSettings(**settings),
        clock=clock,
    )
    identity.ensure_signing_key()
    key_sets = tokens.KeySets(
        lambda issuer: identity.jwks() if issuer == node else None,
        ttl_seconds=0,
        unknown_kid_retry_seconds=0,
    )
    verifier = tokens.JwtVerifier(
        key_sets, audience="puhui", revocation_store=revocations, clock=clock
    )
    return identity, uow, verifier
