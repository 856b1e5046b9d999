"""What every workspace of one fleet run reads through: ONE `FleetReads` per run.

The fleet runner (kxplan.fleet.runner) creates it once and hands it to every
per-workspace step, so that what several workspaces need is read in one place: it
wraps the run's `kxplan.live.SharedReads` (one workspace index per run, `GET /workspaces`
behind its own limiter, status sets read once per run, one concurrent budget).

A fleet by marker is found through `GET /external_references` filtered to the stack's
workspace marker (docs/fleet.md, "A fleet by marker"), never by listing every workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from kxplan.client import KantataClient
from kxplan.ids import id_order
from kxplan.live import SharedReads, read_live
from kxplan.manifest.fleet import WORKSPACE_MARKER_REF
from kxplan.model import SERVICE_NAME, LiveState, LiveStatusSet, LiveWorkspace

T = TypeVar("T")
R = TypeVar("R")


class FleetReads:
    """The reads of one fleet run, shared by its workspaces: a thin face over the run's ONE
    `kxplan.live.SharedReads` (one workspace index, status sets read once, one client
    budget, workspaces processed concurrently), plus the fleet-only look-up of marked
    workspaces."""

    def __init__(self, client: KantataClient, refs: Iterable[str | int] = ()) -> None:
        self.client = client
        self.shared = SharedReads(client, expect=refs)
        #: The marked workspaces `marked_workspaces` left out because they are archived.
        self.archived_marked: tuple[LiveWorkspace, ...] = ()

    def expect(self, refs: Iterable[str | int]) -> None:
        """The workspaces the run will look up (several titles: one listing for all)."""
        self.shared.expect(refs)

    def find_workspace(self, ref: str | int) -> LiveWorkspace | None:
        """The workspace with id or exact title `ref`; None when there is none."""
        return self.shared.workspace(ref)

    def read_live(self, workspace: LiveWorkspace) -> LiveState:
        """The live picture of one (found) workspace: its stories and the status sets."""
        return read_live(self.client, workspace, self.shared)

    def status_sets(self) -> tuple[LiveStatusSet, ...]:
        """Every status set of the account, read once per run."""
        return self.shared.status_sets()

    def add_workspace(self, workspace: LiveWorkspace) -> None:
        """A workspace this run created: found afterwards without a request."""
        self.shared.add_workspace(workspace)

    def forget(self, workspace_id: str) -> None:
        """The run changed this workspace itself: later look-ups read it again."""
        self.shared.forget(workspace_id)

    def marked_workspaces(self, stack: str) -> tuple[str, ...]:
        """Ids of the workspaces carrying `stack`'s workspace marker that are not archived,
        in id order (the archived ones are in `archived_marked` afterwards: a person
        archived the project, so the fleet leaves it alone). Each is read by id, once for
        the run (the later look-ups find it without a request)."""
        ids = self._marker_ids(stack)
        found = self.shared.each(self.shared.workspace, list(ids))
        archived = [o.value for o in found if o.value is not None and o.value.archived]
        self.archived_marked = tuple(archived)
        gone = {w.id for w in archived}
        return tuple(i for i in ids if i not in gone)

    def _marker_ids(self, stack: str) -> tuple[str, ...]:
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
        """`step` over `items`, concurrently within the run's one budget; results in the
        order of `items`. Each step buffers its own output and catches its own errors (a
        workspace's failure is its result), so sections stay whole; an error that escapes a
        step is a bug and is raised."""
        for outcome in self.shared.each(step, list(items)):
            if outcome.error is not None:
                raise outcome.error
            yield outcome.value  # type: ignore[misc]
