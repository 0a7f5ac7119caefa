"""Sessions and tokens: sign-in, refresh rotation, sign-out, revocation, service accounts."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from puhui.identity import crypto, metrics, validation
from puhui.identity.domain.core import _utc
from puhui.identity.domain.keys import KeyUseCases
from puhui.identity.domain.model import (
    Person,
    RefreshFamily,
    RefreshRecord,
    ServiceAccount,
    Session,
    SignInResult,
)
from puhui.identity.domain.ports import Repository
from puhui.identity.domain.throttling import client_network, throttle_address
from puhui.identity.errors import (
    AlreadyExists,
    BadCredentials,
    PermissionDenied,
    SignInThrottled,
    Unauthenticated,
)
from puhui.kit import tokens as kt
from puhui.kit.auth import Principal
from puhui.kit.errors import Violations
from puhui.kit.ids import new_id
from puhui.kit.times import aware

logger = logging.getLogger(__name__)


class SessionUseCases(KeyUseCases):
    """Sessions and tokens: sign-in, refresh, sign-out, revocation, service accounts."""

    # -- sign-in --------------------------------------------------------------------------
    def _check_audience(self, audience: str, v: Violations, path: str = "audience") -> str:
        audience = audience.strip() or self.settings.audiences[0]
        v.check(
            audience in self.settings.audiences,
            path,
            f"must be one of {', '.join(self.settings.audiences)}",
        )
        return audience

    def sign_in(self, login: str, password: str, audience: str, address: str) -> Session:
        v = Violations()
        v.require(login.strip(), "login")
        v.check(len(login) <= 254, "login", "at most 254 characters")
        v.require(password, "password")
        v.check(len(password) <= validation.MAX_PASSWORD, "password", "too long")
        audience = self._check_audience(audience, v)
        v.raise_if_any()
        account = validation.normalise_login(login)
        network = client_network(address)
        verdict = self.throttle.check(account, throttle_address(address))
        if not verdict.allowed:
            with self.uow() as (repo, events):
                found = repo.person_by_login(account)
                events.sign_in_attempted(found.person_id if found else "", verdict.result, network)
            raise SignInThrottled(
                "too many failed sign-ins; try again later",
                retry_after_seconds=round(verdict.retry_after, 1),
            )
        with self.uow() as (repo, _):
            person = repo.person_by_login(account)
        ok = self.passwords.verify(person.password_hash if person else None, password)
        if not ok or person is None:
            self.throttle.failed(account, throttle_address(address))
            with self.uow() as (_, events):
                events.sign_in_attempted(
                    person.person_id if person else "", SignInResult.BAD_CREDENTIALS, network
                )
            raise BadCredentials()
        self.throttle.succeeded(account, throttle_address(address))
        new_hash = (
            self.passwords.hash(password)
            if self.passwords.needs_rehash(person.password_hash)
            else ""
        )
        now = self.clock()
        signer = self._active_signer()  # outside the transaction: it may read the key table
        with self.uow() as (repo, events):
            if new_hash:
                repo.set_password_hash(person.person_id, new_hash)
            family = RefreshFamily(
                family_id=new_id(),
                person_id=person.person_id,
                audience=audience,
                expires_at=_utc(now + self.settings.refresh_ttl),
            )
            session = self._issue(repo, person, family, now, signer, new_family=True)
            events.sign_in_attempted(person.person_id, SignInResult.SUCCESS, network)
        return session

    def _issue(
        self,
        repo: Repository,
        person: Person,
        family: RefreshFamily,
        now: float,
        signer: tuple[str, Any],
        *,
        new_family: bool,
    ) -> Session:
        refresh = crypto.new_opaque_token("prt")
        jti = new_id()
        exp = now + self.settings.access_ttl
        access = self.sign(
            {
                "iss": self.node,
                "sub": person.person_id,
                "aud": family.audience,
                "iat": int(now),
                "nbf": int(now),
                "exp": int(exp),
                "jti": jti,
                "sid": family.family_id,
                "acr": kt.ACR_BY_LEVEL[int(person.assurance)],
                "roles": sorted(g.claim() for g in person.grants),
                "orgs": [[m.organisation_id, m.role.claim_name] for m in person.memberships],
            },
            signer,
        )
        family = replace(family, last_jti=jti, last_jti_expires_at=_utc(exp))
        if new_family:
            repo.add_family(family)
        else:
            repo.save_family(family)
        repo.add_refresh(RefreshRecord(crypto.opaque_hash(refresh), family.family_id, _utc(now)))
        return Session(access, self.settings.access_ttl, refresh, person)

    def refresh(self, refresh_token: str) -> Session:
        v = Violations()
        v.require(refresh_token, "refresh_token")
        v.check(len(refresh_token) <= 200, "refresh_token", "too long")
        v.raise_if_any()
        now = self.clock()
        reused = False
        signer = self._active_signer()  # outside the transaction: it may read the key table
        with self.uow() as (repo, _):
            record = repo.refresh_for_update(crypto.opaque_hash(refresh_token))
            family = repo.family(record.family_id) if record else None
            if record is None or family is None or family.revoked_at is not None:
                raise Unauthenticated("refresh token is invalid or revoked")
            if aware(family.expires_at).timestamp() <= now:
                raise Unauthenticated("refresh token has expired; sign in again")
            person = repo.get_person(family.person_id)
            if person is None:
                raise Unauthenticated("refresh token is invalid or revoked")
            if record.used_at is not None:
                metrics.REFRESHES.labels(node=self.node, outcome="reused").inc()
                # Reuse of a rotated token: someone holds a copy. Kill the whole family.
                self._revoke_family(repo, family, now)
                reused = True
            else:
                metrics.REFRESHES.labels(node=self.node, outcome="rotated").inc()
                repo.mark_refresh_used(record.token_hash, _utc(now))
                session = self._issue(repo, person, family, now, signer, new_family=False)
        if reused:
            logger.warning(
                "refresh token reuse detected; family of person %s revoked", family.person_id
            )
            raise Unauthenticated(
                "refresh token was already used; all sessions of this sign-in are revoked"
            )
        return session

    def _revoke_family(self, repo: Repository, family: RefreshFamily, now: float) -> None:
        repo.save_family(replace(family, revoked_at=_utc(now)))
        if family.last_jti and family.last_jti_expires_at is not None:
            self.revocations.revoke(
                family.last_jti,
                aware(family.last_jti_expires_at).timestamp() + self.settings.leeway,
            )

    def sign_out(self, principal: Principal, refresh_token: str) -> None:
        if principal.is_anonymous and not refresh_token:
            raise Unauthenticated("sign in first, or present the refresh token")
        now = self.clock()
        # The refresh token is checked first: a bad one changes nothing, the caller's
        # access token included (it is revoked last, once everything else held).
        if refresh_token:
            with self.uow() as (repo, _):
                record = repo.refresh_for_update(crypto.opaque_hash(refresh_token))
                family = repo.family(record.family_id) if record else None
                if family is None:
                    raise Unauthenticated("refresh token is invalid")
                if not principal.is_anonymous and principal.subject != family.person_id:
                    raise PermissionDenied("that refresh token belongs to another person")
                if family.revoked_at is None:
                    self._revoke_family(repo, family, now)
        if not principal.is_anonymous and principal.token_id:
            self.revocations.revoke(
                principal.token_id,
                (principal.expires_at or now + self.settings.access_ttl) + self.settings.leeway,
            )

    def revoke_token(self, principal: Principal, jti: str) -> None:
        v = Violations()
        v.require(jti.strip(), "jti")
        v.check(len(jti) <= 100, "jti", "too long")
        v.raise_if_any()
        if jti != principal.token_id:
            kt.authorize(
                principal,
                roles=[kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN],
                scope_node=self.node,
            )
        # Any token with this jti dies by now + the longest access lifetime.
        self.revocations.revoke(
            jti,
            self.clock()
            + max(self.settings.access_ttl, self.settings.service_ttl)
            + self.settings.leeway,
        )

    # -- service accounts -----------------------------------------------------------------
    def create_service_account(
        self, client_id: str, scopes: Sequence[str]
    ) -> tuple[ServiceAccount, str]:
        v = Violations()
        v.check(
            bool(client_id)
            and client_id.replace("-", "").replace("_", "").isalnum()
            and len(client_id) <= 64,
            "client_id",
            "1-64 letters, digits, '-' or '_'",
        )
        v.raise_if_any()
        secret = crypto.new_opaque_token("pcs")
        account = ServiceAccount(
            client_id, crypto.opaque_hash(secret), self.node, tuple(sorted(set(scopes))), self.now()
        )
        with self.uow() as (repo, _):
            if repo.service_account(client_id) is not None:
                raise AlreadyExists(f"service account {client_id!r} already exists")
            repo.add_service_account(account)
        metrics.REGISTRATIONS.labels(node=self.node, kind="service_account").inc()
        return account, secret

    def issue_service_token(
        self, client_id: str, secret: str, scopes: Sequence[str], audience: str, address: str
    ) -> Session:
        v = Violations()
        v.require(client_id, "client_id")
        v.require(secret, "client_secret")
        v.check(len(client_id) <= 64, "client_id", "at most 64 characters")
        audience = self._check_audience(audience, v)
        v.raise_if_any()
        account_key = f"svc:{client_id}"
        verdict = self.throttle.check(account_key, throttle_address(address))
        if not verdict.allowed:
            raise SignInThrottled(
                "too many failed attempts; try again later",
                retry_after_seconds=round(verdict.retry_after, 1),
            )
        with self.uow() as (repo, _):
            account = repo.service_account(client_id)
        expected = account.secret_hash if account else crypto.opaque_hash("-")
        if not crypto.same_secret(expected, crypto.opaque_hash(secret)) or account is None:
            self.throttle.failed(account_key, throttle_address(address))
            raise BadCredentials()
        wanted = tuple(scopes) or account.scopes
        extra = sorted(set(wanted) - set(account.scopes))
        if extra:
            raise PermissionDenied(f"scopes not granted to this client: {' '.join(extra)}")
        self.throttle.succeeded(account_key, throttle_address(address))
        now = self.clock()
        token = self.sign(
            {
                "iss": self.node,
                "sub": f"{self.node}:svc:{client_id}",
                "aud": audience,
                "iat": int(now),
                "nbf": int(now),
                "exp": int(now + self.settings.service_ttl),
                "jti": new_id(),
                "client_id": client_id,
                "roles": [f"{kt.ROLE_NODE_SERVICE}:{self.node}"],
                "scope": " ".join(sorted(set(wanted))),
            }
        )
        return Session(token, self.settings.service_ttl, "", None)
