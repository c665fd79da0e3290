"""Running the sweeps: store-everything, or driven by a checkpoint schedule.

A back end advances a batch of states over a range of layers, runs the adjoint over a
range of layers, and evaluates the head (closing layer and loss, :class:`Head`) with its
adjoint. Two back ends share that interface: :class:`NumbaSweeps` (compiled,
:mod:`pysplinet.kernels`) and :class:`NumpySweeps` (:mod:`pysplinet.reference`).
:func:`sweep_value_and_grad` runs forward sweep, head and adjoint sweep on either,
storing every state or recomputing states from a few snapshots (:mod:`.checkpointing`).

Both ways call the same per-layer code in the same order, so they give the same bits. A
large batch is cut into fixed pieces that may run on several threads; the pieces and the
order in which their gradients are added never depend on the number of threads. The
compiled back end also runs a whole store-everything evaluation, all pieces one after
another, in one call (:mod:`pysplinet.kernels.evaluate`), with the same bits again.
"""

import contextlib
import functools
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba.core import config as numba_config
from threadpoolctl import ThreadpoolController

from . import reference
from .losses import loss_value_and_grad
from .checkpointing import Adjoint, Advance, Free, Restore, Store, revolve

__all__ = ["SweepSpec", "Head", "NumbaSweeps", "NumpySweeps", "sweep_value_and_grad",
           "snapshots_for"]


@dataclass(frozen=True)
class SweepSpec:
    """What the sweeps need besides the coefficients: the discretised ODE.

    Attributes
    ----------
    operator : Operator
    activation : str
    activation_id : int
    first, weights : ndarray
        The control table (int64 (N,), float64 (N, d+1)).
    h : float
        Step size.
    """

    operator: object
    activation: str
    activation_id: int
    first: np.ndarray
    weights: np.ndarray
    h: float

    @property
    def n_layers(self):
        return self.first.shape[0]


class Head(NamedTuple):
    """The closing layer and the loss that follow the last layer (eq. 17).

    Attributes
    ----------
    closing : {"mean", "identity", "dense"}
    loss : {"mse", "cross_entropy"}
    Wo, bo : ndarray
        The dense closing's weights (k, m) and bias (k,); empty for the other closings.
    y : ndarray
        Targets (B, k) of the mean squared error; empty (0, 0) for the cross-entropy.
    labels : ndarray
        Integer class labels (B,) of the cross-entropy; empty for the mean squared error.
    """

    closing: str
    loss: str
    Wo: np.ndarray
    bo: np.ndarray
    y: np.ndarray
    labels: np.ndarray

    @property
    def targets(self):
        """What the loss compares the output with: ``labels`` or ``y``."""
        return self.labels if self.loss == "cross_entropy" else self.y


_CLOSING_IDS = {"mean": 0, "identity": 1, "dense": 2}
_LOSS_IDS = {"mse": 0, "cross_entropy": 1}


# an empty scratch buffer: the compiled evaluation then allocates its own
_NO_SCRATCH = np.empty(0)


class _Buffers:
    """Reuse of the large state buffers between calls.

    A store-everything sweep writes N + 1 states; memory freshly taken from the system
    costs a page fault per page on first touch, which for a mid-sized network is as much
    as the sweep itself. Buffers of at most :attr:`limit` bytes are kept for the next
    call (thread-safe: each buffer is lent to one caller at a time); larger ones are
    left to the allocator.
    """

    limit = 64 * 2**20
    #: below this many bytes the allocator's own free lists are as fast
    small = 2**16

    def __init__(self):
        self._free = {}
        self._lock = threading.Lock()

    def take(self, shape):
        if math.prod(shape) * 8 < self.small:
            return np.empty(shape)
        with self._lock:
            stack = self._free.get(shape)
            if stack:
                return stack.pop()
        return np.empty(shape)

    def give(self, array):
        if array is not None and self.small <= array.nbytes <= self.limit:
            with self._lock:
                self._free.setdefault(array.shape, []).append(array)


