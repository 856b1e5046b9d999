"""Composition: `include`, `for_each` and `when` in task lists (docs/manifest.md,
"Composition"), expanded before the schema and the semantic checks run, so keys, depth
and dates are checked over the expanded tree.

    - include: phases/qa.yaml      # the tasks of another file (relative to this one)
      vars: {phase: 2}             #   which sees only these vars over its own defaults
    - key: sprint-${each}
      for_each: [1, 2, 3]          # or a list variable: ${sprints}
      title: Sprint ${each}        # ${each.field} when the items are mappings
    - title: Legal review
      when: ${needs_legal}         # a boolean variable: the task exists only when true

`for_each` is expanded first, then `when` (so `when: ${each.enabled}` works), then the
item is an include or a task. Every node of the result keeps where it was written (a
`Place`: file, chain of includes and for_each copies, line, column), so each problem is
reported in the file that causes it, followed by the chain that led there.
Manifests without any of the three keys never come here (`uses_composition`).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kxplan.errors import Problem
from kxplan.manifest.vars import VAR_NAME, VarError, names_used, substitute, var_text
from kxplan.manifest.yaml_loader import (
    ComposedDocument,
    Document,
    Place,
    Source,
    YamlPath,
    at,
    read_document,
)

#: The keys that make a task-list item more than a task.
COMPOSE_KEYS = ("include", "for_each", "when")
#: What an include item may hold.
INCLUDE_KEYS = ("include", "vars", "for_each", "when")
#: What an included file may hold (besides `x-` extension keys).
MODULE_KEYS = ("tasks", "vars")
#: The most tasks one manifest may expand to (for_each inside for_each inside includes).
MAX_TASKS = 100_000

_WHOLE = re.compile(r"^\$\{\s*([A-Za-z_]\w*)\s*\}$")
_EACH_FIELD = re.compile(r"\$\{(\s*)each\.([A-Za-z_]\w*)")
_EACH_PLAIN = re.compile(r"\$\{\s*each\s*(?=[}+-])")
_VAR_NAME = re.compile(VAR_NAME)
_NO_ITEM = object()
_BAD_NAME = "'{name}': a variable name is letters, digits and '_', not starting with a digit"


#: How many documents were expanded: lets tests see that plain manifests never are.
expansions: Counter[str] = Counter()


def uses_composition(data: Any) -> bool:
    """True when a task list of `data` (at any depth) has an include, for_each or when."""
    stack = [data.get("tasks") if isinstance(data, dict) else None]
    while stack:
        items = stack.pop()
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict):
                if "include" in item or "for_each" in item or "when" in item:
                    return True
                stack.append(item.get("children"))
    return False


@dataclass(frozen=True, slots=True)
class Scope:
    """The variables one part of the manifest sees: their text, and their typed values
    (booleans for `when`, lists for `for_each`); `each` is the current for_each item."""

    values: Mapping[str, str]
    raw: Mapping[str, Any]
    each: Any = _NO_ITEM


def compose_document(
    doc: Document, values: Mapping[str, str], raw: Mapping[str, Any]
) -> tuple[ComposedDocument, list[Problem]]:
    """`doc` with its task lists expanded and every `${...}` substituted."""
    from kxplan.manifest.vars import substitute_document

    expansions["documents"] += 1
    data = doc.data if isinstance(doc.data, dict) else {}
    rest, problems = substitute_document(
        doc.with_data({k: v for k, v in data.items() if k != "tasks"}), values
    )
    composer = _Composer(doc.file)
    src = Source(doc.file)
    for path, point in doc.locs.items():
        if not path or path[0] != "tasks" or len(path) == 1:
            composer.places[path] = (src, *point)
    for path, point in doc.key_locs.items():
        if path[0] != "tasks" or len(path) == 1:
            composer.key_places[path] = (src, *point)
    tasks: Any = data.get("tasks")
    if isinstance(tasks, list):
        out: list[Any] = []
        with contextlib.suppress(_TooBig):
            composer.items(doc, src, tasks, ("tasks",), ("tasks",), out, Scope(values, raw), ())
        tasks = out
    composed = ComposedDocument(
        doc.file,
        {**rest, "tasks": tasks} if "tasks" in data else rest,
        {},
        {},
        composer.places,
        composer.key_places,
    )
    return composed, [*problems, *composer.problems]


#: The files being included, outermost first: (resolved path, name as shown).
_Open = tuple[tuple[Path, str], ...]


class _TooBig(Exception):
    """The expansion passed MAX_TASKS; its problem is recorded."""


def _point(doc: Document, path: YamlPath) -> tuple[int, int]:
    while path not in doc.locs and path:
        path = path[:-1]
    return doc.locs.get(path, (1, 1))


class _Composer:
    def __init__(self, top: str) -> None:
        self.top = top
        self.places: dict[YamlPath, Place] = {}
        self.key_places: dict[YamlPath, Place] = {}
        self.problems: list[Problem] = []
        self.count = 0

    # ------------------------------------------------------------------ problems

    def problem(
        self, doc: Document, src: Source, path: YamlPath, message: str, hint: str | None = None
    ) -> None:
        self.problems.append(at(src.location(_point(doc, path)), message, hint))

    def key_problem(
        self, doc: Document, src: Source, path: YamlPath, message: str, hint: str | None = None
    ) -> None:
        point = doc.key_locs.get(path) or _point(doc, path)
        self.problems.append(at(src.location(point), message, hint))

    # ------------------------------------------------------------------ task lists

    def items(
        self,
        doc: Document,
        src: Source,
        items: list[Any],
        dpath: YamlPath,
        opath: YamlPath,
        out: list[Any],
        scope: Scope,
        files: _Open,
    ) -> None:
        """Expand the task list `items` (at `dpath` in `doc`) onto `out` (at `opath`)."""
        self.places.setdefault(opath, (src, *_point(doc, dpath)))
        for index, raw in enumerate(items):
            self.item(doc, src, raw, (*dpath, index), opath, out, scope, files)

    def item(
        self,
        doc: Document,
        src: Source,
        raw: Any,
        dpath: YamlPath,
        opath: YamlPath,
        out: list[Any],
        scope: Scope,
        files: _Open,
    ) -> None:
        if not isinstance(raw, dict) or not any(k in raw for k in COMPOSE_KEYS):
            self.one(doc, src, raw, dpath, opath, out, scope, files)
            return
        if "for_each" not in raw:
            self.one(doc, src, raw, dpath, opath, out, scope, files)
            return
        each_items = self.for_each(doc, src, raw["for_each"], (*dpath, "for_each"), scope)
        rest = {k: v for k, v in raw.items() if k != "for_each"}
        line, col = _point(doc, (*dpath, "for_each"))
        for n, each in enumerate(each_items or ()):
            shown = "" if isinstance(each, dict) else f" ({var_text(each)})"
            step = f"for_each item {n + 1}{shown} at {src.file}:{line}:{col}"
            copy = Source(src.file, (step, *src.chain))
            self.one(doc, copy, rest, dpath, opath, out, replace(scope, each=each), files)

    def one(
        self,
        doc: Document,
        src: Source,
        raw: Any,
        dpath: YamlPath,
        opath: YamlPath,
        out: list[Any],
        scope: Scope,
        files: _Open,
    ) -> None:
        if isinstance(raw, dict) and "when" in raw:
            if not self.when(doc, src, raw["when"], (*dpath, "when"), scope):
                return
            raw = {k: v for k, v in raw.items() if k != "when"}
        if isinstance(raw, dict) and "include" in raw:
            self.include(doc, src, raw, dpath, opath, out, scope, files)
            return
        self.count += 1
        if self.count > MAX_TASKS:
            self.problem(
                doc,
                src,
                dpath,
                f"the manifest expands to more than {MAX_TASKS} tasks",
                "check the for_each lists and includes for runaway repetition",
            )
            raise _TooBig
        target = (*opath, len(out))
        if not isinstance(raw, dict):
            out.append(self.value(doc, src, raw, dpath, target, scope))
            return
        self.places[target] = (src, *_point(doc, dpath))
        task: dict[str, Any] = {}
        for key, value in raw.items():
            kd, ko = (*dpath, key), (*target, key)
            self.key_place(doc, src, kd, ko)
            if key == "children" and isinstance(value, list):
                children: list[Any] = []
                self.items(doc, src, value, kd, ko, children, scope, files)
                task[key] = children
            else:
                task[key] = self.value(doc, src, value, kd, ko, scope)
        out.append(task)

    def key_place(self, doc: Document, src: Source, dpath: YamlPath, opath: YamlPath) -> None:
        point = doc.key_locs.get(dpath)
        if point is not None:
            self.key_places[opath] = (src, *point)

    def value(
        self, doc: Document, src: Source, value: Any, dpath: YamlPath, opath: YamlPath, scope: Scope
    ) -> Any:
        """`value` with `${...}` substituted, every node placed at `opath`."""
        self.places[opath] = (src, *_point(doc, dpath))
        if isinstance(value, dict):
            result = {}
            for key, sub in value.items():
                self.key_place(doc, src, (*dpath, key), (*opath, key))
                result[key] = self.value(doc, src, sub, (*dpath, key), (*opath, key), scope)
            return result
        if isinstance(value, list):
            return [
                self.value(doc, src, v, (*dpath, i), (*opath, i), scope)
                for i, v in enumerate(value)
            ]
        return self.text(doc, src, value, dpath, scope)

    def text(self, doc: Document, src: Source, value: Any, dpath: YamlPath, scope: Scope) -> Any:
        if not isinstance(value, str) or "${" not in value:
            return value
        try:
            return substitute_each(value, scope)
        except VarError as err:
            hint = err.hint
            if err.message.startswith("undefined variable") and doc.file != self.top:
                hint = "an included file sees only its own vars: and those its include passes"
            self.problem(doc, src, dpath, err.message, hint)
            return value

    # ------------------------------------------------------------------ for_each, when

    def for_each(
        self, doc: Document, src: Source, value: Any, dpath: YamlPath, scope: Scope
    ) -> list[Any] | None:
        """The items of a `for_each`, or None (a problem is recorded)."""
        if isinstance(value, str) and (match := _WHOLE.match(value)):
            name = match[1]
            if name not in scope.values:
                self.problem(
                    doc, src, dpath, f"for_each: undefined variable '{name}'", _declare(name)
                )
                return None
            items = scope.raw.get(name)
            if not isinstance(items, list):
                self.problem(
                    doc,
                    src,
                    dpath,
                    f"for_each needs a list, but variable '{name}' is "
                    f"{_shown(scope.raw.get(name, scope.values[name]))}",
                    f"declare it as a list, e.g. {name}: [1, 2, 3]",
                )
                return None
        elif isinstance(value, list):
            items = [self.text(doc, src, v, (*dpath, i), scope) for i, v in enumerate(value)]
            items = [
                _subst_mapping(self, doc, src, v, (*dpath, i), scope) for i, v in enumerate(items)
            ]
        else:
            self.problem(
                doc,
                src,
                dpath,
                f"for_each needs a list, not {_shown(value)}",
                "write a list such as [1, 2, 3], or a list variable such as ${sprints}",
            )
            return None
        bad = [i for i, v in enumerate(items) if not _item_ok(v)]
        for i in bad:
            where = (*dpath, i) if isinstance(value, list) else dpath
            self.problem(
                doc,
                src,
                where,
                f"for_each item {i + 1} is {_shown(items[i])}",
                "items are values (1, Acme) or mappings of values ({name: Acme, weeks: 4})",
            )
        return None if bad else items

    def when(self, doc: Document, src: Source, value: Any, dpath: YamlPath, scope: Scope) -> bool:
        """Whether the item exists; False (and a problem) when `when` is not a boolean."""
        shown = value
        if isinstance(value, str) and (match := _WHOLE.match(value)) and match[1] != "each":
            name = match[1]
            if name not in scope.values:
                self.problem(doc, src, dpath, f"when: undefined variable '{name}'", _declare(name))
                return False
            value = scope.raw.get(name, scope.values[name])
            shown = f"variable '{name}', which is {_shown(value)}"
        elif isinstance(value, str):
            value = self.text(doc, src, value, dpath, scope)
            shown = _shown(value)
        else:
            shown = _shown(value)
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return bool(value == "true")
        self.problem(
            doc,
            src,
            dpath,
            f"when needs true or false, but got {shown}",
            "write when: ${flag} with a boolean variable, e.g. flag: true",
        )
        return False

    # ------------------------------------------------------------------ include

    def include(
        self,
        doc: Document,
        src: Source,
        raw: dict[str, Any],
        dpath: YamlPath,
        opath: YamlPath,
        out: list[Any],
        scope: Scope,
        files: _Open,
    ) -> None:
        if not self.include_keys(doc, src, raw, dpath):
            return
        ipath = (*dpath, "include")
        target = self.text(doc, src, raw["include"], ipath, scope)
        if not isinstance(target, str) or not target.strip() or "${" in target:
            if not isinstance(target, str) or not target.strip():
                self.problem(doc, src, ipath, "include needs a file path, e.g. phases/qa.yaml")
            return
        path = Path(os.path.normpath(Path(src.file).parent / target))
        resolved = path.resolve()
        line, col = _point(doc, dpath)
        here = f"{src.file}:{line}:{col}"
        current = files or ((Path(src.file).resolve(), src.file),)
        opened = [p for p, _ in current]
        if resolved in opened:
            loop = [name for _, name in current[opened.index(resolved) :]]
            self.problem(
                doc,
                src,
                ipath,
                f"include loop: {' -> '.join([*loop, str(path)])}",
                "an included file cannot include itself or a file that includes it",
            )
            return
        if not path.exists():
            self.problem(
                doc,
                src,
                ipath,
                f"include '{target}': no such file ({path})",
                "the path is relative to the including file",
            )
            return
        passed = self.passed_vars(doc, src, raw.get("vars"), (*dpath, "vars"), scope)
        if passed is None:
            return
        module, problems = read_document(path)
        chain = (f"included from {here}", *src.chain)
        self.problems.extend(replace(p, chain=(*p.chain, *chain)) for p in problems)
        if module is None:
            return
        msrc = Source(str(path), chain)
        tasks = self.module_tasks(module, msrc)
        if tasks is None:
            return
        self.unused_passed(doc, src, module, (*dpath, "vars"), passed)
        mscope = self.module_scope(module, msrc, passed)
        self.items(
            module, msrc, tasks, ("tasks",), opath, out, mscope, (*current, (resolved, str(path)))
        )

    def unused_passed(
        self,
        doc: Document,
        src: Source,
        module: Document,
        dpath: YamlPath,
        passed: Mapping[str, Any],
    ) -> None:
        """A passed variable the included file neither declares nor uses: most likely a typo."""
        declared = module.data.get("vars")
        known = {*(declared if isinstance(declared, dict) else ()), *names_used(module.data)}
        for name in passed:
            if name in known:
                continue
            close = difflib.get_close_matches(name, sorted(known), n=1)
            self.key_problem(
                doc,
                src,
                (*dpath, name),
                f"the include passes '{name}', which {module.file} neither declares nor uses",
                f"did you mean '{close[0]}'?" if close else "remove it from the include's vars:",
            )

    def include_keys(
        self, doc: Document, src: Source, raw: dict[str, Any], dpath: YamlPath
    ) -> bool:
        ok = True
        for key in raw:
            if key in INCLUDE_KEYS:
                continue
            ok = False
            close = difflib.get_close_matches(key, INCLUDE_KEYS, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(INCLUDE_KEYS)
            extra = " (an include item is not a task)" if key in ("title", "key") else ""
            self.key_problem(
                doc, src, (*dpath, key), f"unknown field '{key}' in include{extra}", hint
            )
        return ok

    def passed_vars(
        self, doc: Document, src: Source, raw: Any, dpath: YamlPath, scope: Scope
    ) -> dict[str, Any] | None:
        """The vars an include passes, evaluated in the including scope (typed)."""
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.problem(doc, src, dpath, f"include vars must be a mapping, not {_shown(raw)}")
            return None
        passed: dict[str, Any] = {}
        for name, value in raw.items():
            if not _VAR_NAME.match(name):
                self.key_problem(
                    doc,
                    src,
                    (*dpath, name),
                    _BAD_NAME.format(name=name),
                )
                continue
            vpath = (*dpath, name)
            match = _WHOLE.match(value) if isinstance(value, str) else None
            if match and match[1] in scope.raw and match[1] != "each":
                passed[name] = scope.raw[match[1]]
            elif isinstance(value, list):
                passed[name] = [
                    self.text(doc, src, v, (*vpath, i), scope) for i, v in enumerate(value)
                ]
            else:
                passed[name] = self.text(doc, src, value, vpath, scope)
        return passed

    def module_tasks(self, module: Document, src: Source) -> list[Any] | None:
        data = module.data
        if not isinstance(data, dict):
            self.problem(
                module,
                src,
                (),
                "an included file must be a mapping with tasks: (and optional vars:)",
                "start it with `tasks:`",
            )
            return None
        for key in data:
            if key in MODULE_KEYS or key.startswith("x-"):
                continue
            close = difflib.get_close_matches(key, MODULE_KEYS, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else "an included file holds tasks: and vars:"
            )
            self.key_problem(
                module, src, (key,), f"unknown field '{key}' in an included file", hint
            )
        tasks = data.get("tasks")
        if not isinstance(tasks, list):
            where = ("tasks",) if "tasks" in data else ()
            self.problem(
                module,
                src,
                where,
                "an included file needs tasks: (a list of tasks)"
                if "tasks" not in data
                else f"tasks must be a list, not {_shown(tasks)}",
            )
            return None
        vars_ = data.get("vars")
        if vars_ is not None and not isinstance(vars_, dict):
            self.problem(module, src, ("vars",), f"vars must be a mapping, not {_shown(vars_)}")
        return tasks

    def module_scope(self, module: Document, src: Source, passed: Mapping[str, Any]) -> Scope:
        """An included file's vars: its defaults (in order, each may use those above),
        with what the include passes taking their place. Nothing else is inherited."""
        declared = module.data.get("vars")
        values: dict[str, str] = {}
        raw: dict[str, Any] = {}
        for name, value in declared.items() if isinstance(declared, dict) else ():
            if name in passed:
                continue
            if not _VAR_NAME.match(name):
                self.key_problem(
                    module,
                    src,
                    ("vars", name),
                    _BAD_NAME.format(name=name),
                )
                continue
            try:
                text = substitute(var_text(value), values) if not isinstance(value, list) else ""
            except VarError as err:
                self.problem(module, src, ("vars", name), err.message, err.hint)
                continue
            values[name] = text or var_text(value)
            raw[name] = value if isinstance(value, bool | list) else values[name]
        for name, value in passed.items():
            raw[name] = value
            values[name] = var_text(value)
        return Scope(values, raw)


def _subst_mapping(
    composer: _Composer, doc: Document, src: Source, value: Any, dpath: YamlPath, scope: Scope
) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: composer.text(doc, src, v, (*dpath, k), scope) for k, v in value.items()}


def _item_ok(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, dict | list) and v is not None for v in value.values())
    return not isinstance(value, list) and value is not None


def substitute_each(text: str, scope: Scope) -> str:
    """`text` with `${each}`, `${each.field}` and the scope's variables substituted."""
    values: Mapping[str, str] = scope.values
    if "each" in text and (_EACH_FIELD.search(text) or _EACH_PLAIN.search(text)):
        extra = _each_values(text, scope.each)
        values = {**scope.values, **extra}
        text = _EACH_FIELD.sub(lambda m: "${" + m[1] + "each__" + m[2], text)
    return substitute(text, values)


