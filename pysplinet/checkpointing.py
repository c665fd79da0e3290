r"""Binomial checkpointing (Revolve): the schedule of the checkpointed adjoint sweep.

The discrete adjoint of an N-layer network walks the layers backwards (eqs. 18-23), and layer
``i`` needs its input state ``x_i``. Keeping all N states costs N copies of the batch state.
Binomial checkpointing (Griewank and Walther, "Algorithm 799: revolve", ACM TOMS 26, 2000)
keeps at most ``s`` of them ("snapshots") and recomputes the others from the nearest snapshot,
with the fewest forward steps that any schedule with ``s`` snapshots can achieve.

This module only plans. :func:`revolve` returns a :class:`Schedule`, an iterable of actions
(:class:`Store`, :class:`Restore`, :class:`Free`, :class:`Advance`, :class:`Adjoint`) that an
adjoint driver executes in order; nothing here touches numerical state.

How the schedule is built
-------------------------
Reversing the steps ``[a, b)`` starts with the working state equal to ``x_a`` and a snapshot
holding ``x_a``. One snapshot is enough: restore ``x_a`` and advance to ``x_i`` before each
adjoint step ``i``, costing ``L (L - 1) / 2`` forward steps for ``L = b - a``. With ``s >= 2``
snapshots the range is split at ``a + m``: advance ``m`` steps, store ``x_{a+m}``, reverse
``[a + m, b)`` recursively with the ``s - 1`` snapshots left, then restore ``x_a`` and reverse
``[a, a + m)`` recursively with all ``s`` snapshots (the one at ``x_{a+m}`` has been freed).
The cost of the best schedule therefore obeys

    t(1, s) = 0,   t(L, 1) = L (L - 1) / 2,
    t(L, s) = min over 1 <= m < L of  m + t(L - m, s - 1) + t(m, s).

Why binomial, and what ``r`` counts: let ``beta(s, r)`` be the longest range that ``s``
snapshots can reverse when no step may be advanced more than ``r`` times. Splitting as above
gives ``beta(s, r) = beta(s - 1, r) + beta(s, r - 1)``: the right part has one snapshot fewer
but the same allowance, the left part keeps every snapshot but has already spent one advance
of each of its steps in the sweep to ``x_{a+m}``. With ``beta(s, 0) = 1`` (a single step
needs no advance) and ``beta(1, r) = r + 1`` (restarting from ``x_a``), this is Pascal's rule,
so ``beta(s, r) = C(s + r, s)``: the snapshots are spread over the range like binomial
coefficients. The repetition number ``r(L, s)``, the smallest ``r >= 0`` with
``L <= C(s + r, s)``, is therefore the least number of times that the most recomputed step
must be advanced: no schedule does with fewer, and the schedules built here advance no step
more often. Griewank and Walther prove the closed form of the minimum,

    t(L, s) = r L - C(s + r, s + 1),   r = r(L, s),

which exceeds ``t(L - 1, s)`` by exactly ``r(L, s)``; so ``t(L, s)`` is the sum of
``r(k, s)`` for ``k = 1..L`` and is convex in ``L``. Then the split cost
``f(m) = m + t(L - m, s - 1) + t(m, s)`` is convex in ``m`` too, its minimisers are the ``m``
where the slope ``f(m + 1) - f(m)`` changes sign, and :func:`_split` finds one in closed form
(no search). Applied recursively, the splits reproduce ``t(L, s)`` exactly. When
``s >= L - 1`` (``r <= 1``) the schedule stores every state but the last and recomputes
nothing.

Symbols
-------
==========  ===========================  ==================================================
symbol      identifier                   meaning
==========  ===========================  ==================================================
l, L        ``n_steps``, ``b - a``       number of steps to reverse (network layers)
s           ``snapshots``, ``snaps``     snapshots that may be held at once, ``x_a``'s included
r           ``repetition_number()``      repetition number: smallest r with L <= beta(s, r)
beta(s, r)  ``_beta(s, r)``              C(s + r, s), longest range reversible with s, r
t(l, s)     ``optimal_advances()``       minimal number of recomputed forward steps
l-hat, m    ``_split()``                 offset of the next snapshot inside the range
x_i         ``step`` in the actions      state entering layer i (x_0 input, x_N output)
==========  ===========================  ==================================================

Cost conventions: the adjoint of layer ``i`` evaluates layer ``i`` once more on ``x_i`` (this
is how the first adjoint step produces ``x_N``); those evaluations are not counted as advances.
Counted are only the forward steps taken by :class:`Advance` actions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import ClassVar

import numpy as np

__all__ = [
    "ACTION_TYPES",
    "Action",
    "Adjoint",
    "Advance",
    "Free",
    "Restore",
    "Schedule",
    "Store",
    "optimal_advances",
    "repetition_number",
    "revolve",
]

# Integer codes of the actions in the array form (first column of Schedule.to_array()).
_STORE, _RESTORE, _FREE, _ADVANCE, _ADJOINT = range(5)
_NO_STEP = -1  # second column of every action but Advance

# Actions are handed out in arrays of about _PIECE rows (fewer than 2 * _PIECE), so memory
# stays bounded; runs of at least _VECTOR_MIN repetitions of one pattern are built with NumPy.
_PIECE = 4096
_VECTOR_MIN = 16


# ------------------------------------------------------------------------------------------
# Actions
# ------------------------------------------------------------------------------------------


class Action:
    """Base class of the schedule actions; ``code`` is the action's integer code."""

    __slots__ = ()
    code: ClassVar[int]


