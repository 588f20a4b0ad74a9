"""In-house context-local implementations (the seed's, and later the fixed one).

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
