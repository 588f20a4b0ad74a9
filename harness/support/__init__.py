"""Process support: signals, shutdown, progress lines, output paths, environment facts."""
