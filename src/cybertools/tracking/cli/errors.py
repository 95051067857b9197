"""The one kind of error the commands expect."""


class CommandError(Exception):
    """An expected error: shown as one line, the command exits with 2."""
