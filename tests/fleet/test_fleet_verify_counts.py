"""A fleet's verification after apply is the single apply's (kxplan.cli.flow
.planned_after_writes): each workspace is planned again against what its plan read with the
apply's answers laid over it, reading only what they did not show (docs/fleet.md, "Applying
a fleet"; docs/apply.md, "Verification"). Request counts, never times."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from kxplan.apply import Observed
from kxplan.model import LiveTask
from kxplan.sandbox import SandboxServer
from tests.support import kxplan
from tests.support.fleets import fleet_site, write_fleet

VERIFIED = "Verified: the workspace matches the manifest."
Site = tuple[SandboxServer, dict[str, str], Path]


def _counts(server: SandboxServer, since: int = 0) -> Counter[tuple[str, str]]:
    return Counter((e.method, e.route) for e in server.log.entries[since:])


@pytest.fixture
def site(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Site:
    ids = fleet_site(sandbox, monkeypatch, tmp_path)
    return sandbox, ids, write_fleet(tmp_path / "fleet.yaml")


def _apply(server: SandboxServer, fleet: Path) -> str:
    applied = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve")
    assert applied.code == 0, applied.text
    assert applied.out.count(VERIFIED) == 3
    return applied.out


def test_a_fleet_bootstrap_is_verified_without_reading_the_stories_again(site: Site) -> None:
    server, _, fleet = site
    _apply(server, fleet)
    counts = _counts(server)
    # Per workspace (two levels: two create batches): the plan's one page of stories and
    # the guard's marker checks before, between and after the levels (3 counts). Before
    # verification used the writes' answers, each workspace's stories were listed once
    # more; before one look-up served two levels, there were 4 look-ups: 18.
    assert counts[("GET", "/stories")] == 3 * (1 + 3)
    # The lock per workspace: read-write-read to take it, a write to release it; the peek
    # is the index's include of the workspaces' references, and the reads that showed it
    # held answer the checks before the batches and the release.
    assert counts[("GET", "/external_references")] == 3 * 2
    assert counts[("POST", "/external_references/create_or_update")] == 3 * 2
    assert counts[("POST", "/stories")] == 3 * 2
    assert counts[("GET", "/workspaces")] == 1  # one index for the run, none after the writes
    assert counts[("GET", "/task_status_sets")] == 0  # the template uses no status
    assert counts[("GET", "/workspaces/{id}")] == 0
    # 50 before, 47 with a look-up each side of a batch, 44 with a lock read per batch,
    # 38 with the status sets read, 37 with a read before each release, 34 with a count
    # before a look-up, 31 with the peek taken from the index
    assert sum(counts.values()) == 31


def test_a_fleet_edit_reads_back_only_the_stories_it_wrote(site: Site) -> None:
    server, _, fleet = site
    _apply(server, fleet)
    fleet.write_text(fleet.read_text().replace("title: Discovery", "title: Discovery phase"))
    since = len(server.log.entries)
    _apply(server, fleet)
    counts = _counts(server, since)
    assert counts[("PUT", "/stories/{id}")] == 3
    # The plan's page, and one `only=` read of the story each workspace's PUT wrote.
    assert counts[("GET", "/stories")] == 3 * 2
    assert counts[("GET", "/workspaces")] == 1 and counts[("GET", "/task_status_sets")] == 0


def test_a_fleet_workspace_field_change_reads_the_workspace_and_not_its_stories(
    site: Site,
) -> None:
    server, _, fleet = site
    _apply(server, fleet)
    text = fleet.read_text().replace(
        '  - workspace: "Acme — Onboarding"',
        '  - workspace: {title: "Acme — Onboarding", description: "Acme, from the fleet"}',
    )
    fleet.write_text(text)
    since = len(server.log.entries)
    applied = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve")
    assert applied.code == 0, applied.text
    assert VERIFIED in applied.out
    counts = _counts(server, since)
    assert counts[("PUT", "/workspaces/{id}")] == 1
    # The PUT's answer does not show the workspace's marker: it alone is read again.
    assert counts[("GET", "/workspaces/{id}")] == 1
    assert counts[("GET", "/stories")] == 3  # the plans' pages only
    again = kxplan("plan", fleet, "--api-url", server.url, "--detailed-exitcode")
    assert again.code == 0, again.text


def test_an_answer_that_differs_from_the_plan_fails_that_workspace(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification from the writes still finds what their answers show wrong: one created
    story whose answer showed another title fails its workspace, the others verify."""
    server, _, fleet = site
    saw = Observed.saw

    def otherwise(self: Observed, tasks: Iterable[LiveTask]) -> None:
        shown = [replace(t, title="Stored otherwise") if t.title == "Kickoff with Acme" else t
                 for t in tasks]  # fmt: skip
        saw(self, shown)

    monkeypatch.setattr(Observed, "saw", otherwise)
    applied = kxplan("apply", fleet, "--api-url", server.url, "--auto-approve")
    assert applied.code == 1, applied.text
    assert applied.out.count(VERIFIED) == 2
    assert "verification found 1 change still pending after apply" in applied.text
    assert "3 workspaces, 2 ok, 0 no changes, 1 failed" in applied.out
