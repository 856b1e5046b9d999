"""`kxplan show PLANFILE`: a saved plan printed offline, byte for byte as `plan` printed it;
`--format gitlab` for GitLab's Terraform MR widget; clear errors for files it cannot show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, write_manifest
from tests.support.fleets import fleet_site, write_fleet

WORKSPACE = "Northwind — Website Audit"
HOSTILE = "Alpha <img src=x onerror=alert(1)> </details> | @octocat #1"


def _doc(version: int) -> dict[str, Any]:
    """v1: a, a/a1, b, c. v2: a renamed (hostile), a1 moved under b, c gone, d new."""
    if version == 1:
        tasks = [
            {"key": "a", "title": "Alpha", "children": [{"key": "a1", "title": "A one"}]},
            {"key": "b", "title": "Beta"},
            {"key": "c", "title": "Gamma"},
        ]
    else:
        tasks = [
            {"key": "a", "title": HOSTILE},
            {"key": "b", "title": "Beta", "children": [{"key": "a1", "title": "A one"}]},
            {"key": "d", "title": "Delta"},
        ]
    return {"version": 1, "name": "showcase", "workspace": WORKSPACE, "tasks": tasks}


@pytest.fixture
def site(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A workspace where v1 is applied and the manifest is v2: one change of each action."""
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    monkeypatch.delenv("NO_COLOR", raising=False)
    sandbox.model.create_workspace(WORKSPACE)
    manifest = write_manifest(tmp_path / "showcase.yaml", _doc(1))
    applied = kxplan("apply", manifest, "--auto-approve", "--api-url", sandbox.url)
    assert applied.code == 0, applied.text
    write_manifest(manifest, _doc(2))
    return sandbox, manifest


