"""The one exception type that reaches the user as a one-line message and exit code 2."""


class UserError(Exception):
    """A problem with the user's input (file, flag, checkpoint, prompt), explained in one line."""
