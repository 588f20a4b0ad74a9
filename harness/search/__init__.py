"""Finding divergences: the fuzz loop, exhaustive exploration, minimisation, guidance."""
