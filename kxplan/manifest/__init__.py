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
from kxplan.manifest.keys import slugify
from kxplan.manifest.schema import check_schema
from kxplan.manifest.vars import resolve_vars, substitute_document
from kxplan.manifest.yaml_loader import Document, at, read_document
from kxplan.model import DesiredStatusSet, Manifest

__all__ = ["ManifestError", "Problem", "load_manifest", "load_manifests", "slugify"]

_NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})


def load_manifest(path: str | Path, overrides: Mapping[str, str] = _NO_OVERRIDES) -> Manifest:
    """Load and validate one manifest; `overrides` are `--var name=value` pairs.

    Raises ManifestError with every problem found (each at file:line:col).
    """
    return load_manifests([path], overrides)[0]


def load_manifests(
    paths: Sequence[str | Path], overrides: Mapping[str, str] = _NO_OVERRIDES
) -> tuple[Manifest, ...]:
    """Load and validate several manifests, reporting the problems of all of them at once.

    Adds the cross-file checks: one status set defined two ways, one stack defined twice
    for the same workspace, and `--var` names no manifest declares.
    """
    problems: list[Problem] = []
    built: list[Built] = []
    with gc_paused():
        for path in paths:
            one, found = _load(path, overrides)
            problems.extend(found)
            if one is not None:
                built.append(one)
    problems.extend(_cross_file(built))
    problems.extend(_unknown_overrides(built, overrides))
    if problems:
        raise ManifestError(problems)
    return tuple(b.manifest for b in built)


def _load(path: str | Path, overrides: Mapping[str, str]) -> tuple[Built | None, list[Problem]]:
    doc, problems = read_document(path)
    if doc is None:
        return None, problems
    values, found = resolve_vars(doc, overrides)
    problems.extend(found)
    data, found = substitute_document(doc, values)
    problems.extend(found)
    resolved = doc.with_data(data)
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
