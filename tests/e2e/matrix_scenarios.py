"""The end-to-end scenarios of the variant matrix, driven through the real CLI.

Each scenario takes a started sandbox (playing some `Variants`) and checks what a user
relies on whatever Kantata's real answers are: the **first** apply exits 0, a re-plan is
empty (`--detailed-exitcode` exits 0), exactly one live story carries each key's marker,
and whatever people did in Kantata in between is still there.

What is checked is read from the sandbox's own tables (`Truth`), not through kxplan's
reader, so a read that misses stories (To Dos, a page lost without `meta`) cannot hide a
duplicate. People's edits go through the HTTP API, as the Kantata UI would make them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kxplan.client import KantataClient
from kxplan.manifest import load_manifest
from kxplan.sandbox import Faults, SandboxServer
from tests.support import Result, kxplan, tree, write_manifest

from . import scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PERSON_TOKEN = "a-person-in-the-kantata-ui"
MARKER_SERVICE = "kxplan"


# --------------------------------------------------------------------------- the truth


@dataclass(frozen=True)
class Truth:
    """What the sandbox really holds, read from its tables (deleted stories left out)."""

    server: SandboxServer

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.server.model.store.all(sql, args)

    def marked(self, stack: str) -> Counter[str]:
        """Key -> how many live stories carry this stack's marker for it."""
        rows = self._all(
            "SELECT e.service_model_ref AS key FROM external_references e "
            "JOIN stories s ON s.id = e.subject_id AND e.subject_type = 'Story' "
            "WHERE e.service_name = ? AND e.service_model = ? AND s.deleted_at IS NULL",
            (MARKER_SERVICE, stack),
        )
        return Counter(r["key"] for r in rows)

    def story(self, stack: str, key: str) -> dict[str, Any]:
        """The one live story marked `key`."""
        rows = self._all(
            "SELECT s.* FROM stories s JOIN external_references e "
            "ON s.id = e.subject_id AND e.subject_type = 'Story' "
            "WHERE e.service_name = ? AND e.service_model = ? AND e.service_model_ref = ? "
            "AND s.deleted_at IS NULL",
            (MARKER_SERVICE, stack, key),
        )
        assert len(rows) == 1, f"{len(rows)} live stories marked {stack}/{key}"
        return rows[0]

    def by_id(self, story_id: int) -> dict[str, Any]:
        row = self.server.model.store.by_id("stories", story_id)
        assert row is not None, f"story {story_id} is gone from the sandbox"
        return row

    def stories(self, workspace_id: str) -> list[dict[str, Any]]:
        """Every live story of the workspace, by id."""
        sql = "SELECT * FROM stories WHERE workspace_id = ? AND deleted_at IS NULL ORDER BY id"
        return self._all(sql, (int(workspace_id),))

    def shape(self, workspace_id: str) -> dict[int, tuple[str, int | None, str]]:
        """Story id -> (title, parent id, status) of every live story of the workspace."""
        return {
            s["id"]: (s["title"], s["parent_id"], s["status"]) for s in self.stories(workspace_id)
        }

    def checklist(self, story_id: int) -> list[tuple[str, bool]]:
        rows = self._all(
            "SELECT name, completed FROM story_tasks WHERE story_id = ? ORDER BY position, id",
            (story_id,),
        )
        return [(r["name"], bool(r["completed"])) for r in rows]

    def item_id(self, story_id: int, name: str) -> int:
        rows = self._all(
            "SELECT id FROM story_tasks WHERE story_id = ? AND name = ?", (story_id, name)
        )
        assert len(rows) == 1, f"{len(rows)} checklist items {name!r} on story {story_id}"
        return int(rows[0]["id"])

    def order(self, stack: str) -> dict[str | None, list[str]]:
        """Parent key (None: top level) -> its marked children's keys, in Kantata's order."""
        rows = self._all(
            "SELECT s.id, s.parent_id, e.service_model_ref AS key FROM stories s "
            "JOIN external_references e ON s.id = e.subject_id AND e.subject_type = 'Story' "
            "WHERE e.service_name = ? AND e.service_model = ? AND s.deleted_at IS NULL "
            "ORDER BY s.position, s.id",
            (MARKER_SERVICE, stack),
        )
        key_of = {r["id"]: r["key"] for r in rows}
        order: dict[str | None, list[str]] = {}
        for r in rows:
            order.setdefault(key_of.get(r["parent_id"]), []).append(r["key"])
        return order

    def statuses(self, workspace_id: str) -> list[tuple[str, str]]:
        """The (name, category) of the workspace's status set, in position order."""
        rows = self._all(
            "SELECT c.status, c.category FROM custom_task_statuses c "
            "JOIN workspaces w ON w.status_set_id = c.status_set_id "
            "WHERE w.id = ? ORDER BY c.position, c.id",
            (int(workspace_id),),
        )
        return [(r["status"], r["category"]) for r in rows]


