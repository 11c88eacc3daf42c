"""Webhook signatures: what a receiver checks, with a known answer any language can reproduce."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from relais.webhook_signing import SignatureError, signature_header, verify

SECRET = b"whsec-test"
BODY = '{"texte": "Hors ligne à 3 h"}'.encode()
AT = 1_800_000_000


def test_the_signature_is_hmac_sha256_of_the_time_a_dot_and_the_body() -> None:
    expected = hmac.new(SECRET, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, BODY, AT) == f"t=1800000000,v1={expected}"
    assert verify(SECRET, BODY, signature_header(SECRET, BODY, AT), now=AT + 10) == AT


@pytest.mark.parametrize(
    ("secret", "body", "header", "now", "reason"),
    [
        (b"another", BODY, signature_header(SECRET, BODY, AT), AT, "does not match"),
        (SECRET, BODY + b" ", signature_header(SECRET, BODY, AT), AT, "does not match"),
        (SECRET, BODY, signature_header(SECRET, BODY, AT), AT + 301, "more than 300 s"),
        (SECRET, BODY, signature_header(SECRET, BODY, AT), AT - 301, "more than 300 s"),
        (SECRET, BODY, "v1=abc", AT, "needs t="),
        (SECRET, BODY, "t=soon,v1=abc", AT, "needs t="),
        (SECRET, BODY, "", AT, "needs t="),
    ],
)
def test_a_wrong_stale_or_garbled_signature_is_refused(
    secret: bytes, body: bytes, header: str, now: float, reason: str
) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(secret, body, header, now=now)
