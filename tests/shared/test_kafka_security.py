"""Kafka authentication and TLS from the environment (issue 19): every client newsflow builds gets
kafka-python's SASL / SSL arguments from ``NEWSFLOW_KAFKA_*`` variables, and an incomplete SASL setup
is refused at start-up naming what is missing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.config import Settings
from shared.kafka import security_options


def test_plaintext_is_the_default_and_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSFLOW_KAFKA_SECURITY_PROTOCOL", raising=False)
    assert security_options(Settings(_env_file=None)) == {"security_protocol": "PLAINTEXT"}


def test_sasl_over_tls_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name, value in {
        "NEWSFLOW_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSFLOW_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "NEWSFLOW_KAFKA_SASL_USERNAME": "newsflow",
        "NEWSFLOW_KAFKA_SASL_PASSWORD": "s3cret-pass",
        "NEWSFLOW_KAFKA_SSL_CAFILE": "/etc/newsflow/kafka-ca.pem",
        "NEWSFLOW_KAFKA_SSL_CHECK_HOSTNAME": "false",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert security_options(settings) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "newsflow",
        "sasl_plain_password": "s3cret-pass",
        "ssl_check_hostname": False,
        "ssl_cafile": "/etc/newsflow/kafka-ca.pem",
        "ssl_certfile": None,
        "ssl_keyfile": None,
        "ssl_password": None,
    }
    assert "s3cret-pass" not in repr(settings), "the password never shows in a log of the settings"


def test_sasl_without_credentials_is_refused_naming_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSFLOW_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("NEWSFLOW_KAFKA_SASL_MECHANISM", "PLAIN")
    with pytest.raises(ValidationError, match="NEWSFLOW_KAFKA_SASL_USERNAME, NEWSFLOW_KAFKA_SASL_PASSWORD"):
        Settings(_env_file=None)
