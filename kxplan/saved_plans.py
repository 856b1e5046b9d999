"""Saved plans: what one records when it is made, and the check that it is still true
when it is applied (docs/apply.md, "Saved plans" and "What a saved plan is bound to").

`kxplan plan --out PLANFILE` records, beside the changes:
- `binding_for`: where the plan was made: the API, the workspace, the stack and a digest
  of the resolved manifest (`manifest_digest`);
- `fingerprints_for`: a digest (`kxplan.plan.fingerprint`) of every live object the plan
  touches, keyed "task:<id>", "status:<id>", "status_set:<id>", "workspace:<id>",
  "checklist_item:<id>".

`read_saved_plan` reads one back (`kxplan show`, a saved fleet plan's workspaces).
`kxplan apply PLANFILE` refuses the plan (StalePlanError, naming every difference) unless
`check_binding` finds it is applied where it was made and `check_fresh`, re-reading those
objects, finds every digest the same and no planned create already done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.checklist import ChecklistItemCreate
from kxplan.changes.codec import values_of
from kxplan.changes.status import StatusDelete, StatusKeep, StatusReplace, StatusUpdate
from kxplan.changes.workspace import WorkspaceCreate
from kxplan.errors import StalePlanError, UsageError
from kxplan.live import find_tasks_by_marker, find_workspace, read_status_sets, read_tasks
from kxplan.model import LiveChecklistItem, LiveState, LiveTask, Manifest
from kxplan.plan import Binding, Plan, fingerprint
from kxplan.planner.normalize import COMPARED_FIELDS

if TYPE_CHECKING:
    from kxplan.client import KantataClient

# --------------------------------------------------------------------------- reading one back

#: How to make a saved plan (the hint of every "not a saved plan" error).
MAKE_ONE = "make one with `kxplan plan MANIFEST --out PLANFILE`"


def read_saved_plan(path: Path, data: Any, where: str = "") -> Plan:
    """The Plan of a saved plan's JSON (`where` names its place in `path`, e.g. a fleet
    entry); a UsageError when a part of it is missing or has the wrong shape, or it
    predates saved-plan bindings (`apply` would refuse it too)."""
    try:
        plan = Plan.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UsageError(
            f"{path}{where}: not a readable plan ({type(err).__name__}: {err})",
            hint="the file was edited or cut short; " + MAKE_ONE,
        ) from None
    if not isinstance(data.get("binding"), dict):
        raise UsageError(
            f"{path}{where}: this plan was saved by an older kxplan (it records no binding), "
            "so it is stale: apply would refuse it",
            hint="re-run plan: `kxplan plan MANIFEST --out PLANFILE`",
        )
    return plan


# --------------------------------------------------------------------------- when it is made

#: Manifest fields that say where something was written, not what: left out of the digest
#: so a moved comment or another checkout directory does not count as a change.
_WHERE = frozenset({"loc", "path"})


def binding_for(plan: Plan, manifest: Manifest, api: str) -> Binding:
    """What a saved plan is bound to: API root, workspace, stack, resolved manifest."""
    return {
        "api": api,
        "workspace": {"id": plan.workspace["id"], "title": plan.workspace["title"]},
        "stack": plan.stack,
        "manifest_digest": manifest_digest(manifest),
    }


def manifest_digest(manifest: Manifest) -> str:
    """A digest of what the resolved manifest says (variables substituted), not where."""
    return fingerprint(_what(manifest))


def _what(obj: Any) -> Any:
    if hasattr(obj, "__dataclass_fields__"):
        return {n: _what(getattr(obj, n)) for n in obj.__dataclass_fields__ if n not in _WHERE}
    if isinstance(obj, (list, tuple)):
        return [_what(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(_what(v) for v in obj)
    return obj


def fingerprints_for(plan: Plan, live: LiveState) -> dict[str, str]:
    """`<kind>:<id>` -> `fingerprint(live object)` for every live object `plan` changes."""
    tasks = {t.id: t for t in live.tasks}
    items = {i.id: (i, t) for t in live.tasks for i in t.checklist}
    objects: dict[str, object] = {}
    for change in plan.actionable:
        for name, obj in _touched(change, live, tasks, items):
            objects[name] = obj
    return {name: fingerprint(obj) for name, obj in sorted(objects.items())}


def _touched(
    change: Change,
    live: LiveState,
    tasks: dict[str, LiveTask],
    items: dict[str, tuple[LiveChecklistItem, LiveTask]],
) -> Iterator[tuple[str, object]]:
    if change.kind is Kind.TASK and change.id in tasks:
        yield f"task:{change.id}", tasks[change.id]
    elif change.kind is Kind.WORKSPACE and live.workspace.id:
        yield f"workspace:{live.workspace.id}", live.workspace
    elif change.kind is Kind.STATUS:
        live_set = live.status_set_named(change.parent or "")
        if live_set is not None:
            yield f"status_set:{live_set.id}", live_set
            for status in live_set.statuses:
                if status.id == change.id:
                    yield f"status:{status.id}", status
    elif change.kind is Kind.POST:
        for post in live.posts or ():
            if post.id == change.id:
                yield f"post:{post.id}", post
    elif change.kind is Kind.CHECKLIST_ITEM:
        task_id = change.after["task_id"] if isinstance(change, ChecklistItemCreate) else ""
        if change.id in items:
            item, owner = items[change.id]
            task_id = owner.id
            yield f"checklist_item:{item.id}", item
        if task_id in tasks:
            yield f"task:{task_id}", tasks[task_id]


# --------------------------------------------------------------------------- when it is applied

Obj = TypeVar("Obj")  # a live object a saved plan fingerprinted

#: The plan's compared task fields are LiveTask attributes of the same names.
_TASK_ATTRS = COMPARED_FIELDS


def check_binding(plan: Plan, api: str, client: KantataClient) -> int:
    """Raise `StalePlanError` unless `plan` was made against `api`, this workspace (same id
    and title) and its own stack. The API is compared before any request; the workspace
    costs one read. Returns the number of requests made."""
    before = client.requests
    bound = plan.binding
    problems = []
    if _api_key(str(bound.get("api", ""))) != _api_key(api):
        problems.append(f"it was made against the API {bound.get('api')!r}, not {api!r}")
    if bound.get("stack") != plan.stack:
        problems.append(f"its stack {plan.stack!r} is not the one it was made for")
    if not problems:
        problems.extend(_workspace_mismatch(plan, client))
    if problems:
        raise StalePlanError(
            "the saved plan does not belong here: " + "; ".join(problems),
            hint="make a plan against this API and workspace (`kxplan plan MANIFEST ... --out "
            "PLANFILE`) and apply that",
        )
    return client.requests - before


def _api_key(url: str) -> str:
    """An API root as compared: scheme and host in lower case, no trailing slash."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path.rstrip('/')}"


