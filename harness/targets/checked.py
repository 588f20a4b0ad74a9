"""What a trace file records beside its trace: everything its run checked that changes a verdict.

A replay of the file checks the same, so the plain printed ``replay`` command is enough:
the contract of each kind, whether retention was checked, the modules whose lines count
for a pause inside an op (``--trace-module``: a pause's position is a count of them),
whether stack items were compared strictly, a ``module:factory`` target's family, and the
finding classes that fail the run (``--fail-on``). Options on the replay's command line
still override. A file without the record (or without some of its fields) replays with
the defaults, as files written before each field was recorded always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.errors import InvalidArgument
from harness.oracles.classes import FAILING_CLASSES, FINDING_CLASSES
from harness.oracles.compare import Divergence
from harness.targets.base import Target
from harness.trace.kinds import CONTRACTS, WORKER_KINDS

_SHAPE = (
    "'checked' must be {'contracts': {KIND: CONTRACT}, 'retention': true|false, 'fail_on': [CLASS],"
    " 'trace_modules': [MODULE], 'strict_items': true|false, 'family': 'local'|'stack'}"
    " (every field optional)"
)


@dataclass(frozen=True)
class Checked:
    """What the run that wrote a trace file checked (the defaults for a bare trace)."""

    contracts: Mapping[str, str] = field(default_factory=dict)
    retention: bool = True
    fail_on: frozenset[str] = frozenset(FAILING_CLASSES)
    trace_modules: tuple[str, ...] = ()
    strict_items: bool = False
    #: A ``module:factory`` target's family (``local`` or ``stack``), else ``None``.
    family: str | None = None

    @classmethod
    def of_run(
        cls,
        divergence: Divergence,
        target: Target,
        retention: bool,
        fail_on: frozenset[str] | None = None,
    ) -> Checked:
        """What a run of ``target`` that found ``divergence`` checked."""
        family = divergence.trace.objects[0] if divergence.trace.objects else None
        return cls(
            dict(divergence.contracts),
            retention,
            frozenset(FAILING_CLASSES) if fail_on is None else fail_on,
            tuple(target.trace_modules),
            target.strict_items,
            family if ":" in target.name and family in ("local", "stack") else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (fields at their default are written too: the file says all)."""
        data: dict[str, Any] = {
            "contracts": dict(sorted(self.contracts.items())),
            "retention": self.retention,
            "fail_on": [name for name in FINDING_CLASSES if name in self.fail_on],
            "trace_modules": list(self.trace_modules),
            "strict_items": self.strict_items,
        }
        if self.family is not None:
            data["family"] = self.family
        return data

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Checked:
        """The record ``data`` read from the file at ``path``; :class:`InvalidArgument` (one
        line naming the file and the expected shape) when it is malformed."""
        if not isinstance(data, dict):
            raise InvalidArgument(f"trace {path!r}: {_SHAPE}")
        contracts = data.get("contracts", {})
        retention = data.get("retention", True)
        fail_on = data.get("fail_on", list(FAILING_CLASSES))
        modules = data.get("trace_modules", [])
        strict_items = data.get("strict_items", False)
        family = data.get("family")
        if (
            not isinstance(contracts, dict)
            or not all(kind in WORKER_KINDS and rule in CONTRACTS for kind, rule in contracts.items())
            or not isinstance(retention, bool)
            or not isinstance(fail_on, list)
            or not all(name in FINDING_CLASSES for name in fail_on)
            or not isinstance(modules, list)
            or not all(isinstance(module, str) and module for module in modules)
            or not isinstance(strict_items, bool)
            or family not in (None, "local", "stack")
        ):
            raise InvalidArgument(f"trace {path!r}: {_SHAPE}")
        return cls(dict(contracts), retention, frozenset(fail_on), tuple(modules), strict_items, family)

    def _overridden(self, target: Target) -> dict[str, str]:
        return {kind: rule for kind, rule in self.contracts.items() if target.contract(kind) != rule}

    def _modules(self, target: Target) -> tuple[str, ...]:
        return tuple(module for module in self.trace_modules if module not in target.trace_modules)

    def applied(self, target: Target) -> Target:
        """``target`` checking what the file records (the command line may still override);
        a recorded module that does not import is a usage error, now."""
        changed, modules = self._overridden(target), self._modules(target)
        if not changed and not modules and self.strict_items <= target.strict_items:
            return target
        applied = replace(
            target,
            contracts={**target.contracts, **changed},
            trace_modules=(*target.trace_modules, *modules),
            strict_items=target.strict_items or self.strict_items,
        )
        applied.trace_files()
        return applied

    def note(self, target: Target) -> str | None:
        """One line naming what the file makes replay check beyond ``target``'s own rules
        and the defaults, or ``None`` when it changes nothing."""
        changed = [f"{kind}={rule}" for kind, rule in self._overridden(target).items()]
        parts = [f"contract {', '.join(changed)}"] if changed else []
        parts += [] if self.retention else ["retention off"]
        modules = self._modules(target)
        parts += [f"trace modules {', '.join(modules)}"] if modules else []
        parts += ["strict items"] if self.strict_items and not target.strict_items else []
        if self.fail_on != frozenset(FAILING_CLASSES):
            parts += [f"fail on {','.join(name for name in FINDING_CLASSES if name in self.fail_on)}"]
        return f"checking as the trace file records: {'; '.join(parts)}" if parts else None
