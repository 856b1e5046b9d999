"""What `plan` and `apply` share: the plan flags, and making plans from manifests.

    @cli.command("plan")
    @click.argument("manifests", nargs=-1, required=True)
    @plan_options
    @connection_options
    def plan(manifests, flags: PlanFlags, api_url, token_file, sandbox, log_level): ...

`plan_options` adds `--workspace --var --format --detailed-exitcode --prune --target --out
--allow-mass-delete --adopt --json --max-chars --color` and hands the command one
`flags: PlanFlags` argument (`--color` is not in it: read it with
`kxplan.cli.terminal.use_colour()`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kxplan.cli.terminal import color_option
from kxplan.client import KantataClient
from kxplan.connection import api_of as api_of  # where saved plans say they were made
from kxplan.errors import UsageError
from kxplan.formats import DEFAULT_MAX_CHARS, FORMATS, MIN_MAX_CHARS
from kxplan.live.shared import SharedReads
from kxplan.model import LiveState, LiveWorkspace, Manifest, PlanOptions

if TYPE_CHECKING:  # imported where used, after the first request (kxplan._deferred)
    from kxplan.plan import Plan
    from kxplan.planner.duplicates import Copy

F = TypeVar("F", bound=Callable[..., Any])

#: Builds one plan: `kxplan.planner.build_plan`, or a test's counting wrapper around it.
Planner = Callable[[Manifest, LiveState, PlanOptions], "Plan"]

_FLAG_NAMES = (
    "workspace",
    "var_pairs",
    "fmt",
    "detailed_exitcode",
    "prune",
    "targets",
    "out",
    "allow_mass_delete",
    "adopt",
    "json",
    "max_chars",
)


@dataclass(frozen=True, slots=True)
class PlanFlags:
    """The plan flags of one command line."""

    workspace: str | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    fmt: str = "text"
    detailed_exitcode: bool = False
    prune: bool = False
    targets: tuple[str, ...] = ()
    out: Path | None = None
    allow_mass_delete: bool = False
    adopt: bool = False
    json: bool = False  # --json: newline-delimited JSON events on stdout (kxplan.events)
    #: `--max-chars`: the longest a Markdown plan may be (docs/plan.md).
    max_chars: int = DEFAULT_MAX_CHARS

    def options(self) -> PlanOptions:
        """The planner's options (a manifest's `prune: true` is added by the planner)."""
        return PlanOptions(
            prune=self.prune,
            allow_mass_delete=self.allow_mass_delete,
            targets=self.targets,
            adopt=self.adopt,
        )


def plan_options(fn: F) -> F:
    """Add the plan flags to a click command; it receives them as `flags: PlanFlags`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in _FLAG_NAMES}
        kwargs["flags"] = _flags(**given)
        return fn(*args, **kwargs)

    for option in reversed(_OPTIONS):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


#: `--format text|json|markdown`: how a plan (or a drift report) is shown.
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for terminals, json for machines, markdown for pull-request comments.",
)

_OPTIONS = (
    color_option,
    click.option(
        "--workspace",
        metavar="ID|TITLE",
        help="Workspace to plan against (overrides the manifest's workspace:).",
    ),
    click.option(
        "--var",
        "var_pairs",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a variable from vars: (repeatable).",
    ),
    format_option,
    click.option(
        "--detailed-exitcode",
        is_flag=True,
        help="Exit 2 when there are changes (0: none, 1: error).",
    ),
    click.option("--prune", is_flag=True, help="Delete tasks removed from the manifest."),
    click.option(
        "--target",
        "targets",
        multiple=True,
        metavar="KEY",
        help="Plan only this task's subtree (repeatable).",
    ),
    click.option(
        "--out",
        type=click.Path(dir_okay=False, path_type=Path),
        metavar="PLANFILE",
        help="Save the plan (JSON, with fingerprints of what it touches) for apply PLANFILE.",
    ),
    click.option(
        "--allow-mass-delete",
        is_flag=True,
        help="Allow deleting more than 10 % of the managed tasks.",
    ),
    click.option(
        "--adopt",
        is_flag=True,
        help="Take over unmanaged tasks whose title path matches a manifest task.",
    ),
    click.option(
        "--json",
        "json",
        is_flag=True,
        help="Stream newline-delimited JSON events on stdout (schemas/events.schema.json); "
        "human messages go to stderr.",
    ),
    click.option(
        "--max-chars",
        type=click.IntRange(min=MIN_MAX_CHARS),
        default=DEFAULT_MAX_CHARS,
        show_default=True,
        metavar="N",
        help="Longest a Markdown plan may be: a summary first, the rest folded and cut to fit "
        "(a GitHub comment holds 65536).",
    ),
)


