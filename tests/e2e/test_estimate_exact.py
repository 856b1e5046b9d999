"""The plan's estimate is what apply sends: `requests.write` = the POST/PUT/DELETE requests
the sandbox logs while the plan is applied, for every plan case of tests/planner/cases/*.yaml (its
live state seeded into a sandbox through the API) and for the e2e scenarios, on the
default variant and with `delete_cascade=none`, and the status cases also with a new set's
defaults spelled `Not Started` ... and names matched ignoring case (docs/plan.md, "JSON").

A case's live state is seeded as a person would make it in Kantata (one story at a time,
ids from the answers); the plan is then made against what the sandbox really holds, so
the check is exact whatever the seeding could not reproduce (e.g. positions, which the
API does not write). The create guard runs as in `kxplan apply`: its look-ups are reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from kxplan.apply import CreateGuard, apply_plan
from kxplan.apply._payload import marker
from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.model import LiveState, LiveTask, Manifest
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer, Variants
from tests.support import TOKEN, checked_sandbox, manifest_from, options_from
from tests.support.builders import _memory_text

from . import matrix_scenarios as s
from . import scenario

CASES_DIR = Path(__file__).resolve().parents[1] / "planner" / "cases"
WRITES = ("POST", "PUT", "DELETE")
VARIANTS = (Variants(), Variants(delete_cascade="none"))


def _cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            if "error" in case:  # an error plan is never applied
                continue
            name = f"{path.stem}: {case['name']}"
            params.append(pytest.param(case, id=name))
    return params


CASES = _cases()


def variants(fn: Any) -> Any:
    return pytest.mark.parametrize("variant", VARIANTS, ids=[str(v) for v in VARIANTS])(fn)


def writes(server: SandboxServer) -> int:
    return sum(server.log.count(method) for method in WRITES)


def apply_counted(server: SandboxServer, client: KantataClient, plan: Plan) -> tuple[int, int]:
    """(write requests the sandbox saw while `plan` was applied, plus the planned deletes a
    read showed Kantata had made with their parent; refused move PUTs)."""
    before = writes(server)
    result = apply_plan(plan, client, guard=CreateGuard())
    return writes(server) - before + result.cascaded, result.refused


def assert_exact(server: SandboxServer, client: KantataClient, plan: Plan) -> None:
    sent, refused = apply_counted(server, client, plan)
    listed = [(c.action.value, c.kind.value, c.key) for c in plan.actionable]
    assert (sent, refused) == (plan.requests["write"], 0), listed


# --------------------------------------------------------------------------- the cases


class Seeder:
    """A case's `live` made in a sandbox workspace through the API; case id -> real id."""

    def __init__(self, server: SandboxServer, ui: KantataClient, stack: str) -> None:
        self.server, self.ui, self.stack = server, ui, stack
        self.ids: dict[str, str] = {}
        self.status_ids: dict[str, str] = {}
        self.set_ids: dict[str, str] = {}

    def seed(self, live: Mapping[str, Any]) -> str:
        ws = live.get("workspace", {})
        workspace_id = str(self.server.model.create_workspace(ws.get("title", "Workspace"))["id"])
        ui = self.ui
        for data in live.get("status_sets", ()):
            self._status_set(ui, data)
        assigned = ws.get("task_status_set_id")
        if assigned is not None:
            pair = {"workspace_id": int(workspace_id), "status_set_id": self._set(assigned)}
            body = {"workspace_task_status_sets": [pair]}
            ui.put("/workspace_task_status_sets/bulk_update", json=body)
        for item in live.get("tasks", ()):
            self._story(ui, workspace_id, item, None)
        return workspace_id

    def _set(self, case_id: object) -> int:
        return int(self.set_ids[str(case_id)])

    def _status_set(self, ui: KantataClient, data: Mapping[str, Any]) -> None:
        made = ui.post(
            "/task_status_sets",
            params={"include": "custom_task_statuses"},
            json={"task_status_set": {"name": data["name"]}},
        )
        set_id = made["results"][0]["id"]
        self.set_ids[str(data["id"])] = set_id
        defaults = {}
        for status in (made.get("custom_task_statuses") or {}).values():
            defaults.setdefault(status["category"], []).append(status)
        for status in data.get("statuses", ()):
            spare = defaults.get(status["category"]) or []
            if spare:
                found = spare.pop(0)
                body = {"custom_task_status": {"status": status["name"]}}
                ui.put(f"/custom_task_statuses/{found['id']}", json=body)
                self.status_ids[str(status["id"])] = str(found["id"])
                continue
            body = {
                "status": status["name"],
                "category": status["category"],
                "status_set_id": int(set_id),
            }
            created = ui.post("/custom_task_statuses", json={"custom_task_status": body})
            self.status_ids[str(status["id"])] = created["results"][0]["id"]
        for left in defaults.values():
            for status in left:
                ui.delete(f"/custom_task_statuses/{status['id']}")

    def _story(
        self, ui: KantataClient, workspace_id: str, item: Mapping[str, Any], parent: str | None
    ) -> None:
        story: dict[str, Any] = {
            "title": item["title"],
            "workspace_id": int(workspace_id),
            "story_type": item.get("type", "task"),
            "project_plan": True,
        }
        for name in ("description", "start_date", "due_date", "priority", "status", "archived"):
            if item.get(name) is not None:
                value = item[name]
                story[name] = str(value)[:10] if name.endswith("_date") else value
        if item.get("percentage_complete"):
            story["percentage_complete"] = item["percentage_complete"]
        if item.get("tags"):
            story["tag_list"] = ",".join(item["tags"])
        parent_id = self.ids.get(str(item["parent_id"])) if "parent_id" in item else parent
        if parent_id is not None:
            story["parent_id"] = int(parent_id)
        if "key" in item:
            protect = bool(item.get("protected", False)) or None
            memory = _memory_text(item.get("memory")) or None
            ref = marker(item.get("stack", self.stack), item["key"], protect, memory)
            story["external_reference"] = ref
        made = ui.post("/stories", json={"story": story})
        story_id = str(made["results"][0]["id"])
        self.ids[str(item["id"])] = story_id
        for entry in item.get("checklist", ()):
            one = {"name": entry} if isinstance(entry, str) else entry
            body = {"story_id": int(story_id), "name": one["name"]}
            if one.get("completed"):
                body["completed"] = True
            ui.post("/story_tasks", json={"story_task": body})
        for child in item.get("children", ()):
            self._story(ui, workspace_id, child, story_id)


