"""Pictures of what a trained network predicts on a test case (matplotlib, no display needed).

* one input, one output (sine): the learned function against the target ``a sin(f x)``,
  with the training and validation points;
* two inputs, classes (peaks): the predicted class of every point of the square, with the
  training and validation points coloured by their true class;
* a hyperspectral scene (Indian Pines, loaded with ``with_scene=True``): the ground truth
  and the predicted class of every labelled pixel, side by side.

Figures are built with :class:`matplotlib.figure.Figure` directly, so no pyplot state and no
interactive back end is involved; the file format follows the file name's suffix.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_kind", "plot_prediction"]

_GRID = 201          # points per axis of the peaks class map
_CURVE = 400         # points of the sine curve


def plot_kind(data):
    """Which picture :func:`plot_prediction` draws for ``data``, or None if none fits.

    Returns
    -------
    {"curve", "class-map", "scene"} or None
    """
    if data.task == "regression" and data.n_inputs == 1 and data.n_outputs == 1:
        return "curve"
    if data.task == "classification" and getattr(data, "scene", None) is not None:
        return "scene"
    if data.task == "classification" and data.n_inputs == 2:
        return "class-map"
    return None


def plot_prediction(net, params, data, path, *, title=None):
    """Draw the network's predictions on a test case and write the figure to ``path``.

    Parameters
    ----------
    net : Network
    params : dict
        Parameters of ``net``.
    data : pysplinet.data.Dataset
        The case's data; see :func:`plot_kind` for the cases that can be drawn. A scene
        picture needs the data loaded with ``with_scene=True``.
    path : str or path-like
        Output file; its suffix (``.png``, ``.pdf``, ``.svg``, ...) picks the format.
    title : str, optional
        Figure title.

    Returns
    -------
    str
        The path written.

    Raises
    ------
    NotImplementedError
        For data no picture fits (``plot_kind(data) is None``).
    """
    from matplotlib.figure import Figure

    kind = plot_kind(data)
    if kind is None:
        raise NotImplementedError(
            f"no prediction plot for a {data.task} case with {data.n_inputs} input(s) and "
            f"{data.n_outputs} output(s) (plots exist for 1-D regression, 2-D "
            "classification and scenes)")
    if kind == "scene":
        fig = Figure(figsize=(10, 5), layout="constrained")
        _scene(fig, net, params, data)
    else:
        fig = Figure(figsize=(6.4, 4.8 if kind == "curve" else 5.6), layout="constrained")
        ax = fig.add_subplot()
        (_curve if kind == "curve" else _class_map)(ax, net, params, data)
    if title:
        fig.suptitle(title)
    path = os.fspath(path)
    fig.savefig(path)
    return path


def _curve(ax, net, params, data):
    meta = data.meta
    freq = meta.get("freq")
    amp = meta.get("amplitude", 1.0)
    if freq is not None:
        lo, hi = -np.pi, np.pi
    else:
        xs = np.concatenate([data.x_train[:, 0], data.x_val[:, 0]])
        lo, hi = float(xs.min()), float(xs.max())
    x = np.linspace(lo, hi, _CURVE)
    ax.plot(x, net.predict(params, x[:, None])[:, 0], color="C0", label="network")
    if freq is not None:
        amp_text = "" if amp == 1.0 else f"{amp:g} "
        freq_text = "" if freq == 1 else f"{freq:g} "
        ax.plot(x, amp * np.sin(freq * x), color="k", linestyle="--", linewidth=1,
                label=f"{amp_text}sin({freq_text}x)")
    ax.plot(data.x_train[:, 0], data.y_train[:, 0], "o", color="C1", markersize=4,
            label=f"training ({data.n_train})")
    ax.plot(data.x_val[:, 0], data.y_val[:, 0], "s", color="C2", markersize=4,
            label=f"validation ({data.n_val})")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="best", fontsize="small")


def _class_colors(n):
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm, ListedColormap

    base = colormaps["tab10" if n <= 10 else "tab20"]
    cmap = ListedColormap([base(k) for k in range(n)])
    return cmap, BoundaryNorm(np.arange(n + 1) - 0.5, n)


def _class_map(ax, net, params, data):
    box = data.meta.get("box")
    if box is None:
        pts = np.concatenate([data.x_train, data.x_val])
        box = [float(pts.min()), float(pts.max())]
    g = np.linspace(box[0], box[1], _GRID)
    gx, gy = np.meshgrid(g, g)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    pred = np.argmax(net.predict(params, grid), axis=1).reshape(gx.shape)
    cmap, norm = _class_colors(data.n_outputs)
    mesh = ax.pcolormesh(gx, gy, pred, cmap=cmap, norm=norm, shading="nearest", alpha=0.55)
    for x, y, marker, label in ((data.x_train, data.y_train, "o", "training"),
                                (data.x_val, data.y_val, "^", "validation")):
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap=cmap, norm=norm, s=9, marker=marker,
                   edgecolors="k", linewidths=0.3, label=f"{label} ({len(y)})")
    ax.set_xlim(box)
    ax.set_ylim(box)
    ax.set_aspect("equal")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(loc="upper right", fontsize="small")
    ax.figure.colorbar(mesh, ax=ax, ticks=np.arange(data.n_outputs), label="class")


def _scene(fig, net, params, data):
    scene = data.scene
    truth = scene.labels
    labelled = truth >= 0
    pred = np.argmax(net.predict(params, scene.pixels), axis=1).reshape(scene.shape)
    cmap, norm = _class_colors(data.n_outputs)
    cmap = cmap.with_extremes(bad="white")
    acc = float(np.mean(pred[labelled] == truth[labelled]))
    axes = fig.subplots(1, 2)
    for ax, img, name in ((axes[0], truth, "ground truth"),
                          (axes[1], pred, f"prediction ({100 * acc:.1f} % of labelled)")):
        shown = np.ma.masked_where(~labelled, img)
        im = ax.imshow(shown, cmap=cmap, norm=norm, interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=list(axes), ticks=np.arange(data.n_outputs), label="class",
                 shrink=0.8)
