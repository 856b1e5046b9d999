"""action.yml, the composite GitHub Action: its structure, the kxplan command lines it runs
(parsed by the real CLI), and its steps run locally, as the runner would run them, against
a sandbox and a fake GitHub."""

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
from .fake_github import FakeGitHub
from .plans import manifest_doc

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_INPUT = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")


def expressions(node: Any) -> list[str]:
    """Every `${{ ... }}` expression and every `if:` condition anywhere in `node`."""
    if isinstance(node, dict):
        found = [str(node["if"])] if "if" in node else []
        return found + [e for k, v in node.items() if k != "if" for e in expressions(v)]
    if isinstance(node, list):
        return [e for item in node for e in expressions(item)]
    return _EXPR.findall(node) if isinstance(node, str) else []


def test_the_action_is_a_composite_with_described_inputs() -> None:
    assert {"name", "description", "inputs", "outputs", "runs"} <= set(ACTION)
    assert ACTION["runs"]["using"] == "composite"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
        assert "required" in spec, f"input {name}: say whether it is required"
        if not spec["required"]:
            assert "default" in spec, f"optional input {name} has no default"
    required = {n for n, s in ACTION["inputs"].items() if s["required"]}
    assert required == {"manifests", "kantata-token"}
    assert ACTION["inputs"]["mode"]["default"] == "plan"


def test_every_input_the_steps_use_is_declared_and_every_input_is_used() -> None:
    declared = set(ACTION["inputs"])
    used = {name for e in expressions(ACTION["runs"]) for name in _INPUT.findall(e)}
    assert used - declared == set(), f"undeclared inputs: {sorted(used - declared)}"
    assert declared - used == set(), f"inputs no step uses: {sorted(declared - used)}"


def test_outputs_come_from_steps_that_exist() -> None:
    ids = {s["id"] for s in STEPS if "id" in s}
    for name, spec in ACTION["outputs"].items():
        step = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert step is not None and step.group(1) in ids, f"output {name}: {spec['value']}"


def test_steps_are_named_pinned_and_take_inputs_only_through_env() -> None:
    for step in STEPS:
        assert step.get("name"), step
        if "uses" in step:
            assert re.fullmatch(r"actions/[\w-]+@v\d+", step["uses"]), step["uses"]
            continue
        assert step["shell"] == "bash", step["name"]
        # An input pasted into a script could inject commands; through env it cannot.
        assert "${{" not in step["run"], f"{step['name']}: use env: for expressions"


def test_every_kxplan_command_the_steps_run_parses_with_the_real_cli() -> None:
    lines = [argv for s in STEPS if "run" in s for argv in invocations(s["run"])]
    commands = {" ".join(a for a in argv[:2] if not a.startswith("-")) for argv in lines}
    names = {c.split()[0] if not c.startswith("ci ") else c for c in commands if c}
    assert names >= {"validate", "plan", "ci comment", "ci summary", "apply"}, commands
    pending = [c for c in (check(argv) for argv in lines) if c.pending]
    for checked in pending:
        print(f"pending until merged: kxplan {' '.join(checked.argv)}: {checked.pending}")
    assert len(pending) <= 1  # validate --format github, from another slice
    assert "ci" in cli.commands


# --------------------------------------------------------------------------- run locally


