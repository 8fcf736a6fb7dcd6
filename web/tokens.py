"""The API token check, shared by the REST layer (web.app) and the cockpit's sign-in."""

from __future__ import annotations

import base64
import binascii
import hmac


def token_ok(header: str, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` (Bearer, or Basic as password);
    compared in constant time."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.encode(), token.encode())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _user, _, password = decoded.partition(":")
        return hmac.compare_digest(password.encode(), token.encode())
    return False
