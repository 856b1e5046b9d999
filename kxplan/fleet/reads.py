"""What every workspace of one fleet run reads through: ONE `SharedReads` per run.

The fleet runner (kxplan.fleet.runner) creates it once and hands it to every
per-workspace step, so that what several workspaces need is read in one place: today it
simply calls the single-workspace look-ups (kxplan.live); the shared request budget (one
workspace index per run, `GET /workspaces` behind its own limiter, status sets read once
per run) plugs in here without the runner changing.

A fleet by marker is found through `GET /external_references` filtered to the stack's
workspace marker (docs/fleet.md, "A fleet by marker"), never by listing every workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from kxplan.client import KantataClient
from kxplan.ids import id_order
from kxplan.live import find_workspace, read_live, read_status_sets
from kxplan.manifest.fleet import WORKSPACE_MARKER_REF
from kxplan.model import SERVICE_NAME, LiveState, LiveStatusSet, LiveWorkspace

T = TypeVar("T")
R = TypeVar("R")


class SharedReads:
    """The reads of one fleet run, shared by its workspaces."""

    def __init__(self, client: KantataClient) -> None:
        self.client = client

    def find_workspace(self, ref: str | int) -> LiveWorkspace | None:
        """The workspace with id or exact title `ref`; None when there is none."""
        return find_workspace(self.client, ref)

    def read_live(self, workspace: LiveWorkspace) -> LiveState:
        """The live picture of one (found) workspace: its stories and the status sets."""
        return read_live(self.client, workspace)

    def status_sets(self) -> tuple[LiveStatusSet, ...]:
        """Every status set of the account (for a workspace planned as empty)."""
        return read_status_sets(self.client)

    def marked_workspaces(self, stack: str) -> tuple[str, ...]:
        """Ids of the workspaces carrying `stack`'s workspace marker, in id order:
        `GET /external_references?subject_type=Workspace&service_name=kxplan&
        service_model=<stack>&service_model_ref=workspace` (paged, 200 a page). The filters
        are a convenience: each reference is checked here too."""
        params = {
            "subject_type": "Workspace",
            "service_name": SERVICE_NAME,
            "service_model": stack,
            "service_model_ref": WORKSPACE_MARKER_REF,
        }
        ids = {
            str(ref.get("subject_id"))
            for ref in self.client.get_all("/external_references", params)
            if ref.get("subject_type") == "Workspace"
            and ref.get("service_name") == SERVICE_NAME
            and ref.get("service_model") == stack
            and ref.get("service_model_ref") == WORKSPACE_MARKER_REF
            and ref.get("subject_id") is not None
        }
        return tuple(sorted(ids, key=id_order))

    def each(self, step: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`step` over `items`, results in the order of `items`. Sequential today; each
        step buffers its own output, so running them concurrently keeps sections whole."""
        for item in items:
            yield step(item)
