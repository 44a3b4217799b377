"""The one exception hierarchy of LeakWarden.

Every error raised on purpose by agent, detectors or server derives from
:class:`LeakWardenError`, so callers can catch "our" failures without
swallowing programming errors.
"""

from __future__ import annotations


class LeakWardenError(Exception):
    """Base class of every deliberate LeakWarden error."""


class ConfigError(LeakWardenError):
    """A configuration or policy file is invalid.

    The message always names the file, the key and the problem, because an
    operator reading it at start-up must be able to fix it without a debugger.
    """

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class ExtractionError(LeakWardenError):
    """Content could not be turned into text (corrupt, unreadable, unsupported)."""


class LimitExceeded(ExtractionError):
    """A container passed one of the extraction limits (depth, size, ratio, time)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class EncryptedContent(ExtractionError):
    """A container or document is encrypted and cannot be read."""


class ModelError(LeakWardenError):
    """An ML model file is missing, unknown, untrusted or incompatible."""


class StoreError(LeakWardenError):
    """The collector's store failed (connection, migration, constraint)."""


class AuthError(LeakWardenError):
    """Authentication or authorisation failed."""


class SpoolFull(LeakWardenError):
    """The agent's spool reached its size bound and the event was not kept."""


class DeliveryError(LeakWardenError):
    """A forwarder could not deliver a payload; the outbox will retry."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        self.retryable = retryable
        super().__init__(message)
