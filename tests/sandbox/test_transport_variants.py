"""The sandbox plays envelopes without `meta`, 429s without `Retry-After`, a stricter limit
for GET /workspaces, answers that trickle, and listings that contradict themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from kxplan.sandbox import Faults
from kxplan.sandbox.variants import Variants
from tests.support import api, create


def test_meta_absent_leaves_count_results_and_typed_maps(
    make_sandbox: Callable[..., Any],
) -> None:
    server = make_sandbox(variants=Variants(meta="absent"))
    ws = str(server.model.create_workspace("W")["id"])
    with api(server) as http:
        create(http, ws, title="A")
        body = http.get("/stories", params={"workspace_id": ws}).json()
        shown = http.get(f"/workspaces/{ws}").json()
    assert set(body) == {"count", "results", "stories"}
    assert body["count"] == 1
    assert "meta" not in shown and shown["results"]


def test_retry_after_absent_drops_the_header_even_when_a_value_is_set(
    make_sandbox: Callable[..., Any],
) -> None:
    faults = Faults(rate_limit=0.001, burst=1, retry_after=3)
    present = make_sandbox(faults=faults)
    absent = make_sandbox(faults=faults, variants=Variants(retry_after="absent"))
    for server, header in ((present, "3"), (absent, None)):
        with api(server) as http:
            http.get("/workspaces")
            limited = http.get("/stories")
        assert limited.status_code == 429
        assert limited.headers.get("Retry-After") == header


def test_new_fault_settings_are_set_through_the_control_endpoint(
    make_sandbox: Callable[..., Any],
) -> None:
    server = make_sandbox()
    settings = {
        "workspaces_rate_limit": 1,
        "workspaces_burst": 1,
        "p_trickle": 0.5,
        "trickle_s": 0.1,
        "lie_count": -150,
        "hide_markers": True,
    }
    answer = httpx.put(f"{server.base_url}/__sandbox/faults", json=settings)
    assert answer.status_code == 200
    assert {k: answer.json()["faults"][k] for k in settings} == settings
    assert server.faults.lie_count == -150


def test_liars_distort_story_listings_only(make_sandbox: Callable[..., Any]) -> None:
    server = make_sandbox()
    server.on_response = None  # the liar breaks the envelope rules on purpose
    ws = str(server.model.create_workspace("W")["id"])
    ref = {"service_name": "kxplan", "service_model": "s", "service_model_ref": "a"}
    with api(server) as http:
        create(http, ws, title="A", external_reference=ref)
        server.faults = Faults(lie_count=-1, hide_markers=True)
        body = http.get(
            "/stories", params={"workspace_id": ws, "include": "external_references"}
        ).json()
        workspaces = http.get("/workspaces").json()
    assert body["count"] == 0 and len(body["results"]) == 1 and body["meta"]["count"] == 0
    story = next(iter(body["stories"].values()))
    assert story["external_reference_ids"] and body["external_references"] == {}
    assert workspaces["count"] == 1  # other listings tell the truth