def _workspace_mismatch(plan: Plan, client: KantataClient) -> Iterable[str]:
    bound = plan.binding.get("workspace")
    wid = str(bound["id"] or "") if bound else ""
    title = bound["title"] if bound else ""
    if wid != str(plan.workspace.get("id") or "") or title != plan.workspace.get("title"):
        yield "its workspace was edited after it was made"
        return
    if not wid.isdigit():
        yield from _created_meanwhile(plan, client, title)
        return
    live = find_workspace(client, int(wid))
    if live is None:
        yield f"workspace id {wid} ({title!r}) does not exist at this API"
    elif live.title != title:
        yield f"workspace id {wid} is titled {live.title!r} here; the plan was made for {title!r}"


def _created_meanwhile(plan: Plan, client: KantataClient, title: str) -> Iterable[str]:
    """A plan made for a workspace that did not exist is still true while it does not (and
    the plan creates it)."""
    if not any(isinstance(c, WorkspaceCreate) for c in plan.changes):
        yield (
            f"it was made for a workspace {title!r} that did not exist yet; apply the manifest "
            "itself (`kxplan apply MANIFEST`)"
        )
        return
    live = find_workspace(client, title)
    if live is not None:
        yield f"it creates workspace {title!r}, which exists now (id {live.id}): plan again"


def check_fresh(plan: Plan, client: KantataClient) -> int:
    """Raise `StalePlanError` naming every difference if `plan` no longer matches Kantata.

    Re-reads only the objects the plan fingerprinted (tasks in batched `only=` reads), plus
    the markers of the tasks it would create (a create already done would be a duplicate).
    Returns the number of requests made.
    """
    before = client.requests
    problems = list(_check(plan, client))
    if problems:
        n = len(problems)
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {n - 20} more" if n > 20 else ""
        raise StalePlanError(
            f"the saved plan is stale: {n} object{'s' if n != 1 else ''} changed since it "
            f"was made:\n{shown}{more}",
            hint="make a new plan (`kxplan plan ... --out PLANFILE`), review it, and apply that",
        )
    return client.requests - before


