"""Test configuration: load the Hypothesis profile (``HYPOTHESIS_PROFILE``, default ``dev``)."""

from hypothesis import settings

from harness.search.profiles import active_profile

settings.load_profile(active_profile())
