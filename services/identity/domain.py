"""Identity domain: persons, organisations, roles, sessions, signing keys. No proto, no SQL.

`Identity` holds the use cases. Storage and events come from a unit of work
(`UnitOfWork`: a context manager yielding a `Repository` and an `EventSink` bound to one
transaction); throttling and revocation are injected too.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from puhui.identity import crypto, metrics, validation
from puhui.identity.errors import (
    AlreadyExists,
    BadCredentials,
    FailedPrecondition,
    InvalidArgument,
    OrganisationNotFound,
    PermissionDenied,
    PersonNotFound,
    SignInThrottled,
    Unauthenticated,
)
from puhui.kit import tokens as kt
from puhui.kit.auth import Principal
from puhui.kit.config import HUB_NODE_ID
from puhui.kit.errors import Violations
from puhui.kit.ids import new_id
from puhui.kit.pagination import Page
from puhui.kit.times import aware
from puhui.refdata import divisions

logger = logging.getLogger(__name__)

MAX_NAME = 100
MAX_ORG_NAME = 200


class Assurance(enum.IntEnum):
    LOW = kt.ASSURANCE_LOW
    SUBSTANTIAL = kt.ASSURANCE_SUBSTANTIAL
    HIGH = kt.ASSURANCE_HIGH


class Role(enum.IntEnum):
    INNOVATOR = 1
    INSTITUTION_STAFF = 2
    PROVINCE_ADMIN = 3
    NATIONAL_ADMIN = 4
    NODE_SERVICE = 5

    @property
    def claim_name(self) -> str:
        return ROLE_CLAIMS[self]


ROLE_CLAIMS = {
    Role.INNOVATOR: kt.ROLE_INNOVATOR,
    Role.INSTITUTION_STAFF: kt.ROLE_INSTITUTION_STAFF,
    Role.PROVINCE_ADMIN: kt.ROLE_PROVINCE_ADMIN,
    Role.NATIONAL_ADMIN: kt.ROLE_NATIONAL_ADMIN,
    Role.NODE_SERVICE: kt.ROLE_NODE_SERVICE,
}


class OrganisationType(enum.IntEnum):
    ENTERPRISE = 1
    UNIVERSITY = 2
    RESEARCH_INSTITUTE = 3
    SERVICE_INSTITUTION = 4
    GOVERNMENT_OFFICE = 5


class MembershipRole(enum.IntEnum):
    MEMBER = 1
    ADMIN = 2

    @property
    def claim_name(self) -> str:
        return kt.ORG_ADMIN if self is MembershipRole.ADMIN else kt.ORG_MEMBER


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"  # signs new tokens, listed in the JWKS
    PASSIVE = "passive"  # no longer signs; still listed, so its tokens verify until they expire
    RETIRED = "retired"  # removed from the JWKS: its tokens no longer verify


class SignInResult(enum.IntEnum):
    SUCCESS = 1
    BAD_CREDENTIALS = 2
    THROTTLED = 3
    LOCKED = 4


@dataclass(frozen=True)
class Grant:
    role: Role
    scope: str = ""

    def claim(self) -> str:
        return f"{self.role.claim_name}:{self.scope}" if self.scope else self.role.claim_name


@dataclass(frozen=True)
class Membership:
    person_id: str
    organisation_id: str
    role: MembershipRole


@dataclass(frozen=True)
class Person:
    person_id: str
    home_node: str
    display_name: str
    email: str
    mobile: str
    id_number_masked: str
    assurance: Assurance
    password_hash: str = field(repr=False)
    created_at: datetime
    grants: tuple[Grant, ...] = ()
    memberships: tuple[Membership, ...] = ()


@dataclass(frozen=True)
class Organisation:
    organisation_id: str
    credit_code: str
    name: str
    type: OrganisationType
    region_code: str
    home_node: str
    created_at: datetime


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_jwk: dict[str, Any]
    sealed_private_key: bytes = field(repr=False)
    status: KeyStatus
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True)
class RefreshFamily:
    family_id: str
    person_id: str
    audience: str
    expires_at: datetime
    revoked_at: datetime | None = None
    last_jti: str = ""
    last_jti_expires_at: datetime | None = None


@dataclass(frozen=True)
class RefreshRecord:
    token_hash: str
    family_id: str
    created_at: datetime
    used_at: datetime | None = None


@dataclass(frozen=True)
class ServiceAccount:
    client_id: str
    secret_hash: str = field(repr=False)
    node: str
    scopes: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class NewPerson:
    display_name: str
    email: str = ""
    mobile: str = ""
    password: str = field(default="", repr=False)
    id_number: str = field(default="", repr=False)


@dataclass(frozen=True)
class NewOrganisation:
    credit_code: str
    name: str
    type: int
    region_code: str


@dataclass(frozen=True)
class Session:
    access_token: str = field(repr=False)
    expires_in_seconds: int
    refresh_token: str = field(repr=False)
    person: Person | None = None


@dataclass(frozen=True)
class OrganisationQuery:
    type: int = 0
    region_code: str = ""

    def filters(self) -> dict[str, object]:
        return {"type": self.type, "region": self.region_code}


# -- ports --------------------------------------------------------------------------------------
def staff_view(person: Person) -> Person:
    """What institution staff see of a person they served: who it is (name, masked ID
    number, assurance level), not how to reach them nor their roles and memberships."""
    return replace(person, email="", mobile="", grants=(), memberships=())


class Repository(Protocol):
    def person_clashes(self, email: str, mobile: str, id_lookup: str) -> list[str]: ...
    def add_person(
        self, person: Person, id_cipher: bytes | None, id_lookup: str | None
    ) -> None: ...
    def get_person(self, person_id: str) -> Person | None: ...
    def person_by_login(self, login: str) -> Person | None: ...
    def set_password_hash(self, person_id: str, password_hash: str) -> None: ...
    def set_assurance(self, person_id: str, level: Assurance) -> None: ...
    def add_grant(self, person_id: str, grant: Grant, actor: str, now: datetime) -> bool: ...
    def remove_grant(self, person_id: str, grant: Grant) -> bool: ...
    # The served-persons read model (fed by feedback's ServiceCaseRecorded events).
    def served_by(self, person_id: str, institution_ids: Sequence[str]) -> bool: ...
    def add_served(self, person_id: str, institution_id: str, now: datetime) -> bool: ...

    def add_organisation(self, organisation: Organisation) -> None: ...
    def get_organisation(self, organisation_id: str) -> Organisation | None: ...
    def organisation_by_code(self, credit_code: str) -> Organisation | None: ...
    def list_organisations(
        self, query: OrganisationQuery, page: Page
    ) -> tuple[list[Organisation], int]: ...
    def membership(self, person_id: str, organisation_id: str) -> Membership | None: ...
    def put_membership(self, membership: Membership) -> None: ...
    def remove_membership(self, person_id: str, organisation_id: str) -> bool: ...

    def signing_keys(self) -> list[SigningKey]: ...
    def add_signing_key(self, key: SigningKey) -> None: ...
    def set_key_status(self, kid: str, status: KeyStatus, now: datetime) -> None: ...

    def add_family(self, family: RefreshFamily) -> None: ...
    def family(self, family_id: str) -> RefreshFamily | None: ...
    def save_family(self, family: RefreshFamily) -> None: ...
    def add_refresh(self, record: RefreshRecord) -> None: ...
    def refresh_for_update(self, token_hash: str) -> RefreshRecord | None: ...
    def mark_refresh_used(self, token_hash: str, now: datetime) -> None: ...

    def add_service_account(self, account: ServiceAccount) -> None: ...
    def service_account(self, client_id: str) -> ServiceAccount | None: ...


class EventSink(Protocol):
    def person_registered(self, person: Person) -> None: ...
    def person_verified(self, person: Person, method: str, actor: str) -> None: ...
    def sign_in_attempted(
        self, person_id: str, result: SignInResult, client_network: str
    ) -> None: ...
    def role_changed(self, person_id: str, grant: Grant, granted: bool, actor: str) -> None: ...
    def membership_changed(self, membership: Membership, added: bool, actor: str) -> None: ...
    def key_set_changed(self, issuer: str, jwks: dict[str, Any], change: str, kid: str) -> None: ...


UnitOfWork = Callable[[], AbstractContextManager[tuple[Repository, EventSink]]]


# -- throttling -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThrottlePolicy:
    """Growing delays then a temporary lockout per (account, address); a ceiling per address.

    Nothing is counted per account alone, so failures from another address can never lock
    the real user out: an attacker only slows and locks out their own (account, address)
    pairs and, past the ceiling, their own address.
    """

    free_failures: int = 3
    base_delay: float = 1.0
    max_delay: float = 60.0
    lockout_failures: int = 10
    lockout_seconds: float = 900.0
    address_ceiling: int = 100
    window_seconds: float = 900.0

    def after_failure(self, state: PairState, now: float) -> PairState:
        failures = state.failures + 1 if now - state.first_failure_at < self.window_seconds else 1
        first = state.first_failure_at if failures > 1 else now
        next_allowed = 0.0
        locked_until = 0.0
        if failures >= self.lockout_failures:
            locked_until = now + self.lockout_seconds
        elif failures > self.free_failures:
            next_allowed = now + min(
                self.base_delay * 2 ** (failures - self.free_failures - 1), self.max_delay
            )
        return PairState(failures, first, next_allowed, locked_until)

    def verdict(
        self, state: PairState, address_failures: int, address_retry: float, now: float
    ) -> Verdict:
        if state.locked_until > now:
            return Verdict(SignInResult.LOCKED, state.locked_until - now)
        if address_failures >= self.address_ceiling:
            return Verdict(SignInResult.LOCKED, max(address_retry, 1.0))
        if state.next_allowed_at > now:
            return Verdict(SignInResult.THROTTLED, state.next_allowed_at - now)
        return Verdict(SignInResult.SUCCESS, 0.0)


@dataclass(frozen=True)
class PairState:
    failures: int = 0
    first_failure_at: float = 0.0
    next_allowed_at: float = 0.0
    locked_until: float = 0.0


@dataclass(frozen=True)
class Verdict:
    result: SignInResult  # SUCCESS = may try
    retry_after: float

    @property
    def allowed(self) -> bool:
        return self.result is SignInResult.SUCCESS


class SignInThrottle(Protocol):
    def check(self, account: str, address: str) -> Verdict: ...
    def failed(self, account: str, address: str) -> None: ...
    def succeeded(self, account: str, address: str) -> None: ...


def client_network(address: str) -> str:
    """The client's network for audit events: /24 (IPv4) or /48 (IPv6); never the full address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def throttle_address(address: str) -> str:
    """What the throttle counts per: the IPv4 address, or the IPv6 /64 (one subscriber's
    prefix, so rotating through its 2^64 addresses does not escape the ceiling)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# -- use cases ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenSettings:
    access_ttl: int = 900
    refresh_ttl: int = 30 * 24 * 3600
    service_ttl: int = 300
    leeway: int = 30
    audiences: tuple[str, ...] = ("puhui",)
    key_cache_seconds: float = 10.0


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class Identity:
    def __init__(
        self,
        node: str,
        uow: UnitOfWork,
        *,
        passwords: crypto.Passwords,
        id_numbers: crypto.IdNumberProtector,
        vault: crypto.KeyVault,
        throttle: SignInThrottle,
        revocations: kt.RevocationStore,
        settings: TokenSettings = TokenSettings(),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.node = node
        self.uow = uow
        self.passwords = passwords
        self.id_numbers = id_numbers
        self.vault = vault
        self.throttle = throttle
        self.revocations = revocations
        self.settings = settings
        self.clock = clock
        self._signer: tuple[str, Any, float] | None = None
        self._signer_lock = threading.Lock()
        # The published key set and when it was read: GetJwks is called by every verifier
        # of the network, so it is served from memory for key_cache_seconds (a rotation in
        # this process clears it at once; one run elsewhere shows within that bound).
        self._jwks: tuple[dict[str, Any], str, float] | None = None

    def now(self) -> datetime:
        return _utc(self.clock())

    # -- registration ---------------------------------------------------------------------
    def validate_new_person(self, new: NewPerson) -> NewPerson:
        v = Violations()
        name = new.display_name.strip()
        v.require(name, "display_name")
        v.check(len(name) <= MAX_NAME, "display_name", f"at most {MAX_NAME} characters")
        email = validation.normalise_email(new.email) if new.email.strip() else ""
        mobile = validation.normalise_mobile(new.mobile) if new.mobile.strip() else ""
        if not email and not mobile:
            v.add("email", "an e-mail address or a mobile number is required")
        if email:
            v.check(validation.is_valid_email(email), "email", "is not an e-mail address")
        if mobile:
            v.check(
                validation.is_valid_mobile(mobile),
                "mobile",
                "is not a mainland mobile number (11 digits, 1[3-9]…)",
            )
        if v.require(new.password, "password"):
            for problem in validation.password_problems(new.password, (email, mobile)):
                v.add("password", problem)
        id_number = validation.normalise_id_number(new.id_number) if new.id_number.strip() else ""
        if id_number:
            v.check(
                validation.is_valid_id_number(id_number),
                "id_number",
                "is not a valid resident identity number (GB 11643: format, birth date, check)",
            )
        v.raise_if_any()
        return replace(new, display_name=name, email=email, mobile=mobile, id_number=id_number)

    def register_person(self, new: NewPerson) -> Person:
        new = self.validate_new_person(new)
        password_hash = self.passwords.hash(new.password)  # before the transaction: slow
        person_id = f"{self.node}:{new_id()}"
        lookup = self.id_numbers.lookup_hash(new.id_number) if new.id_number else ""
        cipher = self.id_numbers.encrypt(new.id_number, person_id) if new.id_number else None
        person = Person(
            person_id=person_id,
            home_node=self.node,
            display_name=new.display_name,
            email=new.email,
            mobile=new.mobile,
            id_number_masked=validation.mask_id_number(new.id_number) if new.id_number else "",
            assurance=Assurance.LOW,
            password_hash=password_hash,
            created_at=self.now(),
            grants=(Grant(Role.INNOVATOR),),
        )
        with self.uow() as (repo, events):
            clashes = repo.person_clashes(new.email, new.mobile, lookup)
            if clashes:
                raise AlreadyExists(f"an account with this {' and '.join(clashes)} already exists")
            repo.add_person(person, cipher, lookup or None)
            repo.add_grant(person_id, Grant(Role.INNOVATOR), person_id, person.created_at)
            events.person_registered(person)
        return person

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

    # -- persons --------------------------------------------------------------------------
    def get_person(self, person_id: str) -> Person:
        with self.uow() as (repo, _):
            person = repo.get_person(person_id)
        if person is None:
            raise PersonNotFound(person_id)
        return person

    def get_me(self, principal: Principal) -> Person:
        kt.authorize(principal)
        if principal.issuer != self.node:
            raise PersonNotFound(principal.subject)
        return self.get_person(principal.subject)

    def _is_node_admin(self, principal: Principal) -> bool:
        return kt.holds(principal, kt.ROLE_PROVINCE_ADMIN, scope_node=self.node) or kt.holds(
            principal, kt.ROLE_NATIONAL_ADMIN
        )

    def _served_by_staff(self, principal: Principal, person_id: str) -> bool:
        """Has one of the caller's institutions recorded a case for this person?"""
        institutions = [s for r, s in principal.role_scopes if r == kt.ROLE_INSTITUTION_STAFF]
        with self.uow() as (repo, _):
            return repo.served_by(person_id, institutions)

    def read_person(self, principal: Principal, person_id: str) -> Person:
        """Oneself and the node's admins: the whole record. Staff: the staff view of a
        person one of their institutions has served (anyone else is not found to them)."""
        kt.authorize(principal)
        v = Violations()
        v.require(person_id, "person_id")
        v.raise_if_any()
        if principal.subject == person_id or self._is_node_admin(principal):
            return self.get_person(person_id)
        kt.authorize(principal, roles=[kt.ROLE_INSTITUTION_STAFF])
        if not self._served_by_staff(principal, person_id):
            raise PersonNotFound(person_id)
        return staff_view(self.get_person(person_id))

    def verify_person(
        self, principal: Principal, person_id: str, level: int, method: str
    ) -> Person:
        """Admins of the node verify anyone (HIGH only they); staff raise to SUBSTANTIAL
        only persons their institution has served, and see the staff view."""
        kt.authorize(principal, min_assurance=kt.ASSURANCE_SUBSTANTIAL)
        v = Violations()
        v.require(person_id, "person_id")
        v.check(
            level in (Assurance.SUBSTANTIAL, Assurance.HIGH),
            "assurance_level",
            "must be SUBSTANTIAL or HIGH",
        )
        v.require(method.strip(), "method")
        v.check(len(method) <= 100, "method", "at most 100 characters")
        v.raise_if_any()
        admins = [kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN]
        roles = admins if level == Assurance.HIGH else [kt.ROLE_INSTITUTION_STAFF, *admins]
        kt.authorize(
            principal, roles=roles, scope_node=self.node, min_assurance=kt.ASSURANCE_SUBSTANTIAL
        )
        admin = self._is_node_admin(principal)
        if not admin and not self._served_by_staff(principal, person_id):
            raise PersonNotFound(person_id)
        with self.uow() as (repo, events):
            person = repo.get_person(person_id)
            if person is None:
                raise PersonNotFound(person_id)
            if person.assurance < level:
                repo.set_assurance(person_id, Assurance(level))
                person = replace(person, assurance=Assurance(level))
                events.person_verified(person, method.strip(), principal.subject)
        return person if admin else staff_view(person)

    # -- roles ----------------------------------------------------------------------------
    def validate_grant(self, grant: Grant, v: Violations) -> None:
        role, scope = grant.role, grant.scope
        if role == Role.INSTITUTION_STAFF:
            node, _, number = scope.partition("-")
            v.check(
                len(node) == 6 and node.isdigit() and number.isdigit() and len(number) == 6,
                "grant.scope",
                "must be an institution id (<node>-NNNNNN)",
            )
            if self.node != HUB_NODE_ID:
                v.check(
                    node == self.node,
                    "grant.scope",
                    f"must be an institution of this node {self.node}",
                )
        elif role == Role.PROVINCE_ADMIN:
            v.check(
                bool(divisions.is_valid(scope)) and scope.endswith("0000"),
                "grant.scope",
                "must be a province node id",
            )
            if self.node != HUB_NODE_ID:
                v.check(scope == self.node, "grant.scope", f"must be this node {self.node}")
        elif role == Role.NATIONAL_ADMIN:
            v.check(not scope, "grant.scope", "must be empty")
            v.check(
                self.node == HUB_NODE_ID,
                "grant.role",
                "national admins are granted on the hub only",
            )
        elif role == Role.INNOVATOR:
            v.check(not scope, "grant.scope", "must be empty")

    def _authorise_grant(self, principal: Principal, grant: Grant) -> None:
        if grant.role == Role.NATIONAL_ADMIN:
            roles = [kt.ROLE_NATIONAL_ADMIN]
        else:
            roles = [kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN]
        scope_node = grant.scope if grant.role == Role.PROVINCE_ADMIN else self.node
        kt.authorize(
            principal, roles=roles, scope_node=scope_node, min_assurance=kt.ASSURANCE_SUBSTANTIAL
        )

    def change_role(
        self, principal: Principal | None, person_id: str, role: int, scope: str, *, grant: bool
    ) -> Person:
        """Grant or revoke; `principal` None = the operator's command line (trusted)."""
        v = Violations()
        v.require(person_id, "person_id")
        if v.check(
            role in Role.__members__.values() and role != Role.NODE_SERVICE,
            "grant.role",
            "must be INNOVATOR, INSTITUTION_STAFF, PROVINCE_ADMIN or NATIONAL_ADMIN",
        ):
            self.validate_grant(Grant(Role(role), scope.strip()), v)
        v.raise_if_any()
        the_grant = Grant(Role(role), scope.strip())
        actor = "operator"
        if principal is not None:
            self._authorise_grant(principal, the_grant)
            actor = principal.subject
        with self.uow() as (repo, events):
            if repo.get_person(person_id) is None:
                raise PersonNotFound(person_id)
            changed = (
                repo.add_grant(person_id, the_grant, actor, self.now())
                if grant
                else repo.remove_grant(person_id, the_grant)
            )
            if changed:
                events.role_changed(person_id, the_grant, grant, actor)
            person = repo.get_person(person_id)
        assert person is not None
        return person

    # -- organisations --------------------------------------------------------------------
    def validate_new_organisation(self, new: NewOrganisation) -> NewOrganisation:
        v = Violations()
        code = validation.normalise_credit_code(new.credit_code)
        if v.require(code, "credit_code"):
            v.check(
                validation.is_valid_credit_code(code),
                "credit_code",
                "is not a unified social credit code (GB 32100-2015: 18 characters, check)",
            )
        name = new.name.strip()
        v.require(name, "name")
        v.check(len(name) <= MAX_ORG_NAME, "name", f"at most {MAX_ORG_NAME} characters")
        v.check(
            new.type in OrganisationType.__members__.values(),
            "type",
            "must be a known organisation type",
        )
        region = new.region_code.strip()
        if (
            v.require(region, "region_code")
            and v.check(
                divisions.is_valid(region), "region_code", "is not a GB/T 2260 division code"
            )
            and self.node != HUB_NODE_ID
        ):
            province = divisions.province_of(region)
            v.check(
                province is not None and province.code == self.node,
                "region_code",
                f"must lie in this node's province {self.node}",
            )
        v.raise_if_any()
        return NewOrganisation(code, name, new.type, region)

    def create_organisation(self, principal: Principal, new: NewOrganisation) -> Organisation:
        kt.authorize(principal)
        new = self.validate_new_organisation(new)
        org = Organisation(
            organisation_id=f"{self.node}:{new_id()}",
            credit_code=new.credit_code,
            name=new.name,
            type=OrganisationType(new.type),
            region_code=new.region_code,
            home_node=self.node,
            created_at=self.now(),
        )
        with self.uow() as (repo, events):
            if repo.organisation_by_code(new.credit_code) is not None:
                raise AlreadyExists("an organisation with this credit_code already exists")
            repo.add_organisation(org)
            if principal.issuer == self.node and repo.get_person(principal.subject) is not None:
                creator = Membership(principal.subject, org.organisation_id, MembershipRole.ADMIN)
                repo.put_membership(creator)
                events.membership_changed(creator, True, principal.subject)
        return org

    def get_organisation(self, organisation_id: str) -> Organisation:
        v = Violations()
        v.require(organisation_id, "organisation_id")
        v.raise_if_any()
        with self.uow() as (repo, _):
            org = repo.get_organisation(organisation_id)
        if org is None:
            raise OrganisationNotFound(organisation_id)
        return org

    def list_organisations(
        self, query: OrganisationQuery, page: Page
    ) -> tuple[list[Organisation], int]:
        v = Violations()
        if query.type:
            v.check(
                query.type in OrganisationType.__members__.values(),
                "type",
                "must be a known organisation type",
            )
        if query.region_code:
            v.check(
                divisions.is_valid(query.region_code),
                "region_code",
                "is not a GB/T 2260 division code",
            )
        v.raise_if_any()
        with self.uow() as (repo, _):
            return repo.list_organisations(query, page)

    def _authorise_membership(
        self, repo: Repository, principal: Principal, organisation_id: str
    ) -> None:
        kt.authorize(principal)
        own = (
            repo.membership(principal.subject, organisation_id)
            if principal.issuer == self.node
            else None
        )
        if own is not None and own.role == MembershipRole.ADMIN:
            return
        kt.authorize(
            principal, roles=[kt.ROLE_PROVINCE_ADMIN, kt.ROLE_NATIONAL_ADMIN], scope_node=self.node
        )

    def add_membership(
        self, principal: Principal, organisation_id: str, person_id: str, role: int
    ) -> Membership:
        v = Violations()
        v.require(organisation_id, "organisation_id")
        v.require(person_id, "person_id")
        v.check(role in MembershipRole.__members__.values(), "role", "must be MEMBER or ADMIN")
        v.raise_if_any()
        membership = Membership(person_id, organisation_id, MembershipRole(role))
        with self.uow() as (repo, events):
            if repo.get_organisation(organisation_id) is None:
                raise OrganisationNotFound(organisation_id)
            self._authorise_membership(repo, principal, organisation_id)
            if repo.get_person(person_id) is None:
                raise PersonNotFound(person_id)
            if repo.membership(person_id, organisation_id) != membership:
                repo.put_membership(membership)
                events.membership_changed(membership, True, principal.subject)
        return membership

    def remove_membership(self, principal: Principal, organisation_id: str, person_id: str) -> None:
        v = Violations()
        v.require(organisation_id, "organisation_id")
        v.require(person_id, "person_id")
        v.raise_if_any()
        with self.uow() as (repo, events):
            if repo.get_organisation(organisation_id) is None:
                raise OrganisationNotFound(organisation_id)
            self._authorise_membership(repo, principal, organisation_id)
            existing = repo.membership(person_id, organisation_id)
            if existing is None:
                raise FailedPrecondition("that person is not a member of this organisation")
            repo.remove_membership(person_id, organisation_id)
            events.membership_changed(existing, False, principal.subject)

    # -- signing keys ---------------------------------------------------------------------
    def jwks(self) -> dict[str, Any]:
        return self._published_keys()[0]

    def jwks_document(self) -> str:
        """The key set as the JSON document GetJwks returns."""
        return self._published_keys()[1]

    def _published_keys(self) -> tuple[dict[str, Any], str]:
        now = self.clock()
        cached = self._jwks
        if cached is not None and now - cached[2] < self.settings.key_cache_seconds:
            return cached[0], cached[1]
        with self.uow() as (repo, _):
            keys = repo.signing_keys()
        jwks = _jwks_of(keys)
        document = jwks_json(jwks)
        self._jwks = (jwks, document, now)
        return jwks, document

    def _forget_keys(self) -> None:
        with self._signer_lock:
            self._signer = None
        self._jwks = None

    def ensure_signing_key(self) -> None:
        """At start-up: create the first active key if the node has none."""
        with self.uow() as (repo, _):
            if any(k.status == KeyStatus.ACTIVE for k in repo.signing_keys()):
                return
        self.rotate_keys()

    def rotate_keys(self) -> str:
        """A new active key; the previous active key becomes passive (still verifies)."""
        pair = crypto.generate_key_pair(self.node)
        now = self.now()
        with self.uow() as (repo, events):
            for key in repo.signing_keys():
                if key.status == KeyStatus.ACTIVE:
                    repo.set_key_status(key.kid, KeyStatus.PASSIVE, now)
            repo.add_signing_key(
                SigningKey(
                    pair.kid,
                    pair.public_jwk,
                    self.vault.seal(pair.private_pem, pair.kid),
                    KeyStatus.ACTIVE,
                    now,
                )
            )
            events.key_set_changed(self.node, _jwks_of(repo.signing_keys()), "rotated", pair.kid)
        self._forget_keys()
        logger.info("signing key rotated: new active key %s", pair.kid)
        return pair.kid

    def retire_key(self, kid: str) -> None:
        """Remove a passive key from the key set: tokens it signed stop verifying."""
        with self.uow() as (repo, events):
            keys = {k.kid: k for k in repo.signing_keys()}
            key = keys.get(kid)
            if key is None:
                raise InvalidArgument.field("kid", f"no signing key {kid!r} on this node")
            if key.status == KeyStatus.ACTIVE:
                raise FailedPrecondition("the active key cannot be retired; rotate first")
            if key.status == KeyStatus.RETIRED:
                return
            repo.set_key_status(kid, KeyStatus.RETIRED, self.now())
            events.key_set_changed(self.node, _jwks_of(repo.signing_keys()), "retired", kid)
        self._forget_keys()
        logger.info("signing key %s retired", kid)

    def list_keys(self) -> list[SigningKey]:
        with self.uow() as (repo, _):
            return repo.signing_keys()

    def _active_signer(self) -> tuple[str, Any]:
        now = self.clock()
        signer = self._signer
        if signer is not None and now - signer[2] < self.settings.key_cache_seconds:
            return signer[0], signer[1]
        with self._signer_lock:
            with self.uow() as (repo, _):
                active = [k for k in repo.signing_keys() if k.status == KeyStatus.ACTIVE]
            if not active:
                raise FailedPrecondition("this node has no active signing key (run `keys rotate`)")
            key = max(active, key=lambda k: k.created_at)
            if signer is None or signer[0] != key.kid:
                private = crypto.load_private_key(self.vault.open(key.sealed_private_key, key.kid))
            else:
                private = signer[1]
            self._signer = (key.kid, private, now)
            return key.kid, private

    def sign(self, claims: dict[str, Any], signer: tuple[str, Any] | None = None) -> str:
        kid, private = signer or self._active_signer()
        return crypto.sign_access_token(claims, private, kid)


def _jwks_of(keys: Sequence[SigningKey]) -> dict[str, Any]:
    listed = sorted(
        (k for k in keys if k.status != KeyStatus.RETIRED),
        key=lambda k: (k.status != KeyStatus.ACTIVE, -k.created_at.timestamp()),
    )
    return {"keys": [dict(k.public_jwk) for k in listed]}


def jwks_json(jwks: dict[str, Any]) -> str:
    return json.dumps(jwks, separators=(",", ":"), sort_keys=True)
