"""The exception tree of helpline.

    HelplineError
    ├── ConfigError      bad or missing settings; raised at startup, never mid-request
    ├── FlowError        an invalid flow file; raised at load time, lists every problem found
    └── CallbackNotFound a staff command or job named a callback id that does not exist

User input never raises: odd text takes the flow's `otherwise` route.
"""

from __future__ import annotations


class HelplineError(Exception):
    """Base class for errors raised by helpline code."""


class ConfigError(HelplineError):
    """The settings are incomplete or contradictory."""


class FlowError(HelplineError):
    """One or more flow files are invalid. The message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class CallbackNotFound(HelplineError):
    """No callback request has this id."""
