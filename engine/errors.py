"""The error types that mean "the user gave bad input" (exit 2) rather than "training failed" (exit 1)."""

from __future__ import annotations

from engine.config import ConfigError

__all__ = ["UserError", "ConfigError", "DataError", "ModelError", "USER_ERRORS"]


class UserError(Exception):
    """Bad input: the CLI prints ``str(error)`` (no traceback) and exits with status 2.

    ``source`` names the file at fault and ``key`` the config key path, when known.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        self.message = message
        self.source = source
        self.key = key
        super().__init__(self.render())

    def render(self) -> str:
        head = f"error in {self.source}:" if self.source else "error:"
        body = f"{self.key}: {self.message}" if self.key else self.message
        return f"{head}\n  {body}"


class DataError(UserError):
    """The data named by ``data.*`` cannot be read or does not fit the model."""


class ModelError(UserError):
    """``model.*`` cannot be built: unknown layer, bad argument, shape mismatch, unloadable file."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError, ConfigError)
"""Catch these to turn bad input into exit status 2."""