# --------------------------------------------------------------------------- a run


@dataclass(frozen=True)
class Run:
    """One sandbox, one temporary directory, the CLI pointed at the sandbox."""

    server: SandboxServer
    tmp: Path

    @property
    def url(self) -> str:
        return str(self.server.url)

    @property
    def truth(self) -> Truth:
        return Truth(self.server)

    def workspace(self, title: str) -> str:
        return str(self.server.model.create_workspace(title)["id"])

    def write(self, name: str, doc: dict[str, Any]) -> Path:
        return write_manifest(self.tmp / name, doc)

    def cli(self, *args: str | Path) -> Result:
        return kxplan(*(str(a) for a in args), "--api-url", self.url)

    def apply_once(self, manifest: Path, *flags: str) -> Result:
        """The first apply must succeed: a second run is not how kxplan converges."""
        result = self.cli("apply", manifest, "--auto-approve", *flags)
        assert result.code == 0, f"first apply of {manifest.name} failed:\n{result.text}"
        return result

    def assert_converged(self, manifest: Path, *flags: str) -> None:
        """Re-plan is empty, and exactly one live story carries each manifest key."""
        plan = self.cli("plan", manifest, "--detailed-exitcode", *flags)
        assert plan.code == 0, f"re-plan of {manifest.name} is not empty:\n{plan.text}"
        loaded = load_manifest(manifest)
        expected = Counter({t.key: 1 for t in loaded.tasks})
        assert self.truth.marked(loaded.name) == expected, "a key is missing or duplicated"


def person(run: Run) -> KantataClient:
    """Someone working in Kantata (the UI's calls, through the HTTP API)."""
    return KantataClient(run.url, PERSON_TOKEN)


def statuses_of(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["name"], s["category"]) for s in doc["status_set"]["statuses"]]


# --------------------------------------------------------------------------- a. bootstrap


def five_levels() -> dict[str, Any]:
    """A status set whose names are nobody's default, and a tree five levels deep."""

    def node(key: str, title: str, *children: dict[str, Any], **fields: Any) -> dict[str, Any]:
        task = {"key": key, "title": title, **fields}
        return {**task, "children": list(children)} if children else task

    step = node("step", "Step", status="Signed off", checklist=["Check", "Sign"])
    deep = node("task", "Task", step, node("task-b", "Task B", status="Blocked on client"))
    package = node("package", "Work package", deep, tags=["deep"])
    stream = node("stream", "Stream", package, node("stream-b", "Stream B", status="Drafting"))
    return {
        "version": 1,
        "name": "five-levels",
        "workspace": "Five levels",
        "status_set": {
            "name": "Five level flow",
            "statuses": [
                {"name": "Brief", "category": "not started"},
                {"name": "Drafting", "category": "started"},
                {"name": "Blocked on client", "category": "needs info"},
                {"name": "Signed off", "category": "completed"},
            ],
        },
        "tasks": [
            node("phase", "Phase", stream, status="Brief", type="milestone"),
            node("other", "Other phase", node("other-a", "Other A"), node("other-b", "Other B")),
        ],
    }


def bootstrap(run: Run, doc: dict[str, Any]) -> None:
    """A fresh workspace: set created and assigned, every task on its manifest status."""
    workspace_id = run.workspace(doc["workspace"])
    manifest = run.write(f"{doc['name']}.yaml", doc)
    run.apply_once(manifest)
    run.assert_converged(manifest)
    assert run.truth.statuses(workspace_id) == statuses_of(doc)
    loaded = load_manifest(manifest)
    for task in loaded.tasks:
        if task.status is not None:
            assert run.truth.story(doc["name"], task.key)["status"] == task.status, task.key
    assert_order(run, doc["name"], manifest)


