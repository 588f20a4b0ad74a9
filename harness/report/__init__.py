"""Showing findings: result files, the HTML index and pages, reproducers, JUnit XML.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""
