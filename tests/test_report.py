"""HTML and JSON reports rendered from real divergences found by fuzzing (issue 4)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from markupsafe import escape

from harness.report import results as report
from harness.search.fuzzer import fuzz
from harness.search.generation import Generation
from harness.targets import get_target

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def found():
    """A real divergence: the seed Local shared between greenlets, found by generation (an
    observed value: without the retention check, which finds the kept value first)."""
    result = fuzz(
        get_target("seed-local"),
        ["greenlet"],
        max_examples=1000,
        database=None,
        derandomize=True,
        retention=False,
    )
    assert result.divergence is not None
    return result


class Rows(HTMLParser):
    """Collects the swimlane rows: their id, class and text."""

    def __init__(self):
        super().__init__()
        self.rows, self._row = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and (attrs.get("id") or "").startswith("step-"):
            self._row = {"id": attrs["id"], "class": attrs.get("class", ""), "text": ""}

    def handle_data(self, data):
        if self._row is not None:
            self._row["text"] += data

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None


def test_divergence_page_highlights_the_first_divergent_step(tmp_path, found):
    data = report.write_result(tmp_path, found, get_target(found.target))
    page = (tmp_path / data["files"]["page"]).read_text()
    parser = Rows()
    parser.feed(page)
    assert len(parser.rows) == len(found.divergence.trace.steps)
    marked = [row for row in parser.rows if "divergent" in row["class"]]
    assert [row["id"] for row in marked] == [f"step-{found.divergence.index}"]
    d = found.divergence
    assert f"observed {d.observed[d.index]}" in marked[0]["text"]
    assert f"expected {d.expected[d.index]}" in marked[0]["text"]
    for needle in (
        "w1 (greenlet)",
        "greenlet: <b>fresh</b>",
        "python -m harness replay",
        "hypothesis",
        "gevent monkey-patched",
        data["files"]["trace"].split("/")[-1],
    ):
        assert needle in page, needle
    assert "http://" not in page and "https://" not in page  # no network assets


def test_reproducer_runs_standalone_and_shows_the_divergence(tmp_path, found):
    data = report.write_result(tmp_path, found, get_target(found.target))
    script = tmp_path / data["files"]["reproducer"]
    assert (
        "import harness.search.engine" not in script.read_text()
        and "from harness." not in script.read_text().replace("from harness.inhouse", "")
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the seed's classes live in harness.inhouse
    run = subprocess.run(
        [sys.executable, script.name], cwd=script.parent, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 1, run.stderr
    assert f"DIVERGES at step {found.divergence.index}" in run.stdout
    marked = [line for line in run.stdout.splitlines() if line.startswith(">>")]
    assert len(marked) == 1 and marked[0].endswith(
        f"observed {found.divergence.observed[found.divergence.index]}"
    )


def test_result_json_is_versioned_and_index_merges_environments(tmp_path, found):
    report.write_result(tmp_path / "py311-werkzeug3", found, get_target(found.target))
    conforming = fuzz(
        get_target("werkzeug-local"),
        ["greenlet"],
        max_examples=20,
        database=None,
        generation=Generation(preempt=False),
        retention=False,
    )
    report.write_result(tmp_path / "py312-werkzeug2", conforming, get_target(conforming.target))
    index = report.write_index(tmp_path).read_text()
    assert index.count('class="environment"') == 2
    # each cell says whether preemption and the retention check were on
    assert "preemption on, retention off" in index and "preemption off, retention off" in index
    assert "py311-werkzeug3/divergences/seed-local-" in index and "not run" in index
    data = json.loads((tmp_path / "py311-werkzeug3/results/seed-local--greenlet.json").read_text())
    assert data["schema"] == report.RESULT_SCHEMA and data["verdict"] == "diverges"
    assert data["environment"]["packages"]["werkzeug"] and data["first_failure"] >= 1


def test_rerun_replaces_stale_pages_and_writes_atomically(tmp_path, found, monkeypatch):
    data = report.write_result(tmp_path, found, get_target(found.target))
    page = tmp_path / data["files"]["page"]
    assert page.exists()
    # same target and kinds, now conforming: the old divergence files go
    conforming = fuzz(get_target("seed-local"), ["greenlet"], max_examples=1, database=None)
    if conforming.divergence is None:
        report.write_result(tmp_path, conforming, get_target(conforming.target))
        assert not page.exists() and not (tmp_path / data["files"]["reproducer"]).exists()
    # a write that fails half-way leaves the old file whole and no temporary behind
    target = tmp_path / "index.html"
    target.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        report.write_atomic(target, "new" * 1000)
    assert target.read_text() == "old"
    monkeypatch.undo()
    report.write_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o666 & ~report.process_umask()  # not mkstemp's private 0600
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_index_and_page_load_in_headless_chromium(tmp_path, found):
    browser = _chromium()
    if browser is None:
        pytest.skip("Debian chromium is not installed (.ci/run installs it with apt-get when it can)")
    data = report.write_result(tmp_path, found, get_target(found.target))
    report.write_index(tmp_path)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    for name, page in (("index", tmp_path / "index.html"), ("divergence", tmp_path / data["files"]["page"])):
        shot = tmp_path / f"{name}.png"
        run = subprocess.run(
            [browser, *flags, f"--screenshot={shot}", "--window-size=1200,900", page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shot.exists() and shot.stat().st_size > 1000, run.stderr[-2000:]
        console_errors = [line for line in run.stderr.splitlines() if "CONSOLE" in line and "rror" in line]
        assert not console_errors, console_errors
        keep = os.environ.get("HARNESS_SCREENSHOTS")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(keep) / shot.name)


def test_index_skips_results_it_cannot_read(tmp_path, found, capsys):
    report.write_result(tmp_path, found, get_target(found.target))
    (tmp_path / "results" / "broken.json").write_text("{not json")
    old = {
        "schema": report.RESULT_SCHEMA,
        "target": "x",
        "kinds": ["thread"],
        "verdict": "diverges",
        "examples": 1,
        "seconds": 0.1,
        "files": {"text": "old.txt"},
    }
    (tmp_path / "results" / "old.json").write_text(json.dumps(old))
    index = report.write_index(tmp_path).read_text()
    assert "seed-local" in index and ">x<" not in index
    assert capsys.readouterr().err.count("skipping") == 2


def _changed(**fields):
    return lambda good: json.dumps({**good, **fields}).encode()


#: What a truncated, hostile or foreign results/*.json can hold, made from a good one.
HOSTILE = {
    "not UTF-8": lambda good: b"\xff\xfe" + json.dumps(good).encode(),
    "truncated": lambda good: json.dumps(good).encode()[:200],
    "deeply nested": lambda good: b"[" * 200_000 + b"]" * 200_000,
    "a list": lambda good: json.dumps([good]).encode(),
    "kinds not strings": _changed(kinds=[1, 2]),
    "kinds empty": _changed(kinds=[]),
    "target not a string": _changed(target=["seed-local"]),
    "unknown verdict": _changed(verdict="pwned"),
    "examples a string": _changed(examples="many"),
    "seconds a string": _changed(seconds="fast"),
    "finished a string": _changed(finished="yesterday"),
    "finished out of range": _changed(finished=1e300),
    "files a list": _changed(files=["divergences/x.html"]),
    "file names numbers": _changed(files={"page": 1, "text": 2, "trace": 3, "reproducer": 4}),
    "file names outside": _changed(
        files={key: "../victim.txt" for key in ("page", "text", "trace", "reproducer")}
    ),
    "divergence a string": _changed(divergence="oops"),
    "signature missing": _changed(divergence={}),
    "contracts a list": _changed(contracts=["thread"]),
    "contract rules numbers": _changed(contracts={"greenlet": 1}),
    "unsupported a number": _changed(unsupported=3),
    "flaky a string": _changed(flaky="no"),
    "known a list": _changed(known=["why"]),
}


@pytest.mark.parametrize("shape", HOSTILE)
def test_a_malformed_result_is_skipped_with_a_warning_and_breaks_nothing(tmp_path, found, capsys, shape):
    """``report`` and every later ``fuzz`` go on past one bad results file: the index
    skips it with one warning, and a re-run of its cell neither crashes on it nor
    deletes anything it names."""
    directory = tmp_path / "reports"
    target = get_target(found.target)
    good = report.write_result(directory, found, target)
    cell = directory / "results" / "seed-local--greenlet.json"
    (directory / "results" / "bad.json").write_bytes(HOSTILE[shape](good))
    index = report.write_index(directory).read_text()
    assert index.count(">seed-local<") == 1 and escape(found.divergence.signature()) in index
    assert (
        capsys.readouterr().err
        == f"harness: skipping {directory / 'results' / 'bad.json'}: not a result this version can read\n"
    )
    # the same shape as the previous result of the cell a run rewrites
    victim = directory / "victim.txt"
    victim.write_text("keep me")
    cell.write_bytes(HOSTILE[shape](good))
    report.write_result(directory, found, target)
    assert victim.read_text() == "keep me"
    assert report.load_results(directory)[0]["verdict"] == "diverges"


def test_a_result_path_that_is_not_a_regular_file_is_skipped(tmp_path, found, capsys):
    report.write_result(tmp_path, found, get_target(found.target))
    (tmp_path / "results" / "dir.json").mkdir()
    os.mkfifo(tmp_path / "results" / "fifo.json")  # reading it would block forever
    assert [r["target"] for r in report.load_results(tmp_path)] == ["seed-local"]
    assert capsys.readouterr().err.count("skipping") == 2


def _hand_found(target_name="seed-local"):
    """A divergence on a hand-written trace: w1 and w2 greenlets, o1 never used."""
    from harness.search.engine import find_divergence
    from harness.trace.trace import Trace

    trace = Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", "greenlet", "greenlet"],
            "objects": ["local", "local"],
            "steps": [
                [0, {"op": "set", "obj": 0, "attr": "a", "value": 0}],
                [1, {"op": "get", "obj": 0, "attr": "a"}],
                [2, {"op": "set", "obj": 0, "attr": "b", "value": 1}],
                [1, {"op": "get", "obj": 0, "attr": "b"}],
            ],
        }
    )
    divergence = find_divergence(trace, get_target(target_name))
    assert divergence is not None and divergence.index == 1
    return divergence


class Lanes(HTMLParser):
    """The swimlane header cells' text, and every href."""

    def __init__(self):
        super().__init__()
        self.headers, self.hrefs, self._in = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._in is not None:
            self._in += " "
        if attrs.get("href") is not None:
            self.hrefs.append(attrs["href"])
        if tag == "th" and "lane" in (attrs.get("class") or ""):
            self._in = ""

    def handle_data(self, data):
        if self._in is not None:
            self._in += data

    def handle_endtag(self, tag):
        if tag == "th" and self._in is not None:
            self.headers.append(" ".join(self._in.split()))
            self._in = None


