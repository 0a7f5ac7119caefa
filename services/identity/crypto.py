"""Identity's cryptography (no I/O): password hashing, ID-number protection, signing keys,
access-token signing and opaque-token hashing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from typing import Any

import argon2
import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from puhui.kit.tokens import TOKEN_TYPE

SIGNING_ALGORITHM = "ES256"


def _subkey(master: bytes, purpose: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"puhui-identity/" + purpose
    ).derive(master)


# -- passwords --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Argon2Parameters:
    time_cost: int = 2
    memory_kib: int = 19456
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16


class Passwords:
    """argon2id hashing with documented parameters; unknown accounts cost the same."""

    def __init__(self, params: Argon2Parameters) -> None:
        self.params = params
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=argon2.Type.ID,
        )
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no stored hash, a dummy hash is checked so an
        unknown account takes as long as a wrong password."""
        try:
            return (
                self._hasher.verify(stored_hash or self._dummy, password)
                and stored_hash is not None
            )
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


# -- resident ID numbers ------------------------------------------------------------------------
class IdNumberProtector:
    """AES-256-GCM encryption (random 96-bit nonce, person id as associated data) and a
    keyed HMAC-SHA256 for exact-match lookup; both keys are derived (HKDF) from the config key."""

    def __init__(self, master_key: bytes) -> None:
        self._aead = AESGCM(_subkey(master_key, b"id-number/encrypt"))
        self._mac_key = _subkey(master_key, b"id-number/lookup")

    def encrypt(self, id_number: str, person_id: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, id_number.encode(), person_id.encode())

    def decrypt(self, blob: bytes, person_id: str) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], person_id.encode()).decode()

    def lookup_hash(self, id_number: str) -> str:
        return hmac.new(self._mac_key, id_number.encode(), hashlib.sha256).hexdigest()


# -- signing keys -----------------------------------------------------------------------------
class KeyVault:
    """Encrypts private signing keys at rest (AES-256-GCM, kid as associated data)."""

    def __init__(self, key_encryption_key: bytes) -> None:
        self._aead = AESGCM(_subkey(key_encryption_key, b"signing-key/encrypt"))

    def seal(self, private_pem: bytes, kid: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, private_pem, kid.encode())

    def open(self, sealed: bytes, kid: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], kid.encode())
        except InvalidTag:
            raise ValueError(
                f"signing key {kid} cannot be decrypted with the configured key"
            ) from None


@dataclass(frozen=True)
class NewKeyPair:
    kid: str
    private_pem: bytes
    public_jwk: dict[str, Any]


def generate_key_pair(node: str) -> NewKeyPair:
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    thumb = _thumbprint(public_jwk)
    kid = f"{node}-{thumb[:16]}"
    public_jwk.update({"kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM})
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return NewKeyPair(kid, pem, public_jwk)


def _thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (EC members crv, kty, x, y)."""
    canonical = json.dumps(
        {k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
    )
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


def load_private_key(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def sign_access_token(claims: dict[str, Any], private_key: Any, kid: str) -> str:
    return jwt.encode(
        claims, private_key, algorithm=SIGNING_ALGORITHM, headers={"kid": kid, "typ": TOKEN_TYPE}
    )


# -- opaque tokens ----------------------------------------------------------------------------
def new_opaque_token(prefix: str) -> str:
    """256 random bits, URL-safe; only its SHA-256 is stored."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def opaque_hash(token: str) -> str:
    """SHA-256 is enough here: the token carries 256 random bits (no guessing to slow down)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
