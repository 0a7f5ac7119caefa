"""The state every identity use case shares (the unit of work, secrets, clock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from puhui.identity import crypto
from puhui.identity.domain.ports import UnitOfWork
from puhui.identity.domain.throttling import SignInThrottle
from puhui.kit import tokens as kt


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


class IdentityCore:
    """What every identity use case shares: its node, unit of work, secrets and clock."""

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