def assert_order(run: Run, stack: str, manifest: Path) -> None:
    """Siblings are in manifest order, except what cannot be known or fixed: a fresh
    workspace shows no placement before its first create (docs/apply.md, "Sibling order"),
    so its top level comes out reversed when Kantata places new tasks last. Then the plan
    says so in exactly one warning (not one per parent, not forever silent)."""
    got, want = run.truth.order(stack), manifest_order(manifest)
    top_got, top_want = got.pop(None, []), want.pop(None, [])
    assert got == want, "a level below the top is out of manifest order"
    if top_got != top_want:
        assert top_got == top_want[::-1], f"top level: {top_got} (manifest {top_want})"
        plan = run.cli("plan", manifest)
        assert plan.text.count("(task order)") == 1, plan.text
        assert "ignore_changes" in plan.text


def manifest_order(manifest: Path) -> dict[str | None, list[str]]:
    """Parent key (None: top level) -> its children's keys, in the manifest's order."""
    order: dict[str | None, list[str]] = {}
    for task in sorted(load_manifest(manifest).tasks, key=lambda t: t.index):
        order.setdefault(task.parent_key, []).append(task.key)
    return order


def big_tree() -> dict[str, Any]:
    """More stories than one page holds (200), so reading needs paging."""
    doc = tree((3, 30, 180))
    doc["status_set"] = five_levels()["status_set"]
    doc["tasks"][0]["status"] = "Drafting"
    return doc


def bootstrap_big(run: Run) -> None:
    """A fresh tree of 213 tasks: created once, read back over several pages."""
    doc = big_tree()
    run.workspace(doc["workspace"])
    manifest = run.write("big.yaml", doc)
    run.apply_once(manifest)
    run.assert_converged(manifest)
    assert_order(run, doc["name"], manifest)


# --------------------------------------------------------------------------- a2. statuses


def statuses_v2() -> dict[str, Any]:
    """The five-level tree with a status deleted while tasks use it, their status enforced."""
    doc = five_levels()
    statuses = doc["status_set"]["statuses"]
    doc["status_set"]["statuses"] = [s for s in statuses if s["name"] != "Blocked on client"]
    doc["status_set"]["statuses"].insert(1, {"name": "Queued", "category": "not started"})
    doc["enforce"] = ["status"]
    stream = doc["tasks"][0]["children"][0]
    stream["children"][0]["children"][0]["children"][1]["status"] = "Queued"  # was Blocked
    return doc


def statuses_v3() -> dict[str, Any]:
    """Another set for the same workspace (a switch), every task's status enforced."""
    doc = statuses_v2()
    doc["status_set"] = {
        "name": "Second flow",
        "statuses": [
            {"name": "Queued", "category": "not started"},
            {"name": "Brief", "category": "not started"},
            {"name": "Working", "category": "started"},
            {"name": "Signed off", "category": "completed"},
        ],
    }
    stream = doc["tasks"][0]["children"][0]
    stream["children"][1]["status"] = "Working"  # was Drafting, which the new set lacks
    return doc


def status_changes(run: Run) -> None:
    """Delete a status in use, then switch sets: with `enforce: [status]`, one apply each."""
    stack = "five-levels"
    workspace_id = run.workspace("Five levels")
    for number, doc in enumerate((five_levels(), statuses_v2(), statuses_v3()), start=1):
        manifest = run.write(f"v{number}.yaml", doc)
        run.apply_once(manifest, "--prune")  # statuses leave the set only with --prune
        run.assert_converged(manifest, "--prune")
        assert run.truth.statuses(workspace_id) == statuses_of(doc), f"v{number}"
        loaded = load_manifest(manifest)
        parents = {t.parent_key for t in loaded.tasks}
        for task in loaded.tasks:
            # A parent's progress is Kantata's roll-up of its subtasks: kxplan sets it on
            # create and warns about it later, it does not enforce it (docs/plan.md).
            if task.status is not None and (number == 1 or task.key not in parents):
                status = run.truth.story(stack, task.key)["status"]
                assert status == task.status, f"v{number}: {task.key} is {status!r}"