def _flags(
    *,
    workspace: str | None,
    var_pairs: Sequence[str],
    fmt: str,
    detailed_exitcode: bool,
    prune: bool,
    targets: Sequence[str],
    out: Path | None,
    allow_mass_delete: bool,
    adopt: bool,
    json: bool,
    max_chars: int,
) -> PlanFlags:
    from kxplan.cli.cmd_validate import parse_vars

    return PlanFlags(
        workspace=workspace,
        vars=parse_vars(var_pairs),
        fmt=fmt,
        detailed_exitcode=detailed_exitcode,
        prune=prune,
        targets=tuple(targets),
        out=out,
        allow_mass_delete=allow_mass_delete,
        adopt=adopt,
        json=json,
        max_chars=max_chars,
    )


def load_for_plan(paths: Sequence[str | Path], flags: PlanFlags) -> tuple[Manifest, ...]:
    """Load and check every manifest, and the flags against them, before any network call."""
    from kxplan.manifest import load_manifests

    if flags.out is not None and len(paths) > 1:
        raise UsageError(
            f"--out saves one plan, but {len(paths)} manifests were given",
            hint="run kxplan plan --out once per manifest",
        )
    manifests = load_manifests(paths, flags.vars)
    for manifest in manifests:
        workspace_of(manifest, flags)
    return manifests


def workspace_of(manifest: Manifest, flags: PlanFlags) -> str | int:
    """The workspace to plan `manifest` against: --workspace, else the manifest's."""
    workspace = flags.workspace if flags.workspace is not None else manifest.workspace
    if workspace is None or workspace == "":
        raise UsageError(
            f"{manifest.path}: no workspace to plan against",
            hint="add workspace: (id or exact title) to the manifest, or pass --workspace",
        )
    return workspace


def make_plans(
    manifests: Sequence[Manifest],
    client: KantataClient,
    flags: PlanFlags,
    *,
    api: str | None = None,
    found: Mapping[str, LiveWorkspace] | None = None,
    planner: Planner | None = None,
    shared: SharedReads | None = None,
    missing: Collection[str] = (),
    create_missing: bool = False,
    status_history: bool = True,
    status_sets: bool | None = None,
) -> list[Plan]:
    """One plan per manifest, in order, each against its live workspace.

    `status_history`: a planned status update that sets back a status people moved names
    who moved it and when (kxplan.drift.notes; one request per such task). `kxplan drift`
    reads the history itself and turns it off. `status_sets`: read the account's status
    sets (None: only for a manifest that uses them, `Manifest.uses_statuses`).

    `found`: workspaces the caller has just looked up, by the reference the manifest gives
    (`str(workspace_of(...))`); they are not looked up again. `planner`: what builds each
    plan (default `kxplan.planner.build_plan`; called once per manifest). `shared`: the
    run's `SharedReads` (default: a new one for these manifests): the manifests share one
    workspace index, one read of the status sets and the client's one request budget, and
    are read and planned concurrently; the first failure (in manifest order) is raised.

    With `flags.out`, plans carry the fingerprints of every live object they touch and are
    bound to where they were made: `api` (default: the client's API root, see `api_of`),
    the workspace, the stack and the resolved manifest; `--var` values are kept in their
    options so verification after `apply PLANFILE` resolves the manifest the same way.
    A plan that changes an existing status set says how many other workspaces use it and
    how many of their tasks would change status, counted after planning (each manifest is
    planned once); it is refused when another stack wrote the set last with other statuses
    (kxplan.shared_sets).

    A workspace that does not exist is planned as an empty one, starting with its create
    (`+ workspace`; `missing`: references the caller has just found to match no
    workspace, not looked up again), when its manifest's `workspace:` mapping says `create: true` or
    `create_missing` (`--sandbox`) allows it; otherwise it is an error, before any write,
    saying how to fix it (see `live_for`).
    """
    known = found or {}
    refs = [workspace_of(m, flags) for m in manifests]
    reads = shared or SharedReads(client)
    reads.expect(r for r in refs if str(r) not in known and str(r) not in missing)

    def one(item: tuple[Manifest, str | int]) -> Plan:
        manifest, ref = item
        live = live_for(
            client,
            manifest,
            known.get(str(ref), ref),
            reads,
            create_missing=create_missing,
            absent=str(ref) in missing,
            status_sets=manifest.uses_statuses if status_sets is None else status_sets,
        )
        # Imported once the first requests are out (kxplan._deferred warms them up).
        from kxplan.drift.notes import with_status_history
        from kxplan.live.posts import with_posts
        from kxplan.planner import build_plan
        from kxplan.shared_sets import guard_plan

        build = planner or build_plan
        live = with_posts(client, manifest, live)
        plan = guard_plan(client, manifest, build(manifest, live, flags.options()), live, reads)
        if status_history:
            plan = with_status_history(client, plan, live)
        if flags.out is not None:
            plan = bind(plan, manifest, live, api or client.base_url, flags)
        return plan

    return client.map_concurrent(one, list(zip(manifests, refs, strict=True)))


