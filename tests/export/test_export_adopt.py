"""Export, then adopt, end to end on a sandbox over a loopback socket.

A team's hand-built workspace (and each example, built and then stripped of its markers)
is exported, validated, adopted with `apply --adopt`, and planned again: no changes, and
every story keeps its id — nothing was recreated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kxplan.client import KantataClient
from kxplan.live import read_live
from kxplan.model import LiveState
from tests.support import kxplan

TOKEN = "export-test-token"
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


@pytest.fixture
def api(sandbox: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KantataClient]:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.chdir(tmp_path)
    with KantataClient(str(sandbox.url), TOKEN) as client:
        yield client


# --------------------------------------------------------------------------- building


def first_id(envelope: dict[str, Any]) -> str:
    return str(envelope["results"][0]["id"])


def make_status_set(client: KantataClient, workspace_id: str, name: str) -> None:
    set_id = first_id(client.post("/task_status_sets", json={"task_status_set": {"name": name}}))
    for status, category in (
        ("Backlog", "not started"),
        ("Doing", "started"),
        ("Waiting on client", "needs info"),
        ("Done", "completed"),
    ):
        body = {"status": status, "category": category, "status_set_id": int(set_id)}
        client.post("/custom_task_statuses", json={"custom_task_status": body})
    assignment = {"workspace_id": int(workspace_id), "status_set_id": int(set_id)}
    client.put(
        "/workspace_task_status_sets/bulk_update",
        json={"workspace_task_status_sets": [assignment]},
    )


def make_tree(
    client: KantataClient, workspace_id: str, nodes: list[dict[str, Any]], parent: str | None
) -> None:
    """Create `nodes` (with nested `children` and `items`) as a person would, with no marker."""
    if not nodes:
        return
    stories = [
        {
            k: v
            for k, v in {**n, "workspace_id": int(workspace_id), "parent_id": _int(parent)}.items()
            if k not in ("children", "items")
        }
        for n in nodes
    ]
    created = client.post("/stories", json={"stories": stories})
    # `results` may come in any order (docs/sandbox.md, "Variants: stories"); ids count up
    # in request order.
    refs = sorted(created["results"], key=lambda r: int(r["id"]))
    for node, ref in zip(nodes, refs, strict=True):
        for name, completed in node.get("items", ()):
            body = {"story_id": int(ref["id"]), "name": name, "completed": completed}
            client.post("/story_tasks", json={"story_task": body})
        make_tree(client, workspace_id, node.get("children", []), str(ref["id"]))


def _int(value: str | None) -> int | None:
    return int(value) if value is not None else None


def task(title: str, *children: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"title": title, **fields, "children": list(children)}


MESSY = [
    task(
        "Phase 1",
        task(
            "Kickoff",
            description="Agenda, attendees\nand the scope document.",
            priority="high",
            status="Done",
            items=[("Agenda sent", True), ("Call held", True)],
        ),
        task("Review", tag_list="client,Phase-1", due_date="2027-02-01"),
        story_type="milestone",
        start_date="2027-01-04",
        due_date="2027-02-26",
        status="Doing",
    ),
    task(
        "Phase 2",
        task("Kickoff", status="Backlog"),
        task("Review", archived=True),
        status="Backlog",
    ),
    task(
        "Level 0",
        task("Level 1", task("Level 2", task("Level 3", task("Level 4 — deepest 🧨")))),
    ),
    task("🚀 Launch ✨", priority="critical", story_type="deliverable"),
    task(
        "Überprüfung: café ${x} 日本語",
        items=[("yes", False), ("2027-01-01", True), ("*bold* & more", False)],
        description="Line one\n\n  indented line\n",
    ),
    task("Old stuff", task("yes", tag_list="legacy"), archived=True, status="Done"),
    task("No dates, no checklist", story_type="issue", status="Waiting on client"),
]


def build_messy(sandbox: Any, client: KantataClient) -> str:
    workspace_id = str(sandbox.model.create_workspace("Messy — hand built ✋")["id"])
    make_status_set(client, workspace_id, "Messy flow")
    make_tree(client, workspace_id, MESSY, None)
    return workspace_id


def ids_by_path(live: LiveState) -> dict[str, str]:
    """`Title / path` (with a position suffix for repeats) -> story id."""
    by_id = {t.id: t for t in live.tasks}

    def path(t: Any) -> str:
        return t.title if t.parent_id is None else f"{path(by_id[t.parent_id])} / {t.title}"

    return {f"{path(t)} #{t.id}": t.id for t in live.tasks}


def flat(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [x for t in tasks for x in (t, *flat(t.get("children", [])))]


# --------------------------------------------------------------------------- the round trip


def adopt_round_trip(client: KantataClient, url: str, workspace_id: str, stack: str) -> str:
    """export -> validate -> plan --adopt -> apply --adopt -> plan; returns the YAML."""
    before = read_live(client, workspace_id)
    manifest = Path(f"{stack}.yaml")
    export = kxplan("export", "-w", workspace_id, "--name", stack, "-o", manifest, "--api-url", url)
    assert export.code == 0, export.err
    again = kxplan("export", "-w", workspace_id, "--name", stack, "--api-url", url)
    text = manifest.read_text(encoding="utf-8")
    assert again.out == text  # byte-identical across runs (stdout and file alike)

    validate = kxplan("validate", manifest)
    assert validate.code == 0, validate.out + validate.err

    plan = kxplan("plan", manifest, "--adopt", "--format", "json", "--api-url", url)
    assert plan.code == 0, plan.err
    changes = json.loads(plan.out)["changes"]
    actions = {c["action"] for c in changes if c["kind"] == "task"}
    assert actions == {"adopt"}, [c for c in changes if c["action"] != "adopt"]

    apply = kxplan("apply", manifest, "--adopt", "--auto-approve", "--api-url", url)
    assert apply.code == 0, apply.out + apply.err

    after = kxplan("plan", manifest, "--detailed-exitcode", "--api-url", url)
    assert after.code == 0, after.out + after.err
    assert "No changes." in after.out

    live = read_live(client, workspace_id)
    assert ids_by_path(live) == ids_by_path(before)  # nothing recreated, nothing moved
    assert all(t.key_for(stack) for t in live.tasks)
    return text


def test_messy_hand_built_workspace_is_exported_adopted_and_clean(
    sandbox: Any, api: KantataClient
) -> None:
    workspace_id = build_messy(sandbox, api)
    creates = sandbox.log.count(method="POST", route="/stories")
    text = adopt_round_trip(api, str(sandbox.url), workspace_id, "messy")
    assert sandbox.log.count(method="POST", route="/stories") == creates
    assert "key: phase-1/kickoff" in text and "key: phase-2/kickoff" in text
    assert "title: 'Überprüfung: café $${x} 日本語'" in text

    # Exporting the adopted workspace under its stack gives the same manifest back.
    again = kxplan("export", "-w", workspace_id, "--name", "messy", "--api-url", sandbox.url)
    assert again.out == text


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_built_by_hand_adopts_cleanly(
    sandbox: Any, api: KantataClient, example: Path
) -> None:
    # Build the example with kxplan, then drop the markers: the same tree, made by hand.
    workspace_id = str(sandbox.model.create_workspace(f"Example {example.stem}")["id"])
    url = str(sandbox.url)
    built = kxplan(
        "apply", example, "--auto-approve", "--workspace", workspace_id, "--api-url", url
    )
    assert built.code == 0, built.out + built.err

    # Under its own stack, the export keeps the example's keys and plans clean as it is.
    stack = yaml.safe_load(example.read_text(encoding="utf-8"))["name"]
    own = Path("own.yaml")
    assert (
        kxplan("export", "-w", workspace_id, "--name", stack, "-o", own, "--api-url", url).code == 0
    )
    managed = kxplan("plan", own, "--detailed-exitcode", "--api-url", url)
    assert managed.code == 0, managed.out + managed.err
    keys = {t.key_for(stack) for t in read_live(api, workspace_id).tasks}
    assert keys == {
        t["key"] for t in flat(yaml.safe_load(own.read_text(encoding="utf-8"))["tasks"])
    }
    for t in read_live(api, workspace_id).tasks:
        for m in t.markers:
            api.delete(f"/external_references/{m.id}")
    assert not any(t.markers for t in read_live(api, workspace_id).tasks)

    adopt_round_trip(api, url, workspace_id, "adopted")


def test_two_siblings_with_one_title_stop_the_adoption_with_both_listed(
    sandbox: Any, api: KantataClient
) -> None:
    workspace_id = str(sandbox.model.create_workspace("Twins")["id"])
    make_tree(api, workspace_id, [task("Design", task("Review"), task("Review"))], None)
    url = str(sandbox.url)
    assert kxplan("export", "-w", workspace_id, "-o", "twins.yaml", "--api-url", url).code == 0
    assert "\nname: twins\n" in Path("twins.yaml").read_text(encoding="utf-8")  # default stack
    writes = sandbox.log.count(method="PUT")

    result = kxplan("apply", "twins.yaml", "--adopt", "--auto-approve", "--api-url", url)
    assert result.code == 1
    assert "ambiguous" in result.err and "'Design / Review'" in result.err
    assert result.err.count("matches 2 unmanaged live tasks") == 2
    assert sandbox.log.count(method="PUT") == writes  # nothing written


def test_export_of_an_unknown_workspace_says_so(api: KantataClient, sandbox: Any) -> None:
    result = kxplan("export", "-w", "No such project", "--api-url", sandbox.url)
    assert result.code == 1
    assert "'No such project' was not found" in result.err
    assert result.out == ""


def test_invalid_stack_name_is_refused_before_any_request(api: KantataClient, sandbox: Any) -> None:
    result = kxplan("export", "-w", "1", "--name", "Not A Stack", "--api-url", sandbox.url)
    assert result.code == 1 and "not a valid stack name" in result.err
    assert sandbox.log.count() == 0
