"""The applier's model of the live tree: which moves Kantata accepts in one PUT, which need a
lift, and what the plan tells of the tree."""

from __future__ import annotations

from collections.abc import Sequence

from kxplan.changes import TaskDelete, TaskKeep, TaskMove, TaskUpdate
from kxplan.changes.depth import (
    Move,
    Tree,
    deletes_first,
    next_round,
    play_moves,
    tree_from_plan,
)


def _chain(*ids: str) -> dict[str, str | None]:
    """a > b > c ... as parent links."""
    return {node: (ids[i - 1] if i else None) for i, node in enumerate(ids)}


def test_depth_and_height_follow_the_links() -> None:
    tree = Tree(_chain("a", "b", "c", "d"))
    assert [tree.depth(n) for n in "abcd"] == [0, 1, 2, 3]
    assert [tree.height(n) for n in "abcd"] == [3, 2, 1, 0]
    assert tree.depth(None) == -1


def test_a_task_whose_parent_is_unknown_sits_at_its_hinted_depth() -> None:
    tree = Tree({"x": "p"}, {"p": 2})
    assert tree.depth("x") == 3


def test_a_move_is_refused_when_the_subtree_would_go_below_level_four() -> None:
    tree = Tree({**_chain("a", "b", "c", "d"), **_chain("x", "y")})
    assert tree.can_move("x", "c")  # x at 3, y at 4
    assert not tree.can_move("x", "d")  # y would be at 5
    assert tree.can_move("y", "d")


def test_a_move_under_itself_or_its_own_subtask_is_refused() -> None:
    tree = Tree(_chain("a", "b", "c"))
    assert not tree.can_move("a", "c")
    assert not tree.can_move("b", "b")
    assert tree.can_move("c", None)


def test_moving_and_deleting_update_the_model() -> None:
    tree = Tree({**_chain("a", "b", "c"), "x": None})
    tree.move("b", "x")
    assert tree.depth("c") == 2 and tree.height("a") == 0 and tree.height("x") == 2
    tree.delete("b")
    assert tree.height("x") == 0 and "c" not in tree.links


def test_deletes_go_first_unless_a_moving_task_is_under_a_deleted_one() -> None:
    tree = Tree({**_chain("d", "m"), "e": None})
    assert deletes_first(tree, [Move("m", "e", 1)], ["e"])
    assert not deletes_first(tree, [Move("m", "e", 1)], ["d"])


def test_a_move_allowed_now_goes_directly() -> None:
    tree = Tree({"p": None, "q": None, "leaf": "p"})
    step, rest = next_round(tree, [Move("leaf", "q", 1)])
    assert [m.id for m in step.direct] == ["leaf"] and not step.lift and rest == []


def test_a_move_still_holding_a_task_that_leaves_later_is_lifted() -> None:
    # x (under p) holds y > z > w; x goes under t1 (depth 1): 1 + 1 + 3 > 4 until they leave.
    tree = Tree({**_chain("t0", "t1"), "p": None, **_chain("x", "y", "z", "w"), "x": "p"})
    step, _ = next_round(tree, [Move("x", "t1", 2)])
    assert [m.id for m in step.lift] == ["x"] and not step.direct


def test_a_task_already_at_the_top_is_not_lifted_but_placed_later() -> None:
    tree = Tree({**_chain("t0", "t1", "t2"), **_chain("x", "y", "z")})
    step, _ = next_round(tree, [Move("x", "t2", 3)])
    assert [m.id for m in step.later] == ["x"] and not step.lift and not step.direct


def test_of_two_nested_moves_of_one_depth_the_inner_goes_first() -> None:
    # y (inside x) leaves first; x is then decided on a tree without y.
    tree = Tree({**_chain("t0", "t1", "t2"), "p": None, **_chain("x", "y", "y1"), "x": "p"})
    moves = [Move("x", "t2", 3), Move("y", "t2", 3)]
    step, rest = next_round(tree, moves)
    assert [m.id for m in step.direct] == ["y"] and [m.id for m in rest] == ["x"]
    tree.move("y", "t2")
    step, rest = next_round(tree, rest)
    assert [m.id for m in step.direct] == ["x"] and rest == []


def test_a_move_whose_new_parent_is_created_later_waits() -> None:
    tree = Tree({"p": None, "x": "p"})
    step, _ = next_round(tree, [Move("x", None, 2, waits=True)])
    assert [m.id for m in step.lift] == ["x"]


def test_the_plan_tells_where_moving_updated_and_deleted_tasks_are() -> None:
    changes = [
        TaskMove(
            key="m",
            id="1",
            parent="new",
            depth=2,
            before={"parent": "old", "parent_id": "10"},
            after={"parent": "new", "parent_id": "20"},
        ),
        TaskUpdate(
            key="old",
            id="10",
            parent="top",
            depth=1,
            fields=("title",),
            before={"title": "Old"},
            after={"title": "New"},
        ),
        TaskDelete(
            key="gone", id="30", parent="m", depth=2, before={"title": "Gone", "parent": "m"}
        ),
        TaskKeep(key="kept", id="40", parent="#99", depth=3, before={"title": "Kept"}),
    ]
    tree = tree_from_plan(changes, {"top": "5"})
    assert tree.links == {"1": "10", "10": "5", "30": "1", "40": "99"}
    assert tree.depth("1") == 2  # top (unknown parent) at depth 0, from old's depth
    assert tree.height("1") == 1 and tree.depth("20") == 1  # the move's new parent
    assert tree.depth("40") == 3  # #99's depth from the kept task's


class _Kantata:
    """A fake `MovePort`: logs each request; refuses the moves of `refuse` once."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.log: list[str] = []
        self.refuse = set(refuse)

    def delete(self) -> None:
        self.log.append("delete")

    def send(self, moves: Sequence[Move]) -> Sequence[Move]:
        self.log += [f"move {m.id}" for m in moves]
        refused = [m for m in moves if m.id in self.refuse]
        self.refuse -= {m.id for m in refused}
        return refused

    def lift(self, planned: Sequence[Move], refused: Sequence[Move]) -> None:
        self.log += [f"lift {m.id}" for m in planned] + [f"lift! {m.id}" for m in refused]


def test_a_move_that_must_leave_a_deleted_task_is_lifted_before_the_deletes() -> None:
    # x (holding y > z) sits under d, which is deleted with z; under e (depth 3) only a
    # leaf fits, and x must leave d before d's delete takes it along.
    tree = Tree({**_chain("a", "b", "c", "e"), **_chain("d", "x", "y", "z")})
    port = _Kantata()
    later = play_moves(tree, [Move("x", "e", 4)], ["z", "d"], port)
    assert port.log == ["lift x", "delete"] and [m.id for m in later] == ["x"]


def test_a_refused_move_under_a_deleted_task_is_lifted_and_told_apart() -> None:
    tree = Tree({**_chain("a", "b"), **_chain("d", "x")})
    port = _Kantata(refuse=("x",))
    later = play_moves(tree, [Move("x", "b", 2)], ["d"], port)
    assert port.log == ["move x", "lift! x", "delete"] and [m.id for m in later] == ["x"]
