"""What a trace is: worker kinds, ops, values, observations, the trace and its rules.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