def _adopter(matches: Mapping[str, Any], ids: Mapping[str, str]) -> Any:
    def adopter(manifest: Manifest, live: LiveState) -> dict[str, LiveTask]:
        by_id = {t.id: t for t in live.tasks}
        return {key: by_id[ids[str(case_id)]] for key, case_id in matches.items()}

    return adopter


def case_plan(server: SandboxServer, client: KantataClient, case: Mapping[str, Any]) -> Plan:
    manifest = manifest_from(case["manifest"])
    seeder = Seeder(server, client, manifest.name)
    workspace_id = seeder.seed(case.get("live") or {})
    live = read_live(client, workspace_id)
    return build_plan(
        manifest,
        live,
        options_from(case.get("options")),
        adopter=_adopter(case.get("adopt", {}), seeder.ids),
    )


def test_every_case_that_plans_is_checked() -> None:
    assert len(CASES) >= 150
    assert len(STATUS_CASES) >= 20


@pytest.fixture(scope="module", params=VARIANTS, ids=[str(v) for v in VARIANTS])
def sandbox_client(request: pytest.FixtureRequest) -> Iterator[tuple[SandboxServer, KantataClient]]:
    """One sandbox per variant for every case (emptied before each), and one client: a
    client's TLS set-up costs more than a case."""
    with checked_sandbox(variants=request.param) as server, KantataClient(server.url, TOKEN) as c:
        yield server, c


