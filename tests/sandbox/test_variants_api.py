"""Choosing the sandbox's variants: `kxplan sandbox --variant`, `GET|PUT /__sandbox/variants`,
and the list of them in `--help` and docs/sandbox.md (which must not go stale)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx
import pytest

from kxplan.sandbox import Faults, SandboxServer, Variants
from kxplan.sandbox.variants import QUESTIONS
from tests.support import api, kxplan

MakeSandbox = Callable[..., SandboxServer]
REPO = Path(__file__).resolve().parents[2]
DEFAULTS = Variants().to_json()


def control(server: SandboxServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url + "/__sandbox", timeout=10)


# --------------------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (["nope=x"], "unknown variant(s): nope (known: status_names, results_order"),
        (["status_names=loud"], "variant status_names='loud' is not one of: category, title"),
        (["status_names"], "--variant 'status_names': expected NAME=VALUE"),
        (["=title"], "expected NAME=VALUE"),
        (["meta=absent", "meta=present"], "--variant meta is given twice (absent, present)"),
    ],
    ids=["unknown-name", "unknown-value", "no-equals", "no-name", "twice"],
)
def test_a_bad_variant_is_refused_before_serving(
    given: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = [a for g in given for a in ("--variant", g)]
    result = kxplan("sandbox", "--port", "0", "--data", "sb.db", *args)
    assert result.code == 1
    assert says in result.err
    assert "`kxplan sandbox --help` lists every variant" in result.err
    assert "serving" not in result.out and not (tmp_path / "sb.db").exists()


def test_help_lists_every_variant_with_its_values_default_first() -> None:
    result = kxplan("sandbox", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())  # click wraps lines
    for question in QUESTIONS:
        assert f"{question.name}={'|'.join(question.values)}" in text


def startup_lines(stdout: IO[str]) -> list[str]:
    """What `kxplan sandbox` prints before it serves (up to "Press Ctrl-C to stop.")."""
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl-C"):
        line = stdout.readline()
        assert line, f"kxplan sandbox stopped before serving; it printed: {lines}"
        lines.append(line)
    return lines


def test_the_command_plays_the_variants_it_was_given(tmp_path: Path) -> None:
    args = ["--variant", "status_names=title", "--variant", "new_siblings=last"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kxplan", "sandbox", "--port", "0", "--data", ":memory:", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = startup_lines(proc.stdout)
        url = next(line for line in lines if " serving " in line).split()[-1]
        root = url.removesuffix("/api/v1")
        played = httpx.get(root + "/__sandbox/variants", timeout=10).json()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "variants: status_names=title,new_siblings=last" in [line.strip() for line in lines]
    assert played == {"variants": {**DEFAULTS, "status_names": "title", "new_siblings": "last"}}


# --------------------------------------------------------------------------- the control endpoint


def test_put_sets_the_variants_and_get_and_stats_show_them(make_sandbox: MakeSandbox) -> None:
    server = make_sandbox(variants=Variants(meta="absent"))
    with control(server) as c:
        before = c.get("/variants").json()
        put = c.put("/variants", json={"status_names": "title", "results_order": "sorted"})
        after = c.get("/variants").json()
        stats = c.get("/stats").json()
    assert before == {"variants": {**DEFAULTS, "meta": "absent"}}
    # A PUT says every answer: what it leaves out is back to its default.
    expected = {**DEFAULTS, "status_names": "title", "results_order": "sorted"}
    assert put.status_code == 200 and put.json() == {"variants": expected}
    assert after == {"variants": expected} and stats["variants"] == expected
    assert server.variants == Variants(status_names="title", results_order="sorted")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"colour": "blue"}, "unknown variant(s): colour"),
        ({"meta": "sometimes"}, "variant meta='sometimes' is not one of: present, absent"),
        (["meta"], "expected a JSON object of variants"),
    ],
    ids=["unknown-name", "unknown-value", "not-an-object"],
)
def test_a_bad_put_is_a_400_that_says_why_and_changes_nothing(
    make_sandbox: MakeSandbox, body: object, says: str
) -> None:
    server = make_sandbox(variants=Variants(new_siblings="last"))
    with control(server) as c:
        answer = c.put("/variants", json=body)
        now = c.get("/variants").json()
    assert answer.status_code == 400
    assert says in answer.json()["errors"][0]["message"]
    assert now == {"variants": {**DEFAULTS, "new_siblings": "last"}}


def test_retry_after_variant_decides_whether_a_429_carries_the_header(
    make_sandbox: MakeSandbox,
) -> None:
    server = make_sandbox(faults=Faults(rate_limit=0.001, burst=1, retry_after=2))
    headers = {}
    with api(server) as client, control(server) as c:
        for answer in ("present", "absent"):
            assert c.put("/variants", json={"retry_after": answer}).status_code == 200
            client.get("/workspaces")  # the one token of the bucket (or a 429 already)
            limited = client.get("/workspaces")
            assert limited.status_code == 429
            headers[answer] = limited.headers.get("Retry-After")
    assert headers == {"present": "2", "absent": None}


# --------------------------------------------------------------------------- the documentation


def variants_table() -> str:
    """The table under docs/sandbox.md's "## Variants" heading (up to the next heading)."""
    text = (REPO / "docs" / "sandbox.md").read_text(encoding="utf-8")
    match = re.search(r"^## Variants\n(.*?)^#", text, flags=re.M | re.S)
    assert match, 'docs/sandbox.md has no "## Variants" section'
    return match.group(1)


def test_docs_list_every_variant_and_value_with_the_default_marked() -> None:
    rows = {
        cells[0].strip("` "): cells[1]
        for line in variants_table().splitlines()
        if line.startswith("| `") and (cells := [c.strip() for c in line.strip("|").split("|")])
    }
    assert set(rows) == {q.name for q in QUESTIONS}, "the table's variants differ from QUESTIONS"
    for question in QUESTIONS:
        values = re.findall(r"`([a-z_]+)`", rows[question.name])
        assert values == list(question.values), question.name
        assert f"`{question.default}` (default)" in rows[question.name], question.name


def test_a_control_body_that_is_not_json_is_refused_and_changes_nothing(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    server = make_sandbox(variants=Variants(status_names="title"))
    for path in ("/__sandbox/variants", "/__sandbox/faults"):
        resp = httpx.put(server.base_url + path, content=b"{not json")
        assert resp.status_code == 400
        assert "not valid JSON" in resp.json()["errors"][0]["message"]
    assert server.variants.status_names == "title"
