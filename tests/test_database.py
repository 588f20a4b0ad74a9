"""Example databases: a failure found once replays first, also on other machines (issue 7)."""

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.report.junit import junit_xml
from harness.search.database import open_database
from harness.search.fuzzer import fuzz
from harness.targets import get_target

from .test_cli import ROOT, harness

pytestmark = pytest.mark.slow


def test_a_failure_found_once_replays_first_next_time(tmp_path):
    database = open_database(str(tmp_path / "db"))
    first = fuzz(get_target("seed-local"), ["greenlet"], max_examples=1000, database=database)
    assert first.divergence is not None and first.first_failure > 1
    again = fuzz(get_target("seed-local"), ["greenlet"], max_examples=1000, database=database)
    assert again.first_failure == 1
    assert again.divergence.trace == first.divergence.trace


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (.ci/run installs Debian's redis-server when it can)")
    pytest.importorskip("redis", reason="the redis extra is not installed: pip install '.[redis]'")
    import redis

    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)  # waiting for the server to listen, not ordering workers
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_machines_share_failures_through_redis(tmp_path, redis_url):
    # machine A finds the bug
    machine_a = tmp_path / "a"
    machine_a.mkdir()
    run = harness(
        "fuzz",
        "--target",
        "seed-local",
        "--kinds",
        "thread",
        "--max-examples",
        "1000",
        "--database",
        redis_url,
        cwd=machine_a,
    )
    assert run.returncode == 1, run.stderr
    found_a = json.loads((machine_a / "reports/results/seed-local--thread.json").read_text())
    assert found_a["first_failure"] > 1
    # machine B (another directory, no local database) replays it first
    machine_b = tmp_path / "b"
    machine_b.mkdir()
    run = harness(
        "fuzz",
        "--target",
        "seed-local",
        "--kinds",
        "thread",
        "--max-examples",
        "1000",
        "--database",
        redis_url,
        cwd=machine_b,
    )
    assert run.returncode == 1
    found_b = json.loads((machine_b / "reports/results/seed-local--thread.json").read_text())
    assert found_b["first_failure"] == 1
    assert not (machine_b / ".hypothesis").exists()


def test_unreachable_redis_is_a_clear_error(tmp_path):
    pytest.importorskip("redis")
    run = harness("fuzz", "--database", f"redis://127.0.0.1:{_free_port()}/0", cwd=tmp_path)
    assert run.returncode == 2 and "cannot reach the example database" in run.stderr
    assert run.stderr.count("\n") == 1


def test_junit_xml_and_progress_bar(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        "seed-local,werkzeug-local,threading-local",
        "--kinds",
        "greenlet",
        "--max-examples",
        "200",
        "--no-database",
        "--junit-xml",
        "ci/junit.xml",
        cwd=tmp_path,
    )
    assert run.returncode == 1
    assert "[####################] 100% 200 examples, 0 failing" in run.stderr
    xml = (tmp_path / "ci/junit.xml").read_text()
    assert 'tests="3" failures="1" skipped="1"' in xml
    assert '<testcase classname="local-harness.seed-local" name="greenlet"' in xml
    assert '<failure message="' in xml and 'type="Divergence"' in xml  # the message is the signature
    assert "&gt;&gt;" in xml and '<skipped message="not isolated by design"' in xml


def test_ci_environment_keeps_the_database_and_randomness(tmp_path):
    """With CI=true Hypothesis loads its own 'ci' profile (no database, derandomized);
    the harness's profiles and fuzz runs must not inherit that."""
    code = (
        "from hypothesis import settings; import harness.search.profiles as p\n"
        "s = settings.get_profile('ci')\n"
        "print(s.database is not None, s.derandomize)\n"
    )
    import subprocess

    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**__import__("os").environ, "CI": "true", "PYTHONPATH": ROOT},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.stdout.split() == ["True", "False"], run.stderr
    result = harness(
        "fuzz",
        "--target",
        "seed-local",
        "--kinds",
        "greenlet",
        "--max-examples",
        "300",
        "--profile",
        "ci",
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert any(p.is_file() for p in (tmp_path / ".hypothesis" / "examples").rglob("*"))


def test_open_database_specs(tmp_path):
    assert open_database("none") is None and open_database(None) is None
    assert open_database("default").path == Path(".hypothesis") / "examples"
    assert open_database(str(tmp_path)).path == tmp_path


def test_junit_renders_without_results():
    assert 'tests="0"' in junit_xml([])