def _shown_offline(server: SandboxServer, monkeypatch: pytest.MonkeyPatch, *args: Any) -> Any:
    """`kxplan show ARGS` without a token, checking that it made no request."""
    monkeypatch.delenv("KANTATA_TOKEN", raising=False)
    before = server.log.count()
    result = kxplan("show", *args)
    assert server.log.count() == before, "show made a request"
    return result


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_show_prints_exactly_what_plan_printed(
    site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    server, manifest = site
    saved = tmp_path / "plan.json"
    args = ("--prune", "--format", fmt, "--out", saved, "--api-url", server.url)
    planned = kxplan("plan", manifest, *args)
    assert planned.code == 0, planned.text
    summary = {"create": 1, "update": 1, "move": 1, "delete": 1}
    assert json.loads(saved.read_text(encoding="utf-8"))["summary"].items() >= summary.items()
    shown = _shown_offline(server, monkeypatch, saved, "--format", fmt)
    assert shown.code == 0, shown.text
    assert shown.out == planned.out
    assert shown.err == ""


def test_show_prints_text_by_default(site: Any, tmp_path: Path, monkeypatch: Any) -> None:
    server, manifest = site
    saved = tmp_path / "plan.json"
    planned = kxplan("plan", manifest, "--prune", "--out", saved, "--api-url", server.url)
    shown = _shown_offline(server, monkeypatch, saved)
    assert shown.out == planned.out and "→ task b/a1" in shown.out


def test_show_colours_as_plan_does_with_color_always(
    site: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    server, manifest = site
    saved = tmp_path / "plan.json"
    args = ("--prune", "--color", "always", "--out", saved, "--api-url", server.url)
    planned = kxplan("plan", manifest, *args)
    shown = _shown_offline(server, monkeypatch, saved, "--color", "always")
    assert "\x1b[" in shown.out and shown.out == planned.out
    plain = _shown_offline(server, monkeypatch, saved, "--color", "never")
    assert "\x1b[" not in plain.out


def test_gitlab_report_counts_moves_as_updates(
    site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, manifest = site
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--prune", "--out", saved, "--api-url", server.url).code == 0
    shown = _shown_offline(server, monkeypatch, saved, "--format", "gitlab")
    assert shown.code == 0, shown.text
    assert shown.out == '{"create": 1, "update": 2, "delete": 1}\n'


def test_gitlab_report_counts_the_workspace_create(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)
    doc = {**_doc(1), "workspace": {"title": "Brand new", "create": True}}
    manifest = write_manifest(tmp_path / "new.yaml", doc)
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--out", saved, "--api-url", sandbox.url).code == 0
    shown = _shown_offline(sandbox, monkeypatch, saved, "--format", "gitlab")
    assert json.loads(shown.out) == {"create": 5, "update": 0, "delete": 0}


def test_markdown_of_plan_and_show_keep_to_max_chars(
    site: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, manifest = site
    long = "Review the statement of work with the client and file it " * 3
    doc = _doc(2)
    doc["tasks"] += [{"key": f"t{i}", "title": f"{long}{i}"} for i in range(120)]
    write_manifest(manifest, doc)
    saved = tmp_path / "plan.json"
    args = ("--format", "markdown", "--max-chars", "5000", "--out", saved)
    planned = kxplan("plan", manifest, *args, "--api-url", server.url)
    assert planned.code == 0, planned.text
    assert len(planned.out) <= 5000
    assert "of 123 changes and 1 of 1 note are not shown here" in planned.out
    assert "`kxplan show PLANFILE`" in planned.out
    same = _shown_offline(server, monkeypatch, saved, "--format", "markdown", "--max-chars", "5000")
    assert same.out == planned.out
    whole = kxplan("show", saved, "--format", "markdown", "--max-chars", "1000000")
    assert "not shown here" not in whole.out and whole.out.count("| `+` | create | task t") == 120


def test_max_chars_below_the_minimum_is_refused(site: Any, tmp_path: Path) -> None:
    server, manifest = site
    before = server.log.count()
    result = kxplan("plan", manifest, "--format", "markdown", "--max-chars", "100")
    assert result.code == 1
    assert "--max-chars" in result.err and "4000" in result.err
    assert server.log.count() == before  # refused before any request


# --------------------------------------------------------------------------- fleets


@pytest.fixture
def fleet(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    fleet_site(sandbox, monkeypatch, tmp_path)
    return sandbox, write_fleet(tmp_path / "fleet.yaml")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_show_prints_a_saved_fleet_plan_as_plan_did(
    fleet: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    server, path = fleet
    saved = tmp_path / "fleet-plan.json"
    planned = kxplan("plan", path, "--format", fmt, "--out", saved, "--api-url", server.url)
    assert planned.code == 0, planned.text
    shown = _shown_offline(server, monkeypatch, saved, "--format", fmt)
    assert shown.code == 0, shown.text
    assert shown.out == planned.out


def test_fleet_markdown_has_one_fleet_marker_and_the_table_first(fleet: Any) -> None:
    server, path = fleet
    out = kxplan("plan", path, "--format", "markdown", "--api-url", server.url).out
    lines = out.splitlines()
    assert lines[0] == "<!-- kxplan:plan stack=onboarding workspace=* -->"
    assert out.count("<!--") == 1  # no workspace's own marker inside the fleet's comment
    table = lines.index("| Workspace | ID | Add | Change | Move | Delete | Status |")
    assert table < min(i for i, line in enumerate(lines) if line.startswith("## Workspace"))


def test_fleet_markdown_keeps_to_max_chars(fleet: Any, tmp_path: Path) -> None:
    server, _ = fleet
    extra = "".join(
        f"  - key: step-{i}\n    title: Step {i} of the onboarding for the client, in detail\n"
        for i in range(150)
    )
    path = write_fleet(tmp_path / "big.yaml", extra=extra)
    args = ("--format", "markdown", "--max-chars", "6000", "--api-url", server.url)
    out = kxplan("plan", path, *args)
    assert out.code == 0, out.text
    assert len(out.out) <= 6000
    assert "| Initech — Onboarding |" in out.out  # the aggregate is always there
    assert "not shown here" in out.out


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_saved_fleet_plan_with_a_failed_workspace_shows_its_error(
    fleet: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    server, _ = fleet
    path = write_fleet(tmp_path / "four.yaml", clients=("Acme", "Hooli <b>&</b>"))
    saved = tmp_path / "fleet-plan.json"
    planned = kxplan("plan", path, "--format", fmt, "--out", saved, "--api-url", server.url)
    assert planned.code == 1 and "1 of 2 workspaces of the fleet failed" in planned.err
    shown = _shown_offline(server, monkeypatch, saved, "--format", fmt)
    assert shown.out == planned.out and shown.code == 0
    if fmt == "markdown":
        assert "<pre>\nError: workspace 'Hooli &lt;b&gt;&amp;&lt;/b&gt; — Onboarding'" in shown.out
        assert "| Hooli &lt;b>&amp;&lt;/b> — Onboarding | - | 0 | 0 | 0 | 0 | failed:" in shown.out


def test_gitlab_report_of_a_fleet_is_the_sum(
    fleet: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, path = fleet
    saved = tmp_path / "fleet-plan.json"
    assert kxplan("plan", path, "--out", saved, "--api-url", server.url).code == 0
    shown = _shown_offline(server, monkeypatch, saved, "--format", "gitlab")
    assert shown.out == '{"create": 9, "update": 0, "delete": 0}\n'


# --------------------------------------------------------------------------- errors


def _saved(site: Any, tmp_path: Path) -> dict[str, Any]:
    server, manifest = site
    saved = tmp_path / "plan.json"
    assert kxplan("plan", manifest, "--out", saved, "--api-url", server.url).code == 0
    data: dict[str, Any] = json.loads(saved.read_text(encoding="utf-8"))
    return data


BROKEN = {
    "not json": ("plan.txt", "this is not a plan", "not a saved plan (Expecting value)"),
    "cut short": ("cut.json", None, "not a saved plan ("),
    "another version": ("v0.json", {"format_version": "0"}, "saved by another version"),
    "no binding": ("old.json", "-binding", "saved by an older kxplan"),
    "edited": ("edited.json", "-changes", "not a readable plan (KeyError"),
    "not an object": ("list.json", [1, 2], "not a saved plan (no format_version)"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_file_show_cannot_show_is_a_clear_error(site: Any, tmp_path: Path, case: str) -> None:
    name, content, message = BROKEN[case]
    data = _saved(site, tmp_path)
    path = tmp_path / name
    if content is None:
        text = json.dumps(data, indent=2)
        path.write_text(text[: len(text) // 2], encoding="utf-8")
    elif isinstance(content, str) and content.startswith("-"):
        del data[content[1:]]
        path.write_text(json.dumps(data), encoding="utf-8")
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    result = kxplan("show", path)
    assert result.code == 1, result.text
    assert result.err.startswith(f"Error: {path}"), result.err
    assert message in result.err
    assert "kxplan plan" in result.err  # says how to get a good one
    assert result.out == "" and "Traceback" not in result.err


def test_a_missing_plan_file_is_a_clear_error(tmp_path: Path) -> None:
    result = kxplan("show", tmp_path / "nope.json")
    assert result.code == 1
    assert f"{tmp_path / 'nope.json'}: no such file" in result.err
