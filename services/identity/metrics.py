"""Business metrics of the identity service (kit metrics cover RPCs, Kafka and the outbox)."""

from __future__ import annotations

from prometheus_client import Counter

REGISTRATIONS = Counter(
    "puhui_identity_registrations_total",
    "Accounts registered, by kind (person, service_account).",
    ["node", "kind"],
)
SIGN_INS = Counter(
    "puhui_identity_sign_ins_total",
    "Sign-in attempts, by result (success, bad_credentials, throttled, locked).",
    ["node", "result"],
)
REFRESHES = Counter(
    "puhui_identity_token_refreshes_total",
    "Refresh-token presentations, by outcome (rotated, reused: the family was revoked).",
    ["node", "outcome"],
)
KEY_CHANGES = Counter(
    "puhui_identity_key_changes_total",
    "Changes of the node's signing key set, by kind (rotated, retired).",
    ["node", "kind"],
)
