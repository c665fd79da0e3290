"""Tests for pysplinet.checkpointing: Revolve schedules replayed against toy bookkeeping.

No numerics: the replay tracks which state ``x_i`` the working state equals and which
snapshots are held, and checks the driver contract action by action. The binomial formula is
checked against a dynamic programme and, for tiny cases, an exhaustive search over all
schedules.
"""

import dataclasses
import heapq
import math

import numba
import numpy as np
import pytest

from pysplinet.checkpointing import (
    ACTION_TYPES,
    Action,
    Adjoint,
    Advance,
    Free,
    Restore,
    Schedule,
    Store,
    optimal_advances,
    repetition_number,
    revolve,
)

# ------------------------------------------------------------------------------------------
# Replay with toy bookkeeping
# ------------------------------------------------------------------------------------------

# The replay's own action codes, independent of the library's array codes.
STORE, RESTORE, FREE, ADVANCE, ADJOINT = range(5)
_CODE_OF = {Store: STORE, Restore: RESTORE, Free: FREE, Advance: ADVANCE, Adjoint: ADJOINT}
# library code -> replay code, through the classes the library says its codes stand for
_FROM_LIBRARY = np.array([_CODE_OF[cls] for cls in ACTION_TYPES], dtype=np.int64)

_ERRORS = {
    1: "unknown action",
    2: "step out of range",
    4: "Store of a step other than the working step",
    5: "Store of a snapshot already held",
    6: "more snapshots held than allowed",
    7: "Restore of a snapshot not held",
    8: "Free of a snapshot not held",
    9: "Advance not starting at the working step",
    10: "Advance not forward, or past the next adjoint step",
    11: "Adjoint out of order",
    12: "Adjoint while the working state is not its input state",
    13: "Adjoint while its own snapshot is still held (never freed)",
    14: "an action other than Restore right after an Adjoint",
    15: "schedule ends before the adjoint of layer 0",
}


def _replay(codes, first, second, n, s):
    """Replay actions; return (error, index, advances, peak held, most advances of a layer).

    ``error`` is 0 for a valid schedule, else a key of ``_ERRORS`` and ``index`` the
    offending action. Plain Python on NumPy arrays, also compiled by Numba below.
    """
    held = np.zeros(n, dtype=np.bool_)
    # reps_diff[i] - reps_diff[i - 1] ... : difference array of per-layer advance counts
    reps_diff = np.zeros(n + 1, dtype=np.int64)
    n_held = 0
    peak = 0
    work = 0  # the working state equals x_work; -1 means undefined
    next_adjoint = n - 1
    advances = 0
    after_adjoint = False
    for k in range(codes.shape[0]):
        c = codes[k]
        i = first[k]
        if c < 0 or c > 4:
            return 1, k, advances, peak, 0
        if i < 0 or i >= n:
            return 2, k, advances, peak, 0
        if after_adjoint and c != RESTORE:
            return 14, k, advances, peak, 0
        after_adjoint = False
        if c == STORE:
            if i != work:
                return 4, k, advances, peak, 0
            if held[i]:
                return 5, k, advances, peak, 0
            held[i] = True
            n_held += 1
            if n_held > s:
                return 6, k, advances, peak, 0
            peak = max(peak, n_held)
        elif c == RESTORE:
            if not held[i]:
                return 7, k, advances, peak, 0
            work = i
        elif c == FREE:
            if not held[i]:
                return 8, k, advances, peak, 0
            held[i] = False
            n_held -= 1
        elif c == ADVANCE:
            j = second[k]
            if work < 0 or i != work:
                return 9, k, advances, peak, 0
            if j <= i or j > next_adjoint:
                return 10, k, advances, peak, 0
            reps_diff[i] += 1
            reps_diff[j] -= 1
            advances += j - i
            work = j
        else:
            if i != next_adjoint:
                return 11, k, advances, peak, 0
            if work != i:
                return 12, k, advances, peak, 0
            if held[i]:
                return 13, k, advances, peak, 0
            next_adjoint -= 1
            work = -1
            after_adjoint = True
    if next_adjoint != -1:
        return 15, codes.shape[0], advances, peak, 0
    # Adjoint(k) found no snapshot of x_k held, and a Store only ever takes the working
    # state, which never passes the next adjoint step: nothing is left held at the end.
    return 0, -1, advances, peak, np.cumsum(reps_diff).max()


_replay_compiled = numba.njit(cache=False)(_replay)


def _rows_of(actions):
    """Replay arrays (codes, first, second) built from action objects."""
    rows = []
    for act in actions:
        assert isinstance(act, Action)
        if isinstance(act, Advance):
            rows.append((ADVANCE, act.start, act.stop))
        else:
            rows.append((_CODE_OF[type(act)], act.step, -1))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy()


