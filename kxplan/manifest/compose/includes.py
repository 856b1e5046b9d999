"""`include`: the tasks of another file, read and checked before they are expanded.

The path is relative to the including file; an include of a file already being included
is a loop (named from the first file of it). The included file sees only its own `vars:`
defaults and what the include passes, so it means the same wherever it is included; a
passed variable it neither declares nor uses is most likely a typo.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from kxplan.jsontypes import JsonObject, JsonValue
from kxplan.manifest.compose.record import Record, Spot
from kxplan.manifest.compose.scope import Scope, whole_variable
from kxplan.manifest.compose.wording import BAD_NAME, shown
from kxplan.manifest.vars import VAR_NAME, VarError, names_used, substitute, var_text
from kxplan.manifest.yaml_loader import Document, Source, read_document

#: What an include item may hold.
INCLUDE_KEYS = ("include", "vars", "for_each", "when")
#: What an included file may hold (besides `x-` extension keys).
MODULE_KEYS = ("tasks", "vars")

_VAR_NAME = re.compile(VAR_NAME)

#: The files being included, outermost first: (resolved path, name as shown).
OpenFiles = tuple[tuple[Path, str], ...]


@dataclass(frozen=True, slots=True)
class Included:
    """An included file ready to expand: its tasks, where they are reported (the file and
    the include chain), the variables they see, and the files now being included."""

    doc: Document
    src: Source
    tasks: list[JsonValue]
    scope: Scope
    files: OpenFiles


def read_include(
    record: Record, spot: Spot, raw: JsonObject, scope: Scope, files: OpenFiles
) -> Included | None:
    """The file the include item at `spot` names, or None (its problems are recorded)."""
    if not _keys_ok(record, spot, raw):
        return None
    target = _target(record, spot.at("include"), raw["include"], scope)
    if target is None:
        return None
    path = Path(os.path.normpath(Path(spot.src.file).parent / target))
    current = files or ((Path(spot.src.file).resolve(), spot.src.file),)
    if _loop(record, spot.at("include"), path, current) or _missing(record, spot, target, path):
        return None
    passed = _passed_vars(record, spot.at("vars"), raw.get("vars"), scope)
    if passed is None:
        return None
    return _read(record, spot, path, passed, (*current, (path.resolve(), str(path))))


def _keys_ok(record: Record, spot: Spot, raw: JsonObject) -> bool:
    """An include item holds only INCLUDE_KEYS (a title or key means it is not a task)."""
    ok = True
    for key in raw:
        if key in INCLUDE_KEYS:
            continue
        ok = False
        close = difflib.get_close_matches(key, INCLUDE_KEYS, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(INCLUDE_KEYS)
        extra = " (an include item is not a task)" if key in ("title", "key") else ""
        record.key_problem(spot.at(key), f"unknown field '{key}' in include{extra}", hint)
    return ok


def _target(record: Record, spot: Spot, value: JsonValue, scope: Scope) -> str | None:
    """The path the include names, substituted. A `${...}` left in it was reported by the
    substitution, so it is dropped without a second problem."""
    target = record.text(spot, value, scope)
    if not isinstance(target, str) or not target.strip():
        record.problem(spot, "include needs a file path, e.g. phases/qa.yaml")
        return None
    return None if "${" in target else target


def _loop(record: Record, spot: Spot, path: Path, current: OpenFiles) -> bool:
    opened = [p for p, _ in current]
    resolved = path.resolve()
    if resolved not in opened:
        return False
    loop = [name for _, name in current[opened.index(resolved) :]]
    record.problem(
        spot,
        f"include loop: {' -> '.join([*loop, str(path)])}",
        "an included file cannot include itself or a file that includes it",
    )
    return True


def _missing(record: Record, spot: Spot, target: str, path: Path) -> bool:
    if path.exists():
        return False
    record.problem(
        spot.at("include"),
        f"include '{target}': no such file ({path})",
        "the path is relative to the including file",
    )
    return True


def _passed_vars(
    record: Record, spot: Spot, raw: JsonValue, scope: Scope
) -> dict[str, JsonValue] | None:
    """The vars an include passes, evaluated in the including scope (typed)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        record.problem(spot, f"include vars must be a mapping, not {shown(raw)}")
        return None
    passed: dict[str, JsonValue] = {}
    for name, value in raw.items():
        if not _VAR_NAME.match(name):
            record.key_problem(spot.at(name), BAD_NAME.format(name=name))
            continue
        passed[name] = _passed_value(record, spot.at(name), value, scope)
    return passed


