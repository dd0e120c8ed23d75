"""User-facing errors: a message that names the file, column or row and says what to do."""


class UserError(Exception):
    """A mistake in the user's data or config; printed without a traceback by the entry points."""

    exit_code = 2


class DataError(UserError):
    """The input data cannot be used as it is."""


class ConfigError(UserError):
    """A config value is invalid or inconsistent."""