@dataclass(frozen=True, slots=True)
class _SnapshotAction(Action):
    """An action on the snapshot of ``x_step``."""

    step: int
    _verb: ClassVar[str]

    def __str__(self) -> str:
        return f"{self._verb:<8} x_{self.step}"


@dataclass(frozen=True, slots=True)
class Store(_SnapshotAction):
    """Copy the working state, which equals ``x_step``, into a new snapshot."""

    code: ClassVar[int] = _STORE
    _verb: ClassVar[str] = "store"


@dataclass(frozen=True, slots=True)
class Restore(_SnapshotAction):
    """Copy the snapshot of ``x_step`` into the working state; the snapshot stays held."""

    code: ClassVar[int] = _RESTORE
    _verb: ClassVar[str] = "restore"


@dataclass(frozen=True, slots=True)
class Free(_SnapshotAction):
    """Release the snapshot of ``x_step``; the schedule never restores it again."""

    code: ClassVar[int] = _FREE
    _verb: ClassVar[str] = "free"


@dataclass(frozen=True, slots=True)
class Advance(Action):
    """Recompute: take the working state from ``x_start`` to ``x_stop``, storing nothing.

    Runs the ``stop - start`` forward steps of layers ``start, ..., stop - 1``; these are the
    steps counted by :attr:`Schedule.n_advances`.
    """

    start: int
    stop: int
    code: ClassVar[int] = _ADVANCE

    @property
    def n_steps(self) -> int:
        """Number of forward steps taken, ``stop - start``."""
        return self.stop - self.start

    def __str__(self) -> str:
        return f"advance  x_{self.start} -> x_{self.stop}"


@dataclass(frozen=True, slots=True)
class Adjoint(Action):
    """Adjoint step of layer ``step``; the working state must equal ``x_step``.

    The driver evaluates layer ``step`` on ``x_step`` once (for the first adjoint action, of
    the last layer, this also yields the network output ``x_N``) and propagates the adjoint
    back through it. Afterwards the working state is undefined: the next action is a
    :class:`Restore`, or the schedule has ended.
    """

    step: int
    code: ClassVar[int] = _ADJOINT

    def __str__(self) -> str:
        return f"adjoint  layer {self.step}"


#: The action classes indexed by their integer code (the first column of the array form).
ACTION_TYPES: tuple[type[Action], ...] = (Store, Restore, Free, Advance, Adjoint)


