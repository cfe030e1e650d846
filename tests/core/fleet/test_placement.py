"""Placement as pure functions of one snapshot: balance, room limits, pins, rooms as one unit, draining."""

from __future__ import annotations

from datetime import UTC, datetime

from nvr_console.core.fleet.leases import Lease
from nvr_console.core.fleet.placement import MAX_HANDOVERS_PER_NODE, Candidate, loads, plan_free, plan_moves
from nvr_console.core.fleet.units import CameraRow, Unit, group

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def cams(n: int, first: int = 1, room: int = 1) -> list[Unit]:
    return [Unit(f"camera:{i}", room, (i,)) for i in range(first, first + n)]


def held(holder: str, *keys: str, handover: str | None = None) -> dict[str, Lease]:
    return {k: Lease(k, holder, 1, NOW, True, handover_state=handover) for k in keys}


def nodes(*names: str, **kw: object) -> dict[str, Candidate]:
    return {n: Candidate(n, alive=True, records=True, **kw) for n in names}  # type: ignore[arg-type]


def test_free_cameras_are_spread_evenly_and_every_node_plans_the_same() -> None:
    units = cams(7)
    plan = plan_free(units, {}, nodes("a", "b", "c"))
    counts = {n: list(plan.values()).count(n) for n in "abc"}
    assert counts == {"a": 3, "b": 2, "c": 2}
    assert plan == plan_free(list(reversed(units)), {}, nodes("c", "b", "a"))  # order of input does not matter


def test_free_units_go_to_the_least_loaded_node() -> None:
    units = cams(6)
    leases = held("a", "camera:1", "camera:2", "camera:3") | held("b", "camera:4")
    plan = plan_free(units, leases, nodes("a", "b"))
    assert plan == {"camera:5": "b", "camera:6": "b"}


def test_dead_draining_and_control_nodes_get_nothing_and_expired_leases_are_free() -> None:
    n = nodes("a") | {"dead": Candidate("dead", alive=False, records=True),
                      "ctl": Candidate("ctl", alive=True, records=False),
                      "dr": Candidate("dr", alive=True, records=True, draining=True)}
    expired = {"camera:1": Lease("camera:1", "dead", 4, NOW, False)}
    assert plan_free(cams(2), expired, n) == {"camera:1": "a", "camera:2": "a"}


def test_max_cameras_is_respected_and_leftovers_wait() -> None:
    n = {"a": Candidate("a", True, True, max_cameras=2), "b": Candidate("b", True, True, max_cameras=1)}
    plan = plan_free(cams(5), {}, n)
    assert sorted(plan.values()) == ["a", "a", "b"] and len(plan) == 3


def test_pins_win_while_the_pinned_node_can_record() -> None:
    units = [Unit("camera:1", 1, (1,), "b"), Unit("camera:2", 1, (2,), "b"), Unit("camera:3", 1, (3,))]
    assert plan_free(units, {}, nodes("a", "b")) == {"camera:1": "b", "camera:2": "b", "camera:3": "a"}
    n = nodes("a") | {"b": Candidate("b", alive=False, records=True)}
    assert plan_free(units, {}, n) == {"camera:1": "a", "camera:2": "a", "camera:3": "a"}  # pin offline: recorded


def test_a_room_with_a_sound_source_is_one_unit_weighing_its_cameras() -> None:
    rows = [CameraRow(1, 10, True, None, None, True), CameraRow(2, 10, True, None, None, True),
            CameraRow(3, 10, False, None, None, True), CameraRow(4, 20, True, None, "b", False),
            CameraRow(5, 20, False, None, None, False)]
    units = group(rows)
    assert [(u.key, u.camera_ids, u.weight, u.pinned_node) for u in units] == [
        ("camera:4", (4,), 1, "b"), ("room:10", (1, 2), 2, None)]
    # The heavy unit goes first, to the emptiest node; the pinned camera to its pin.
    assert plan_free(units, {}, nodes("a", "b")) == {"room:10": "a", "camera:4": "b"}
    assert loads(units, held("a", "room:10")) == {"a": 2}


def test_balance_moves_one_unit_at_a_time_and_never_back() -> None:
    units = cams(4)
    leases = held("a", "camera:1", "camera:2", "camera:3", "camera:4")
    moves = plan_moves(units, leases, nodes("a", "b"), "a")
    assert [(m.target, m.why) for m in moves] == [("b", "balance"), ("b", "balance")]
    balanced = held("a", "camera:1", "camera:2") | held("b", "camera:3", "camera:4")
    assert plan_moves(units, balanced, nodes("a", "b"), "a") == []
    assert plan_moves(units, balanced, nodes("a", "b"), "b") == []
    off_by_one = held("a", "camera:1", "camera:2", "camera:3") | held("b", "camera:4")
    assert len(plan_moves(units, off_by_one, nodes("a", "b"), "a")) == 1
    assert plan_moves(cams(3), held("a", "camera:1", "camera:2") | held("b", "camera:3"),
                      nodes("a", "b"), "a") == []


def test_draining_hands_everything_over_within_the_concurrency_budget() -> None:
    units = cams(6)
    leases = held("a", *(u.key for u in units))
    n = nodes("b", "c") | {"a": Candidate("a", True, True, draining=True)}
    moves = plan_moves(units, leases, n, "a")
    assert len(moves) == MAX_HANDOVERS_PER_NODE and {m.why for m in moves} == {"draining"}
    assert {m.target for m in moves} == {"b", "c"}
    busy = held("a", *(u.key for u in units[:MAX_HANDOVERS_PER_NODE]), handover="requested") | held(
        "a", *(u.key for u in units[MAX_HANDOVERS_PER_NODE:]))
    assert plan_moves(units, busy, n, "a") == []


def test_a_pinned_unit_goes_home_when_its_node_returns() -> None:
    units = [Unit("camera:1", 1, (1,), "b"), Unit("camera:2", 1, (2,))]
    leases = held("a", "camera:1", "camera:2")
    moves = plan_moves(units, leases, nodes("a", "b"), "a")
    assert [(m.unit, m.target, m.why) for m in moves] == [("camera:1", "b", "pinned")]
    assert plan_moves(units, held("b", "camera:1"), nodes("a", "b"), "b") == []


def test_free_units_about_to_be_taken_count_against_balance() -> None:
    """b took its share first: it must not hand it to a and c, which are about to take theirs."""
    units = cams(6)
    leases = held("b", "camera:2", "camera:5")
    n = nodes("a", "b", "c")
    plan = plan_free(units, leases, n)
    assert sorted(plan.values()) == ["a", "a", "c", "c"]
    assert plan_moves(units, leases, n, "b", plan) == []
    assert plan_moves(units, leases, n, "b") != []  # without the plan it would have


def test_units_being_handed_over_count_for_their_target() -> None:
    units = cams(4)
    leases = {k: Lease(k, "a", 1, NOW, True, desired_holder="b", handover_state="requested")
              for k in ("camera:1", "camera:2")} | held("a", "camera:3", "camera:4")
    assert loads(units, leases) == {"a": 2, "b": 2}
    assert plan_moves(units, leases, nodes("a", "b"), "a") == []
    assert plan_moves(units, leases, nodes("a", "b"), "b") == []
