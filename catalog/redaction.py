"""Secrets never leave the process: every known secret value is replaced by `***` wherever text is kept.

API keys are registered here when HTTP settings carrying them are made (`catalog.http.HttpSettings`).
From then on `redact` scrubs them from error messages (`catalog.errors`), run records written to the
lake, log lines (`RedactingFilter`) and response bodies as they stream in, so a portal that echoes its
key back cannot make us store or print it.
"""

from __future__ import annotations

import logging
import threading

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values would mask innocent text everywhere (and are no secret worth the name)."""

_secrets: frozenset[str] = frozenset()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a secret value so that `redact` masks it from now on, in this process."""
    global _secrets  # noqa: PLW0603 - one registry per process, read lock-free on the hot path
    if value and len(value) >= MIN_SECRET_LENGTH and value not in _secrets:
        with _lock:
            _secrets = _secrets | {value}


def known_secrets() -> frozenset[str]:
    return _secrets


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***`."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class ByteRedactor:
    """Masks secrets in a byte stream read in chunks, including a secret split across two chunks.

    `feed` returns what is safe to hand on now; the last few bytes (one byte shorter than the longest
    secret) wait for the next chunk, or for `flush` at the end of the stream.
    """

    def __init__(self) -> None:
        self._secrets = [secret.encode() for secret in _secrets]
        self._keep = max((len(secret) for secret in self._secrets), default=1) - 1
        self._tail = b""

    @property
    def active(self) -> bool:
        return bool(self._secrets)

    def feed(self, chunk: bytes) -> bytes:
        data = self._mask(self._tail + chunk)
        cut = max(0, len(data) - self._keep)
        self._tail = data[cut:]
        return data[:cut]

    def flush(self) -> bytes:
        data, self._tail = self._mask(self._tail), b""
        return data

    def _mask(self, data: bytes) -> bytes:
        for secret in self._secrets:
            data = data.replace(secret, MASK.encode())
        return data


class RedactingFilter(logging.Filter):
    """A logging filter for handlers: the formatted message, arguments merged in, with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True
