"""`kxplan apply FLEET --notify` (and `notify: true`): one post per workspace the apply
changed, none where nothing changed or the apply failed; each section says where it went."""

from __future__ import annotations

from pathlib import Path

import pytest

from kxplan.lock import WorkspaceLock
from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.fleets import CLIENTS, client_of, fleet_site, title, write_fleet

POSTED = "Posted what changed to the workspace's activity feed (post "


def _notifications(server: SandboxServer) -> dict[str, list[str]]:
    """Workspace id -> the messages of kxplan's notification posts there."""
    rows = server.model.store.all(
        "SELECT p.workspace_id, p.message FROM posts p JOIN external_references e ON "
        "e.subject_type = 'Post' AND e.subject_id = p.id AND e.service_name = 'kxplan' "
        "AND e.external_status = 'notification' ORDER BY p.id"
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(str(r["workspace_id"]), []).append(r["message"])
    return out


@pytest.fixture
def ids(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    return fleet_site(sandbox, monkeypatch, tmp_path)


def test_each_changed_workspace_gets_one_post_and_a_rerun_posts_nothing(
    sandbox: SandboxServer, ids: dict[str, str], tmp_path: Path
) -> None:
    fleet = write_fleet(tmp_path / "fleet.yaml")
    applied = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve", "--notify")
    assert applied.code == 0, applied.text
    assert applied.out.count(POSTED) == 3
    posts = _notifications(sandbox)
    assert sorted(posts) == sorted(ids.values())
    for client in CLIENTS:
        (message,) = posts[ids[client]]
        assert "3 tasks added" in message and f'"Kickoff with {client}"' in message
    again = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve", "--notify")
    assert again.code == 0, again.text
    assert POSTED not in again.out
    assert _notifications(sandbox) == posts  # nothing changed: nothing posted


def test_no_post_where_nothing_changed_or_the_apply_failed(
    sandbox: SandboxServer, ids: dict[str, str], tmp_path: Path
) -> None:
    assert kxplan("apply", write_fleet(tmp_path / "one.yaml", CLIENTS[:1]), "--auto-approve",
                  "--api-url", sandbox.url).code == 0  # fmt: skip
    fleet = write_fleet(tmp_path / "fleet.yaml", extra="notify: true\n")
    with client_of(sandbox) as client:
        other = WorkspaceLock(client, ids["Globex"], title("Globex"), ttl=600)
        other.acquire(0)
        try:
            result = kxplan("apply", fleet, "--api-url", sandbox.url, "--auto-approve")
        finally:
            other.release()
    assert result.code == 1, result.text  # Globex failed: another apply holds it
    assert result.out.count(POSTED) == 1
    assert list(_notifications(sandbox)) == [ids["Initech"]]  # Acme had no changes
