"""The one error type for user mistakes (bad traces, unknown targets, bad options)."""

from __future__ import annotations


class InvalidArgument(ValueError):
    """A user-supplied value is wrong; the message says what to do instead.

    The CLI turns this into a single line on stderr and exit status 2.
    """


class Unwind(BaseException):
    """Raised by the harness *through* code under test to unwind it (a worker stopped
    while suspended in an op). Never an observation: ``Target.apply`` lets it pass."""
