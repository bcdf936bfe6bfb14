"""Secrets are masked in every text a destination produces, and in settings shown to users."""

from __future__ import annotations

from intu_desktop.destinations.secrets import MASK, SecretMasker, redact_options, secret_values

OPTIONS = {
    "url": "https://api.example.org/ingest",
    "headers": {"Authorization": "Token abcdef-123", "X-Trace": "visible"},
    "auth": {"type": "oauth2", "client_id": "desk", "client_secret": "s3cr3t-value", "token_url": "https://t"},
    "tls": {"ca_file": "/ca.pem"},
    "extra": [{"password": "hunter22"}],
}


def test_secret_values_are_found_wherever_they_are() -> None:
    assert set(secret_values(OPTIONS)) == {"Token abcdef-123", "s3cr3t-value", "hunter22"}


def test_masker_hides_known_values_and_credential_shapes() -> None:
    masker = SecretMasker.from_options(OPTIONS)
    masker.add("runtime-access-token-xyz")
    text = (
        "401 from server: got s3cr3t-value and hunter22; Authorization: Token abcdef-123\n"
        "Bearer runtime-access-token-xyz; Basic ZGVzazpzM2NyM3Q=; "
        "https://user:pa55word@host/x?token=abc123&ok=1"
    )
    masked = masker.mask(text)
    for secret in ("s3cr3t-value", "hunter22", "abcdef-123", "runtime-access-token-xyz", "ZGVzazpzM2NyM3Q=",
                   "pa55word", "abc123"):
        assert secret not in masked
    assert "ok=1" in masked and "401 from server" in masked and MASK in masked


def test_short_values_do_not_mask_ordinary_text() -> None:
    masker = SecretMasker(["ab"])
    assert masker.mask("about a tab") == "about a tab"


def test_redacted_settings_keep_everything_but_secrets() -> None:
    shown = redact_options(OPTIONS)
    assert shown["auth"]["client_secret"] == MASK
    assert shown["auth"]["client_id"] == "desk"
    assert shown["headers"] == {"Authorization": MASK, "X-Trace": "visible"}
    assert shown["extra"][0]["password"] == MASK
    assert OPTIONS["auth"]["client_secret"] == "s3cr3t-value"  # the original is untouched
