"""Reference models: what a correct context-local shows at every step.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
