"""Judging a replay: comparison with the model, retention, baselines, explanations."""
