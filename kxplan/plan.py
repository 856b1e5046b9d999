"""The plan as data: `Change`s in apply order, plus the summary. Renderers and the applier
read this; neither re-diffs. (Built by `kxplan.planner.build_plan`.)

What each change carries is typed in kxplan.changes (one module per kind); JSON exists only
at the boundary (kxplan.changes.codec: saved plans, `--format json`).
`Plan.memory` (task key -> {"id", "text"}) is what the apply writes in each changed task's
marker (`external_message`): riding in the task's update PUT, or one PUT after its checklist
changes when the task has no update; creates write theirs in the create.
Notes, keeps and blocked tasks come last (wave 5) and make no calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from kxplan.changes import codec
from kxplan.changes.base import WAVES, Action, Change, Kind
from kxplan.formats import FORMAT_VERSION
from kxplan.jsontypes import JsonObject, JsonValue

__all__ = [
    "FORMAT_VERSION",
    "WAVES",
    "Action",
    "Binding",
    "Change",
    "Kind",
    "Plan",
    "PlanSettings",
    "SetWrite",
    "SharedSet",
    "SuspectedRename",
    "fingerprint",
]


@dataclass(frozen=True, slots=True)
class SuspectedRename:
    """A planned task create `key` that looks like the managed task `renamed_from` (live
    `id`), which the plan keeps, deletes or blocks (`old_action`). `line` is the YAML line
    that makes the plan an update of the old task; `location` is where the new task is
    written in the manifest (`file:line:col`, "" when unknown). Apply refuses to create
    `key` until the user resolves it (kxplan.planner.renames)."""

    key: str
    renamed_from: str
    id: str
    title: str
    old_title: str
    old_action: str
    similarity: float
    path: str
    old_path: str
    location: str
    line: str

    @property
    def old_fate(self) -> str:
        """What the plan does with the old task, as a verb ("keeps", "deletes", ...)."""
        fates = {"keep": "keeps", "delete": "deletes", "blocked": "keeps (protected)"}
        return fates.get(self.old_action, self.old_action)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SuspectedRename:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class SharedSet:
    """An existing status set the plan changes that other workspaces use too: how many
    (`workspaces`), and how many of their tasks hold a status the plan renames, replaces or
    deletes (`statuses`), so their status changes (`tasks`; None when it could not be
    counted). Applying it needs --allow-shared-set-change (docs/plan.md, "Shared status
    sets")."""

    name: str
    id: str
    workspaces: int
    tasks: int | None
    statuses: tuple[str, ...] = ()

    def warning(self) -> str:
        """`status set "Delivery" is shared: 1 other workspace uses it, 3 of its tasks would
        change status (...)`."""
        noun = "workspace uses" if self.workspaces == 1 else "workspaces use"
        its = "its" if self.workspaces == 1 else "their"
        if self.tasks is None:
            held = f"an uncounted number of {its} tasks would change status"
        else:
            held = f"{self.tasks} of {its} tasks would change status"  # "1 of its tasks"
        names = ", ".join(repr(s) for s in self.statuses)
        on = f" (on {names})" if names and self.tasks != 0 else ""
        return (
            f'status set "{self.name}" is shared: {self.workspaces} other {noun} it, '
            f"{held}{on}; applying needs --allow-shared-set-change"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "workspaces": self.workspaces,
            "tasks": self.tasks,
            "statuses": list(self.statuses),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SharedSet:
        tasks = data.get("tasks")
        return cls(
            name=str(data["name"]),
            id=str(data["id"]),
            workspaces=int(data["workspaces"]),
            tasks=None if tasks is None else int(tasks),
            statuses=tuple(str(s) for s in data.get("statuses", ())),
        )


class PlanWorkspace(TypedDict):
    """The workspace a plan is for (id None: it does not exist yet)."""

    id: str | None
    title: str


class PlanSettings(TypedDict, total=False):
    """How the plan was made (`options` in the JSON, docs/plan.md "JSON"): the planner
    writes all but `vars`, which a saved plan adds (the --var values it was made with)."""

    prune: bool
    allow_mass_delete: bool
    targets: list[str]
    adopt: bool
    #: Where Kantata puts a new sibling, learnt from the live tasks ("first"/"last"; None:
    #: unknown); the applier orders its creates by it (docs/apply.md, "Sibling order").
    new_siblings: str | None
    vars: dict[str, str]


class Binding(TypedDict, total=False):
    """Saved plans only: where the plan was made; `apply PLANFILE` refuses it anywhere else
    (docs/apply.md). A plan that was not saved has none (`{}`)."""

    api: str  # the API root URL, or sandbox:<data file> for --sandbox
    workspace: PlanWorkspace
    stack: str
    manifest_digest: str  # of the resolved manifest (kxplan.saved_plans.manifest_digest)


class SetWrite(TypedDict):
    """What the applier records about a status set the plan writes, before writing it
    (docs/apply.md, "Who last wrote a status set"; kxplan.shared_sets)."""

    set: str
    digest: str
    generation: int


def settings_from_json(data: JsonValue) -> PlanSettings:
    """`options` as a plan file holds them (keys it does not know are left out)."""
    out: PlanSettings = {}
    for name, value in _object(data).items():
        if name == "prune":
            out["prune"] = bool(value)
        elif name == "allow_mass_delete":
            out["allow_mass_delete"] = bool(value)
        elif name == "targets":
            out["targets"] = [str(t) for t in value] if isinstance(value, list) else []
        elif name == "adopt":
            out["adopt"] = bool(value)
        elif name == "new_siblings":
            out["new_siblings"] = None if value is None else str(value)
        elif name == "vars":
            out["vars"] = {str(k): str(v) for k, v in _object(value).items()}
    return out


def binding_from_json(data: JsonValue) -> Binding:
    """`binding` as a plan file holds it (checked against the API and workspace before use)."""
    found = _object(data)
    out: Binding = {}
    if "api" in found:
        out["api"] = str(found["api"])
    if "workspace" in found:
        bound = _object(found["workspace"])
        wid = bound.get("id")
        out["workspace"] = {
            "id": None if wid is None else str(wid),
            "title": str(bound.get("title") or ""),
        }
    if "stack" in found:
        out["stack"] = str(found["stack"])
    if "manifest_digest" in found:
        out["manifest_digest"] = str(found["manifest_digest"])
    return out


def set_write_from_json(data: JsonValue) -> SetWrite:
    """One of `set_writes` as a plan file holds it."""
    found = _object(data)
    generation = found["generation"]
    if not isinstance(generation, int | str):
        raise TypeError(f"set_writes: generation {generation!r} is not a number")
    return {"set": str(found["set"]), "digest": str(found["digest"]), "generation": int(generation)}


def _object(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True, slots=True)
class Plan:
    """An ordered, deterministic plan for one manifest against one workspace."""

    stack: str
    manifest: str
    workspace: PlanWorkspace
    changes: tuple[Change, ...]
    requests: Mapping[str, int] = field(default_factory=lambda: {"read": 0, "write": 0})
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    options: PlanSettings = field(default_factory=lambda: PlanSettings())
    binding: Binding = field(default_factory=lambda: Binding())
    suspected_renames: tuple[SuspectedRename, ...] = ()
    #: Existing status sets this plan changes that other workspaces use (docs/plan.md).
    shared_sets: tuple[SharedSet, ...] = ()
    #: What the applier records about each status set the plan writes, before writing it.
    set_writes: tuple[SetWrite, ...] = ()
    #: Task key -> {"id": story id, "text": memory} the apply writes on the task's marker
    #: (its `external_message`, kxplan.planner.memory): for existing tasks the plan changes.
    memory: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: How many stories of the live read carried this stack's marker: the applier's marker
    #: checks compare Kantata's count with it (kxplan.apply._guard). Not saved in a plan
    #: file (None there): a saved plan's read is too old to count on.
    stack_stories: int | None = None

    @property
    def actionable(self) -> tuple[Change, ...]:
        """Changes that make API calls."""
        return tuple(c for c in self.changes if c.action.makes_calls)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def summary(self) -> dict[str, int]:
        """Counts for `Plan: N to add, N to change, N to move, N to delete.`; `keep` counts
        the managed tasks kept (no longer in the manifest, not deleted without --prune).
        The workspace's own create is not counted: the summary line says it apart."""
        keep = sum(1 for c in self.changes if c.action is Action.KEEP and c.kind is Kind.TASK)
        counts = {"create": 0, "update": 0, "move": 0, "delete": 0, "adopt": 0, "keep": keep}
        for c in self.actionable:
            if c.kind is Kind.NOTE or (c.kind is Kind.WORKSPACE and c.action is Action.CREATE):
                continue  # the workspace's own create is said apart (render.common)
            if c.action is Action.REPLACE:
                counts["update"] += 1
            elif c.action.value in counts:
                counts[c.action.value] += 1
        return counts

    def targeting_warning(self) -> str | None:
        """Why a targeted plan may be incomplete (like Terraform's "resource targeting is
        in effect"); None when no --target limited it."""
        targets = self.options.get("targets") or []
        if not targets:
            return None
        given = ", ".join(f"--target {t}" for t in targets)
        return (
            f"Targeting is in effect ({given}): only those tasks and their subtrees were "
            "planned; the rest of the manifest and workspace was not compared, so this plan "
            "may be incomplete. Plan without --target to see everything."
        )

    def to_json(self) -> dict[str, Any]:
        bound = {"binding": dict(self.binding)} if self.binding else {}
        warning = self.targeting_warning()
        if warning:
            targets = list(self.options.get("targets") or [])
            bound["targeting"] = {"targets": targets, "warning": warning}
        return {
            "format_version": FORMAT_VERSION,
            "stack": self.stack,
            "manifest": self.manifest,
            "workspace": dict(self.workspace),
            "changes": [c.to_json() for c in self.changes],
            "summary": self.summary(),
            "requests": dict(self.requests),
            "fingerprints": dict(sorted(self.fingerprints.items())),
            "options": dict(self.options),
            **bound,
            "suspected_renames": [s.to_json() for s in self.suspected_renames],
            **self._set_json(),
            **({"memory": dict(sorted(self.memory.items()))} if self.memory else {}),
        }

    def _set_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.shared_sets:
            out["shared_sets"] = [s.to_json() for s in self.shared_sets]
        if self.set_writes:
            out["set_writes"] = [dict(w) for w in self.set_writes]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            stack=data["stack"],
            manifest=data.get("manifest", ""),
            workspace=data["workspace"],
            changes=tuple(codec.from_json(c) for c in data["changes"]),
            requests=data.get("requests", {"read": 0, "write": 0}),
            fingerprints=data.get("fingerprints", {}),
            options=settings_from_json(data.get("options")),
            binding=binding_from_json(data.get("binding")),
            suspected_renames=tuple(
                SuspectedRename.from_json(s) for s in data.get("suspected_renames", ())
            ),
            shared_sets=tuple(SharedSet.from_json(s) for s in data.get("shared_sets", ())),
            set_writes=tuple(set_write_from_json(w) for w in data.get("set_writes", ())),
            memory=dict(data.get("memory") or {}),
        )


def fingerprint(obj: Any) -> str:
    """A stable digest of a live object (a frozen dataclass or JSON-ready value)."""
    payload = _jsonable(obj)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {name: _jsonable(getattr(obj, name)) for name in obj.__dataclass_fields__}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_jsonable(v) for v in obj)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    return obj
