"""Reference models: what a correct context-local shows at every step."""