def _decode(code: int, first: int, second: int) -> Action:
    """The action object of one row of the array form."""
    if code == _ADVANCE:
        return Advance(first, second)
    return ACTION_TYPES[code](first)


# ------------------------------------------------------------------------------------------
# Binomial bounds
# ------------------------------------------------------------------------------------------


def _check_count(value: object, name: str) -> int:
    """Return ``value`` as a Python int, or raise ValueError unless it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"`{name}` must be an integer >= 1 (int or NumPy integer), "
            f"got {value!r} of type {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {int(value)}")
    return int(value)


def _beta(snaps: int, reps: int) -> int:
    """beta(s, r) = C(s + r, s): the longest range ``snaps`` snapshots reverse with ``reps``."""
    return math.comb(snaps + reps, snaps)


def _repetitions(n_steps: int, snaps: int) -> int:
    """Smallest r >= 0 with ``n_steps <= beta(snaps, r)`` (no input checks)."""
    if n_steps <= 1:
        return 0
    if snaps == 1:
        return n_steps - 1
    # Doubling, then bisection on the monotone beta(snaps, .).
    hi = 1
    while _beta(snaps, hi) < n_steps:
        hi *= 2
    lo = hi // 2  # beta(snaps, lo) < n_steps unless lo == 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _beta(snaps, mid) < n_steps:
            lo = mid
        else:
            hi = mid
    return hi if _beta(snaps, lo) < n_steps else lo


def _repetitions_below(n_steps: int, snaps: int, reps: int) -> int:
    """r(n_steps, snaps) found downwards from an upper bound ``reps`` (a close one)."""
    while reps > 0 and _beta(snaps, reps - 1) >= n_steps:
        reps -= 1
    return reps


def _optimal(n_steps: int, snaps: int) -> int:
    """t(l, s) = r l - C(s + r, s + 1) (no input checks)."""
    reps = _repetitions(n_steps, snaps)
    return reps * n_steps - math.comb(snaps + reps, snaps + 1)


def _split(length: int, snaps: int, reps: int) -> int:
    """Offset ``m`` of the next snapshot when reversing ``length`` steps with ``snaps``.

    Write ``L = length``, ``s = snaps`` and ``r = reps = r(L, s)``; requires ``s >= 2`` and
    ``r >= 2``. With ``f(m) = m + t(L - m, s - 1) + t(m, s)`` and
    ``t(L, s) - t(L - 1, s) = r(L, s)``, the slope
    ``f(m + 1) - f(m) = 1 + r(m + 1, s) - r(L - m, s - 1)`` grows with ``m``, so ``m`` is
    optimal when the slope is >= 0 at ``m`` and <= 0 at ``m - 1``. Both hold when

        r(m, s) <= r - 1 <= r(m + 1, s)   and   r(L - m, s - 1) <= r <= r(L - m + 1, s - 1),

    that is for ``max(beta(s, r-2), L - beta(s-1, r)) <= m <= min(beta(s, r-1),
    L - beta(s-1, r-1))``. Pascal's rule, ``beta(s, r-1) = beta(s, r-2) + beta(s-1, r-1)``,
    shows the range non-empty whenever ``beta(s, r-1) < L <= beta(s, r)``, and it lies in
    ``[1, L - 1]``. The largest such ``m`` is returned.
    """
    return min(_beta(snaps, reps - 1), length - _beta(snaps - 1, reps - 1))


def repetition_number(n_steps: int, snapshots: int) -> int:
    """Repetition number r: the smallest ``r >= 0`` with ``n_steps <= C(snapshots + r, r)``.

    No schedule with ``snapshots`` snapshots reverses ``n_steps`` steps advancing each step
    fewer than ``r`` times, and those of :func:`revolve` advance none more often; ``r <= 1``
    means store-everything (``snapshots >= n_steps - 1``).

    Parameters
    ----------
    n_steps : int
        Number of steps (layers) to reverse, >= 1.
    snapshots : int
        Number of snapshots that may be held at once, the one of ``x_0`` included, >= 1.

    Returns
    -------
    int
        The repetition number.

    Raises
    ------
    ValueError
        If an argument is not an integer >= 1.
    """
    n_steps = _check_count(n_steps, "n_steps")
    snapshots = _check_count(snapshots, "snapshots")
    return _repetitions(n_steps, snapshots)


def optimal_advances(n_steps: int, snapshots: int) -> int:
    """Fewest forward steps any schedule needs to reverse ``n_steps`` with ``snapshots``.

    The binomial optimum ``t(n, s) = r n - C(s + r, s + 1)`` with ``r`` the repetition number
    (:func:`repetition_number`). Layer evaluations inside the adjoint steps are not counted,
    so store-everything (``snapshots >= n_steps - 1``) costs ``n_steps - 1``.

    Parameters
    ----------
    n_steps : int
        Number of steps (layers) to reverse, >= 1.
    snapshots : int
        Number of snapshots that may be held at once, the one of ``x_0`` included, >= 1.

    Returns
    -------
    int
        ``t(n_steps, snapshots)``, an exact integer.

    Raises
    ------
    ValueError
        If an argument is not an integer >= 1.

    Examples
    --------
    >>> optimal_advances(10, 1), optimal_advances(10, 3), optimal_advances(1000, 10)
    (45, 15, 3636)
    """
    n_steps = _check_count(n_steps, "n_steps")
    snapshots = _check_count(snapshots, "snapshots")
    return _optimal(n_steps, snapshots)


# ------------------------------------------------------------------------------------------
# Array form of the actions
# ------------------------------------------------------------------------------------------


def _store_forward(i):
    """Store-everything, forward sweep: advance to ``x_i`` and store it."""
    return ((_ADVANCE, i - 1, i), (_STORE, i, _NO_STEP))


def _store_backward(i):
    """Store-everything, backward sweep: restore ``x_i`` for its last use, then layer i."""
    return ((_RESTORE, i, _NO_STEP), (_FREE, i, _NO_STEP), (_ADJOINT, i, _NO_STEP))


def _from_snapshot(a: int):
    """Single snapshot ``x_a``: restore it, advance to ``x_i``, then layer i."""

    def rows(i):
        return ((_RESTORE, a, _NO_STEP), (_ADVANCE, a, i), (_ADJOINT, i, _NO_STEP))

    return rows


class _RowBuffer:
    """Collects schedule rows ``(code, first, second)`` and hands them out as int64 arrays.

    Short runs are appended as Python tuples; runs of ``_VECTOR_MIN`` or more rows of one
    pattern are built with NumPy. :meth:`take` returns everything collected as one
    ``(k, 3)`` array; callers take once ``size >= _PIECE`` so that arrays stay small.
    """

    def __init__(self) -> None:
        self._rows: list[tuple[int, int, int]] = []
        self._arrays: list[np.ndarray] = []
        self.size = 0

    def add(self, *rows: tuple[int, int, int]) -> None:
        self._rows.extend(rows)
        self.size += len(rows)

    def repeat(self, pattern: Callable, indices: range) -> Iterator[np.ndarray]:
        """Append ``pattern(i)`` for ``i`` in ``indices``, yielding full arrays on the way.

        ``pattern`` maps an index to a tuple of (at most four) rows; it is called with Python
        ints or, for long runs, with an int64 array of up to ``_PIECE // 4`` indices.
        """
        if len(indices) < _VECTOR_MIN:
            self.add(*[row for i in indices for row in pattern(i)])
            return
        for lo in range(0, len(indices), _PIECE // 4):
            piece = indices[lo : lo + _PIECE // 4]
            i = np.arange(piece.start, piece.stop, piece.step, dtype=np.int64)
            rows = pattern(i)
            block = np.empty((i.size * len(rows), 3), dtype=np.int64)
            for j, row in enumerate(rows):
                for col in range(3):
                    block[j :: len(rows), col] = row[col]
            self._flush_rows()
            self._arrays.append(block)
            self.size += block.shape[0]
            if self.size >= _PIECE:
                yield self.take()

    def _flush_rows(self) -> None:
        if self._rows:
            self._arrays.append(np.array(self._rows, dtype=np.int64))
            self._rows = []

    def take(self) -> np.ndarray:
        """Everything collected so far as one ``(k, 3)`` int64 array; the buffer empties."""
        self._flush_rows()
        if len(self._arrays) == 1:
            out = self._arrays[0]
        else:
            out = np.concatenate(self._arrays, axis=0)
        self._arrays = []
        self.size = 0
        return out


def _store_all(buf: _RowBuffer, a: int, b: int) -> Iterator[np.ndarray]:
    """Reverse ``[a, b)`` (``b - a >= 2``) storing every state but ``x_{b-1}``."""
    yield from buf.repeat(_store_forward, range(a + 1, b - 1))
    buf.add((_ADVANCE, b - 2, b - 1), (_ADJOINT, b - 1, _NO_STEP))
    yield from buf.repeat(_store_backward, range(b - 2, a - 1, -1))


def _single_snapshot(buf: _RowBuffer, a: int, b: int) -> Iterator[np.ndarray]:
    """Reverse ``[a, b)`` (``b - a >= 2``) from the one snapshot ``x_a``."""
    buf.add((_ADVANCE, a, b - 1), (_ADJOINT, b - 1, _NO_STEP))
    yield from buf.repeat(_from_snapshot(a), range(b - 2, a, -1))
    buf.add((_RESTORE, a, _NO_STEP), (_FREE, a, _NO_STEP), (_ADJOINT, a, _NO_STEP))


def _schedule_arrays(n_steps: int, snaps: int) -> Iterator[np.ndarray]:
    """The schedule as consecutive ``(k, 3)`` int64 arrays of ``(code, first, second)`` rows.

    An explicit stack replaces the recursion over ranges, so its depth is at most about
    ``r + s`` entries. ``solve`` entries reverse ``[a, b)`` (``b - a >= 2``) entered with the
    working state ``x_a`` held in a snapshot; ``left`` entries first restore ``x_a``.
    """
    buf = _RowBuffer()
    if n_steps == 1:
        buf.add((_ADJOINT, 0, _NO_STEP))
        yield buf.take()
        return

    solve, left = 0, 1
    buf.add((_STORE, 0, _NO_STEP))
    stack = [(solve, 0, n_steps, snaps, _repetitions(n_steps, snaps))]
    while stack:
        if buf.size >= _PIECE:
            yield buf.take()
        kind, a, b, s, r = stack.pop()

        # back from the right part: restore x_a; a single step is the snapshot's last use
        if kind == left:
            buf.add((_RESTORE, a, _NO_STEP))
            if b - a == 1:
                buf.add((_FREE, a, _NO_STEP), (_ADJOINT, a, _NO_STEP))
                continue

        # ranges with a closed-form schedule
        if r <= 1:
            yield from _store_all(buf, a, b)
            continue
        if s == 1:
            yield from _single_snapshot(buf, a, b)
            continue

        # split at a + m: right part [a + m, b) first, with one snapshot fewer
        m = _split(b - a, s, r)
        buf.add((_ADVANCE, a, a + m))
        stack.append((left, a, a + m, s, _repetitions_below(m, s, r - 1)))
        if b - a - m == 1:
            buf.add((_ADJOINT, a + m, _NO_STEP))
        else:
            buf.add((_STORE, a + m, _NO_STEP))
            stack.append((solve, a + m, b, s - 1, _repetitions_below(b - a - m, s - 1, r)))

    if buf.size:
        yield buf.take()


# ------------------------------------------------------------------------------------------
# Schedule
# ------------------------------------------------------------------------------------------


class Schedule:
    """Optimal binomial checkpointing schedule for reversing ``n_steps`` with ``snapshots``.

    Normally obtained from :func:`revolve`. Iterating yields the actions in the order the
    driver executes them; they are generated lazily (memory grows with ``snapshots`` and
    the repetition number, not with ``n_steps``), and every iteration starts afresh.

    Parameters
    ----------
    n_steps : int
        Number of forward steps (layers) ``n >= 1``; states ``x_0 .. x_n``.
    snapshots : int
        Largest number of snapshots held at any time, the one of ``x_0`` included, ``>= 1``.
        Values above ``n_steps - 1`` are accepted and give the store-everything schedule.

    Attributes
    ----------
    n_steps : int
    snapshots : int
    repetitions : int
        Repetition number r (:func:`repetition_number`).
    optimal_advances : int
        The binomial optimum t(n, s) (:func:`optimal_advances`).

    Notes
    -----
    Contract with the driver. The working state equals ``x_0`` before the first action. The
    schedule stores ``x_0`` first (unless ``n_steps == 1``); :class:`Advance` starts at the
    working state; :class:`Adjoint` actions come exactly once per layer, in the order
    ``n - 1, ..., 0``, each on the state ``x_step``, and each is followed by a
    :class:`Restore` or by the end; every stored snapshot is released by a :class:`Free` as
    soon as it has been restored for the last time, so none is held at the end. At most
    ``snapshots`` snapshots are held at once, and no layer is advanced more than
    ``repetitions`` times.

    The statistics ``n_actions``, ``n_advances`` and ``max_held`` are counted on the
    generated actions (one pass over the array form, cached), not taken from the formula.
    """

    def __init__(self, n_steps: int, snapshots: int) -> None:
        self._n_steps = _check_count(n_steps, "n_steps")
        self._snapshots = _check_count(snapshots, "snapshots")

    @property
    def n_steps(self) -> int:
        """Number of forward steps (layers) reversed."""
        return self._n_steps

    @property
    def snapshots(self) -> int:
        """Largest number of snapshots the schedule may hold at once, ``x_0``'s included."""
        return self._snapshots

    @cached_property
    def repetitions(self) -> int:
        """Repetition number r: no layer is advanced more than r times."""
        return _repetitions(self._n_steps, self._snapshots)

    @cached_property
    def optimal_advances(self) -> int:
        """The binomial optimum t(n, s) that :attr:`n_advances` attains."""
        return _optimal(self._n_steps, self._snapshots)

    # -- the actions ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[Action]:
        for chunk in self.iter_arrays():
            # rows become Python objects a few hundred at a time, to keep memory small
            for start in range(0, len(chunk), 256):
                for code, first, second in chunk[start:start + 256].tolist():
                    yield _decode(code, first, second)

    @property
    def actions(self) -> Iterator[Action]:
        """A fresh lazy iterator over the actions (the same as ``iter(schedule)``)."""
        return iter(self)

    def iter_arrays(self) -> Iterator[np.ndarray]:
        """The actions as consecutive blocks in the array form of :meth:`to_array`.

        Each block is a ``(k, 3)`` int64 array of a few thousand rows at most; concatenated
        they give :meth:`to_array`. Suited to a compiled driver that should not hold the
        whole schedule at once.
        """
        return _schedule_arrays(self._n_steps, self._snapshots)

    def to_array(self) -> np.ndarray:
        """All actions as one ``(n_actions, 3)`` int64 array of rows ``(code, first, second)``.

        ``code`` indexes :data:`ACTION_TYPES` (0 Store, 1 Restore, 2 Free, 3 Advance,
        4 Adjoint); ``first`` is the action's ``step`` (``start`` for Advance); ``second`` is
        ``stop`` for Advance and -1 otherwise. Takes 24 bytes per action, about five actions
        per layer: for very long schedules prefer :meth:`iter_arrays`.
        """
        return np.concatenate(list(self.iter_arrays()), axis=0)

    # -- statistics ----------------------------------------------------------------------

    @cached_property
    def _stats(self) -> tuple[int, int, int]:
        """(n_actions, n_advances, max_held), counted on the generated actions."""
        n_actions = n_advances = held = peak = 0
        for chunk in self.iter_arrays():
            codes = chunk[:, 0]
            advance = chunk[codes == _ADVANCE]
            n_advances += int((advance[:, 2] - advance[:, 1]).sum())
            change = (codes == _STORE).astype(np.int64) - (codes == _FREE)
            running = held + np.cumsum(change)
            peak = max(peak, int(running.max()))
            held = int(running[-1])
            n_actions += chunk.shape[0]
        return n_actions, n_advances, peak

    @property
    def n_actions(self) -> int:
        """Number of actions in the schedule."""
        return self._stats[0]

    @property
    def n_advances(self) -> int:
        """Forward steps taken by the :class:`Advance` actions (equals t(n, s))."""
        return self._stats[1]

    @property
    def max_held(self) -> int:
        """Peak number of snapshots held at once (at most ``snapshots``)."""
        return self._stats[2]

    # -- text ----------------------------------------------------------------------------

    def describe(self, limit: int = 40) -> str:
        """A header with the statistics, then the numbered actions, one per line.

        Parameters
        ----------
        limit : int, default 40
            Longest list printed in full; a longer schedule shows its first
            ``(limit + 1) // 2`` and last ``limit // 2`` actions around a line saying how many
            were left out. The statistics in the header take one pass over the schedule.

        Returns
        -------
        str
        """
        limit = _check_count(limit, "limit")
        n_actions = self.n_actions
        lines = [
            f"Revolve schedule: {self._n_steps} steps, {self._snapshots} snapshots, "
            f"repetition number {self.repetitions}, {self.n_advances} advances "
            f"(optimum {self.optimal_advances}), peak {self.max_held} held, "
            f"{n_actions} actions"
        ]
        width = len(str(n_actions - 1))
        if n_actions <= limit:
            lines += [f"{k:>{width}}  {act}" for k, act in enumerate(self)]
            return "\n".join(lines)

        head = (limit + 1) // 2
        tail_count = limit - head
        lines += [f"{k:>{width}}  {act}" for k, act in enumerate(islice(self, head))]
        lines.append(f"{'':>{width}}  ... {n_actions - limit} actions left out ...")
        if tail_count:
            tail = np.empty((0, 3), dtype=np.int64)
            for chunk in self.iter_arrays():
                tail = np.concatenate((tail, chunk[-tail_count:]))[-tail_count:]
            first = n_actions - tail_count
            lines += [
                f"{first + k:>{width}}  {_decode(*row)}" for k, row in enumerate(tail.tolist())
            ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"Schedule(n_steps={self._n_steps}, snapshots={self._snapshots})"


def revolve(n_steps: int, snapshots: int) -> Schedule:
    """Optimal binomial checkpointing schedule (Revolve) for an adjoint sweep.

    Parameters
    ----------
    n_steps : int
        Number of forward steps (layers) ``n >= 1`` of ``x_{i+1} = F_i(x_i)``.
    snapshots : int
        Snapshots that may be held at once, the one of ``x_0`` included, ``>= 1``. Values
        ``>= n_steps - 1`` give store-everything (no recomputation); larger values are
        accepted.

    Returns
    -------
    Schedule
        Iterable of :class:`Store`, :class:`Restore`, :class:`Free`, :class:`Advance` and
        :class:`Adjoint` actions whose advances total :func:`optimal_advances`.

    Raises
    ------
    ValueError
        If an argument is not an integer >= 1 (bools and floats such as ``2.0`` are refused;
        NumPy integers are accepted).

    Examples
    --------
    >>> schedule = revolve(4, 2)
    >>> schedule.n_advances, schedule.max_held
    (4, 2)
    >>> [str(action) for action in schedule][:4]
    ['store    x_0', 'advance  x_0 -> x_2', 'store    x_2', 'advance  x_2 -> x_3']
    """
    return Schedule(n_steps, snapshots)
