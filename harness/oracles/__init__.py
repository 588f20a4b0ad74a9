"""Judging a replay: comparison with the model, retention, baselines, explanations.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