def example(name: str) -> dict[str, Any]:
    text = (EXAMPLES / name).read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


# --------------------------------------------------------------------------- b. evolution


def evolution_v1() -> dict[str, Any]:
    """The shared scenario's base, plus a small subtree the next version removes."""
    doc = scenario.base()
    doc["tasks"].append(
        {
            "key": "legacy",
            "title": "Legacy migration",
            "children": [{"key": "legacy-export", "title": "Export the old data"}],
        }
    )
    return doc


def evolution_v2() -> dict[str, Any]:
    """Renames (a key, a status, a checklist item), a move, and deletes (with --prune)."""
    return scenario.edited()  # `cleanup` and the `legacy` subtree are gone


@dataclass(frozen=True)
class Edits:
    """What people did in Kantata between v1 and v2 (story and item ids)."""

    status_story: int  # moved to "Done" by hand
    ticked_story: int  # "Notes shared" ticked by hand
    own_task: int  # their own task, under `build`
    own_item_story: int  # their own checklist item on `setup` (which kxplan does not list)
    described_story: int  # a description kxplan does not manage


OWN_TASK = "Client's own notes"
OWN_ITEM = "Bring the visitor badges"
DESCRIPTION = "Ask about the budget first.\nThe CEO prefers mornings."


def people_edit(run: Run, workspace_id: str) -> Edits:
    stack, truth = scenario.STACK, run.truth
    setup = int(truth.story(stack, "setup")["id"])
    kickoff = int(truth.story(stack, "kickoff")["id"])
    ceo = int(truth.story(stack, "interview-ceo")["id"])
    build = int(truth.story(stack, "build")["id"])
    with person(run) as ui:
        ui.put(f"/stories/{setup}", json={"story": {"status": "Done"}})
        item = truth.item_id(kickoff, "Notes shared")
        ui.put(f"/story_tasks/{item}", json={"story_task": {"completed": True}})
        own = {"title": OWN_TASK, "workspace_id": int(workspace_id), "parent_id": build}
        created = ui.post("/stories", json={"story": {**own, "project_plan": True}})
        ui.post("/story_tasks", json={"story_task": {"story_id": setup, "name": OWN_ITEM}})
        ui.put(f"/stories/{ceo}", json={"story": {"description": DESCRIPTION}})
    own_id = int(created["results"][0]["id"])
    return Edits(setup, kickoff, own_id, setup, ceo)


def assert_edits_intact(run: Run, edits: Edits) -> None:
    truth = run.truth
    assert truth.by_id(edits.status_story)["status"] == "Done"
    assert ("Notes shared", True) in truth.checklist(edits.ticked_story)
    own = truth.by_id(edits.own_task)
    assert own["deleted_at"] is None and own["title"] == OWN_TASK
    assert own["parent_id"] == int(truth.story(scenario.STACK, "build")["id"])
    assert (OWN_ITEM, False) in truth.checklist(edits.own_item_story)
    assert truth.by_id(edits.described_story)["description"] == DESCRIPTION


def apply_under(run: Run, faults: Faults | None, manifest: Path, *flags: str) -> None:
    """The first apply (under `faults`, if any), then the checks with the faults off."""
    run.server.faults = faults or Faults()
    try:
        run.apply_once(manifest, *flags)
    finally:
        run.server.faults = Faults()
    run.assert_converged(manifest, *flags)


def evolve(run: Run, v1_faults: Faults | None = None, v2_faults: Faults | None = None) -> None:
    """v1, people's edits, v2 with --prune: history kept, edits kept, nothing doubled.
    Each apply may run under faults; the re-plans and people's edits do not."""
    stack = scenario.STACK
    workspace_id = run.workspace(scenario.WORKSPACE)
    v1 = run.write("v1.yaml", evolution_v1())
    apply_under(run, v1_faults, v1)
    kickoff_id = run.truth.story(stack, "kickoff")["id"]
    edits = people_edit(run, workspace_id)

    v2 = run.write("v2.yaml", evolution_v2())
    apply_under(run, v2_faults, v2, "--prune")
    truth = run.truth
    assert truth.story(stack, "kick-off")["id"] == kickoff_id  # renamed, not recreated
    assert truth.story(stack, "interview-ceo")["parent_id"] == truth.story(stack, "build")["id"]
    assert truth.statuses(workspace_id) == statuses_of(evolution_v2())
    assert truth.checklist(int(kickoff_id)) == [
        ("Notes shared", True),
        ("Agenda emailed", False),
        ("Room booked", False),
    ]
    assert_edits_intact(run, edits)