def _check(plan: Plan, client: KantataClient) -> Iterable[str]:
    workspace_id = str(plan.workspace.get("id") or "")
    wanted = _by_kind(plan.fingerprints)
    by_id = _changes_by_id(plan.changes)
    tasks: dict[str, LiveTask] = {}
    if workspace_id and (wanted.get("task") or wanted.get("checklist_item")):
        tasks = read_tasks(client, workspace_id, sorted(wanted.get("task", {})))
    yield from _tasks_changed(wanted.get("task", {}), tasks, by_id)
    yield from _items_changed(
        plan, client, workspace_id, wanted.get("checklist_item", {}), tasks, by_id
    )
    if wanted.get("workspace"):
        yield from _workspace_changed(client, wanted["workspace"])
    if wanted.get("status") or wanted.get("status_set") or _creates(plan, Kind.STATUS_SET):
        yield from _statuses_changed(plan, client, wanted)
    yield from _already_created(plan, client, workspace_id)
    if workspace_id and (wanted.get("post") or _creates(plan, Kind.POST)):
        yield from _posts_changed(plan, client, workspace_id, wanted.get("post", {}))


def _posts_changed(
    plan: Plan, client: KantataClient, workspace_id: str, wanted: Mapping[str, str]
) -> Iterable[str]:
    """Posts the plan changes that changed since (edited, replied to, deleted), and posts
    it creates that exist now: one read of the stack's posts."""
    from kxplan.live.posts import read_posts

    posts = read_posts(client, workspace_id, plan.stack)
    by_id = {p.id: p for p in posts}
    keys = {(c.id or ""): c.key for c in plan.changes if c.kind is Kind.POST}

    def label(post_id: str) -> str:
        return f"post {keys.get(post_id, post_id)!r} (id {post_id})"

    def how(_: str, post: object) -> str:
        return "edited or replied to"

    yield from _differences(sorted(wanted.items()), by_id, label, how)
    made = {p.marker.service_model_ref: p for p in posts if p.marker is not None}
    for c in _creates(plan, Kind.POST):
        if c.key in made:
            found = made[c.key].id
            yield f"post {c.key!r}: already exists (id {found}); created since the plan was made"


