"""Exceptions raised by qbattery.

Every error that bad input can cause is a :class:`QBatteryError` whose message
names the offending field or argument and the value it had. The CLI prints the
message on one line and exits with status 2.
"""

from __future__ import annotations


class QBatteryError(Exception):
    """Base class of the errors qbattery raises on purpose."""


class ModelError(QBatteryError, ValueError):
    """A model, time grid or solver option is invalid.

    Args:
        field: dotted path of the offending field, e.g. ``"couplings[1].strength"``.
        message: what is wrong with it.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def renamed(self, field: str) -> ModelError:
        """The same complaint about another name (e.g. the CLI flag a field came from)."""
        return ModelError(field, self.message)


class UnsupportedMethodError(QBatteryError, ValueError):
    """The requested solver method cannot solve this model."""


class TruncationError(QBatteryError, RuntimeError):
    """A truncated Hilbert space lost more population than the tolerance allows."""


class IntegrationError(QBatteryError, RuntimeError):
    """A numerical integration produced something that is not a state (trace, positivity)."""


class TruncationWarning(UserWarning):
    """A truncated Hilbert space lost more population than the tolerance allows,
    and the user asked for a warning instead of an error (``on_truncation = "warn"``)."""
