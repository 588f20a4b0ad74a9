"""Reports explain schema-v2 steps (issues 13.1, 13.4, 14.1): where each paused worker
stopped (``file:line`` and the source line) in the JSON, the text table and the HTML
swimlanes; resumes and spawns read plainly; who spawned whom.

Every divergence here is a real one: a planted race (harness/inhouse/races.py) replayed
with its racer paused inside an op. Where it stopped is checked against the source file
itself, not against what the harness printed.
"""

import inspect
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.inhouse.races import CopyOnWriteStorageLocal
from harness.oracles.compare import Divergence, format_table
from harness.report import results as report
from harness.search.engine import observe
from harness.search.fuzzer import FuzzResult
from harness.targets import get_target
from tests.fixtures.race_traces import race_divergence, race_trace

ROOT = Path(__file__).resolve().parent.parent
RACES_FILE = "harness/inhouse/races.py"  # as the harness names it: relative to its sys.path entry
TARGET = "mutant-copy-on-write-storage-local"
ENV = {"python": "3", "implementation": "x", "platform": "y", "packages": {}, "gevent_patched": False}


@pytest.fixture(scope="module")
def raced():
    """w1 (thread) spawns w2 (thread); w2 pauses inside ``o0.b = 1`` (step 1); main sets
    ``o0.a`` (2); w2 resumes (3) and its copy of the storage undoes main's set; main's
    read (4) diverges."""
    divergence = race_divergence(TARGET, parent_kind="thread")
    assert divergence.index == 4 and [s.action for s in divergence.trace.steps] == [
        "spawn",
        "op",
        "op",
        "resume",
        "op",
    ]
    return divergence


def stopped_at(divergence):
    """(``file:line``, source line) where the racer stopped, the source read from the file,
    the line checked to be inside the racy ``__setattr__``."""
    observation = divergence.observed[1]
    assert observation.outcome == "paused", observation
    line = int(observation.value.split("  ")[0].rpartition(":")[2])
    body, first = inspect.getsourcelines(CopyOnWriteStorageLocal.__setattr__)
    assert first < line < first + len(body), (line, first)
    source = (ROOT / RACES_FILE).read_text().splitlines()[line - 1].strip()
    return f"{RACES_FILE}:{line}", source


# ---- JSON ---------------------------------------------------------------------------------


def test_the_json_names_where_each_paused_worker_stopped_and_who_spawned_whom(tmp_path, raced):
    where, source = stopped_at(raced)
    pauses = [{"step": 1, "worker": 2, "location": where, "source": source}]
    workers = [
        {
            "worker": 0,
            "kind": "main",
            "parent": None,
            "created_at": None,
            "ended_after": None,
            "spawned": False,
        },
        {"worker": 1, "kind": "thread", "parent": 0, "created_at": 0, "ended_after": 0, "spawned": False},
        {"worker": 2, "kind": "thread", "parent": 1, "created_at": 0, "ended_after": 3, "spawned": True},
    ]
    data = json.loads(json.dumps(raced.to_dict()))
    assert data["pauses"] == pauses and data["workers"] == workers
    written = report.write_result(
        tmp_path, FuzzResult(TARGET, ("thread",), 1, 0.0, raced), get_target(TARGET)
    )
    on_disk = json.loads((tmp_path / "results" / f"{TARGET}--thread.json").read_text())
    assert on_disk["divergence"]["pauses"] == pauses and on_disk["divergence"]["workers"] == workers
    assert written["divergence"]["pauses"] == pauses


def test_results_written_before_pauses_and_workers_still_load(raced):
    data = json.loads(json.dumps(raced.to_dict()))
    del data["pauses"], data["workers"]
    assert Divergence.from_dict(data) == raced
    assert Divergence.from_dict(json.loads(json.dumps(raced.to_dict()))) == raced


# ---- the text table -------------------------------------------------------------------------


def test_the_table_says_where_the_worker_stopped_and_lists_the_source_line_under_it(raced):
    where, source = stopped_at(raced)
    lines = raced.table().splitlines()
    rows = {line[2:].split()[0]: line for line in lines[1:6]}
    assert "spawn w2 (thread)" in rows["0"]
    assert rows["1"].endswith(f"paused at {where}") and source not in rows["1"]
    assert "resume o0.b = 1" in rows["3"]
    assert rows["4"].startswith(">>")
    assert lines[6:] == [
        "objects: o0: local",
        "paused workers stopped at:",
        f"    step 1  w2 (thread)  {where}  {source}",
    ]


