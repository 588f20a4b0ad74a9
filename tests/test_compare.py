from harness.oracles.compare import first_divergence, format_table
from harness.trace.trace import Observation, Op, Step, Trace

ONE, TWO = Observation.returned(1), Observation.returned(2)


def test_first_divergence():
    assert first_divergence([ONE, TWO], [ONE, TWO]) is None
    assert first_divergence([ONE, TWO], [ONE, ONE]) == 1
    assert first_divergence([ONE, TWO], [ONE]) == 1


def test_table_marks_the_divergent_step_and_names_workers():
    trace = Trace(
        ("main", "greenlet"), ("local",), (Step(0, Op("set", 0, "a", 1)), Step(1, Op("get", 0, "a")))
    )
    table = format_table(
        trace,
        [Observation.returned(None), Observation("raised", "AttributeError")],
        [Observation.returned(None), ONE],
        mark=1,
    )
    lines = table.splitlines()
    assert lines[0].split() == ["step", "worker", "op", "expected", "observed"]
    assert lines[2].startswith(">>") and "w1 (greenlet)" in lines[2]
    assert "raises AttributeError" in lines[2] and lines[2].rstrip().endswith("1")
    assert not lines[1].startswith(">>")
