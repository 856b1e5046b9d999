"""`apply --notify` (and `notify: true`): after an apply that changed something, one post in
the workspace's activity feed saying what changed, in words a project team reads
(docs/apply.md, "Telling the team: --notify").

    kxplan updated the plan (stack "onboarding", template onboarding.yaml): 2 tasks added,
    1 changed, 1 moved.
    Added: "Discovery", "Kickoff call".
    Moved: "QA" (now under "Phase 2").
    Dates: "Kickoff call" due 2027-01-04 → 2027-01-11.
    From commit 1a2b3c4 of acme/plans (https://github.com/acme/plans/actions/runs/9).

The post carries the stack's marker like every post kxplan writes, with `service_model_ref`
`notify:<UTC time>` and `external_status` "notification": plans tell it apart from the
manifest's `posts:` by that (a manifest key cannot hold ':'), so no later apply or prune
ever changes or deletes it. Nothing is posted when the apply changed nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.codec import values_of
from kxplan.errors import ApiError, ApplyError
from kxplan.ids import result_ids
from kxplan.model import MAX_MESSAGE, NOTIFICATION, NOTIFY_REF, SERVICE_NAME, Manifest
from kxplan.plan import Plan

if TYPE_CHECKING:
    from kxplan.apply import ApplyResult
    from kxplan.client import KantataClient


#: At most this many titles are named per line; the rest are counted.
MAX_NAMED = 10

_DATE_FIELDS = {"start_date": "starts", "due_date": "due"}


def notify_after(
    plans: Sequence[Plan],
    results: Sequence[ApplyResult],
    client: KantataClient,
    flag: bool,
    manifests: Sequence[Manifest] = (),
    env: Mapping[str, str] | None = None,
    say: Callable[[str], None] = click.echo,
) -> None:
    """Post one notification per applied plan that changed something, when `--notify` or
    its manifest's `notify: true` asks for it; say where (with `say`: stderr when stdout
    carries JSON)."""
    by_path = {m.path: m for m in manifests}
    for plan, result in zip(plans, results, strict=True):
        line = notify_one(client, plan, result, by_path.get(plan.manifest), flag, env)
        if line:
            say(line)


def notify_one(
    client: KantataClient,
    plan: Plan,
    result: ApplyResult,
    manifest: Manifest | None,
    flag: bool,
    env: Mapping[str, str] | None = None,
) -> str:
    """The notification of one applied plan (single or fleet), when `--notify` (`flag`) or
    its manifest's `notify: true` asks for it and the apply changed something: posted in
    the workspace (the one the apply created, if it did); the line saying where it went, ""
    when nothing was posted. ApplyError when posting failed."""
    if not (flag or (manifest is not None and manifest.notify)):
        return ""
    titles = {t.key: t.title for t in manifest.tasks} if manifest is not None else {}
    text = notification(plan, result.applied, titles, os.environ if env is None else env)
    if text is None:
        return ""
    created = result.created_workspace[0] if result.created_workspace else None
    post_id = post_notification(client, plan, str(created or plan.workspace.get("id")), text)
    return f"Posted what changed to the workspace's activity feed (post {post_id})."


def notification(
    plan: Plan,
    applied: Sequence[Change],
    titles: Mapping[str, str],
    env: Mapping[str, str],
) -> str | None:
    """The message for what `applied` did; None when it changed nothing (pure)."""
    done = [c for c in applied if c.action.makes_calls and c.kind is not Kind.NOTE]
    if not done:
        return None
    lines = [_headline(plan, done)]
    tasks = [c for c in done if c.kind is Kind.TASK]
    lines.extend(_task_lines(tasks, titles))
    dates = _date_lines(tasks, titles)
    if dates:
        lines.append("Dates: " + "; ".join(dates) + ".")
    source = _source(env)
    if source:
        lines.append(source)
    text = "\n".join(lines)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def post_notification(client: KantataClient, plan: Plan, workspace_id: str, text: str) -> str:
    """POST the notification, then its marker; the post's id."""
    body = {"post": {"workspace_id": int(workspace_id), "message": text}}
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        answer = client.post("/posts", json=body)
        ids = result_ids(answer)
        if not ids:
            raise ApplyError("Kantata's answer to POST /posts did not name the post it created")
        marker = {
            "subject_type": "Post",
            "subject_id": int(ids[0]),
            "service_name": SERVICE_NAME,
            "service_model": plan.stack,
            "service_model_ref": f"{NOTIFY_REF}{stamp}",
            "external_status": NOTIFICATION,
        }
        client.post("/external_references/create_or_update", json={"external_reference": marker})
    except ApiError as err:
        raise ApplyError(
            f"the changes were applied, but posting them to the activity feed failed: "
            f"{err.message}",
            hint="nothing else is pending; check the workspace's activity feed, and post by "
            "hand if the notification is missing",
        ) from err
    return ids[0]


