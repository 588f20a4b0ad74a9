"""In-house context-local implementations (the seed's, and later the fixed one)."""
