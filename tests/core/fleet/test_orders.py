"""The engine's order book: what to record, the handover cut, and what the member hears back."""

from __future__ import annotations

from nvr_console.core.fleet.holdings import Holdings, Order
from nvr_console.core.fleet.orders import CUT_GRACE_S, READY_WAIT_S, OrderBook
from nvr_console.core.status import CameraState

T = 1_000_000.0


def book(*orders: Order) -> OrderBook:
    b = OrderBook()
    b.update(Holdings("me", {o.unit: o for o in orders}), T)
    return b


def test_held_and_standby_units_record_and_others_do_not() -> None:
    b = book(Order("camera:1", (1,), 10, 3), Order("room:20", (2, 3), 20, None))
    assert b.should_record(1, T) and b.should_record(2, T) and b.should_record(3, T)
    assert not b.should_record(4, T)
    assert b.token(1) == 3 and b.token(2) is None and b.token(4) is None


def test_a_handover_source_stops_at_its_first_cut_after_the_boundary() -> None:
    b = book(Order("camera:1", (1,), 10, 3, stop_after=T + 10))
    assert not b.segment_opened(1, T + 5)  # an ordinary cut before the boundary
    assert b.should_record(1, T + 10.5)
    assert b.segment_opened(1, T + 10.0 - 0.2)  # the cut at the boundary (names have 1 s resolution)
    assert not b.should_record(1, T + 10.3)


def test_without_a_cut_it_stops_after_the_grace_and_an_immediate_handover_at_once() -> None:
    b = book(Order("camera:1", (1,), 10, 3, stop_after=T + 10), Order("camera:2", (2,), 10, None, T + 1, False))
    assert b.should_record(1, T + 10 + CUT_GRACE_S - 0.1) and not b.should_record(1, T + 10 + CUT_GRACE_S)
    assert b.should_record(2, T + 0.9) and not b.should_record(2, T + 1)
    assert not b.segment_opened(2, T + 5)  # immediate: cuts do not matter


def test_a_unit_handed_out_and_straight_back_in_records_again() -> None:
    b = book(Order("camera:1", (1,), 10, 3, stop_after=T + 10))
    assert b.segment_opened(1, T + 10) and not b.should_record(1, T + 10.5)
    # Before the member dropped the finished source order, another node asked this one to take the unit back.
    b.update(Holdings("me", {"camera:1": Order("camera:1", (1,), 10, None)}), T + 11)
    assert b.should_record(1, T + 11)


def test_a_piece_finished_after_its_order_is_gone_keeps_the_last_token_held() -> None:
    b = book(Order("camera:1", (1,), 10, 3), Order("camera:2", (2,), 10, None))
    b.update(Holdings("me", {}), T + 1)  # released at a stop, or lost
    assert b.token(1) == 3 and b.token(2) is None and not b.should_record(1, T + 1)


def test_the_member_hears_when_a_unit_writes_and_when_it_stopped() -> None:
    b = book(Order("room:20", (2, 3), 20, None))
    b.camera_state(2, CameraState.RECORDING)
    b.camera_state(3, CameraState.STARTING)
    assert b.changes(T + 1, {2, 3}) == ([], [])
    b.camera_state(3, CameraState.RECORDING)
    assert b.changes(T + 2, {2, 3}) == (["room:20"], [])
    assert b.changes(T + 3, {2, 3}) == ([], [])  # once
    assert b.changes(T + 4, set()) == ([], ["room:20"])


def test_a_camera_that_cannot_record_does_not_hold_its_room_back_for_ever() -> None:
    b = book(Order("room:20", (2, 3), 20, None))
    b.camera_state(2, CameraState.RECORDING)
    b.camera_state(3, CameraState.RECONNECTING)
    assert b.changes(T + READY_WAIT_S - 1, {2, 3}) == ([], [])
    assert b.changes(T + READY_WAIT_S, {2, 3}) == (["room:20"], [])


def test_orders_that_go_away_are_forgotten() -> None:
    b = book(Order("camera:1", (1,), 10, 3, stop_after=T))
    b.segment_opened(1, T)
    b.update(Holdings("me", {}), T + 1)
    assert not b.should_record(1, T + 1)
    b.update(Holdings("me", {"camera:1": Order("camera:1", (1,), 10, 5)}), T + 2)
    assert b.should_record(1, T + 2)  # held again later: the old cut does not linger
