"""ServiceApp builds the federated verifier when the anchor is configured."""

from __future__ import annotations

import json

import pytest

from puhui.catalog.server import build
from puhui.kit import auth, trust


def test_federated_verifier_is_the_default_with_an_anchor(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    anchor = trust.TrustAnchor.generate()
    path = tmp_path / "anchor.jwks.json"
    path.write_text(json.dumps(anchor.public_jwks()))
    monkeypatch.setenv("PUHUI_TRUST_ANCHOR_JWKS", f"@{path}")
    app = build(node_id="440000", kafka_bootstrap="127.0.0.1:1", database_url="sqlite://")
    assert isinstance(app.verifier, trust.FederatedVerifier)
    assert app.verifier.follower is not None  # started with the app, not at construction


def test_without_an_anchor_tokens_are_still_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUHUI_TRUST_ANCHOR_JWKS", raising=False)
    app = build(node_id="440000", kafka_bootstrap="127.0.0.1:1", database_url="sqlite://")
    assert isinstance(app.verifier, auth.RejectingVerifier)