def _headline(plan: Plan, done: list[Change]) -> str:
    where = f'stack "{plan.stack}"' + (
        f", template {_shown(plan.manifest)}" if plan.manifest else ""
    )
    counts = _counts(done)
    return f"kxplan updated the plan ({where}): {counts}."


def _shown(path: str) -> str:
    """The manifest's path as the repository knows it: relative to the current directory
    when it is inside it (CI runs from the checkout)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path


def _counts(done: list[Change]) -> str:
    words = {
        Action.CREATE: "added",
        Action.ADOPT: "adopted",
        Action.UPDATE: "changed",
        Action.REPLACE: "changed",
        Action.MOVE: "moved",
        Action.DELETE: "removed",
    }
    parts: list[str] = []
    for kind, noun in ((Kind.TASK, "task"), (Kind.POST, "post")):
        mine = [c for c in done if c.kind is kind]
        seen: dict[str, int] = {}
        for c in mine:
            word = words.get(c.action)
            if word:
                seen[word] = seen.get(word, 0) + 1
        for i, (word, n) in enumerate(seen.items()):
            plural = noun + ("s" if n != 1 else "")
            parts.append(f"{n} {plural} {word}" if i == 0 else f"{n} {word}")
    others = [c for c in done if c.kind not in (Kind.TASK, Kind.POST)]
    if others:
        n = len(others)
        parts.append(f"{n} other change{'s' if n != 1 else ''} (statuses, checklists, workspace)")
    return ", ".join(parts)


def _title(change: Change, titles: Mapping[str, str]) -> str:
    before, after = values_of(change)
    title = after.get("title") or before.get("title") or titles.get(change.key) or change.key
    return f'"{title}"'


def _task_lines(tasks: list[Change], titles: Mapping[str, str]) -> list[str]:
    lines = []
    for action, word in ((Action.CREATE, "Added"), (Action.DELETE, "Removed")):
        named = [_title(c, titles) for c in tasks if c.action is action]
        if named:
            lines.append(f"{word}: {_listing(named)}.")
    moves = [_moved(c, titles) for c in tasks if c.action is Action.MOVE]
    if moves:
        lines.append(f"Moved: {_listing(moves)}.")
    return lines


def _moved(change: Change, titles: Mapping[str, str]) -> str:
    _, after = values_of(change)
    parent = after.get("parent")
    where = f'under "{titles.get(str(parent), parent)}"' if parent else "to the top level"
    return f"{_title(change, titles)} (now {where})"


def _date_lines(tasks: list[Change], titles: Mapping[str, str]) -> list[str]:
    out = []
    for c in tasks:
        if c.action is not Action.UPDATE:
            continue
        before, after = values_of(c)
        for name, word in _DATE_FIELDS.items():
            if name in c.fields:
                old, new = before.get(name) or "no date", after.get(name) or "no date"
                out.append(f"{_title(c, titles)} {word} {old} → {new}")
    return out[:MAX_NAMED] + ([f"and {len(out) - MAX_NAMED} more"] if len(out) > MAX_NAMED else [])


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


def _source(env: Mapping[str, str]) -> str | None:
    """Which commit the apply came from, when the CI environment says (GitHub Actions,
    GitLab CI, or any CI that sets KXPLAN_COMMIT / KXPLAN_SOURCE)."""
    sha = env.get("KXPLAN_COMMIT") or env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA")
    repo = env.get("KXPLAN_SOURCE") or env.get("GITHUB_REPOSITORY") or env.get("CI_PROJECT_PATH")
    if not sha and not repo:
        return None
    text = "From " + (f"commit {sha[:7]}" if sha else "the latest commit")
    if repo:
        text += f" of {repo}"
    link = _run_link(env)
    return text + (f" ({link})" if link else "") + "."


def _run_link(env: Mapping[str, str]) -> str | None:
    server, repo, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if server and repo and run:
        return f"{server}/{repo}/actions/runs/{run}"
    return env.get("CI_PIPELINE_URL") or None
