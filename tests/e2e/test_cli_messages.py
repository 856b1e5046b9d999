"""Clear errors instead of tracebacks, and summary lines that say what the plan leaves out."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import jsonschema
import pytest

from kxplan.resources import load_schema
from kxplan.sandbox import SandboxServer
from tests.support import kxplan, write_manifest

from .scenario import STACK, WORKSPACE, base


def test_sandbox_port_out_of_range_is_a_usage_error() -> None:
    result = kxplan("sandbox", "--port", "99999")
    assert result.code == 1
    assert "Invalid value for '--port': 99999 is not in the range 0<=x<=65535" in result.err
    assert "Traceback" not in result.text


def test_sandbox_data_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "notdb.db"
    data.write_text("my notes, not a database\n", encoding="utf-8")
    result = kxplan("sandbox", "--data", data, "--port", "0")
    assert result.code == 1
    assert f"cannot use {data} as the sandbox's data: it is not a SQLite database" in result.err
    assert data.read_text(encoding="utf-8") == "my notes, not a database\n"  # untouched


def test_sandbox_data_of_another_program_is_not_written_to(tmp_path: Path) -> None:
    data = tmp_path / "app.db"
    with sqlite3.connect(data) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
    result = kxplan("sandbox", "--data", data, "--port", "0")
    assert result.code == 1
    assert "a SQLite database of another program" in result.err
    with sqlite3.connect(data) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["invoices"]


def test_a_damaged_sandbox_db_is_reported_by_plan_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    assert kxplan("apply", manifest, "--sandbox", "--auto-approve").code == 0
    db = tmp_path / ".kxplan" / "sandbox.db"
    with db.open("r+b") as handle:  # overwrite the pages after the first: tables damaged
        handle.seek(4096)
        handle.write(b"\xab" * 16384)
    result = kxplan("plan", manifest, "--sandbox")
    assert result.code == 1
    assert "cannot use the sandbox's data '.kxplan/sandbox.db': the SQLite file is damaged" in (
        result.err
    )
    assert "move .kxplan/sandbox.db aside" in result.err
    assert "Traceback" not in result.text


def test_apply_detailed_exitcode_is_a_usage_error_before_any_request(
    url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    result = kxplan("apply", manifest, "--auto-approve", "--detailed-exitcode", "--api-url", url)
    assert result.code == 1
    assert "--detailed-exitcode is a plan option" in result.err
    assert "kxplan plan --detailed-exitcode" in result.err
    assert sandbox.log.count() == 0


def _many_tasks() -> dict[str, object]:
    """26 tasks: 4 phases of 5 steps each, and 2 more."""
    tasks: list[dict[str, object]] = [
        {
            "key": f"phase-{p}",
            "title": f"Phase {p}",
            "children": [{"key": f"p{p}-step-{i}", "title": f"Step {i}"} for i in range(5)],
        }
        for p in range(4)
    ]
    tasks += [{"key": "wrap-up", "title": "Wrap-up"}, {"key": "retro", "title": "Retro"}]
    return {"version": 1, "name": STACK, "workspace": WORKSPACE, "tasks": tasks}


def test_a_plan_that_keeps_managed_tasks_counts_them(url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", _many_tasks())
    assert kxplan("apply", manifest, "--auto-approve", "--api-url", url).code == 0
    write_manifest(manifest, {**_many_tasks(), "tasks": []})  # 26 managed tasks left out

    text = kxplan("plan", manifest, "--api-url", url, "--detailed-exitcode")
    assert text.code == 0, text.text
    expected = (
        "No changes. 26 managed tasks not in the manifest are kept (deleted only with --prune)."
    )
    assert text.out.rstrip().splitlines()[-1] == expected
    assert "The workspace matches the manifest" not in text.out
    md = kxplan("plan", manifest, "--api-url", url, "--format", "markdown")
    assert f"**{expected}**" in md.out
    data = json.loads(kxplan("plan", manifest, "--api-url", url, "--format", "json").out)
    assert data["summary"]["keep"] == 26
    jsonschema.validate(data, load_schema("plan.schema.json"))

    write_manifest(manifest, {**_many_tasks(), "tasks": [{"key": "retro", "title": "Retro!"}]})
    changed = kxplan("plan", manifest, "--api-url", url)
    assert changed.out.rstrip().splitlines()[-1] == (
        "Plan: 0 to add, 1 to change, 0 to move, 0 to delete. "
        "25 kept: managed tasks not in the manifest (deleted only with --prune)."
    )


def test_a_targeted_plan_says_it_is_partial_in_every_format(url: str, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "onboarding.yaml", base())
    warning = "Targeting is in effect (--target discovery): only those tasks and their subtrees"
    text = kxplan("plan", manifest, "--api-url", url, "--target", "discovery")
    assert text.code == 0, text.text
    assert f"Warning: {warning}" in text.out and "may be incomplete" in text.out
    md = kxplan("plan", manifest, "--api-url", url, "--target", "discovery", "--format", "markdown")
    assert f"> **Warning:** {warning}" in md.out
    out = kxplan("plan", manifest, "--api-url", url, "--target", "discovery", "--format", "json")
    data = json.loads(out.out)
    assert data["targeting"]["targets"] == ["discovery"]
    assert data["targeting"]["warning"].startswith(warning)
    jsonschema.validate(data, load_schema("plan.schema.json"))
    whole = kxplan("plan", manifest, "--api-url", url, "--format", "json")
    assert "targeting" not in json.loads(whole.out)
    assert "Targeting" not in kxplan("plan", manifest, "--api-url", url).out