def test_the_page_and_text_show_when_each_worker_started_and_ended_and_only_used_objects(tmp_path):
    divergence = _hand_found()
    env = {"python": "3", "implementation": "x", "platform": "y", "packages": {}, "gevent_patched": False}
    files = report.write_divergence(tmp_path, divergence, get_target("seed-local"), ("greenlet",), env)
    spans = [
        "w0 (main) started at step 0, ended after step 0",
        "w1 (greenlet) started at step 1, ended after step 3",
        "w2 (greenlet) started at step 2, ended after step 2",
    ]
    lanes = Lanes()
    lanes.feed((tmp_path / files["page"]).read_text())
    assert lanes.headers == spans
    text = (tmp_path / files["text"]).read_text()
    for span in spans:
        assert span.replace(" started", ": started") in text
    assert "objects: o0: local\n" in text and "o1" not in text
    assert "o1" not in (tmp_path / files["page"]).read_text()


def test_a_module_factory_target_gets_safe_file_names_and_a_quoted_replay_command(tmp_path):
    """``:`` in a file name breaks Windows and artifact stores, and ``href="mod:x"`` is
    a URL scheme; a path with a space must survive the shell."""
    run = subprocess.run(
        [sys.executable, "-m", "harness", "fuzz", "--target", "tests.fixtures.user_targets:DictLocal"]
        + ["--kinds", "greenlet", "--max-examples", "300", "--no-database", "--reports", "my reports"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    written = [p for p in (tmp_path / "my reports").rglob("*") if p.is_file()]
    assert len(written) >= 6
    assert all(re.fullmatch(r"[A-Za-z0-9._+-]+", p.name) for p in written), written
    page = next(p for p in written if p.suffix == ".html" and p.parent.name == "divergences")
    lanes = Lanes()
    lanes.feed(page.read_text())
    assert lanes.hrefs and all(urlsplit(href).scheme == "" for href in lanes.hrefs), lanes.hrefs
    replay = next(line for line in run.stdout.splitlines() if line.startswith("replay: "))
    words = shlex.split(replay.removeprefix("replay: "))
    assert words[:4] == ["python", "-m", "harness", "replay"] and (tmp_path / words[4]).is_file()
    assert words[5:] == ["--target", "tests.fixtures.user_targets:DictLocal", "--family", "local"]
    replayed = subprocess.run(
        [sys.executable, *words[1:]],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr


def test_the_process_umask_is_read_without_changing_it():
    """Reports are written with the process's umask (mkstemp's files are 0600), read from
    /proc where there is one: never by setting it while another thread creates files."""
    import os

    report.process_umask.cache_clear()
    calls = []
    real = os.umask
    try:
        os.umask = lambda mask: calls.append(mask) or real(mask)
        umask = report.process_umask()
    finally:
        os.umask = real
    assert umask == real(umask) and calls == ([] if os.path.exists("/proc/self/status") else [0o022, umask])
