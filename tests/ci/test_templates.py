"""The GitLab CI template and the pre-commit hooks: their structure, and the kxplan command
lines they run, parsed by the real CLI (and, for GitLab, run locally against a sandbox)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kxplan.cli import cli
from kxplan.sandbox import SandboxServer
from tests.support import TOKEN, kxplan, read, write_manifest

from .commands import check, invocations
from .plans import WORKSPACE, manifest_doc

ROOT = Path(__file__).resolve().parents[2]
GITLAB = yaml.safe_load((ROOT / "ci/gitlab/kxplan.gitlab-ci.yml").read_text(encoding="utf-8"))
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
JOBS = ("kxplan-validate", "kxplan-plan", "kxplan-apply")


def script(job: str) -> str:
    data = GITLAB[job]
    base = GITLAB[data["extends"]] if "extends" in data else {}
    lines = [*base.get("before_script", []), *data["script"]]
    return "\n".join(lines)


def test_the_gitlab_template_plans_on_merge_requests_and_applies_on_the_default_branch() -> None:
    assert GITLAB["stages"] == ["validate", "plan", "apply"]
    assert {GITLAB[j]["stage"] for j in JOBS} == set(GITLAB["stages"])
    rules = [r["if"] for r in GITLAB[".kxplan"]["rules"]]
    assert '$CI_PIPELINE_SOURCE == "merge_request_event"' in rules
    assert [r["if"] for r in GITLAB["kxplan-apply"]["rules"]] == [
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    ]
    assert GITLAB["kxplan-apply"]["needs"] == [{"job": "kxplan-plan", "artifacts": True}]


def test_the_gitlab_plan_reports_to_the_merge_request_widget() -> None:
    artifacts = GITLAB["kxplan-plan"]["artifacts"]
    report = artifacts["reports"]["terraform"]
    assert report == "$KXPLAN_PLAN_DIR/*.gitlab.json"
    assert artifacts["paths"] == ["$KXPLAN_PLAN_DIR/"]
    text = script("kxplan-plan")
    assert 'kxplan show "$out" --format gitlab > "${out%.plan.json}.gitlab.json"' in text


def test_gitlab_applies_one_at_a_time_per_workspace() -> None:
    assert GITLAB["kxplan-apply"]["resource_group"] == "kxplan-$KXPLAN_RESOURCE_GROUP"
    assert "KXPLAN_RESOURCE_GROUP" in GITLAB["variables"]
    assert "resource_group" not in GITLAB["kxplan-plan"]  # plans are read-only: no waiting


def test_every_variable_the_gitlab_jobs_use_is_defined_or_gitlabs_own() -> None:
    used = set(re.findall(r"\$\{?(KXPLAN_[A-Z_]+)", yaml.safe_dump(GITLAB)))
    assert used <= set(GITLAB["variables"]), used - set(GITLAB["variables"])


def test_every_kxplan_command_of_the_gitlab_jobs_parses_with_the_real_cli() -> None:
    lines = [argv for job in JOBS for argv in invocations(script(job))]
    assert {a[0] for a in lines} >= {"validate", "plan", "show", "apply", "--version"}
    for argv in lines:
        check(argv)


def _shell(text: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-e", "-c", text], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif("show" not in cli.commands, reason="`kxplan show` comes with another slice")
def test_the_gitlab_jobs_run_locally_plan_then_apply(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.model.create_workspace(WORKSPACE)
    (tmp_path / "kantata").mkdir()
    write_manifest(tmp_path / "kantata" / "acme.yaml", manifest_doc(2))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "kxplan").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kxplan "$@"\n')
    (bindir / "kxplan").chmod(0o755)
    env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "KANTATA_TOKEN": TOKEN,
        "KANTATA_API_URL": sandbox.url,
        **{k: str(v) for k, v in GITLAB["variables"].items() if "$" not in str(v)},
    }
    planned = _shell("\n".join(GITLAB["kxplan-plan"]["script"]), tmp_path, env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    report = tmp_path / "kxplan-plans" / "kantata_acme.yaml.gitlab.json"
    assert report.read_text(encoding="utf-8").strip() == '{"create": 2, "update": 0, "delete": 0}'
    applied = _shell("\n".join(GITLAB["kxplan-apply"]["script"]), tmp_path, env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert sorted(t.title for t in read(sandbox.url, WORKSPACE).tasks) == ["Task 0", "Task 1"]
    again = _shell("\n".join(GITLAB["kxplan-apply"]["script"]), tmp_path, env)
    assert again.returncode == 1  # the same plan twice: stale, refused
    assert len(read(sandbox.url, WORKSPACE).tasks) == 2


# --------------------------------------------------------------------------- pre-commit


def hook(hook_id: str) -> dict[str, Any]:
    [found] = [h for h in HOOKS if h["id"] == hook_id]
    return found


def test_the_pre_commit_hooks_validate_and_check_the_format_of_yaml_files() -> None:
    assert [h["id"] for h in HOOKS] == ["kxplan-validate", "kxplan-fmt"]
    for h in HOOKS:
        assert {"id", "name", "entry", "language", "files"} <= set(h)
        assert h["language"] == "python"  # pre-commit installs this repo: `kxplan` on PATH
        assert re.search(h["files"], "kantata/onboarding.yaml")
        assert re.search(h["files"], "a.yml")
        assert not re.search(h["files"], "plan.json")
    assert hook("kxplan-fmt")["entry"] == "kxplan fmt --check"
    for h in HOOKS:
        check([*h["entry"].split()[1:], "a.yaml"])


def test_the_validate_hook_passes_a_good_manifest_and_fails_a_bad_one(tmp_path: Path) -> None:
    good = write_manifest(tmp_path / "good.yaml", manifest_doc(2))
    bad = write_manifest(tmp_path / "bad.yaml", {**manifest_doc(1), "tasks": [{"key": "x"}]})
    args = hook("kxplan-validate")["entry"].split()[1:]
    assert kxplan(*args, good).code == 0
    failed = kxplan(*args, good, bad)
    assert failed.code == 1
    assert "bad.yaml:" in failed.text