class _OneBlasThread:
    """A context in which every BLAS library of the process runs on one thread.

    The compiled sweeps of a wide dense network make three matrix products per layer in
    BLAS, each a few hundred microseconds; BLAS would spread each one over its threads
    and wake and synchronise them once per product, which on a 2-core machine made the
    sweeps two to four times slower (and under load much slower still) than one thread.
    Instead BLAS runs on one thread while such sweeps run, and the pieces of the batch are
    the one layer of threads (:func:`threads_for`). Reference-counted, so that sweeps on
    several threads share one limit, and the limits found are restored when the last one
    ends.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._users = 0
        self._controller = None
        self._limiter = None

    def __enter__(self):
        with self._lock:
            if self._users == 0:
                if self._controller is None:
                    # the BLAS the kernels' products call: loaded before the libraries
                    # are looked up
                    import scipy.linalg.cython_blas  # noqa: F401
                    self._controller = ThreadpoolController()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._users += 1
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._limiter.restore_original_limits()
                self._limiter = None


_ONE_BLAS_THREAD = _OneBlasThread()


class NumpySweeps:
    """Reference back end: :mod:`pysplinet.reference`.

    Its adjoint evaluates every layer again on its stored state, as the equations read.
    """

    name = "numpy"
    keeps_values = False
    #: the reference's products run as the caller's NumPy is set up
    blas_scope = contextlib.nullcontext()

    def __init__(self, spec):
        self.spec = spec
        self.buffers = _Buffers()

    def forward(self, Wc, bc, lam, X, i_start, i_stop, states=None, values=None):
        reference.forward(self.spec, Wc, bc, lam, X, i_start, i_stop, states)

    def adjoint(self, Wc, bc, lam, states, values, offset, i_start, i_stop, Z, gW, gb,
                glam):
        reference.adjoint(self.spec, Wc, bc, lam, states, offset, i_start, i_stop,
                          Z, gW, gb, glam)

    @staticmethod
    def close(head, X):
        """The network output of the final states ``X``."""
        return reference.close(head.closing, head.Wo, head.bo, X)

    @staticmethod
    def output_loss(head, O):
        """The loss of network outputs ``O``."""
        return loss_value_and_grad(head.loss, O, head.targets)[0]

    @staticmethod
    def head_piece(head, piece, X, batch):
        """``(z_N, partial)`` of the samples ``piece`` (a slice of the batch of ``batch``
        samples) with final states ``X``; :meth:`head_sums` adds up the partials."""
        O = reference.close(head.closing, head.Wo, head.bo, X)
        value, go = loss_value_and_grad(head.loss, O, head.targets[piece], batch)
        Z, gWo, gbo = reference.close_adjoint(head.closing, head.Wo, X, go)
        return Z, (value, gWo, gbo)

    @staticmethod
    def head_sums(head, partials, batch):
        """``(loss, gWo, gbo)`` from the pieces' partials, added in piece order; the
        closing's gradients are None unless it is dense."""
        value, gWo, gbo = partials[0]
        for more in partials[1:]:
            value += more[0]
            if gWo is not None:
                gWo = gWo + more[1]
                gbo = gbo + more[2]
        return value, gWo, gbo