def _replay_array(arr, n, s):
    """Compiled replay of the library's array form."""
    codes = _FROM_LIBRARY[arr[:, 0]]
    return _replay_compiled(codes, arr[:, 1].copy(), arr[:, 2].copy(), n, s)


def _assert_valid(result, n, s, actions=None):
    error, index, advances, peak, most = result
    if error:
        where = ""
        if actions is not None and 0 <= index < len(actions):
            lo = max(index - 3, 0)
            where = "; around it: " + ", ".join(str(a) for a in actions[lo : index + 2])
        pytest.fail(f"n={n}, s={s}: action {index}: {_ERRORS[error]}{where}")
    return advances, peak, most


def _check_objects(n, s):
    """Replay the action objects in plain Python; return (advances, peak, most)."""
    actions = list(revolve(n, s))
    result = _replay(*_rows_of(actions), n, s)
    return _assert_valid(result, n, s, actions)


# ------------------------------------------------------------------------------------------
# The replay itself catches broken schedules
# ------------------------------------------------------------------------------------------


def _replay_list(actions, n, s):
    return _replay(*_rows_of(actions), n, s)[0]


class TestReplayCatchesErrors:
    # A valid store-everything schedule for n = 3, s = 2, then broken copies of it.
    GOOD = [
        Store(0), Advance(0, 1), Store(1), Advance(1, 2), Adjoint(2),
        Restore(1), Free(1), Adjoint(1), Restore(0), Free(0), Adjoint(0),
    ]  # fmt: skip

    def test_good_is_valid(self):
        assert _replay_list(self.GOOD, 3, 2) == 0

    @pytest.mark.parametrize(
        ("edit", "error"),
        [
            (lambda a: a[:1] + [Restore(7)] + a[1:], 2),
            (lambda a: a[:2] + [Store(0)] + a[3:], 4),
            (lambda a: a[:3] + [Store(1)] + a[3:], 5),
            (lambda a: a[:1] + [Free(1)] + a[1:], 8),
            (lambda a: a[:7] + [Restore(1)] + a[7:], 7),
            (lambda a: [a[0], Advance(1, 2)] + a[2:], 9),
            (lambda a: [a[0], Advance(0, 3)] + a[2:], 10),
            (lambda a: a[:4] + [Adjoint(1)] + a[4:], 11),
            (lambda a: a[:2] + a[4:], 12),  # x_2 never reached
            (lambda a: a[:9] + a[10:], 13),  # x_0 never freed
            (lambda a: a[:5] + a[7:], 14),  # no Restore between two adjoints
            (lambda a: a[:-1], 15),
            (lambda a: a[:6] + [Restore(1)] + a[6:], 0),  # restoring twice is legal
        ],
    )
    def test_broken(self, edit, error):
        assert _replay_list(edit(list(self.GOOD)), 3, 2) == error

    def test_budget(self):
        assert _replay_list(self.GOOD, 3, 1) == 6

    def test_unknown_code(self):
        codes, first, second = _rows_of(self.GOOD)
        codes[3] = 7
        assert _replay(codes, first, second, 3, 2)[:2] == (1, 3)


# ------------------------------------------------------------------------------------------
# The formula
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "s", "t"),
    [
        (10, 1, 45),
        (10, 2, 20),
        (10, 3, 15),
        (100, 5, 316),
        (1000, 10, 3636),
        (10000, 20, 37976),
        (1, 1, 0),
        (2, 1, 1),
        (7, 6, 6),
        (7, 50, 6),
    ],
)
def test_optimal_advances_examples(n, s, t):
    assert optimal_advances(n, s) == t


def _dynamic_programme(n_max, s_max):
    """t[n][s]: fewest forward steps to reverse n steps with s snapshots, x_start held.

    One snapshot: restore the start before every adjoint step, n (n - 1) / 2 steps. More:
    advance m steps and store, reverse the right part with s - 1 snapshots, then the left
    part with s.
    """
    t = [[0] * (s_max + 1) for _ in range(n_max + 1)]
    for n in range(2, n_max + 1):
        t[n][1] = n * (n - 1) // 2
        for s in range(2, s_max + 1):
            t[n][s] = min(m + t[n - m][s - 1] + t[m][s] for m in range(1, n))
    return t


def test_formula_matches_dynamic_programme():
    n_max = 70
    t = _dynamic_programme(n_max, n_max + 2)
    for n in range(1, n_max + 1):
        for s in range(1, n_max + 3):
            assert optimal_advances(n, s) == t[n][s], (n, s)


