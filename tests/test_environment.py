"""The environment is the one asked for: tox pins werkzeug per env, and installing the
harness must not silently upgrade it (which once made the werkzeug 1.0 env test 3.1)."""

import os
from importlib.metadata import version

import pytest


@pytest.mark.skipif("EXPECT_WERKZEUG" not in os.environ, reason="set by tox: the werkzeug version of the env")
def test_the_installed_werkzeug_is_the_envs():
    expected = os.environ["EXPECT_WERKZEUG"]
    assert version("werkzeug") == expected or version("werkzeug").startswith(expected + ".")