@pytest.mark.parametrize("case", CASES)
def test_a_case_sends_what_its_plan_estimates(
    sandbox_client: tuple[SandboxServer, KantataClient], case: Mapping[str, Any]
) -> None:
    server, client = sandbox_client
    server.model.reset()
    assert_exact(server, client, case_plan(server, client, case))


#: How Kantata spells a new set's defaults, and whether it matches names ignoring case,
#: decide no write the plan counts (a default taken over is always given its name), so the
#: status cases are exact under the unusual answers too.
NAMING = Variants(status_names="title", name_match="ignore_case")
STATUS_CASES = [p for p in CASES if str(p.id).startswith(("statuses:", "set_usage:"))]


@pytest.fixture(scope="module")
def naming_client() -> Iterator[tuple[SandboxServer, KantataClient]]:
    with checked_sandbox(variants=NAMING) as server, KantataClient(server.url, TOKEN) as c:
        yield server, c


@pytest.mark.parametrize("case", STATUS_CASES)
def test_a_status_case_sends_what_it_estimates_however_defaults_are_named(
    naming_client: tuple[SandboxServer, KantataClient], case: Mapping[str, Any]
) -> None:
    server, client = naming_client
    server.model.reset()
    assert_exact(server, client, case_plan(server, client, case))


# --------------------------------------------------------------------------- the scenarios


@pytest.fixture
def run(
    make_sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: Variants
) -> Iterator[s.Run]:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    yield s.Run(make_sandbox(variants=variant), tmp_path)


def step(run: s.Run, name: str, doc: dict[str, Any], *flags: str) -> None:
    """Plan `doc` with the CLI (`--out`), apply the saved plan, compare the counts."""
    manifest = run.write(f"{name}.yaml", doc)
    saved = run.tmp / f"{name}.plan.json"
    planned = run.cli("plan", manifest, "--out", saved, *flags)
    assert planned.code == 0, planned.text
    plan = Plan.from_json(yaml.safe_load(saved.read_text(encoding="utf-8")))
    with KantataClient(run.url, TOKEN) as client:
        assert_exact(run.server, client, plan)


def steps(run: s.Run, docs: Sequence[tuple[str, dict[str, Any], tuple[str, ...]]]) -> None:
    for name, doc, flags in docs:
        step(run, name, doc, *flags)


@variants
def test_the_shared_scenario_base_then_its_edit(run: s.Run, variant: Variants) -> None:
    run.workspace(scenario.WORKSPACE)
    steps(run, [("base", scenario.base(), ()), ("edited", scenario.edited(), ("--prune",))])


@variants
@pytest.mark.parametrize("doc", ["client-onboarding", "five-levels", "big"])
def test_a_bootstrap_sends_what_it_estimates(run: s.Run, variant: Variants, doc: str) -> None:
    made = {
        "client-onboarding": lambda: s.example("client-onboarding.yaml"),
        "five-levels": s.five_levels,
        "big": s.big_tree,
    }[doc]()
    run.workspace(made["workspace"])
    step(run, doc, made)


@variants
def test_status_changes_send_what_they_estimate(run: s.Run, variant: Variants) -> None:
    run.workspace("Five levels")
    docs = (s.five_levels(), s.statuses_v2(), s.statuses_v3())
    steps(run, [(f"v{n}", doc, ("--prune",)) for n, doc in enumerate(docs, start=1)])


@variants
def test_the_evolution_with_peoples_edits_sends_what_it_estimates(
    run: s.Run, variant: Variants
) -> None:
    workspace_id = run.workspace(scenario.WORKSPACE)
    step(run, "v1", s.evolution_v1())
    s.people_edit(run, workspace_id)
    step(run, "v2", s.evolution_v2(), "--prune")


@variants
def test_export_then_adopt_sends_what_it_estimates(run: s.Run, variant: Variants) -> None:
    workspace_id = s.build_by_hand(run, "Built by hand")
    manifest = run.tmp / "adopted.yaml"
    exported = run.cli("export", "-w", workspace_id, "--name", "adopted", "-o", manifest)
    assert exported.code == 0, exported.text
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    step(run, "adopted", doc, "--adopt")
