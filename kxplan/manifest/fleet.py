"""Fleets: one template, many workspaces (docs/manifest.md, "Fleets").

    workspaces:
      - workspace: "Acme — Onboarding"             # any form `workspace:` takes
        vars: {kickoff: 2027-01-04, client: Acme}
      - workspace: {title: "Globex — Onboarding", create: true}
        vars: {kickoff: 2027-02-01, client: Globex}

Each entry is the template with `workspace:` set to the entry's and the entry's `vars:`
taking the place of the template's defaults of the same name (`--var` wins over both).
Each entry is loaded like a manifest of its own, its nodes still located where they were
written: the entry's workspace and vars in the entry, everything else in the template.
"""

from __future__ import annotations

import difflib
from collections import ChainMap, Counter
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, cast

from kxplan.errors import Problem
from kxplan.manifest.build import Built
from kxplan.manifest.schema import check_schema
from kxplan.manifest.vars import names_used
from kxplan.manifest.yaml_loader import Document, Point, YamlPath, at
from kxplan.model import FleetMember, Location


def not_a_fleet(doc: Document) -> Problem:
    return at(
        doc.loc(()),
        "this manifest is not a fleet: it has no workspaces: list",
        "a fleet lists its workspaces under workspaces:, each with workspace: and vars:",
    )


#: Service model ref of a stack's workspace marker (external reference on the Workspace).
WORKSPACE_MARKER_REF = "workspace"


def is_marked(data: Any) -> bool:
    """True for a fleet by marker: `workspaces: {marked: true, vars: {...}}`."""
    return isinstance(data, dict) and isinstance(data.get("workspaces"), dict)


def marked_placeholder(doc: Document) -> str:
    """The stand-in workspace a fleet by marker is validated with before any request."""
    name = doc.data.get("name") if isinstance(doc.data, dict) else None
    return f"every workspace marked by stack {name!r}"


def marked_shape_problems(doc: Document) -> list[Problem]:
    """The `workspaces: {marked: true, vars}` mapping against the schema (its vars are
    checked with the template, in each entry's document)."""
    spec = dict(doc.data["workspaces"])
    if isinstance(spec.get("vars"), dict):
        spec["vars"] = {}
    return check_schema(doc.with_data({"version": 1, "name": "f", "tasks": [], "workspaces": spec}))


def marked_document(doc: Document, refs: list[str | int]) -> Document:
    """The fleet by marker `doc` as a listed fleet: one entry per workspace in `refs`, each
    with the vars the marked form gives; those vars stay located where they were written."""
    spec = doc.data["workspaces"]
    given = _mapping(spec.get("vars"))
    entries = [{"workspace": ref, "vars": dict(given)} for ref in refs]
    locs = dict(doc.locs)
    key_locs = dict(doc.key_locs)
    for table in (locs, key_locs):
        for path, point in list(table.items()):
            if len(path) >= 2 and path[:2] == ("workspaces", "vars"):
                for i in range(len(refs)):
                    table[("workspaces", i, *path[1:])] = point
    return Document(doc.file, {**doc.data, "workspaces": entries}, locs, key_locs)


