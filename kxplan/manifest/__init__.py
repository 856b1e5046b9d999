"""Manifests: YAML files in, validated `kxplan.model.Manifest`s out.

    read_document   line-aware safe YAML          (yaml_loader)
    check_schema    schemas/manifest.schema.json  (schema)
    resolve_vars    vars:, --var, ${...}, dates   (vars)
    build_manifest  data -> Manifest              (build)
    check_manifest  keys, depth, dates, statuses  (checks)

Every stage runs even when an earlier one found problems, so one run reports them all;
`load_manifest(s)` raise `ManifestError` carrying every `Problem`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

from kxplan._runtime import gc_paused
from kxplan.errors import ManifestError, Problem
from kxplan.manifest.build import Built, build_manifest
from kxplan.manifest.checks import check_manifest
from kxplan.manifest.compose import compose_document, uses_composition
from kxplan.manifest.keys import slugify
from kxplan.manifest.schema import check_schema
from kxplan.manifest.vars import resolve_vars, substitute_document, typed_vars
from kxplan.manifest.yaml_loader import Document, at, read_document
from kxplan.model import DesiredStatusSet, Fleet, Manifest

__all__ = [
    "ManifestError",
    "Problem",
    "load_fleet",
    "load_manifest",
    "load_manifests",
    "slugify",
]

_NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})


def load_manifest(path: str | Path, overrides: Mapping[str, str] = _NO_OVERRIDES) -> Manifest:
    """Load and validate one manifest; `overrides` are `--var name=value` pairs.

    Raises ManifestError with every problem found (each at file:line:col). A fleet
    (`workspaces:`) is an error here: load it with `load_fleet`.
    """
    return load_manifests([path], overrides)[0]


def load_manifests(
    paths: Sequence[str | Path],
    overrides: Mapping[str, str] = _NO_OVERRIDES,
    *,
    allow_fleets: bool = False,
) -> tuple[Manifest, ...]:
    """Load and validate several manifests, reporting the problems of all of them at once.

    Adds the cross-file checks: one status set defined two ways, one stack defined twice
    for the same workspace, and `--var` names no manifest declares.
    A fleet manifest (`workspaces:`) is a problem unless `allow_fleets`; then it yields
    one manifest per entry (the template expanded with that entry's vars), in order.
    """
    problems: list[Problem] = []
    built: list[Built] = []
    with gc_paused():
        for path in paths:
            found_built, found = _load(path, overrides, allow_fleets)
            problems.extend(found)
            built.extend(found_built)
    problems.extend(_cross_file(built))
    problems.extend(_unknown_overrides(built, overrides))
    if problems:
        raise ManifestError(problems)
    return tuple(b.manifest for b in built)


def load_fleet(
    path: str | Path,
    overrides: Mapping[str, str] = _NO_OVERRIDES,
    *,
    marked_ids: Sequence[str] | None = None,
) -> Fleet:
    """Load and validate a fleet manifest (`workspaces:`): one member per entry, each with
    its workspace and the template expanded with its variables (precedence: `--var`
    `overrides`, then the entry's `vars:`, then the template's `vars:` defaults).

    A fleet by marker (`workspaces: {marked: true, vars}`) has `marked` set: its members
    are the workspaces `marked_ids` (found by the caller through the stack's workspace
    marker), each with the marked form's vars; without `marked_ids` it has one member,
    the template checked against a stand-in workspace (kxplan.manifest.fleet).

    Raises ManifestError with every problem of every entry (each at file:line:col).
    """
    from kxplan.manifest.fleet import fleet_members, is_marked, not_a_fleet

    with gc_paused():
        doc, problems = read_document(path)
        if doc is None:
            raise ManifestError(problems)
        if not isinstance(doc.data, dict) or "workspaces" not in doc.data:
            raise ManifestError([*problems, not_a_fleet(doc)])
        marked = is_marked(doc.data)
        if marked:
            refs: list[str | int] | None = None
            if marked_ids is not None:
                refs = [int(i) if str(i).isdigit() else i for i in marked_ids]
            if refs == []:  # nothing marked yet: the template is still checked
                load_fleet(path, overrides)
                return Fleet(doc.file, str(doc.data.get("name") or ""), (), marked=True)
            doc, found = _marked(doc, refs)
            problems.extend(found)
        members, found = fleet_members(doc, overrides)
    problems.extend(found)
    problems.extend(_unknown_overrides([b for _, b in members], overrides))
    problems.extend(_cross_file([b for _, b in members]))
    if problems:
        raise ManifestError(problems)
    name = doc.data.get("name")
    stack = name if isinstance(name, str) else ""
    return Fleet(doc.file, stack, tuple(m for m, _ in members), marked=marked)


def _marked(doc: Document, refs: list[str | int] | None) -> tuple[Document, list[Problem]]:
    """A fleet by marker as a listed fleet of `refs` (None: the stand-in workspace), and
    the problems of its `workspaces:` mapping."""
    from kxplan.manifest.fleet import (
        marked_document,
        marked_placeholder,
        marked_shape_problems,
    )

    problems = marked_shape_problems(doc)
    return marked_document(doc, refs if refs is not None else [marked_placeholder(doc)]), problems


def _load(
    path: str | Path, overrides: Mapping[str, str], allow_fleets: bool
) -> tuple[list[Built], list[Problem]]:
    doc, problems = read_document(path)
    if doc is None:
        return [], problems
    if isinstance(doc.data, dict) and "workspaces" in doc.data:
        if not allow_fleets:
            return [], [*problems, _fleet_alone(doc)]
        from kxplan.manifest.fleet import fleet_members, is_marked

        if is_marked(doc.data):
            doc, shape = _marked(doc, None)
            problems.extend(shape)
        members, found = fleet_members(doc, overrides)
        return [b for _, b in members], [*problems, *found]
    built, found = build_document(doc, overrides)
    return [built], [*problems, *found]


def _fleet_alone(doc: Document) -> Problem:
    return at(
        doc.key_loc(("workspaces",)),
        "this manifest is a fleet (workspaces:): it is planned and applied on its own, "
        "not together with other manifests",
        f"run `kxplan plan {doc.file}` alone; it plans every workspace of the fleet",
    )


def build_document(doc: Document, overrides: Mapping[str, str]) -> tuple[Built, list[Problem]]:
    """Variables, composition, schema, build and semantic checks of one loaded document."""
    values, problems = resolve_vars(doc, overrides)
    resolved: Document
    if not doc.no_composition and uses_composition(doc.data):
        resolved, found = compose_document(doc, values, typed_vars(doc, overrides))
    else:
        data, found = substitute_document(doc, values)
        resolved = doc.with_data(data)
    problems.extend(found)
    # One schema pass, after substitution: lengths are checked on the final text, and a
    # string whose substitution failed keeps its ${...}, which date patterns accept, so
    # the failure is reported once.
    problems.extend(check_schema(resolved))
    built = build_manifest(resolved, values)
    problems.extend(check_manifest(built))
    return built, problems


def _cross_file(built: Sequence[Built]) -> list[Problem]:
    return [*_status_set_conflicts(built), *_stack_conflicts(built)]


def _status_set_conflicts(built: Sequence[Built]) -> Iterator[Problem]:
    """Status sets are account-wide: two definitions of one name must agree."""
    first: dict[str, DesiredStatusSet] = {}
    for b in built:
        sset = b.manifest.status_set
        if sset is None:
            continue
        other = first.setdefault(sset.name, sset)
        if _shape(other) != _shape(sset):
            yield at(
                sset.loc,
                f"status set '{sset.name}' is defined differently in {other.loc}",
                "status sets are account-wide: define it the same way in every manifest",
            )


def _stack_conflicts(built: Sequence[Built]) -> Iterator[Problem]:
    """Two manifests with one stack name for one named workspace would fight over tasks.

    Manifests without `workspace:` (templates aimed with --workspace) are not compared.
    """
    first: dict[tuple[str, str], Built] = {}
    for b in built:
        if b.manifest.workspace is None:
            continue
        other = first.setdefault((b.manifest.name, str(b.manifest.workspace)), b)
        if other is not b:
            yield b.doc.problem(
                ("name",),
                f"stack '{b.manifest.name}' is also defined for workspace "
                f"'{b.manifest.workspace}' in {other.doc.file}",
                "each manifest for a workspace needs its own name",
            )


def _shape(sset: DesiredStatusSet) -> tuple[tuple[str, str], ...]:
    return tuple((s.name, s.category) for s in sset.statuses)


def _unknown_overrides(built: Sequence[Built], overrides: Mapping[str, str]) -> list[Problem]:
    """`--var` names that no manifest declares (most likely a typo)."""
    if not built:
        return []
    declared: set[str] = set()
    for b in built:
        raw = b.doc.data.get("vars") if isinstance(b.doc.data, dict) else None
        declared.update(raw if isinstance(raw, dict) else ())
    problems = []
    doc: Document = built[0].doc
    for name in sorted(set(overrides) - declared):
        close = difflib.get_close_matches(name, sorted(declared), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "declare it under vars:"
        problems.append(
            at(
                doc.key_loc(("vars",)),
                f"--var {name}: no manifest declares the variable '{name}'",
                hint,
            )
        )
    return problems
