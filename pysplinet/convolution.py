"""Convolutional operators K(theta) of the right-hand side ``sigma(K(theta) x + b)``.

The paper lets ``W(t)`` be "a dense parameterized matrix or a convolution operation"
(section 1); here the convolution is one kernel per coefficient set, spline-interpolated
across layers like a dense weight (eqs. 7, 14), while the bias stays a full vector of the
state's length.

Convention
----------
Cross-correlation (the kernel is not flipped), stride 1, zero "same" padding with an odd
kernel size ``k`` (``h = k // 2`` zeros on each side), C channels in and C channels out.
A state of one sample is a tensor ``x`` of shape ``(C, n)`` or ``(C, n1, n2)``, held in the
network as a row of length ``m = C n`` or ``m = C n1 n2`` in C order (the last index runs
fastest: entry ``(c, i, j)`` is at ``(c n1 + i) n2 + j``). Then

* 1-D: ``a[o, i] = sum_{c, p} w[o, c, p] x[c, i + p - h]``
* 2-D: ``a[o, i, j] = sum_{c, p, q} w[o, c, p, q] x[c, i + p - h, j + q - h]``

with ``x`` zero outside its grid. The single-channel 1-D case, ``Conv1D``, reads
``a[r] = sum_q w[q] x[r + q - h]``: for ``k = 3`` the matrix of ``K`` is the tridiagonal
Toeplitz matrix with ``w[0]`` below, ``w[1]`` on and ``w[2]`` above the diagonal.

Operators
---------
``Conv1D(width, kernel_size=3)``
    One kernel of ``kernel_size`` taps over a state of ``width`` values (the Indian Pines
    network of section 4.1.3 runs it over the spectral bands); coefficient shape ``(k,)``.
``Conv(channels, shape, kernel_size=3)``
    C-channel convolution over a 1-D grid (``shape = (n,)``, coefficient shape
    ``(C, C, k)``) or a 2-D grid (``shape = (n1, n2)``, ``(C, C, k, k)``).

In a network's ``operator`` argument: ``"conv1d"``, ``{"kind": "conv1d", "kernel_size": 5}``
or ``{"kind": "conv", "channels": 2, "shape": [5]}``; the network's ``width`` must then
equal ``C * prod(shape)``.

The compiled kernels are in :mod:`pysplinet.kernels.convolution`.
"""

import math

import numpy as np

from .operators import OPERATORS, Operator

__all__ = ["Conv", "Conv1D"]


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be an integer >= 1, got {value!r}")
    return int(value)


def _odd(value):
    k = _count("kernel_size", value)
    if k % 2 == 0:
        raise ValueError(f"`kernel_size` must be odd (zero 'same' padding puts k // 2 zeros "
                         f"on each side), got {value!r}")
    return k


