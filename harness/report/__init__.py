"""Showing findings: result files, the HTML index and pages, reproducers, JUnit XML."""
