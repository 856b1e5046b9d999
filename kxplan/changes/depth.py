"""An in-memory model of the live task tree, so moves go in one PUT whenever Kantata allows it.

The applier (kxplan.apply._tasks) plays `play_moves` over Kantata, and the planner's estimate
(`count_lifts`, used by kxplan.planner.order) plays the very same rounds over the plan alone,
so the lifts the model foresees are in the plan's `requests.write` (docs/plan.md, "JSON").

Kantata's rules (docs/kantata-api.md; the sandbox follows them): at most `MAX_DEPTH` levels below a
top-level task, a moved task takes its subtree along, a task cannot move under itself or its
subtasks, and deleting a task deletes its subtasks. The applier knows the tree only through
the plan (moves, updates, deletes, kept tasks), so `Tree` holds the links it knows and, for a
task whose parent it does not know, the depth the plan gives it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kxplan.changes.base import Action, Change, Kind
from kxplan.changes.batches import split_deferred
from kxplan.changes.task import TaskCreate, TaskMove
from kxplan.model import MAX_DEPTH


@dataclass(frozen=True, slots=True)
class Move:
    """One task move: the story, its new parent (None: the top level) and its desired depth.

    `waits` marks a move whose new parent is created later in the apply (it has no id yet).
    """

    id: str
    target: str | None
    level: int
    waits: bool = False


@dataclass(frozen=True, slots=True)
class Round:
    """Requests sent together: tasks lifted to the top level for now, and moves done directly."""

    lift: tuple[Move, ...] = ()
    direct: tuple[Move, ...] = ()
    later: tuple[Move, ...] = ()  # placed after the deletes (lifted, or already at the top)


@dataclass(slots=True)
class Tree:
    """Known parent links (`None`: top level) and depths of tasks whose parent is unknown."""

    links: dict[str, str | None] = field(default_factory=dict)
    hints: dict[str, int] = field(default_factory=dict)
    _children: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for node, parent in self.links.items():
            if parent is not None:
                self._children.setdefault(parent, set()).add(node)

    def parent(self, node: str) -> str | None:
        """The known parent (None for a top-level task or an unknown link)."""
        return self.links.get(node)

    def depth(self, node: str | None) -> int:
        """0 for a top-level task; -1 for "the top level" itself (node None)."""
        steps, seen = 0, set()
        while node is not None and node not in seen:
            seen.add(node)
            if node not in self.links:
                return steps + self.hints.get(node, 0)
            node, steps = self.links[node], steps + 1
        return steps - 1

    def height(self, node: str) -> int:
        """Levels below `node` (0 for a leaf), counting only the subtasks the model knows."""
        below, level, seen = self._children.get(node, set()), 0, {node}
        while below:
            level += 1
            seen |= below
            below = {c for n in below for c in self._children.get(n, ()) if c not in seen}
        return level

    def is_under(self, node: str, ancestor: str) -> bool:
        """Whether `ancestor` is a (known) ancestor of `node`."""
        seen: set[str] = set()
        parent = self.links.get(node)
        while parent is not None and parent not in seen:
            if parent == ancestor:
                return True
            seen.add(parent)
            parent = self.links.get(parent)
        return False

    def can_move(self, node: str, target: str | None) -> bool:
        """Whether Kantata would accept moving `node` (with its subtree) under `target` now."""
        if target is not None and (target == node or self.is_under(target, node)):
            return False  # under itself or its own subtask
        return self.depth(target) + 1 + self.height(node) <= MAX_DEPTH

    def move(self, node: str, target: str | None) -> None:
        """Record that `node` now sits under `target`."""
        old = self.links.get(node)
        if old is not None:
            self._children.get(old, set()).discard(node)
        self.links[node] = target
        if target is not None:
            self._children.setdefault(target, set()).add(node)

    def delete(self, node: str) -> None:
        """Record that `node` and its subtree are gone."""
        for child in tuple(self._children.pop(node, ())):
            self.delete(child)
        parent = self.links.pop(node, None)
        if parent is not None:
            self._children.get(parent, set()).discard(node)
        self.hints.pop(node, None)


def deletes_first(tree: Tree, moves: Sequence[Move], doomed: Iterable[str]) -> bool:
    """Whether the deletes can run before any move: no moving task sits under a deleted one
    (else the delete would take it along)."""
    gone = set(doomed)
    return not any(tree.is_under(m.id, d) for m in moves for d in gone)


def next_round(tree: Tree, moves: Sequence[Move]) -> tuple[Round, list[Move]]:
    """The next requests for `moves` (all of one desired depth), and the moves left for later
    rounds. Only moves with no other of `moves` below them are decided now, so the ones sent
    together never hold one another and Kantata may run them in any order."""
    inner = [m for m in moves if not any(tree.is_under(o.id, m.id) for o in moves if o is not m)]
    inner = inner or list(moves)  # unknown links may look like a cycle: decide them all
    lift: list[Move] = []
    direct: list[Move] = []
    later: list[Move] = []
    for m in inner:
        if not m.waits and tree.can_move(m.id, m.target):
            direct.append(m)
        elif tree.parent(m.id) is not None:
            lift.append(m)
        else:
            later.append(m)  # already at the top level: nothing to lift
    rest = [m for m in moves if m not in inner]
    return Round(tuple(lift), tuple(direct), tuple(later)), rest


def tree_from_plan(changes: Iterable[Change], ids: Mapping[str, str]) -> Tree:
    """What the plan tells of the live tree, before anything is applied.

    A moving task's parent is `before["parent_id"]`; a task updated in place, deleted or kept
    sits under its (desired = live) parent; a move's new parent sits one level above the
    move's desired depth. `ids` adds task key -> story id pairs (e.g. tasks created so far).
    """
    tasks = [c for c in changes if c.kind is Kind.TASK and c.id is not None]
    key_ids = dict(ids) | {c.key: str(c.id) for c in tasks}
    for c in tasks:
        if isinstance(c, TaskMove):
            for values in (c.before, c.after):
                if values["parent"] and values["parent_id"] is not None:
                    key_ids[values["parent"]] = values["parent_id"]
    moving = {str(c.id) for c in tasks if isinstance(c, TaskMove)}
    tree = Tree()
    for c in tasks:
        _learn(tree, c, moving, key_ids)
    return tree


def _learn(tree: Tree, change: Change, moving: set[str], key_ids: Mapping[str, str]) -> None:
    node = str(change.id)
    if isinstance(change, TaskMove):
        tree.move(node, change.before["parent_id"])
        target = change.after["parent_id"]
        if target is not None and target not in tree.links:
            tree.hints.setdefault(target, change.depth - 1)
        return
    if node in moving:
        return  # its move says where it is
    if change.parent is None:
        tree.move(node, None)
    elif change.parent in key_ids or _live_id(change.parent):
        parent = key_ids.get(change.parent) or change.parent[1:]
        tree.move(node, parent)
        tree.hints.setdefault(parent, change.depth - 1)  # if its own parent is unknown
    else:
        tree.hints[node] = change.depth


def _live_id(key: str) -> bool:
    """A task the plan names by id (`#123`: unmanaged, or another stack's)."""
    return key.startswith("#") and key[1:].isdigit()


def move_of(change: TaskMove, story_id: str, ids: Mapping[str, str]) -> Move:
    """The move `change` makes of story `story_id`; `ids` gives the story ids of the tasks
    created so far (task key -> id). A new parent not created yet makes the move wait."""
    after = change.after
    if after["parent"] is None:
        return Move(story_id, None, change.depth)
    target = after["parent_id"] or ids.get(after["parent"])
    if target is None:  # created after the moves: placed with the creates that waited
        return Move(story_id, None, change.depth, waits=True)
    return Move(story_id, str(target), change.depth)


class MovePort(Protocol):
    """The requests `play_moves` makes: the applier sends them, the estimate counts them."""

    def delete(self) -> None:
        """Delete the plan's tasks (the ones `play_moves` was given as `doomed`)."""
        ...

    def send(self, moves: Sequence[Move]) -> Sequence[Move]:
        """Move these tasks, one PUT each (concurrently); the moves Kantata refused."""
        ...

    def lift(self, planned: Sequence[Move], refused: Sequence[Move]) -> None:
        """Move these tasks to the top level for now, one PUT each: `planned` as the model
        foresaw, and `refused` moves (refused although the model allowed them) that a
        delete still to come would take along."""
        ...


def play_moves(
    tree: Tree, moves: Sequence[Move], doomed: Sequence[str], port: MovePort
) -> list[Move]:
    """Carry out `moves` over `port`, with the plan's task deletes (`doomed` story ids); the
    moves left to place after the deletes (lifted, already at the top level, or refused).

    The deletes run first when no moving task is under a deleted one; moves go shallowest
    desired depth first, in rounds (`next_round`); `tree` follows every request.
    """
    early = deletes_first(tree, moves, doomed)
    if early:
        _delete(tree, doomed, port)
    pending = () if early else tuple(doomed)
    later: list[Move] = []
    for level in sorted({m.level for m in moves}):
        here = [m for m in moves if m.level == level]
        while here:
            step, here = next_round(tree, here)
            later += _play_round(tree, step, pending, port)
    if not early:
        _delete(tree, doomed, port)
    return later


def _delete(tree: Tree, doomed: Sequence[str], port: MovePort) -> None:
    port.delete()
    for node in doomed:
        tree.delete(node)


def _play_round(tree: Tree, step: Round, doomed: Sequence[str], port: MovePort) -> list[Move]:
    refused = list(port.send(step.direct))
    for m in step.direct:
        if m not in refused:
            tree.move(m.id, m.target)
    # Refused although the model allowed it (the plan does not show every subtask): it waits
    # for the deletes and the other moves, lifted only if a delete would take it along.
    along = [m for m in refused if any(tree.is_under(m.id, d) for d in doomed)]
    port.lift(step.lift, along)
    for m in (*step.lift, *along):
        tree.move(m.id, None)
    return [*step.lift, *step.later, *refused]


@dataclass(slots=True)
class _Counter:
    """A `MovePort` that Kantata never refuses: it counts the lifts."""

    lifts: int = 0

    def delete(self) -> None:
        return None

    def send(self, moves: Sequence[Move]) -> Sequence[Move]:
        return ()

    def lift(self, planned: Sequence[Move], refused: Sequence[Move]) -> None:
        self.lifts += len(planned) + len(refused)


def count_lifts(changes: Sequence[Change]) -> int:
    """The lifts the applier sends for a plan (one PUT each, beyond the moves' own PUTs),
    played with `play_moves` over what the plan tells of the tree. The creates sent before
    the moves stand in with their keys as ids; a move Kantata refuses is not foreseen."""
    calls = [c for c in changes if c.kind is Kind.TASK and c.action.makes_calls]
    moves = [c for c in calls if isinstance(c, TaskMove) and c.id is not None]
    if not moves:
        return 0
    now, _ = split_deferred([c for c in calls if isinstance(c, TaskCreate)], True)
    ids = {c.key: f"+{c.key}" for c in now}  # never a story id (those are digits)
    doomed = [str(c.id) for c in calls if c.action is Action.DELETE and c.id is not None]
    port = _Counter()
    planned = [move_of(c, str(c.id), ids) for c in moves]
    play_moves(tree_from_plan(changes, ids), planned, doomed, port)
    return port.lifts