class Runner:
    """Runs the action's shell steps as the GitHub runner would: `bash -eo pipefail`, the
    step's env with `${{ inputs.X }}` filled in, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files,
    and `kxplan` on PATH (this checkout)."""

    def __init__(self, tmp: Path, inputs: dict[str, str], env: dict[str, str]) -> None:
        self.tmp, self.inputs = (
            tmp,
            {
                **{k: str(v.get("default", "")) for k, v in ACTION["inputs"].items()},
                **inputs,
            },
        )
        bindir = tmp / "bin"
        bindir.mkdir(exist_ok=True)
        shim = bindir / "kxplan"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kxplan "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        self.output, self.summary = tmp / "github_output", tmp / "step_summary"
        self.env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "HOME": str(tmp),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            **env,
        }

    def run(self, step_id: str) -> subprocess.CompletedProcess[str]:
        [step] = [s for s in STEPS if s.get("id") == step_id]
        env = {**self.env, **{k: self._fill(str(v)) for k, v in step.get("env", {}).items()}}
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=self.tmp,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def _fill(self, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = re.fullmatch(r"inputs\.([\w-]+)", match.group(1))
            assert name is not None, f"the test does not know {match.group(0)}"
            return self.inputs[name.group(1)]

        return _EXPR.sub(one, value)

    def outputs(self) -> dict[str, str]:
        text = self.output.read_text(encoding="utf-8")
        values = dict(re.findall(r"^([\w-]+)=(.*)$", text, re.M))
        for name, _, body in re.findall(r"^([\w-]+)<<(\w+)\n(.*?)\n\2$", text, re.M | re.S):
            values[name] = body
        return values


def _validate_has_github_format() -> bool:
    return any("--format" in p.opts for p in cli.commands["validate"].params)


@pytest.fixture
def site(
    sandbox: SandboxServer, github: FakeGitHub, tmp_path: Path
) -> tuple[SandboxServer, FakeGitHub, Path]:
    sandbox.model.create_workspace("Acme — Onboarding")
    sandbox.model.create_workspace("Globex — Onboarding")
    (tmp_path / "plans").mkdir()
    doc = manifest_doc(2)
    write_manifest(tmp_path / "plans" / "acme.yaml", doc)
    write_manifest(
        tmp_path / "plans" / "globex.yaml",
        {**doc, "name": "globex", "workspace": "Globex — Onboarding"},
    )
    event = tmp_path / "event.json"
    event.write_text('{"pull_request": {"number": 7}}', encoding="utf-8")
    return sandbox, github, event


def runner(tmp_path: Path, site: tuple[SandboxServer, FakeGitHub, Path], **inputs: str) -> Runner:
    sandbox, github, event = site
    return Runner(
        tmp_path,
        {
            "manifests": "plans/acme.yaml\nplans/globex.yaml",
            "kantata-token": TOKEN,
            "api-url": sandbox.url,
            "github-token": github.token,
            **inputs,
        },
        {
            "GITHUB_REPOSITORY": github.repository,
            "GITHUB_API_URL": github.url,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_EVENT_NAME": "pull_request",
        },
    )


def test_plan_on_a_pull_request_then_apply_the_reviewed_plans(
    tmp_path: Path, site: tuple[SandboxServer, FakeGitHub, Path]
) -> None:
    sandbox, github, _ = site
    plan_job = runner(tmp_path, site)
    if _validate_has_github_format():
        validated = plan_job.run("validate")
        assert validated.returncode == 0, validated.stdout + validated.stderr
    planned = plan_job.run("plan")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert plan_job.outputs() == {
        "changes": "true",
        "plan-files": "kxplan-plans/plans_acme.yaml.plan.json\n"
        "kxplan-plans/plans_globex.yaml.plan.json",
    }
    commented = plan_job.run("comment")
    assert commented.returncode == 0, commented.stdout + commented.stderr
    bodies = [c["body"] for c in github.on(7)]
    assert [b.split("\n", 1)[0] for b in bodies] == [
        "<!-- kxplan:plan stack=onboarding workspace=1 -->".replace("1", _id(sandbox, "Acme")),
        "<!-- kxplan:plan stack=globex workspace=1 -->".replace("1", _id(sandbox, "Globex")),
    ]
    assert "Task 1" in plan_job.summary.read_text(encoding="utf-8")
    assert TOKEN not in planned.stdout + planned.stderr + commented.stdout + commented.stderr

    apply_job = runner(tmp_path, site, mode="apply")
    applied = apply_job.run("apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    for title in ("Acme — Onboarding", "Globex — Onboarding"):
        assert sorted(t.title for t in read(sandbox.url, title).tasks) == ["Task 0", "Task 1"]
    assert "Task 1" in apply_job.summary.read_text(encoding="utf-8")
    assert TOKEN not in applied.stdout + applied.stderr


def test_apply_refuses_a_plan_that_went_stale_after_review(
    tmp_path: Path, site: tuple[SandboxServer, FakeGitHub, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, _, _ = site
    plan_job = runner(tmp_path, site, manifests="plans/acme.yaml")
    assert plan_job.run("plan").returncode == 0
    monkeypatch.setenv("KANTATA_TOKEN", TOKEN)  # someone applies the manifest meanwhile
    assert (
        kxplan(
            "apply", tmp_path / "plans/acme.yaml", "--api-url", sandbox.url, "--auto-approve"
        ).code
        == 0
    )
    applied = runner(tmp_path, site, mode="apply").run("apply")
    assert applied.returncode == 1
    assert "already exists" in applied.stderr
    assert len(read(sandbox.url, "Acme — Onboarding").tasks) == 2  # nothing created twice


def test_apply_without_saved_plans_says_to_plan_first(
    tmp_path: Path, site: tuple[SandboxServer, FakeGitHub, Path]
) -> None:
    applied = runner(tmp_path, site, mode="apply").run("apply")
    assert applied.returncode == 1
    assert "::error::no saved plan in kxplan-plans: run this action with mode: plan first" in (
        applied.stdout
    )


def _id(sandbox: SandboxServer, client: str) -> str:
    return str(read(sandbox.url, f"{client} — Onboarding").workspace.id)
