"""Signing keys: the published key set (JWKS), rotation, retirement, signing."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from puhui.identity import crypto
from puhui.identity.domain.core import IdentityCore
from puhui.identity.domain.model import KeyStatus, SigningKey
from puhui.identity.errors import (
    FailedPrecondition,
    InvalidArgument,
)

logger = logging.getLogger(__name__)


class KeyUseCases(IdentityCore):
    """The signing keys: the published key set, rotation, retirement, signing."""

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
