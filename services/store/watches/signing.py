"""Webhook signatures: ``X-Newsflow-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by the watch's secret>``.

``verify`` is the recipe the README gives receivers: compute the HMAC over the bytes received (before
any JSON parsing) and compare in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Newsflow-Signature"
DELIVERY_HEADER = "X-Newsflow-Delivery"
EVENT_HEADER = "X-Newsflow-Event"
_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return _PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` under ``secret``."""
    return hmac.compare_digest(sign(secret, body), header.strip())
