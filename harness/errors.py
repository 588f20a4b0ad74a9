"""The one error type for user mistakes (bad traces, unknown targets, bad options)."""

from __future__ import annotations


class InvalidArgument(ValueError):
    """A user-supplied value is wrong; the message says what to do instead.

    The CLI turns this into a single line on stderr and exit status 2.
    """
