"""The certificate command and the TLS settings, without a network."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from puhui.kit import config, tls


def test_issue_a_node_certificate_under_the_trust_anchor(tmp_path, capsys):
    assert tls.main(["init-ca", "--out", str(tmp_path / "ca")]) == 0
    assert tls.main(["init-ca", "--out", str(tmp_path / "ca")]) == 1  # never overwrites
    code = tls.main(
        [
            "issue",
            "--ca", str(tmp_path / "ca" / "ca.crt"),
            "--ca-key", str(tmp_path / "ca" / "ca.key"),
            "--node", "440000",
            "--dns", "catalog.gd.example.cn",
            "--ip", "10.1.2.3",
            "--out", str(tmp_path / "gd"),
        ]
    )  # fmt: skip
    assert code == 0
    ca = x509.load_pem_x509_certificate((tmp_path / "ca" / "ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "gd" / "node-440000.crt").read_bytes())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "puhui-node-440000"
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["catalog.gd.example.cn"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    mode = stat.S_IMODE((tmp_path / "gd" / "node-440000.key").stat().st_mode)
    assert mode == 0o600
    assert "node 440000" in capsys.readouterr().out


def test_issue_refuses_a_malformed_node_id(tmp_path, capsys):
    tls.create_ca().write(tmp_path, "ca")
    code = tls.main(
        ["issue", "--ca", str(tmp_path / "ca.crt"), "--ca-key", str(tmp_path / "ca.key"),
         "--node", "44", "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 2
    assert "6 digits" in capsys.readouterr().err


def test_tls_settings_must_come_together():
    with pytest.raises(config.ConfigError, match="PUHUI_TLS_KEY_FILE"):
        config.load(config.ServiceConfig, {"PUHUI_TLS_CERT_FILE": "/x.crt"})
    with pytest.raises(config.ConfigError, match="mutual TLS"):
        config.load(config.ServiceConfig, {"PUHUI_TLS_CLIENT_CA_FILE": "/ca.crt"})
    cfg = config.load(
        config.ServiceConfig,
        {
            "PUHUI_TLS_CERT_FILE": "/n.crt",
            "PUHUI_TLS_KEY_FILE": "/n.key",
            "PUHUI_TLS_CLIENT_CA_FILE": "/ca.crt",
        },
    )
    assert cfg.tls_enabled
    assert not config.load(config.ServiceConfig, {}).tls_enabled


def test_a_client_certificate_needs_its_key(tmp_path):
    tls.create_ca().write(tmp_path, "ca")
    with pytest.raises(ValueError, match="both"):
        tls.channel_credentials(tmp_path / "ca.crt", cert_file=tmp_path / "ca.crt")
