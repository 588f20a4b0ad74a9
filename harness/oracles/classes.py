"""The classes of finding, what fails a run by default, and which is most severe.

Kept below the search and the reports, which both name them: a run classifies what it
finds, a trace file records which classes fail its replay.
"""

from __future__ import annotations

#: Every class of finding, in the order the CLI lists them.
FINDING_CLASSES = ("isolation", "retention", "hang", "crash", "nondeterministic", "bounded-retention")
#: The classes that fail a run by default (``--fail-on``): all but bounded retention, a
#: bounded amount kept for a while that does not grow with the workers that end (a note).
FAILING_CLASSES = FINDING_CLASSES[:-1]
#: The classes that are notes: a result whose findings are all notes conforms.
NOTE_CLASSES = ("bounded-retention",)
#: The classes from most to least severe: a result's first finding, and its index cell,
#: is the most severe one. A worker seeing what its contract forbids is the bug users
#: fuzz for; a hang or crash stops a program; memory kept too long costs memory; a
#: finding that did not reproduce is a lead, not a verdict.
SEVERITY = ("isolation", "hang", "crash", "retention", "nondeterministic", "bounded-retention")