def _each_values(text: str, each: Any) -> dict[str, str]:
    if each is _NO_ITEM:
        raise VarError(
            "undefined variable 'each'",
            "${each} is only defined in a task with for_each (and in its subtasks)",
        )
    fields = [m[2] for m in _EACH_FIELD.finditer(text)]
    if fields and not isinstance(each, dict):
        raise VarError(
            f"${{each.{fields[0]}}} needs mapping items, but this for_each item is {_shown(each)}",
            "use ${each} for plain items, or make the items mappings: [{name: A}, {name: B}]",
        )
    if _EACH_PLAIN.search(text) and isinstance(each, dict):
        raise VarError(
            "this for_each item is a mapping: ${each} needs a field",
            "write ${each.FIELD}; its fields: " + ", ".join(map(str, each)),
        )
    values = {} if isinstance(each, dict) else {"each": var_text(each)}
    for name in fields:
        assert isinstance(each, dict)
        if name not in each:
            close = difflib.get_close_matches(name, [str(k) for k in each], n=1)
            hint = f"did you mean 'each.{close[0]}'?" if close else None
            raise VarError(
                f"this for_each item has no field '{name}' (its fields: "
                f"{', '.join(map(str, each))})",
                hint,
            )
        values[f"each__{name}"] = var_text(each[name])
    return values


def _declare(name: str) -> str:
    return f"declare it under vars: (or pass it in the include's vars:, or --var {name}=VALUE)"


def _shown(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"the boolean {var_text(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"the text '{value}'"
