"""The command line: python -m harness COMMAND.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
