"""The marker checks count before they look up: while Kantata counts exactly the stack's
stories the plan read plus those the run created, no key is looked up; any other count
(another apply's copy, a server whose filters count differently, a saved plan's old read)
and the keys are looked up, so one task per key holds (docs/apply.md, "When two applies
meet")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from kxplan.apply import CreateGuard, apply_plan
from kxplan.apply._payload import create_item
from kxplan.client import KantataClient
from kxplan.manifest import load_manifests
from kxplan.plan import Plan
from kxplan.planner import build_plan
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, read, tree, write_manifest

REFS = "external_reference_service_model_refs"
MARKER_FILTERS = ("external_reference_service_name", "external_reference_service_model")


class _Recording(httpx.BaseTransport):
    """Passes requests on; remembers each `GET /stories`'s query. With `ignore_filters`, it
    plays a server that ignores the marker filters (so its counts are of every story), and
    with `rival_key`, another apply's copy of that key commits just before the first bulk
    create."""

    def __init__(
        self,
        server: SandboxServer,
        *,
        ignore_filters: bool = False,
        rival_key: str = "",
        refuse_counts: bool = False,
    ) -> None:
        self._inner = httpx.HTTPTransport()
        self._server = server
        self.ignore_filters, self.rival_key = ignore_filters, rival_key
        self.refuse_counts = refuse_counts
        self.story_reads: list[dict[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/stories"):
            params = dict(request.url.params)
            self.story_reads.append(params)
            if self.refuse_counts and params.get("per_page") == "1":
                body = {"errors": [{"type": "argument", "message": "per_page is too small"}]}
                return httpx.Response(400, json=body, request=request)
            if self.ignore_filters and any(f in params for f in MARKER_FILTERS):
                kept = {k: v for k, v in params.items() if k not in MARKER_FILTERS}
                request = httpx.Request(
                    "GET", request.url.copy_with(params=kept), headers=request.headers
                )
        if request.method == "POST" and path.endswith("/stories") and self.rival_key:
            workspace_id = read(self._server.url, "Big").workspace.id
            item = create_item("big", self.rival_key, {"title": "Rival's copy"}, workspace_id, None)
            self._server.model.create_stories(workspace_id, [item])
            self.rival_key = ""
        return self._inner.handle_request(request)

    @property
    def look_ups(self) -> int:
        return sum(1 for p in self.story_reads if REFS in p)

    @property
    def counts(self) -> int:
        return sum(1 for p in self.story_reads if p.get("per_page") == "1")


def _plan(sandbox: SandboxServer, tmp_path: Path, sizes: tuple[int, ...]) -> Plan:
    manifest = write_manifest(tmp_path / "big.yaml", tree(sizes))
    return build_plan(load_manifests([manifest], {})[0], read(sandbox.url, "Big"))


def _apply(sandbox: SandboxServer, plan: Plan, transport: _Recording) -> CreateGuard:
    guard = CreateGuard()
    with KantataClient(sandbox.url, TOKEN, transport=transport) as client:
        apply_plan(plan, client, guard=guard)
    return guard


def _one_per_key(sandbox: SandboxServer, tasks: int) -> Counter[str | None]:
    counts = Counter(t.key_for("big") for t in read(sandbox.url, "Big").tasks)
    assert len([k for k in counts if k is not None]) == tasks
    assert all(n == 1 for k, n in counts.items() if k is not None), counts
    return counts


def test_while_the_counts_agree_no_key_is_looked_up(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.model.create_workspace("Big")
    plan = _plan(sandbox, tmp_path, (150, 250, 250))  # 500 keys meet between levels 2 and 3
    assert plan.stack_stories == 0
    seen = _Recording(sandbox)
    guard = _apply(sandbox, plan, seen)
    assert seen.look_ups == 0 and seen.counts == 4  # before, between and after 3 levels
    assert guard.counted == 4 and guard.adopted == guard.merged == []
    _one_per_key(sandbox, 650)


@pytest.mark.parametrize(
    ("refuse_counts", "counted", "look_ups"),
    [
        # The count before the first level settles it; the one after is one too many: the
        # keys are looked up there and after the last level.
        (False, 1, 2),
        # Every count refused (a filter or page size the server does not take): the first
        # is, and the keys are looked up before, between and after the levels.
        (True, 0, 3),
    ],
    ids=["copy-shows-in-the-count", "count-refused"],
)
def test_a_copy_another_apply_made_is_settled_when_a_count_does_not_settle_it(
    sandbox: SandboxServer, tmp_path: Path, refuse_counts: bool, counted: int, look_ups: int
) -> None:
    sandbox.model.create_workspace("Big")
    plan = _plan(sandbox, tmp_path, (3, 3))
    seen = _Recording(sandbox, rival_key="t0-1", refuse_counts=refuse_counts)
    guard = _apply(sandbox, plan, seen)
    assert guard.merged == ["t0-1"] and guard.counted == counted
    assert seen.look_ups == look_ups and seen.counts == (1 if refuse_counts else 2)
    _one_per_key(sandbox, 6)


def test_a_server_that_counts_every_story_gets_its_keys_looked_up(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    workspace = sandbox.model.create_workspace("Big")
    person = {"title": "A person's task"}  # unmanaged: a filter-less count includes it
    sandbox.model.create_stories(str(workspace["id"]), [person])
    plan = _plan(sandbox, tmp_path, (3, 3))
    assert plan.stack_stories == 0
    seen = _Recording(sandbox, ignore_filters=True, rival_key="t0-2")
    guard = _apply(sandbox, plan, seen)
    assert guard.counted == 0 and seen.look_ups == 3 and guard.merged == ["t0-2"]
    counts = _one_per_key(sandbox, 6)
    assert counts[None] == 1  # the person's task is still there, untouched


def test_a_saved_plan_has_its_keys_looked_up(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.model.create_workspace("Big")
    saved = Plan.from_json(_plan(sandbox, tmp_path, (3, 3)).to_json())
    assert saved.stack_stories is None  # a plan file's read is too old to count on
    seen = _Recording(sandbox)
    guard = _apply(sandbox, saved, seen)
    assert guard.counted == 0 and seen.counts == 0 and seen.look_ups == 3
    _one_per_key(sandbox, 6)


@pytest.mark.parametrize(
    ("early", "counted", "look_ups", "adopted"),
    [
        # Made while the lock settled and what the plan read: the first check sends nothing.
        (0, 3, 0, []),
        # Another apply's copy had landed by then: the keys are looked up before, between
        # and after the levels, and the copy is adopted.
        (1, 0, 3, ["t0-1"]),
    ],
    ids=["agrees", "shows-a-copy"],
)
def test_the_count_made_while_the_lock_settled_answers_the_first_check(
    sandbox: SandboxServer,
    tmp_path: Path,
    early: int,
    counted: int,
    look_ups: int,
    adopted: list[str],
) -> None:
    workspace = sandbox.model.create_workspace("Big")
    plan = _plan(sandbox, tmp_path, (3, 3))
    if early:  # the copy the early count saw
        item = create_item("big", "t0-1", {"title": "Rival's copy"}, str(workspace["id"]), None)
        sandbox.model.create_stories(str(workspace["id"]), [item])
    seen = _Recording(sandbox)
    guard = CreateGuard(first_count=early, early_requests=1)
    with KantataClient(sandbox.url, TOKEN, transport=seen) as client:
        result = apply_plan(plan, client, guard=guard)
        assert result.requests == client.requests + 1  # the early count is the apply's too
    assert guard.counted == counted and seen.look_ups == look_ups
    assert guard.adopted == adopted and guard.first_count is None
    assert seen.counts == (0 if early else 2)  # (between and after the two levels)
    _one_per_key(sandbox, 6)
