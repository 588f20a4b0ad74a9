"""What a trace is: worker kinds, ops, values, observations, the trace and its rules."""
