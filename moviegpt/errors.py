"""The one exception type that reaches the user as a one-line message and exit code 2."""


class UserError(Exception):
    """A problem the user can fix (bad input, missing file); printed as `error: <message>`, exit code 2."""


class ConfigError(UserError):
    """A bad configuration value: `field` names the dataclass field, so the command line can name its flag."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem


def check(ok: bool, field: str, problem: str) -> None:
    """Raise ConfigError(field, problem) unless ok."""
    if not ok:
        raise ConfigError(field, problem)


class Interrupted(Exception):
    """A command stopped on Ctrl-C and has said so (and what to do next): exit code 130, nothing more printed."""