class Conv(Operator):
    """C-channel convolution with zero "same" padding over a 1-D or 2-D grid.

    Parameters
    ----------
    channels : int
        Number of channels ``C`` (in and out).
    shape : int or sequence of 1 or 2 ints
        Spatial grid: ``(n,)`` for signals, ``(n1, n2)`` for images.
    kernel_size : int, odd
        Taps per spatial axis.

    Attributes
    ----------
    width : int
        ``C * prod(shape)``, the length of the flattened state.

    Notes
    -----
    Grids of three spatial dimensions are not supported (NotImplementedError).
    See the module docstring for the index convention.
    """

    name = "conv"
    kernel_id = 2

    def __init__(self, channels, shape, kernel_size=3):
        self.channels = _count("channels", channels)
        if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
            shape = (shape,)
        try:
            grid = tuple(shape)
        except TypeError:
            raise ValueError(f"`shape` must be an int or a sequence of 1 or 2 ints, "
                             f"got {shape!r}") from None
        if len(grid) == 3:
            raise NotImplementedError(f"`shape` {grid!r} has three spatial axes; only 1-D "
                                      f"and 2-D convolutions are implemented")
        if len(grid) not in (1, 2):
            raise ValueError(f"`shape` must have 1 or 2 entries, got {shape!r}")
        self.shape = tuple(_count("shape", n) for n in grid)
        self.kernel_size = _odd(kernel_size)
        super().__init__(self.channels * math.prod(self.shape))

    @classmethod
    def build(cls, width, **options):
        """The operator a network of width ``width`` gets from config ``options``;
        ValueError when ``width`` is not ``channels * prod(shape)``."""
        op = cls(**options)
        if width is not None and width != op.width:
            raise ValueError(f"a {cls.name!r} operator on {op.channels} channel(s) of shape "
                             f"{op.shape} has width {op.width} (channels * prod(shape)), but "
                             f"the network has `width` {width}")
        return op

    # ------------------------------------------------------------------ geometry

    @property
    def _grid(self):
        """``(n1, n2)`` and ``(k1, k2)``: a 1-D signal is a 1 x n grid with a 1 x k kernel."""
        k = self.kernel_size
        if len(self.shape) == 1:
            return (1, self.shape[0]), (1, k)
        return self.shape, (k, k)

    @property
    def coef_shape(self):
        C, k = self.channels, self.kernel_size
        return (C, C) + (k,) * len(self.shape)

    @property
    def geometry(self):
        (n1, n2), (k1, k2) = self._grid
        return np.array([self.channels, n1, n2, k1, k2], dtype=np.int64)

    @property
    def fans(self):
        # each output entry sums C k^dim inputs, each input reaches C k^dim outputs
        taps = self.channels * self.kernel_size ** len(self.shape)
        return taps, taps

    def config(self):
        return {"kind": self.name, "channels": self.channels, "shape": list(self.shape),
                "kernel_size": self.kernel_size}

    # ------------------------------------------------------------------ NumPy reference

    def _kernel(self, theta):
        (_, _), (k1, k2) = self._grid
        return np.reshape(theta, (self.channels, self.channels, k1, k2))

    def _padded(self, X):
        """The batch as (B, C, n1 + 2 h1, n2 + 2 h2), zero padded."""
        (n1, n2), (k1, k2) = self._grid
        x = X.reshape(X.shape[0], self.channels, n1, n2)
        h1, h2 = k1 // 2, k2 // 2
        return np.pad(x, ((0, 0), (0, 0), (h1, h1), (h2, h2)))

    def apply(self, theta, X):
        # a[b, o, i, j] = sum_{c, p, q} w[o, c, p, q] xpad[b, c, i + p, j + q]
        (n1, n2), (k1, k2) = self._grid
        w = self._kernel(theta)
        xp = self._padded(X)
        a = np.zeros((X.shape[0], self.channels, n1, n2))
        for p in range(k1):
            for q in range(k2):
                a += np.einsum("oc,bcij->boij", w[:, :, p, q], xp[:, :, p:p + n1, q:q + n2])
        return a.reshape(X.shape[0], self.width)

    def apply_transpose(self, theta, G):
        # every term w[o, c, p, q] g[b, o, i, j] of the forward sum goes back to
        # zpad[b, c, i + p, j + q]; the padding is then cut off
        (n1, n2), (k1, k2) = self._grid
        w = self._kernel(theta)
        g = G.reshape(G.shape[0], self.channels, n1, n2)
        zp = np.zeros_like(self._padded(G))
        for p in range(k1):
            for q in range(k2):
                zp[:, :, p:p + n1, q:q + n2] += np.einsum("oc,boij->bcij", w[:, :, p, q], g)
        h1, h2 = k1 // 2, k2 // 2
        return zp[:, :, h1:h1 + n1, h2:h2 + n2].reshape(G.shape[0], self.width)

    def param_grad(self, X, G):
        # dw[o, c, p, q] = sum_{b, i, j} g[b, o, i, j] xpad[b, c, i + p, j + q]
        (n1, n2), (k1, k2) = self._grid
        g = G.reshape(G.shape[0], self.channels, n1, n2)
        xp = self._padded(X)
        dw = np.empty((self.channels, self.channels, k1, k2))
        for p in range(k1):
            for q in range(k2):
                dw[:, :, p, q] = np.einsum("boij,bcij->oc", g, xp[:, :, p:p + n1, q:q + n2])
        return dw.reshape(self.coef_shape)


class Conv1D(Conv):
    """One convolution kernel over the whole state: ``a[r] = sum_q w[q] x[r + q - h]``.

    The single-channel 1-D case of :class:`Conv`, with coefficient shape ``(k,)``.

    Parameters
    ----------
    width : int
        Length ``m`` of the state (the network width).
    kernel_size : int, odd
        Number of taps ``k``.
    """

    name = "conv1d"

    def __init__(self, width, kernel_size=3):
        super().__init__(1, (_count("width", width),), kernel_size)

    @classmethod
    def build(cls, width, **options):
        return cls(width, **options)

    @property
    def coef_shape(self):
        return (self.kernel_size,)

    def config(self):
        return {"kind": self.name, "kernel_size": self.kernel_size}


OPERATORS.update({Conv1D.name: Conv1D, Conv.name: Conv})