def _by_kind(fingerprints: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ref, digest in fingerprints.items():
        kind, _, obj_id = ref.partition(":")
        out.setdefault(kind, {})[obj_id] = digest
    return out


def _changes_by_id(changes: Iterable[Change]) -> dict[tuple[str, str], Change]:
    return {(c.kind.value, c.id): c for c in changes if c.id is not None}


def _tasks_changed(
    wanted: Mapping[str, str], live: Mapping[str, LiveTask], by_id: Mapping[tuple[str, str], Change]
) -> Iterable[str]:
    def label(task_id: str) -> str:
        change = by_id.get(("task", task_id))
        return f"task {change.key!r} (id {task_id})" if change else f"task id {task_id}"

    def how(task_id: str, task: LiveTask) -> str:
        return _what_changed(by_id.get(("task", task_id)), task)

    ordered = sorted(wanted.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
    yield from _differences(ordered, live, label, how)


def _differences(
    wanted: Iterable[tuple[str, str]],
    live: Mapping[str, Obj],
    label: Callable[[str], str],
    how: Callable[[str, Obj], str],
) -> Iterator[str]:
    """`<label>: deleted`, or `<label>: <how it changed>`, for each (id, digest) of `wanted`
    whose object is gone from `live` or no longer has that digest."""
    for obj_id, digest in wanted:
        obj = live.get(obj_id)
        if obj is None:
            yield f"{label(obj_id)}: deleted"
        elif fingerprint(obj) != digest:
            yield f"{label(obj_id)}: {how(obj_id, obj)}"


def _what_changed(change: Change | None, task: LiveTask) -> str:
    # What the plan read of each field (a task change's `before`, by field name).
    expected = values_of(change)[0] if change else {}
    diffs = []
    for name in _TASK_ATTRS:
        if name in expected:
            now = getattr(task, name)
            was = expected[name]
            if name == "tags":
                now, was = sorted(now), sorted(_strings(was))
            if now != was:
                diffs.append(f"{name} is now {_show(now)} (the plan expected {_show(was)})")
    if diffs:
        return "; ".join(diffs)
    when = f", updated {task.updated_at}" if task.updated_at else ""
    return f"changed since the plan was made (now titled {task.title!r}{when})"


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def _show(value: Any) -> str:
    return repr(list(value)) if isinstance(value, (tuple, list)) else repr(value)


def _items_changed(
    plan: Plan,
    client: KantataClient,
    workspace_id: str,
    wanted: Mapping[str, str],
    tasks: Mapping[str, LiveTask],
    by_id: Mapping[tuple[str, str], Change],
) -> Iterable[str]:
    if not wanted:
        return
    items = {i.id: i for t in tasks.values() for i in t.checklist}
    if set(wanted) - set(items):  # items of tasks the plan did not fingerprint
        owners = {c.parent for c in plan.changes if c.kind is Kind.CHECKLIST_ITEM and c.parent}
        found = find_tasks_by_marker(client, workspace_id, plan.stack, sorted(owners))
        items.update({i.id: i for t in found.values() for i in t.checklist})

    def label(item_id: str) -> str:
        change = by_id.get(("checklist_item", item_id))
        return f"checklist item {change.parent}/{change.key!r}" if change else f"item {item_id}"

    def how(_: str, item: LiveChecklistItem) -> str:
        return f"now {item.name!r}, completed={item.completed}"

    yield from _differences(sorted(wanted.items()), items, label, how)


def _workspace_changed(client: KantataClient, wanted: Mapping[str, str]) -> Iterable[str]:
    for ws_id, digest in wanted.items():
        ws = find_workspace(client, ws_id)
        if ws is None:
            yield f"workspace {ws_id}: not found"
        elif fingerprint(ws) != digest:
            yield f"workspace {ws.title!r}: its status set or title changed"


def _statuses_changed(
    plan: Plan, client: KantataClient, wanted: Mapping[str, Mapping[str, str]]
) -> Iterable[str]:
    sets = read_status_sets(client)
    live_sets = {s.id: s for s in sets}
    live_statuses = {st.id: (s, st) for s in sets for st in s.statuses}
    by_id = _changes_by_id(plan.changes)
    named: set[str] = set()  # sets with a status named below (their own line is redundant)
    lines: list[str] = []
    for status_id, digest in sorted(wanted.get("status", {}).items()):
        pair = live_statuses.get(status_id)
        change = by_id.get(("status", status_id))
        was = _old_status_name(change) if change else status_id
        if pair is None:
            lines.append(f"status {was!r}: deleted")
        elif fingerprint(pair[1]) != digest:
            named.add(pair[0].id)
            how = f"renamed from {was!r}" if pair[1].name != was else "changed"
            lines.append(f"status {pair[1].name!r} of set {pair[0].name!r}: {how}")
    for set_id, digest in sorted(wanted.get("status_set", {}).items()):
        s = live_sets.get(set_id)
        if s is None:
            yield f"status set id {set_id}: deleted"
        elif fingerprint(s) != digest and set_id not in named:
            yield f"status set {s.name!r}: its statuses changed"
    yield from lines
    names = {s.name for s in sets}
    for c in _creates(plan, Kind.STATUS_SET):
        if c.key in names:
            yield f"status set {c.key!r}: created since the plan was made"


def _creates(plan: Plan, kind: Kind) -> list[Change]:
    return [c for c in plan.changes if c.kind is kind and c.action is Action.CREATE]


def _already_created(plan: Plan, client: KantataClient, workspace_id: str) -> Iterable[str]:
    """A create applied since the plan was made (e.g. by a run that was interrupted)."""
    keys = [c.key for c in _creates(plan, Kind.TASK)]
    if not keys or not workspace_id:
        return
    found = find_tasks_by_marker(client, workspace_id, plan.stack, keys)
    for key in sorted(found):
        yield f"task {key!r}: already exists (id {found[key].id}); created since the plan was made"


def _old_status_name(change: Change) -> str:
    """The name the plan read of a status (its key when the plan creates it)."""
    if isinstance(change, StatusUpdate):
        return change.before.get("name") or change.key
    if isinstance(change, StatusReplace | StatusDelete | StatusKeep):
        return change.before["name"] or change.key
    return change.key