def _exhaustive_optimum(n, s):
    """Fewest forward steps over every possible action sequence (Dijkstra on the states).

    A state is (next adjoint layer k, working step or -1, bit mask of held snapshots). Moves:
    store the working state, free or restore any snapshot, advance one step (cost 1, never
    past k), or run the adjoint of k when the working state is x_k (snapshots at k or later
    are useless after that and are dropped).
    """
    start = (n - 1, 0, 0)
    best = {start: 0}
    queue = [(0, start)]
    while queue:
        cost, state = heapq.heappop(queue)
        if cost > best[state]:
            continue
        k, work, mask = state
        if k < 0:
            return cost
        moves = []
        if work >= 0 and not mask >> work & 1 and bin(mask).count("1") < s:
            moves.append((0, (k, work, mask | 1 << work)))
        for j in range(k + 1):
            if mask >> j & 1:
                moves.append((0, (k, work, mask & ~(1 << j))))
                moves.append((0, (k, j, mask)))
        if 0 <= work < k:
            moves.append((1, (k, work + 1, mask)))
        if work == k:
            moves.append((0, (k - 1, -1, mask & ((1 << k) - 1))))
        for step_cost, nxt in moves:
            if cost + step_cost < best.get(nxt, math.inf):
                best[nxt] = cost + step_cost
                heapq.heappush(queue, (cost + step_cost, nxt))
    raise AssertionError("no schedule found")


@pytest.mark.parametrize("n", range(1, 8))
def test_formula_matches_exhaustive_search(n):
    for s in range(1, n + 2):
        assert optimal_advances(n, s) == _exhaustive_optimum(n, s), (n, s)


def test_repetition_number_is_smallest_binomial_bound():
    for n in range(1, 200):
        for s in range(1, 12):
            r = repetition_number(n, s)
            assert n <= math.comb(s + r, s)
            assert r == 0 or n > math.comb(s + r - 1, s)


def test_large_arguments_are_exact():
    # r = 2 for s = 10**6 and n = C(10**6 + 2, 2): t = 2 n - C(10**6 + 2, 10**6 + 1)
    s = 10**6
    n = math.comb(s + 2, 2)
    assert optimal_advances(n, s) == 2 * n - (s + 2)
    assert optimal_advances(10**7, 1) == 10**7 * (10**7 - 1) // 2


# ------------------------------------------------------------------------------------------
# Schedules
# ------------------------------------------------------------------------------------------


def test_every_schedule_up_to_300_steps_is_valid_and_optimal():
    for n in range(1, 301):
        for s in range(1, n + 1):
            result = _replay_array(revolve(n, s).to_array(), n, s)
            advances, peak, most = _assert_valid(result, n, s)
            assert advances == optimal_advances(n, s), (n, s)
            # every snapshot is put to use (never more than store-everything needs)
            assert peak == min(s, n - 1), (n, s)
            # no layer is advanced more often than the repetition number allows; fewer
            # would contradict the binomial bound
            assert most == repetition_number(n, s), (n, s)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 13, 40])
def test_action_objects_are_valid_and_match_the_array_form(n):
    for s in range(1, n + 3):
        schedule = revolve(n, s)
        advances, peak, _ = _check_objects(n, s)
        assert advances == optimal_advances(n, s) == schedule.n_advances
        assert peak == schedule.max_held <= s
        assert schedule.n_actions == len(list(schedule))
        codes, first, second = _rows_of(schedule)
        arr = schedule.to_array()
        assert np.array_equal(_FROM_LIBRARY[arr[:, 0]], codes)
        assert np.array_equal(arr[:, 1], first)
        assert np.array_equal(arr[:, 2], second)


@pytest.mark.parametrize(
    ("n", "s"), [(10**5, 10), (10**5, 50), (10**5, 2), (10**5, 1), (10**5, 400), (99_999, 10**6)]
)
def test_long_schedules(n, s):
    schedule = revolve(n, s)
    blocks = list(schedule.iter_arrays())
    # handed out in bounded pieces, not one array per schedule
    assert max(b.shape[0] for b in blocks) <= 10_000
    arr = np.concatenate(blocks)
    advances, peak, most = _assert_valid(_replay_array(arr, n, s), n, s)
    assert advances == optimal_advances(n, s) == schedule.n_advances
    assert peak == schedule.max_held <= s
    assert most == repetition_number(n, s)
    assert schedule.n_actions == arr.shape[0]


def test_long_schedule_objects():
    n, s = 30_000, 10
    advances, peak, _ = _check_objects(n, s)
    assert advances == optimal_advances(n, s)
    assert peak == s


