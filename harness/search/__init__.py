"""Finding divergences: the fuzz loop, exhaustive exploration, minimisation, guidance.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