def live_for(
    client: KantataClient,
    manifest: Manifest,
    ref: str | int | LiveWorkspace,
    reads: SharedReads,
    *,
    create_missing: bool = False,
    absent: bool = False,
    status_sets: bool = True,
) -> LiveState:
    """The live state to plan `manifest` against: the workspace `ref` read whole, or, when
    no workspace has that title and it may be created, an empty one (id "") with every
    status set (the planner then plans its create first). Read through the run's `reads`.

    A workspace is found by its exact title, archived ones included; a title two workspaces
    share is an error naming both ids (kxplan.live.find_workspace). WorkspaceNotFound when
    it is missing and may not be created: the message says how to fix it. Without
    `status_sets` (a manifest that uses none) the status sets are not read."""
    from kxplan.live import WorkspaceNotFound, read_live, workspace_not_found

    desired = manifest.desired_workspace
    allowed = create_missing or (desired is not None and desired.create)
    by_title = isinstance(ref, str) and not ref.strip().isdigit()
    if absent and not allowed and not isinstance(ref, LiveWorkspace):
        raise workspace_not_found(ref)  # just looked up: no need to ask again
    if not allowed or not by_title:
        try:
            return read_live(client, ref, reads, status_sets=status_sets)
        except WorkspaceNotFound:
            if not allowed:
                raise
            raise WorkspaceNotFound(
                f"workspace id {ref} does not exist, so it cannot be created",
                hint="give the workspace by its exact title (with create: true, or --sandbox) "
                "so kxplan can create it",
            ) from None
    title = str(ref).strip()
    with client.tally() as tally:
        existing = None if absent else reads.workspace(title)
        sets = reads.status_sets() if existing is None and status_sets else ()
    if existing is not None:
        live = read_live(client, existing, reads, status_sets=status_sets)
        return replace(live, requests=live.requests + tally.requests)
    return LiveState(LiveWorkspace("", title), (), sets, requests=tally.requests)


def bind(plan: Plan, manifest: Manifest, live: LiveState, api: str, flags: PlanFlags) -> Plan:
    """`plan` as it is saved with --out: fingerprinted, bound, its --var values kept."""
    from kxplan.saved_plans import binding_for, fingerprints_for

    return replace(
        plan,
        fingerprints=fingerprints_for(plan, live),
        binding=binding_for(plan, manifest, api),
        options={**plan.options, "vars": dict(sorted(flags.vars.items()))},
    )


#: Plan flags that only choose how a plan is shown: allowed with `apply PLANFILE`.
DISPLAY_FLAGS = frozenset({"fmt", "json", "max_chars"})


def refuse_plan_flags(planfile: Path, flags: PlanFlags) -> None:
    """UsageError if a flag that shapes a plan is given with a saved plan: the plan was
    made with its own flags, and applying it cannot honour others."""
    default = PlanFlags()
    given = [
        _option_name(name)
        for name in PlanFlags.__dataclass_fields__
        if name not in DISPLAY_FLAGS and getattr(flags, name) != getattr(default, name)
    ]
    if given:
        raise UsageError(
            f"{', '.join(given)} cannot be used with a saved plan ({planfile}): a saved plan "
            "is applied exactly as it was made",
            hint="make a new plan with those options (`kxplan plan MANIFEST ... --out "
            "PLANFILE`), or apply the manifest directly",
        )


def duplicates_left(plans: Sequence[Plan]) -> tuple[str, str] | None:
    """What to say about the stories that carry the marker of another task and stay after
    these plans (a plan with prune deletes the copies that carry no people's work): a
    summary (`2 stories carry the marker of another task: 'a' (#12), 'b' (#13)`, the first
    10) and what to do about them; None when there are none."""
    from kxplan.planner.duplicates import copies_left, copies_summary

    copies = copies_left(plans)
    if not copies:
        return None
    return copies_summary(copies), _duplicates_hint(copies)


def _duplicates_hint(copies: Sequence[Copy]) -> str:
    """What to do about the copies that stay: prune the idle ones, pick among the rest."""
    idle = sum(1 for c in copies if not c.work)
    worked = len(copies) - idle
    parts = []
    if idle:
        parts.append(
            f"`kxplan apply --prune` deletes the {idle} that carry no people's work, keeping "
            "the oldest story of each key"
        )
    if worked:
        parts.append(
            f"the {worked} that carry people's work are for you to pick: delete one in Kantata "
            "or remove its external reference"
        )
    return "; ".join(parts) + "; then run `kxplan plan` again"


def _option_name(field_name: str) -> str:
    special = {"vars": "--var", "targets": "--target"}
    return special.get(field_name, "--" + field_name.replace("_", "-"))