def _store_everything(n):
    actions = [Store(0)]
    for i in range(1, n - 1):
        actions += [Advance(i - 1, i), Store(i)]
    if n > 1:
        actions.append(Advance(n - 2, n - 1))
    actions.append(Adjoint(n - 1))
    for i in range(n - 2, -1, -1):
        actions += [Restore(i), Free(i), Adjoint(i)]
    return actions if n > 1 else [Adjoint(0)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9, 100, 301])
def test_store_everything_when_snapshots_suffice(n):
    for s in {max(n - 1, 1), n, n + 1, 10 * n, 10**9}:
        schedule = revolve(n, s)
        assert list(schedule) == _store_everything(n), (n, s)
        assert schedule.n_advances == optimal_advances(n, s) == n - 1
        assert schedule.max_held == n - 1
        assert repetition_number(n, s) == (1 if n > 1 else 0)


def test_single_snapshot_restarts_from_x0():
    n = 5
    expected = [Store(0), Advance(0, 4), Adjoint(4)]
    for i in (3, 2, 1):
        expected += [Restore(0), Advance(0, i), Adjoint(i)]
    expected += [Restore(0), Free(0), Adjoint(0)]
    assert list(revolve(n, 1)) == expected


def test_two_snapshots_small_case():
    # n = 6, s = 2: r = 2, t = 2 * 6 - C(4, 3) = 8; split at min(C(3, 2), 6 - C(2, 1)) = 3
    expected = [
        Store(0), Advance(0, 3), Store(3), Advance(3, 5), Adjoint(5),
        Restore(3), Advance(3, 4), Adjoint(4), Restore(3), Free(3), Adjoint(3),
        Restore(0), Advance(0, 1), Store(1), Advance(1, 2), Adjoint(2),
        Restore(1), Free(1), Adjoint(1), Restore(0), Free(0), Adjoint(0),
    ]  # fmt: skip
    schedule = revolve(6, 2)
    assert list(schedule) == expected
    assert schedule.n_advances == 8


# ------------------------------------------------------------------------------------------
# Interface
# ------------------------------------------------------------------------------------------


def test_iteration_is_repeatable_and_lazy():
    schedule = revolve(50, 4)
    assert list(schedule) == list(schedule) == list(schedule.actions)
    # a long schedule starts at once: nothing is materialised up front
    first = next(iter(revolve(10**9, 30)))
    assert first == Store(0)


def test_numpy_integers_accepted():
    schedule = revolve(np.int64(10), np.int32(3))
    assert type(schedule.n_steps) is int and type(schedule.snapshots) is int
    assert schedule.n_advances == 15
    assert optimal_advances(np.uint16(100), np.int8(5)) == 316
    assert isinstance(schedule, Schedule)


@pytest.mark.parametrize("func", [revolve, optimal_advances, repetition_number, Schedule])
@pytest.mark.parametrize("bad", [0, -3, 2.0, 1.5, True, "3", None, np.float64(4.0)])
@pytest.mark.parametrize("position", [0, 1])
def test_bad_input(func, bad, position):
    args = [10, 3]
    args[position] = bad
    name = ("n_steps", "snapshots")[position]
    with pytest.raises(ValueError, match=f"`{name}` must be an integer >= 1") as info:
        func(*args)
    shown = str(int(bad)) if isinstance(bad, int) and not isinstance(bad, bool) else repr(bad)
    assert shown in str(info.value)


def test_actions_are_frozen_and_readable():
    assert str(Store(3)) == "store    x_3"
    assert str(Restore(3)) == "restore  x_3"
    assert str(Free(3)) == "free     x_3"
    assert str(Advance(2, 7)) == "advance  x_2 -> x_7"
    assert Advance(2, 7).n_steps == 5
    assert str(Adjoint(0)) == "adjoint  layer 0"
    with pytest.raises(dataclasses.FrozenInstanceError):
        Store(3).step = 4
    assert Store(3) == Store(3) and Store(3) != Restore(3)


def test_describe_short_and_truncated():
    short = revolve(6, 2)
    text = str(short)
    lines = text.splitlines()
    assert len(lines) == 1 + short.n_actions
    assert "6 steps, 2 snapshots" in lines[0] and "8 advances (optimum 8)" in lines[0]
    assert lines[1].split() == ["0", "store", "x_0"]
    assert lines[-1].split() == ["21", "adjoint", "layer", "0"]

    long = revolve(1000, 10)
    lines = long.describe(limit=10).splitlines()
    assert len(lines) == 1 + 10 + 1
    assert f"{long.n_actions - 10} actions left out" in lines[6]
    assert lines[1].split() == ["0", "store", "x_0"]
    assert lines[-1].split() == [str(long.n_actions - 1), "adjoint", "layer", "0"]
    assert repr(long) == "Schedule(n_steps=1000, snapshots=10)"
