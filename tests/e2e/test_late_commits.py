"""A create the server commits after its answer was lost is not sent twice, and a duplicate
that exists anyway fails verification and `plan`."""

from __future__ import annotations

from pathlib import Path

from kxplan.apply._payload import create_item
from kxplan.client import KantataClient
from kxplan.sandbox import Faults, SandboxServer
from tests.support import TOKEN, duplicates, kxplan, read, write_manifest

from .scenario import STACK, WORKSPACE, base, edited

#: Every create commits this long after it arrived, its answer dropped at once: the first
#: look-up finds nothing, a later one (after the 0.25 s and 0.5 s pauses) finds it.
LATE = Faults(p_commit_late=1.0, commit_late_s=0.3)


def test_creates_committed_late_are_found_not_sent_again(
    url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    manifest = tmp_path / "onboarding.yaml"
    for doc, flags in ((base(), ()), (edited(), ("--prune",))):
        write_manifest(manifest, doc)
        sandbox.faults = LATE
        sandbox.log.reset()
        result = kxplan("apply", manifest, "--auto-approve", "--api-url", url, *flags)
        posts = sandbox.log.count("POST")
        late = sum(1 for e in sandbox.log.entries if e.outcome == "committed_late")
        sandbox.faults = Faults()
        assert result.code == 0, result.text
        assert "were found already done (not repeated)" in result.out
        assert "Verified: the workspace matches the manifest." in result.out
        assert posts == late > 0  # every create was sent once, none re-sent
        live = read(url, WORKSPACE)
        assert duplicates(live, STACK) == []
        again = kxplan("plan", manifest, "--api-url", url, "--detailed-exitcode", *flags)
        assert again.code == 0, again.text


def _copy_of(url: str, key: str) -> str:
    """Make a second story carrying the marker of `key`, as a late commit that slipped
    through would; returns its id."""
    live = read(url, WORKSPACE)
    item = create_item(STACK, key, {"title": "Discovery (copy)"}, live.workspace.id, None)
    with KantataClient(url, TOKEN) as client:
        made = client.request("POST", "/stories", json={"stories": [item]})
    return str(made["results"][0]["id"])


def test_a_duplicate_fails_verification_and_plan(url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    assert kxplan("apply", manifest, "--auto-approve", "--api-url", url).code == 0
    copy = _copy_of(url, "discovery")
    with KantataClient(url, TOKEN) as client:  # someone works on the copy: prune keeps it
        client.request("PUT", f"/stories/{copy}", json={"story": {"percentage_complete": 30}})

    planned = kxplan("plan", manifest, "--api-url", url)
    assert planned.code == 1
    assert "duplicates in the workspace: 1 story carries the marker of another task" in (
        planned.err
    )
    assert f"'discovery' (#{copy}: 30 % done" in planned.err

    write_manifest(manifest, edited())
    applied = kxplan("apply", manifest, "--auto-approve", "--api-url", url, "--prune")
    assert applied.code == 1
    assert "Apply complete: " in applied.out
    assert "Verified" not in applied.out
    assert "verification found duplicates after apply" in applied.err
    assert f"'discovery' (#{copy}: 30 % done" in applied.err
