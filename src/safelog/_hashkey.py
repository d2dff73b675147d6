"""
The configured hash key of `Hashed` fields: checked once, never printed.

A leaf below `safelog._kinds`: `make_hash_key` refuses short, placeholder
and documented example keys at ``configure()`` with a `ConfigurationError`.
"""

from __future__ import annotations

import hashlib
import re

from dataclasses import dataclass

from .errors import ConfigurationError


__all__ = ["HashKey", "make_hash_key"]


@dataclass(frozen=True)
class HashKey:
    """A configured HMAC key and the id that names it in output."""

    secret: bytes
    key_id: str

    def __repr__(self) -> str:
        # Never print the secret, not even in a debugger.
        return f"HashKey(key_id={self.key_id!r})"


#: The shortest hash key accepted: 256 bits, the size of HMAC-SHA256's block
#: output, so the key is never the weaker part.
_MIN_KEY_BYTES = 32
_MIN_DISTINCT_BYTES = 8
# Keys that appeared in safelog's own README, docs and examples: anyone can
# read them, so they protect nothing.
_EXAMPLE_KEYS = frozenset(
    {
        b"use-SAFELOG_HASH_KEY-from-your-secret-store",
        b"example-only-key-do-not-use-in-prod",
    }
)


def make_hash_key(secret: object, key_id: str | None = None) -> HashKey:
    """Validate a configured secret and derive its key id if none is given."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes):
        msg = "hash_key: must be bytes or str"
        raise ConfigurationError(msg)
    if len(secret) < _MIN_KEY_BYTES:
        msg = (
            f"hash_key: must be at least {_MIN_KEY_BYTES} bytes of random data, e.g. "
            "python -c 'import secrets; print(secrets.token_hex(32))'"
        )
        raise ConfigurationError(msg)
    if secret in _EXAMPLE_KEYS or len(set(secret)) < _MIN_DISTINCT_BYTES:
        # Known to everyone who read the docs, or no key at all ("k" * 32):
        # with it, low-entropy inputs are reversed by brute force.
        msg = (
            "hash_key: this is an example or placeholder key; generate a random one, "
            "e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
        )
        raise ConfigurationError(msg)
    if key_id is None:
        # A short digest of the key names it without revealing it.
        key_id = "k" + hashlib.sha256(b"safelog-key-id:" + secret).hexdigest()[:8]
    elif not isinstance(key_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", key_id):
        msg = "hash_key_id: must be 1 to 16 characters from [A-Za-z0-9_-]"
        raise ConfigurationError(msg)
    return HashKey(secret=secret, key_id=key_id)