def _passed_value(record: Record, spot: Spot, value: JsonValue, scope: Scope) -> JsonValue:
    """A whole `${name}` passes the variable's typed value (a list stays a list); a list
    is passed item by item; anything else as its substituted text."""
    name = whole_variable(value)
    if name is not None and name in scope.raw and name != "each":
        return scope.raw[name]
    if isinstance(value, list):
        return [record.text(spot.at(i), v, scope) for i, v in enumerate(value)]
    return record.text(spot, value, scope)


def _read(
    record: Record, spot: Spot, path: Path, passed: Mapping[str, JsonValue], files: OpenFiles
) -> Included | None:
    """Read the included file; its own problems carry the chain of includes to it."""
    module, problems = read_document(path)
    line, col = spot.point()
    chain = (f"included from {spot.src.file}:{line}:{col}", *spot.src.chain)
    record.problems.extend(replace(p, chain=(*p.chain, *chain)) for p in problems)
    if module is None:
        return None
    top = Spot(module, Source(str(path), chain), ())
    tasks = _module_tasks(record, top)
    if tasks is None:
        return None
    _unused_passed(record, spot.at("vars"), module, passed)
    return Included(module, top.src, tasks, _module_scope(record, top, passed), files)


def _module_tasks(record: Record, top: Spot) -> list[JsonValue] | None:
    """The task list of an included file, or None when it has none to expand."""
    data: JsonValue = top.doc.data
    if not isinstance(data, dict):
        record.problem(
            top,
            "an included file must be a mapping with tasks: (and optional vars:)",
            "start it with `tasks:`",
        )
        return None
    _module_keys(record, top, data)
    tasks = data.get("tasks")
    if not isinstance(tasks, list):
        record.problem(
            top.at("tasks") if "tasks" in data else top,
            "an included file needs tasks: (a list of tasks)"
            if "tasks" not in data
            else f"tasks must be a list, not {shown(tasks)}",
        )
        return None
    vars_ = data.get("vars")
    if vars_ is not None and not isinstance(vars_, dict):
        record.problem(top.at("vars"), f"vars must be a mapping, not {shown(vars_)}")
    return tasks


def _module_keys(record: Record, top: Spot, data: JsonObject) -> None:
    """An included file holds MODULE_KEYS (and `x-` extensions): it is not a manifest."""
    for key in data:
        if key in MODULE_KEYS or key.startswith("x-"):
            continue
        close = difflib.get_close_matches(key, MODULE_KEYS, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else "an included file holds tasks: and vars:"
        record.key_problem(top.at(key), f"unknown field '{key}' in an included file", hint)


def _declared(module: Document) -> JsonObject:
    data: JsonValue = module.data
    declared = data.get("vars") if isinstance(data, dict) else None
    return declared if isinstance(declared, dict) else {}


def _unused_passed(
    record: Record, spot: Spot, module: Document, passed: Mapping[str, JsonValue]
) -> None:
    """A passed variable the included file neither declares nor uses: most likely a typo."""
    known = {*_declared(module), *names_used(module.data)}
    for name in passed:
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1)
        record.key_problem(
            spot.at(name),
            f"the include passes '{name}', which {module.file} neither declares nor uses",
            f"did you mean '{close[0]}'?" if close else "remove it from the include's vars:",
        )


def _module_scope(record: Record, top: Spot, passed: Mapping[str, JsonValue]) -> Scope:
    """An included file's vars: its defaults (in order, each may use those above),
    with what the include passes taking their place. Nothing else is inherited."""
    values: dict[str, str] = {}
    raw: dict[str, JsonValue] = {}
    for name, value in _declared(top.doc).items():
        if name in passed:
            continue
        if not _VAR_NAME.match(name):
            record.key_problem(top.at("vars", name), BAD_NAME.format(name=name))
            continue
        text = _default_text(record, top.at("vars", name), value, values)
        if text is not None:
            values[name] = text
            raw[name] = value if isinstance(value, bool | list) else text
    for name, value in passed.items():
        raw[name] = value
        values[name] = var_text(value)
    return Scope(values, raw)


def _default_text(
    record: Record, spot: Spot, value: JsonValue, values: Mapping[str, str]
) -> str | None:
    """A default's text, using the defaults above it; None (and a problem) when it cannot
    be evaluated. A list has no text to substitute: its text is its own."""
    try:
        text = substitute(var_text(value), values) if not isinstance(value, list) else ""
    except VarError as err:
        record.problem(spot, err.message, err.hint)
        return None
    return text or var_text(value)
