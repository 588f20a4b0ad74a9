"""Process support: signals, shutdown, progress lines, output paths, environment facts.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