class NumbaSweeps:
    """Compiled back end: each call runs its whole range of layers inside one kernel.

    A store-everything sweep also keeps each layer's activation values sigma(a_i), so the
    adjoint needs no second evaluation of the layers (twice the memory of the states).
    """

    name = "numba"
    keeps_values = True

    def __init__(self, spec):
        # compiled (or loaded from cache) on first use
        from .kernels import euler, evaluate, head, operators
        self._euler = euler
        self._evaluate = evaluate
        self._head = head
        self.spec = spec
        self.buffers = _Buffers()
        op = spec.operator
        # a narrow dense state gets kernels compiled for its width (see fixed_width)
        fixed = operators.fixed_width(op.width) if op.matrix_products else ()
        self._op = (op.kernel_id, op.geometry, float(op.gamma), spec.activation_id, fixed)
        #: entered around every compiled call: one BLAS thread when the products go to BLAS
        self.blas_scope = (_ONE_BLAS_THREAD if op.matrix_products and op.width >= WIDE
                           else contextlib.nullcontext())

    @staticmethod
    def _flat(a):
        return a.reshape(a.shape[0], -1)

    def forward(self, Wc, bc, lam, X, i_start, i_stop, states=None, values=None):
        s = self.spec
        empty = np.empty((0,) + X.shape)
        with self.blas_scope:
            self._euler.euler_forward(*self._op, self._flat(Wc), bc, s.first, s.weights,
                                      s.h, float(lam), i_start, i_stop, X,
                                      empty if states is None else states,
                                      empty if values is None else values)

    def adjoint(self, Wc, bc, lam, states, values, offset, i_start, i_stop, Z, gW, gb,
                glam):
        s = self.spec
        with self.blas_scope:
            self._euler.euler_adjoint(*self._op, self._flat(Wc), bc, s.first, s.weights,
                                      s.h, float(lam), i_start, i_stop, states,
                                      np.empty((0,) + Z.shape) if values is None else values,
                                      offset, Z, self._flat(gW), gb, glam)

    def close(self, head, X):
        """The network output of the final states ``X``."""
        O = np.empty((X.shape[0], self._n_outputs(head, X)))
        self._head.close(_CLOSING_IDS[head.closing], head.Wo, head.bo, X, O)
        return O

    def output_loss(self, head, O):
        """The loss of network outputs ``O``."""
        return self._head.loss_value_and_grad(_LOSS_IDS[head.loss], O, head.y, head.labels,
                                              np.empty(O.shape))

    @staticmethod
    def _n_outputs(head, X):
        if head.closing == "dense":
            return head.Wo.shape[0]
        return 1 if head.closing == "mean" else X.shape[1]

    def head_piece(self, head, piece, X, batch):
        """``(z_N, partial)`` of the samples ``piece`` (a slice of the batch of ``batch``
        samples) with final states ``X``: the head without its sums over samples
        (:func:`pysplinet.kernels.head.head_piece`); :meth:`head_sums` adds them up."""
        n, k = X.shape[0], self._n_outputs(head, X)
        loss = _LOSS_IDS[head.loss]
        Z, G = np.empty(X.shape), np.empty((n, k))
        T = np.empty(self._head.term_shape(loss, n, k))
        self._head.head_piece(_CLOSING_IDS[head.closing], loss, head.Wo, head.bo,
                              head.y[piece], head.labels[piece], X, Z, G, T, 1.0 / batch)
        return Z, (X, G, T)

    def head_sums(self, head, partials, batch):
        """``(loss, gWo, gbo)`` from the pieces' partials, summed sample after sample in
        piece order: the bits of the whole batch at once. The closing's gradients are
        None unless it is dense."""
        dense = head.closing == "dense"
        gWo = np.zeros(head.Wo.shape) if dense else head.Wo
        gbo = np.zeros(head.bo.shape) if dense else head.bo
        acc = 0.0
        for X, G, T in partials:
            acc = self._head.head_sums(_CLOSING_IDS[head.closing], X, G, T, gWo, gbo, acc)
        value = self._head.loss_finish(_LOSS_IDS[head.loss], acc, 1.0 / batch)
        return (value, gWo, gbo) if dense else (value, None, None)

    def value_and_grad_stored(self, Wc, bc, lam, x0, head, piece):
        """Store-everything evaluation of all pieces of ``piece`` samples in one compiled
        call (:func:`pysplinet.kernels.evaluate.value_and_grad_stored`); same results as
        :func:`sweep_value_and_grad` with ``snapshots=None``."""
        s = self.spec
        n = s.n_layers
        size = min(piece, x0.shape[0]) * x0.shape[1]      # one piece's states at a time
        if (n + 1) * size * 8 < self.buffers.small:
            state_buf = value_buf = _NO_SCRATCH                # the kernel allocates it
        else:
            state_buf = self.buffers.take(((n + 1) * size,))
            value_buf = self.buffers.take((n * size,))
        gW, gb, glam = np.empty(Wc.shape), np.empty(bc.shape), np.empty(1)
        dense = head.closing == "dense"
        # a closing other than dense has no gradients: its empty arrays stand in
        gWo = np.empty(head.Wo.shape) if dense else head.Wo
        gbo = np.empty(head.bo.shape) if dense else head.bo
        z0 = np.empty(x0.shape)
        with self.blas_scope:
            value = self._evaluate.value_and_grad_stored(
                *self._op, self._flat(Wc), bc, s.first, s.weights, s.h, float(lam), x0,
                piece, _CLOSING_IDS[head.closing], _LOSS_IDS[head.loss], head.Wo, head.bo,
                head.y, head.labels, state_buf, value_buf, self._flat(gW), gb, glam, gWo,
                gbo, z0)
        if state_buf is not _NO_SCRATCH:
            self.buffers.give(state_buf)
            self.buffers.give(value_buf)
        if not dense:
            gWo = gbo = None
        return value, gW, gb, glam[0], z0, gWo, gbo


