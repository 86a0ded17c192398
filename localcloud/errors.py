"""The one exception type the local cloud raises for problems a user can act on."""


class LocalCloudError(Exception):
    """A failure with a message that says what went wrong and what to do about it."""
