"""The environment is the one asked for: tox pins werkzeug per env, and installing the
harness must not silently upgrade it (which once made the werkzeug 1.0 env test 3.1)."""

import os
from importlib.metadata import version

import pytest

from harness.model.flask import installed_flask, merges_contexts


@pytest.mark.skipif("EXPECT_WERKZEUG" not in os.environ, reason="set by tox: the werkzeug version of the env")
def test_the_installed_werkzeug_is_the_envs():
    expected = os.environ["EXPECT_WERKZEUG"]
    assert version("werkzeug") == expected or version("werkzeug").startswith(expected + ".")


@pytest.mark.skipif("EXPECT_FLASK_MAIN" not in os.environ, reason="set by tox -e flaskmain")
def test_the_installed_flask_is_a_main_branch_build():
    """Else the Flask 3.2 tests (tests/test_flask_main.py) would skip, not run."""
    assert merges_contexts(installed_flask()), f"Flask {installed_flask()} is not 3.2 or later"
