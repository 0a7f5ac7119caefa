"""The domain's revocation store at a node's identity service (docs/adr/0014).

The domain revokes a token by its `jti` (sign-out, RevokeToken, a reused refresh token).
`NodeRevocations` keys it by this node as issuer (`puhui.kit.revocation.revocation_key`,
what every verifier checks), applies it to the local store at once, and — given an outbox —
records a `TokenRevoked` event, stream "revocations", in the same transaction as the
change that caused it when the domain is inside a unit of work (a detected refresh reuse),
else in a transaction of its own that commits before the call returns. The relay then
publishes it to `puhui.<node>.identity.revocations`, which every service of every node
follows.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf import timestamp_pb2

from puhui.events.v1 import revocation_pb2
from puhui.identity.adapters.db import current_session
from puhui.kit.db import Database
from puhui.kit.outbox import Outbox
from puhui.kit.revocation import REVOCATIONS_STREAM, RevocationStore, revocation_key


class NodeRevocations:
    """`RevocationStore` for the domain: this node's tokens, published when an outbox is set.

    `local` is read on every call, so the app may swap it (Redis) after start.
    """

    def __init__(
        self,
        node: str,
        local: Callable[[], RevocationStore],
        *,
        db: Database | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.node = node
        self.local = local
        self.db = db
        self.outbox = outbox

    def revoke(self, jti: str, expires_at: float) -> None:
        outbox, db = self.outbox, self.db
        if outbox is not None and db is not None:
            event = token_revoked(self.node, jti, expires_at)
            session = current_session()
            if session is not None:
                outbox.record(session, event, subject=f"token/{jti}", stream=REVOCATIONS_STREAM)
            else:
                with db.transaction() as own:
                    outbox.record(own, event, subject=f"token/{jti}", stream=REVOCATIONS_STREAM)
        self.local().revoke(revocation_key(self.node, jti), expires_at)

    def is_revoked(self, jti: str) -> bool:
        return self.local().is_revoked(revocation_key(self.node, jti))


def token_revoked(issuer: str, jti: str, expires_at: float) -> revocation_pb2.TokenRevoked:
    until = timestamp_pb2.Timestamp()
    until.FromNanoseconds(int(expires_at * 1e9))
    return revocation_pb2.TokenRevoked(issuer=issuer, jti=jti, expires_at=until)
