"""The access log: one JSON line per RPC on the `puhui.access` logger (ADR 0017).

Each line carries the method, the gRPC status code, the duration, the peer address, the trace
id (what a client quotes from an INTERNAL error, and the key to the RPC's spans) and the caller
as a keyed hash: the same caller gives the same value on every line signed with the same key
(PUHUI_ACCESS_LOG_KEY, shared by a node's services to follow one caller across them), and the
subject itself never reaches the log.

`PUHUI_ACCESS_LOG_SAMPLE` keeps that share of successful RPCs. The choice is made on the trace
id, so every service of a trace keeps or drops it alike; an RPC that did not end OK is always
logged. Level INFO: a process at WARNING writes none.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any

import grpc

from puhui.kit import auth, tracing

logger = logging.getLogger("puhui.access")
_SPACE = 1 << 64


def _peer(context: Any) -> str:
    """`ipv4:10.0.0.7:51234` → `10.0.0.7:51234`; `unix:…` stays as given."""
    peer = context.peer() if context is not None else ""
    kind, _, rest = (peer or "").partition(":")
    return rest if kind in ("ipv4", "ipv6") else peer or ""


class AccessLog:
    def __init__(self, service: str, node: str, sample: float = 1.0, key: bytes = b"") -> None:
        if not 0.0 <= sample <= 1.0:
            raise ValueError("sample must be in [0, 1]")
        self.service = service
        self.node = node
        self.sample = sample
        self._threshold = int(sample * _SPACE)
        self._key = key or secrets.token_bytes(32)

    def principal_hash(self, principal: auth.Principal) -> str:
        """16 hex digits of HMAC-SHA256(key, issuer/subject); empty for an anonymous caller."""
        if principal.is_anonymous:
            return ""
        message = f"{principal.issuer}/{principal.subject}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]

    def kept(self, trace_id: str, code: grpc.StatusCode) -> bool:
        if code != grpc.StatusCode.OK or self._threshold >= _SPACE:
            return True
        if not trace_id:
            return secrets.randbelow(_SPACE) < self._threshold
        return int(trace_id[16:], 16) < self._threshold  # the trace id's random low half

    def record(self, method: str, code: grpc.StatusCode, seconds: float, context: Any) -> None:
        """Log one finished RPC (called by the server interceptor, with the caller and the
        RPC's span still current)."""
        if not logger.isEnabledFor(logging.INFO):
            return
        trace_id = tracing.current_trace_id()
        if not self.kept(trace_id, code):
            return
        logger.info(
            "%s %s",
            method,
            code.name,
            extra={
                # Safe by construction (proto names, codes, numbers, an address, hex), so
                # written as they are (puhui.kit.logs `_fields`).
                "_fields": {
                    "node": self.node,
                    "service": self.service,
                    "rpc_method": method,
                    "rpc_code": code.name,
                    "duration_ms": round(seconds * 1000, 3),
                    "peer": _peer(context),
                    "trace_id": trace_id,
                    "principal": self.principal_hash(auth.current_principal()),
                }
            },
        )