def snapshots_for(checkpoints, memory_budget, n_layers, state_bytes):
    """The number of snapshots to keep, or None for store-everything.

    Parameters
    ----------
    checkpoints : None, int or "auto"
        None stores every state. An integer ``s >= 1`` keeps at most ``s`` snapshots
        (the input state counted). ``"auto"`` uses ``memory_budget`` when one is given,
        and otherwise the fewest snapshots for which the binomial schedule recomputes
        each state at most twice (``n <= (s+1)(s+2)/2``), about ``sqrt(2 n)``.
    memory_budget : None or int
        Bytes for the snapshots plus the working state (the adjoint state and the
        gradients are not counted: their size does not depend on the schedule). Picks the
        largest ``s`` that fits; must allow at least two states.
    """
    if memory_budget is not None:
        if (isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, np.integer))
                or memory_budget < 2 * state_bytes):
            raise ValueError(
                f"`memory_budget` must be an integer number of bytes of at least two states "
                f"({2 * state_bytes} bytes here), got {memory_budget!r}")
        if checkpoints not in (None, "auto"):
            raise ValueError(f"give either `checkpoints` or `memory_budget`, not both "
                             f"(got checkpoints={checkpoints!r})")
        return int(memory_budget // state_bytes) - 1
    if checkpoints is None:
        return None
    if isinstance(checkpoints, str) and checkpoints == "auto":
        s = 1
        while (s + 1) * (s + 2) // 2 < n_layers:
            s += 1
        return s
    if isinstance(checkpoints, bool) or not isinstance(checkpoints, (int, np.integer)):
        raise ValueError(f"`checkpoints` must be None, 'auto' or an integer >= 1, "
                         f"got {checkpoints!r}")
    if checkpoints < 1:
        raise ValueError(f"`checkpoints` must be None, 'auto' or an integer >= 1, "
                         f"got {checkpoints!r}")
    return int(checkpoints)


#: samples per piece of the batch, and per piece of a wide matrix-product network (see
#: :func:`piece_size`); pieces run independently (in parallel when threads > 1) and their
#: gradients are added in piece order, so results never depend on the threads
PIECE, WIDE_PIECE = 32, 128
#: the width from which the dense products go to BLAS
WIDE = 32
#: states narrower than this get pieces of at least :data:`NARROW_ENTRIES` entries
NARROW, NARROW_ENTRIES = 8, 1024


def piece_size(operator, width):
    """Samples per piece of the batch.

    :data:`WIDE_PIECE` when the operator runs as BLAS matrix products (dense or
    antisymmetric, width at least :data:`WIDE`), whose speed grows with the length of the
    products. For a state narrower than :data:`NARROW`, enough samples for
    :data:`NARROW_ENTRIES` entries: each piece pays per layer for gathering the layer's
    weights and setting up its loops, which on 32 samples of a few entries costs as much
    as the arithmetic (pieces of 200 samples make the peaks network, width 5, a quarter
    faster per sample). Else :data:`PIECE`. Depends on the network alone, never on the
    number of threads.
    """
    if operator.matrix_products and width >= WIDE:
        return WIDE_PIECE
    if width < NARROW:
        return max(PIECE, -(-NARROW_ENTRIES // width))
    return PIECE


def _store_everything(sweeps, Wc, bc, lam, x0, gW, gb, glam):
    """Driver: forward sweep storing every state, then the adjoint sweep.

    A generator: it yields ``x_N``, is sent ``z_N``, and returns ``z_0``.
    """
    n = sweeps.spec.n_layers
    states = sweeps.buffers.take((n + 1,) + x0.shape)
    values = sweeps.buffers.take((n,) + x0.shape) if sweeps.keeps_values else None
    X = x0.copy()
    sweeps.forward(Wc, bc, lam, X, 0, n, states, values)
    Z = yield states[n].copy()
    sweeps.adjoint(Wc, bc, lam, states, values, 0, 0, n, Z, gW, gb, glam)
    sweeps.buffers.give(states)
    sweeps.buffers.give(values)
    return Z


def _checkpointed(sweeps, Wc, bc, lam, x0, gW, gb, glam, snapshots):
    """Driver: the actions of the binomial checkpoint schedule (:func:`revolve`).

    A generator with the same protocol as :func:`_store_everything`.
    """
    n = sweeps.spec.n_layers
    held = {}
    X = x0.copy()
    step = 0                         # the layer index the working state X belongs to
    Z = None
    for action in revolve(n, snapshots):
        if isinstance(action, Store):
            held[action.step] = X.copy()
        elif isinstance(action, Restore):
            X[:] = held[action.step]
            step = action.step
        elif isinstance(action, Free):
            del held[action.step]
        elif isinstance(action, Advance):
            sweeps.forward(Wc, bc, lam, X, action.start, action.stop)
            step = action.stop
        elif isinstance(action, Adjoint):
            i = action.step
            if step != i:
                raise RuntimeError(f"checkpoint schedule asked for the adjoint of layer {i} "
                                   f"while the working state is x_{step}")
            if Z is None:
                # the last layer: evaluate it once more to reach x_N, then eq. 17
                x_n = X.copy()
                sweeps.forward(Wc, bc, lam, x_n, i, i + 1)
                Z = yield x_n
            sweeps.adjoint(Wc, bc, lam, X[np.newaxis], None, i, i, i + 1, Z, gW, gb, glam)
            step = -1                # the adjoint leaves the working state undefined
    return Z


def _finish(driver, z_n):
    try:
        driver.send(z_n)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("an adjoint driver did not finish after receiving z_N")


@functools.lru_cache(maxsize=None)
def _pool(threads):
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pysplinet")


def default_threads():
    """Threads for the pieces of a batch: Numba's thread count (``NUMBA_NUM_THREADS``)."""
    return max(1, int(numba_config.NUMBA_NUM_THREADS))


#: the least work per piece (samples x width x layers) for which running the pieces on
#: threads of their own pays for handing them over; below it the pieces run one after
#: another in one compiled call
PARALLEL_WORK = 200_000


def threads_for(spec, batch, width, threads=None):
    """The number of threads that run the pieces of a batch.

    An explicit ``threads`` is obeyed (up to the number of pieces). By default the pieces
    run on :func:`default_threads` threads when each piece is long enough to pay for the
    hand-off (:data:`PARALLEL_WORK`), otherwise on one. (Products in BLAS run on one
    thread inside the sweeps, see :class:`_OneBlasThread`.) The results are the same bits
    either way.
    """
    piece = piece_size(spec.operator, width)
    pieces = -(-batch // piece)
    if threads is None:
        if piece * width * spec.n_layers < PARALLEL_WORK:
            return 1
        threads = default_threads()
    return max(1, min(threads, pieces))


def sweep_value_and_grad(sweeps, Wc, bc, lam, x0, head, snapshots=None, threads=None):
    """Loss and gradients of the ODE part of a network and its head.

    The batch is cut into pieces of :func:`piece_size` samples. Each piece runs on its own
    (the compiled kernels release the GIL, so pieces run in parallel on ``threads``
    threads): its forward sweep, the closing layer and loss on its samples (each sample's
    ``dloss/dx_N`` depends on that sample alone), its adjoint sweep. Then the loss terms
    and the closing's gradients are summed sample after sample, and the pieces' gradients
    added in piece order, so the result is the same bits for any number of threads and as
    if the head had seen the whole batch at once. When all states are stored and the
    pieces run one after another, a back end that can (:class:`NumbaSweeps`) does all of
    it in one compiled call.

    Parameters
    ----------
    sweeps : NumbaSweeps or NumpySweeps
    Wc, bc : ndarray
        Coefficient sets, (K, *coef_shape) and (K, m).
    lam : float
        Time scale.
    x0 : ndarray, (B, m)
        Initial state (after the opening layer); not modified.
    head : Head
        The closing layer and loss (eq. 17).
    snapshots : None or int
        None stores all states; an integer runs the binomial checkpoint schedule.
    threads : int, optional
        Threads for the pieces; by default as :func:`threads_for` decides.

    Returns
    -------
    loss, gW, gb, glam, z0, gWo, gbo
        ``gWo``, ``gbo``: the closing's gradients, None unless it is dense.
    """
    batch = x0.shape[0]
    piece = piece_size(sweeps.spec.operator, x0.shape[1])
    one_call = snapshots is None and hasattr(sweeps, "value_and_grad_stored")
    if one_call and batch <= piece:
        return sweeps.value_and_grad_stored(Wc, bc, lam, x0, head, piece)
    threads = threads_for(sweeps.spec, batch, x0.shape[1], threads)
    if one_call and threads == 1:
        return sweeps.value_and_grad_stored(Wc, bc, lam, x0, head, piece)

    pieces = [slice(a, min(a + piece, batch)) for a in range(0, batch, piece)]
    grads = [(np.zeros_like(Wc), np.zeros_like(bc), np.zeros(1)) for _ in pieces]
    if snapshots is None:
        drivers = [_store_everything(sweeps, Wc, bc, lam, x0[p], *g)
                   for p, g in zip(pieces, grads)]
    else:
        drivers = [_checkpointed(sweeps, Wc, bc, lam, x0[p], *g, snapshots)
                   for p, g in zip(pieces, grads)]
    if threads > 1 and len(pieces) > 1:
        run = _pool(min(threads, len(pieces))).map
    else:
        run = map

    # each piece on its own: forward sweep to x_N, the head on the piece (all but its sums
    # over samples, which need the pieces in order), adjoint sweep; only the pieces that
    # are running hold their states
    def run_piece(driver, part):
        Z, partial = sweeps.head_piece(head, part, next(driver), batch)
        return _finish(driver, Z), partial

    with sweeps.blas_scope:          # one limit for all the pieces' calls
        done = list(run(run_piece, drivers, pieces))
    loss, gWo, gbo = sweeps.head_sums(head, [partial for _, partial in done], batch)
    z0 = done[0][0] if len(done) == 1 else np.concatenate([z for z, _ in done])

    gW, gb, glam = grads[0]
    for more in grads[1:]:
        gW += more[0]
        gb += more[1]
        glam += more[2]
    return loss, gW, gb, glam[0], z0, gWo, gbo
