"""Variants: which answer the sandbox plays to each question Kantata's documentation leaves open.

docs/kantata-api.md lists the open questions and how kxplan stays correct under each answer.

Kantata OX does not document everything kxplan depends on (docs/sandbox.md, "Variants", lists
each question with what is known about it). The sandbox plays one plausible answer per
question; a `Variants` value says which. The defaults are the answers the sandbox always gave,
so a sandbox started without variants behaves as before. Tests run kxplan against every value,
so kxplan cannot quietly depend on one guess.

Set them in-process (`SandboxServer(variants=Variants(...))` or `server.variants = ...`), on the
command line (`kxplan sandbox --variant status_names=title`), or over HTTP
(`PUT /__sandbox/variants` with `{"status_names": "title"}`; `GET` shows them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Question:
    """One open question: its choices (the first is the default) and what each means."""

    name: str
    choices: tuple[tuple[str, str], ...]  # (value, what the sandbox then does)
    about: str  # the question, and what the documentation says (docs/sandbox.md repeats it)

    @property
    def values(self) -> tuple[str, ...]:
        """The allowed values, the default first."""
        return tuple(v for v, _ in self.choices)

    @property
    def default(self) -> str:
        """The value the sandbox plays unless told otherwise."""
        return self.choices[0][0]

    @property
    def unusual(self) -> str:
        """The value furthest from the default (the last choice), for the all-unusual run."""
        return self.choices[-1][0]


QUESTIONS: tuple[Question, ...] = (
    Question(
        "status_names",
        (
            ("category", "a new set's four defaults are named `not started`, `started`, ..."),
            ("title", "they are named `Not Started`, `Started`, `Needs Info`, `Completed`"),
        ),
        "How a new status set's four default statuses are spelled. The API page writes them "
        "`not started`...; the task status help pages write `Not Started`....",
    ),
    Question(
        "results_order",
        (
            ("request", "`results` of a (bulk) create lists the stories in request order"),
            ("reversed", "in reverse request order"),
            ("sorted", "in the list default order (updated_at desc, then id)"),
            ("shuffled", "in a seeded random order"),
        ),
        "The order of `results` in a bulk create response is not documented.",
    ),
    Question(
        "delete_cascade",
        (
            ("cascade", "deleting a story soft-deletes its descendants too"),
            ("none", "only the story is deleted; its subtasks stay, detached from nothing"),
        ),
        "Whether deleting a parent story deletes its subtasks is not documented.",
    ),
    Question(
        "project_plan_default",
        (
            ("task", "a story created without `project_plan` is a project task"),
            ("todo", "it is a To Do (`project_plan: false`), hidden unless `show_todos=true`"),
        ),
        "The default of `project_plan` for API-created stories.",
    ),
    Question(
        "set_switch",
        (
            (
                "same_name",
                "switching a workspace's set keeps a same-named status, else the category's name",
            ),
            ("first", "tasks go to the first status of their category in the new set"),
            ("category", "tasks fall back to the bare category (`started`...)"),
        ),
        "What happens to tasks' statuses when a workspace switches status sets.",
    ),
    Question(
        "status_delete",
        (
            ("category", "tasks of a deleted status fall back to the bare category name"),
            ("default_name", "they go to the set's status named like the category, if any"),
            ("first", "they go to the first remaining status of the category"),
        ),
        "Where tasks go when their status is deleted: 'the task's status will default to the "
        "status type (category)' leaves the exact status open.",
    ),
    Question(
        "new_siblings",
        (
            ("first", "a new story sorts before its siblings (lower position)"),
            ("last", "a new story sorts after its siblings"),
        ),
        "Where a new story is placed among its siblings.",
    ),
    Question(
        "name_match",
        (
            ("exact", "status, set and tag names match exactly"),
            ("ignore_case", "they match ignoring case (`done` finds `Done`)"),
        ),
        "Whether status, set and tag names are matched ignoring case.",
    ),
    Question(
        "meta",
        (
            ("present", "envelopes carry `meta` (count, page_count, page_number, page_size)"),
            ("absent", "envelopes carry only `count`, `results` and the typed maps (2013)"),
        ),
        "Whether `meta` is always present in list envelopes.",
    ),
    Question(
        "retry_after",
        (
            ("present", "a 429 carries `Retry-After` (when the fault settings give one)"),
            ("absent", "a 429 never carries `Retry-After`"),
        ),
        "Whether a 429 carries `Retry-After`.",
    ),
    Question(
        "creator_role",
        (
            ("any", "POST /workspaces takes maven, consultant, buyer or client; missing: maven"),
            ("enum", "it takes only client or consultant (the OpenAPI enum); missing: consultant"),
            ("legacy", "it takes only maven or buyer, and requires it (older docs)"),
        ),
        "The values of `creator_role` on POST /workspaces: the OpenAPI enum lists `client`, "
        "`consultant`; its description says `maven`/`consultant` and `buyer`/`client`, "
        "'defaults to maven'; older docs say required, `maven|buyer`.",
    ),
    Question(
        "state_changes",
        (
            ("state", "a story state change is recorded when the state (category) changes"),
            (
                "status",
                "also when only the custom status changes; `formatted_state` is its name",
            ),
        ),
        "Whether a change of custom status inside one category records a story state change: "
        "the docs say one is created 'when you set the state of a Story'; the object has "
        "`state` and `formatted_state`, no status.",
    ),
)

_BY_NAME: Mapping[str, Question] = {q.name: q for q in QUESTIONS}


@dataclass(frozen=True, slots=True)
class Variants:
    """The answer played to each open question; the defaults are the sandbox's historic ones."""

    status_names: str = "category"
    results_order: str = "request"
    delete_cascade: str = "cascade"
    project_plan_default: str = "task"
    set_switch: str = "same_name"
    status_delete: str = "category"
    new_siblings: str = "first"
    name_match: str = "exact"
    meta: str = "present"
    retry_after: str = "present"
    creator_role: str = "any"
    state_changes: str = "state"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            question = _BY_NAME[f.name]
            if value not in question.values:
                raise ValueError(
                    f"variant {f.name}={value!r} is not one of: {', '.join(question.values)}"
                )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Variants:
        """Variants from a JSON object (the `PUT /__sandbox/variants` body); unknown keys fail.

        Names left out get their defaults: the object says every answer to play."""
        if not isinstance(data, Mapping):
            raise ValueError('expected a JSON object of variants, e.g. {"status_names": "title"}')
        unknown = sorted(set(data) - set(_BY_NAME))
        if unknown:
            raise ValueError(
                f"unknown variant(s): {', '.join(unknown)} (known: {', '.join(_BY_NAME)})"
            )
        return cls(**{k: str(v) for k, v in data.items()})

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> Variants:
        """Variants from `NAME=VALUE` strings (the `--variant` option)."""
        data: dict[str, str] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ValueError(
                    f"--variant {pair!r}: expected NAME=VALUE, e.g. status_names=title"
                )
            name, value = name.strip(), value.strip()
            if name in data and data[name] != value:
                raise ValueError(
                    f"--variant {name} is given twice ({data[name]}, {value}): give each once"
                )
            data[name] = value
        return cls.from_json(data)

    def to_json(self) -> dict[str, str]:
        """The answers as a JSON object."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def changed(self) -> dict[str, str]:
        """Only the answers that differ from the defaults."""
        default = Variants()
        return {k: v for k, v in self.to_json().items() if getattr(default, k) != v}

    def with_(self, **answers: str) -> Variants:
        """A copy with some answers changed."""
        return replace(self, **answers)

    @classmethod
    def unusual(cls) -> Variants:
        """Every question answered with its last ("most unusual") choice."""
        return cls(**{q.name: q.unusual for q in QUESTIONS})

    def __str__(self) -> str:
        changed = self.changed()
        return ",".join(f"{k}={v}" for k, v in changed.items()) or "default"


def one_at_a_time() -> Iterator[Variants]:
    """Every non-default answer, each alone on top of the defaults (the test matrix rows)."""
    for question in QUESTIONS:
        for value in question.values[1:]:
            yield Variants(**{question.name: value})


def matrix() -> tuple[Variants, ...]:
    """The defaults, each unusual answer alone, and the all-unusual combination."""
    return (Variants(), *one_at_a_time(), Variants.unusual())


def help_text() -> str:
    """The variants and their values, for `kxplan sandbox --help`."""
    return "; ".join(f"{q.name}={'|'.join(q.values)}" for q in QUESTIONS)