# --------------------------------------------------------------------------- c. export -> adopt


HAND_BUILT: list[dict[str, Any]] = [
    {
        "title": "Phase 1",
        "status": "Doing",
        "items": [("Agenda sent", True), ("Call held", False)],
        "children": [
            {"title": "Kickoff", "status": "Waiting on client", "tag_list": "client"},
            {"title": "Review", "children": [{"title": "Sign-off", "story_type": "milestone"}]},
        ],
    },
    {"title": "Phase 2", "priority": "high", "description": "Made by hand."},
]


def build_by_hand(run: Run, title: str) -> str:
    """A workspace a team built in the UI: its own status set and tree, no markers."""
    workspace_id = run.workspace(title)
    with person(run) as ui:
        created = ui.post("/task_status_sets", json={"task_status_set": {"name": "Hand flow"}})
        set_id = int(created["results"][0]["id"])
        for name, category in (("Doing", "started"), ("Waiting on client", "needs info")):
            body = {"status": name, "category": category, "status_set_id": set_id}
            ui.post("/custom_task_statuses", json={"custom_task_status": body})
        pair = {"workspace_id": int(workspace_id), "status_set_id": set_id}
        ui.put(
            "/workspace_task_status_sets/bulk_update", json={"workspace_task_status_sets": [pair]}
        )
        for node in HAND_BUILT:
            _make(ui, workspace_id, node, None)
    return workspace_id


def _make(ui: KantataClient, workspace_id: str, node: dict[str, Any], parent: int | None) -> None:
    """One story at a time, as a person clicks: the id comes from its own response."""
    fields = {k: v for k, v in node.items() if k not in ("children", "items")}
    story = {**fields, "workspace_id": int(workspace_id), "parent_id": parent, "project_plan": True}
    story_id = int(ui.post("/stories", json={"story": story})["results"][0]["id"])
    for name, completed in node.get("items", ()):
        item = {"story_id": story_id, "name": name, "completed": completed}
        ui.post("/story_tasks", json={"story_task": item})
    for child in node.get("children", ()):
        _make(ui, workspace_id, child, story_id)


def export_adopt(run: Run) -> None:
    """export -> apply --adopt: every story marked once, none recreated, plan then empty."""
    workspace_id = build_by_hand(run, "Built by hand")
    before = run.truth.shape(workspace_id)
    manifest = run.tmp / "adopted.yaml"
    exported = run.cli("export", "-w", workspace_id, "--name", "adopted", "-o", manifest)
    assert exported.code == 0, exported.text
    run.apply_once(manifest, "--adopt")
    run.assert_converged(manifest)
    assert run.truth.shape(workspace_id) == before  # nothing recreated, moved or re-statused
    assert sum(run.truth.marked("adopted").values()) == len(before)


# --------------------------------------------------------------------------- d. faults


def fault_mix(seed: int, retry_after: float | None) -> Faults:
    """The usual mix: 503s, a tight rate limit (429s) and writes dropped after they commit.
    The rate limit follows the wall clock (a slow run never empties the bucket), so every
    15th request also answers 429 and every 9th answered write is dropped after it commits:
    each apply meets 429s and lost answers however loaded (or idle) the machine."""
    return Faults(
        seed=seed,
        p_503=0.2,
        rate_limit=60.0,
        burst=3,
        retry_after=retry_after,
        p_drop_after=0.1,
        every_429=15,
        every_drop_after=9,
    )


def under_faults(run: Run, seed: int) -> None:
    """The evolution with v1 applied under faults whose 429s carry Retry-After, and v2 under
    faults whose 429s do not: each first apply exits 0 and ends where a clean run ends."""
    evolve(run, fault_mix(seed, retry_after=0.05), fault_mix(seed + 1, retry_after=None))
    outcomes = {e.outcome for e in run.server.log.entries}
    assert {"503", "429", "dropped_after"} <= outcomes, outcomes  # the faults did happen