def fleet_members(
    doc: Document, overrides: Mapping[str, str]
) -> tuple[list[tuple[FleetMember, Built]], list[Problem]]:
    """Every entry of the fleet `doc` as a member, and every problem of every entry."""
    from kxplan.manifest import build_document

    data: dict[str, Any] = doc.data
    problems = list(_shape_problems(doc))
    entries = data.get("workspaces")
    if not isinstance(entries, list):
        return [], problems
    overlays = _entry_overlays(doc)
    template = {k: v for k, v in data.items() if k != "workspaces"}
    used = names_used(template)
    template_vars = _mapping(data.get("vars"))
    seen: dict[tuple[str, str | int], Location] = {}
    members: list[tuple[FleetMember, Built]] = []
    per_entry: list[tuple[int, list[Problem]]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "workspace" not in entry:
            continue  # the schema pass reported it
        entry_vars = _mapping(entry.get("vars"))
        problems.extend(_unused(doc, i, entry_vars, {*template_vars, *used, *names_used(entry)}))
        have = {*template_vars, *entry_vars, *overrides}
        missing = [name for name in used if name not in have]
        problems.extend(_missing(doc, i, entry, missing, used))
        if missing:
            continue
        edoc = _entry_document(doc, i, entry, template_vars, entry_vars, overlays.get(i))
        built, found = build_document(edoc, overrides)
        ref = built.manifest.workspace
        wloc = doc.loc(("workspaces", i, "workspace"))
        if ref is not None and ref != "":
            key = ("id" if isinstance(ref, int) else "title", ref)
            if key in seen:
                problems.append(
                    at(
                        wloc,
                        f"workspace {ref!r} is listed twice in workspaces: (also at {seen[key]})",
                        "each workspace runs the template once: remove one of the entries",
                    )
                )
                per_entry.append((i, found))
                continue
            seen[key] = wloc
        per_entry.append((i, found))
        where = doc.loc(("workspaces", i))
        member = FleetMember(
            ref if ref is not None else "", built.manifest, built.manifest.vars, where
        )
        members.append((member, built))
    problems.extend(_entry_problems(doc, per_entry))
    return members, problems


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _shape_problems(doc: Document) -> Iterator[Problem]:
    data: dict[str, Any] = doc.data
    if "workspace" in data:
        yield at(
            doc.key_loc(("workspace",)),
            "give workspace: (one workspace) or workspaces: (a fleet), not both",
            "move this workspace into the workspaces: list",
        )
    # The entries' own shape, checked once: their workspace and vars are checked with the
    # template, in each entry's document.
    entries = data.get("workspaces")
    if isinstance(entries, list):
        entries = [_placeholders(e) for e in entries]
    shape = {"version": 1, "name": "fleet", "tasks": [], "workspaces": entries}
    yield from check_schema(doc.with_data(shape))


def _placeholders(entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    entry = dict(entry)
    if "workspace" in entry:
        entry["workspace"] = "w"
    if isinstance(entry.get("vars"), dict):
        entry["vars"] = {}
    return entry


def _missing(
    doc: Document, i: int, entry: dict[str, Any], missing: list[str], used: dict[str, YamlPath]
) -> Iterator[Problem]:
    where = ("workspaces", i, "vars") if isinstance(entry.get("vars"), dict) else ("workspaces", i)
    for name in missing:
        yield at(
            doc.key_loc(where) if where[-1] == "vars" else doc.loc(where),
            f"workspaces entry {i + 1} does not set the variable '{name}' "
            f"that the template uses at {doc.loc(used[name])}",
            f"add {name}: to this entry's vars:, or give it a default under the template's vars:",
        )


def _unused(
    doc: Document, i: int, entry_vars: Mapping[str, Any], known: set[str]
) -> Iterator[Problem]:
    """An entry's variable the template neither declares nor uses: most likely a typo."""
    for name in entry_vars:
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        yield at(
            doc.key_loc(("workspaces", i, "vars", name)),
            f"workspaces entry {i + 1} sets the variable '{name}', which the template "
            "neither declares nor uses",
            f"did you mean '{close[0]}'?" if close else "remove it, or use it as ${" + name + "}",
        )


def _entry_problems(doc: Document, per_entry: list[tuple[int, list[Problem]]]) -> Iterator[Problem]:
    """A problem every entry has is reported once; one only some entries have is
    reported for each of them, with the entry it belongs to."""
    counts = Counter(p for _, found in per_entry for p in set(found))
    reported: set[Problem] = set()
    for i, found in per_entry:
        loc = doc.loc(("workspaces", i))
        for problem in found:
            if counts[problem] == len(per_entry):
                if problem not in reported:
                    reported.add(problem)
                    yield problem
            else:
                step = f"for workspaces entry {i + 1} at {loc}"
                yield replace(problem, chain=(*problem.chain, step))


_Overlay = tuple[dict[YamlPath, Point], dict[YamlPath, Point]]


def _entry_overlays(doc: Document) -> dict[int, _Overlay]:
    """Per entry: where its workspace and vars were written, at the paths they take in
    the entry's own document (`("workspace", ...)`, `("vars", name, ...)`)."""
    overlays: dict[int, _Overlay] = {}
    for table_index, table in enumerate((doc.locs, doc.key_locs)):
        for path, point in table.items():
            if len(path) < 3 or path[0] != "workspaces" or not isinstance(path[1], int):
                continue
            if path[2] == "workspace":
                new: YamlPath = ("workspace", *path[3:])
            elif path[2] == "vars" and len(path) > 3:
                new = ("vars", *path[3:])
            else:
                continue
            overlay = overlays.setdefault(path[1], ({}, {}))
            overlay[table_index][new] = point
    return overlays


def _entry_document(
    doc: Document,
    i: int,
    entry: dict[str, Any],
    template_vars: Mapping[str, Any],
    entry_vars: Mapping[str, Any],
    overlay: _Overlay | None,
) -> Document:
    data = {k: v for k, v in doc.data.items() if k != "workspaces"}
    data["workspace"] = entry["workspace"]
    if template_vars or entry_vars:
        data["vars"] = {**template_vars, **entry_vars}
    locs, key_locs = overlay or ({}, {})
    base_locs = cast(dict[YamlPath, Point], doc.locs)
    base_keys = cast(dict[YamlPath, Point], doc.key_locs)
    return Document(doc.file, data, ChainMap(locs, base_locs), ChainMap(key_locs, base_keys))