def test_the_text_report_says_who_spawned_each_worker(tmp_path, raced):
    files = report.write_divergence(tmp_path, raced, get_target(TARGET), ("thread",), ENV)
    text = (tmp_path / files["text"]).read_text()
    assert "  w1 (thread): started at step 0, ended after step 0\n" in text
    assert "  w2 (thread): spawned by w1 at step 0, ended after step 3\n" in text
    assert f"    step 1  w2 (thread)  {stopped_at(raced)[0]}  {stopped_at(raced)[1]}\n" in text


def test_a_pause_that_ran_to_the_end_of_its_op_reads_so_and_has_no_location():
    """A pause point past the op's last line event: the step answers that it ran to its end."""
    trace = race_trace(TARGET, 10_000)
    expected, observed = observe(trace, get_target(TARGET))
    assert str(observed[0]) == "ran to its end (no pause point)"
    table = format_table(trace, expected, observed)
    assert table.splitlines()[1].endswith("ran to its end (no pause point)")
    assert "paused workers stopped at" not in table
    record = Divergence(TARGET, trace, len(trace.steps) - 1, tuple(expected), tuple(observed), {})
    assert record.to_dict()["pauses"] == [{"step": 0, "worker": 1, "location": None, "source": None}]


# ---- the HTML page ------------------------------------------------------------------------

VOID = {"br", "meta", "link", "img", "hr", "input"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return " ".join(
            "".join(c if isinstance(c, str) else " " + c.text() + " " for c in self.children).split()
        )

    def elements(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.elements()

    def find(self, tag, **attrs):
        return [
            n for n in self.elements() if n.tag == tag and all(n.attrs.get(k) == v for k, v in attrs.items())
        ]

    def kids(self, tag):
        return [c for c in self.children if isinstance(c, Node) and c.tag == tag]


class Tree(HTMLParser):
    """The page as a tree of :class:`Node` (enough of HTML for these pages)."""

    def __init__(self, html):
        super().__init__()
        self.root = self._open = Node("#document", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self._open)
        self._open.children.append(node)
        if tag not in VOID:
            self._open = node

    def handle_endtag(self, tag):
        node = self._open
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self._open = node.parent

    def handle_data(self, data):
        self._open.children.append(data)


def page_of(tmp_path, divergence):
    files = report.write_divergence(tmp_path, divergence, get_target(divergence.target), ("thread",), ENV)
    return Tree((tmp_path / files["page"]).read_text()).root


def lane_cell(page, step, worker):
    [row] = page.find("tr", id=f"step-{step}")
    return row.kids("td")[worker]


def test_the_pause_cell_says_where_the_worker_stopped_and_its_lane_stays_suspended(tmp_path, raced):
    where, source = stopped_at(raced)
    page = page_of(tmp_path, raced)
    paused = lane_cell(page, 1, 2)
    assert paused.attrs["class"] == "active" and f"stopped at {where}" in paused.text()
    assert [code.text() for code in paused.find("code")] == ["o0.b = 1", source]
    assert lane_cell(page, 2, 2).attrs["class"] == "suspended"
    assert (
        where in lane_cell(page, 2, 2).attrs["title"]
        and "until step 3" in lane_cell(page, 2, 2).attrs["title"]
    )
    resumed = lane_cell(page, 3, 2)
    assert resumed.attrs["class"] == "active" and resumed.find("code")[0].text() == "resume o0.b = 1"
    assert lane_cell(page, 4, 2).attrs["class"] == "absent"
    assert "divergent" in page.find("tr", id="step-4")[0].attrs["class"]


def test_spawn_cells_link_parent_and_child_lanes_and_a_tree_shows_who_spawned_whom(tmp_path, raced):
    page = page_of(tmp_path, raced)
    spawning = lane_cell(page, 0, 1)
    assert [(a.attrs["href"], a.text()) for a in spawning.find("a")] == [("#lane-2", "spawns w2 →")]
    born = lane_cell(page, 0, 2)
    assert born.attrs["class"] == "born" and [a.attrs["href"] for a in born.find("a")] == ["#lane-1"]
    [child_header] = page.find("th", id="lane-2")
    assert child_header.text() == "w2 (thread) spawned by w1 at step 0, ended after step 3"
    [tree] = page.find("ul", id="spawn-tree")
    [main] = tree.kids("li")
    [w1] = main.kids("ul")[0].kids("li")
    [w2] = w1.kids("ul")[0].kids("li")
    assert [node.kids("a")[0].text() for node in (main, w1, w2)] == [
        "w0 (main)",
        "w1 (thread)",
        "w2 (thread)",
    ]
    assert w2.kids("small")[0].text() == "spawned at step 0" and not w2.kids("ul")


def test_no_spawn_tree_when_main_started_every_worker(tmp_path):
    divergence = race_divergence(TARGET)
    page = page_of(tmp_path, divergence)
    assert not page.find("ul", id="spawn-tree")
    assert lane_cell(page, 1, 1).attrs["class"] == "suspended"
