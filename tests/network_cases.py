"""Network configurations shared by the gradient and back-end tests: a covering design.

The full product of the options (3 architectures x 3 degrees x 3 knot counts x 3 depths x
3 activations x 2 time scales x 5 heads x 3 openings x 2 operators) is far too large to
run, so :data:`CASES` lists a hand-made covering design: every value of every factor
appears several times, and every pair of values of two factors appears together at least
once (degree and n_knots pair only with SpliNets). ``test_gradients.py`` checks this.

A case is a dict; :func:`build` turns it into ``(net, params, x, y)``.
"""

import numpy as np

import pysplinet as ps

#: factor -> the values the design must cover
FACTORS = {
    "arch": ("splinet", "odenet", "resnet"),
    "degree": (1, 2, 3),
    "n_knots": (1, 2, 7),
    "n_layers": (1, 3, 50),
    "activation": ("tanh", "sigmoid", "relu"),
    "learn_lam": (False, True),
    "head": ("mse-mean", "mse-dense", "mse-identity", "ce-identity", "ce-dense"),
    "opening": ("replicate", "identity", "dense"),
    "operator": ("dense", "antisymmetric"),
}


def _case(arch, n_layers, activation, learn_lam, head, opening, operator, width,
          degree=None, n_knots=None, batch=4, seed=0):
    return dict(arch=arch, n_layers=n_layers, activation=activation, learn_lam=learn_lam,
                head=head, opening=opening, operator=operator, width=width, degree=degree,
                n_knots=n_knots, batch=batch, seed=seed)


S, O, R = "splinet", "odenet", "resnet"
AS = "antisymmetric"

CASES = [
    # SpliNets: degree x n_knots all nine pairs, depths, heads, openings spread over them
    _case(S, 1, "tanh", False, "mse-mean", "replicate", "dense", 3, 1, 1, batch=3),
    _case(S, 3, "sigmoid", True, "mse-dense", "identity", AS, 3, 1, 2),
    _case(S, 50, "relu", False, "ce-identity", "dense", "dense", 3, 1, 7, batch=5),
    _case(S, 3, "relu", True, "ce-dense", "replicate", AS, 4, 2, 1),
    _case(S, 50, "tanh", False, "mse-identity", "dense", "dense", 2, 2, 2, batch=3),
    _case(S, 1, "sigmoid", False, "mse-mean", "identity", AS, 4, 2, 7, batch=5),
    _case(S, 50, "sigmoid", True, "ce-identity", "replicate", AS, 3, 3, 1),
    _case(S, 1, "relu", False, "mse-dense", "dense", "dense", 2, 3, 2),
    _case(S, 3, "tanh", True, "ce-dense", "identity", "dense", 4, 3, 7, batch=3),
    _case(S, 50, "tanh", True, "mse-mean", "dense", AS, 3, 3, 7),
    _case(S, 3, "tanh", True, "mse-identity", "replicate", AS, 2, 1, 7, batch=5),
    _case(S, 50, "sigmoid", True, "ce-dense", "dense", "dense", 3, 2, 2),
    _case(S, 50, "relu", False, "mse-dense", "replicate", "dense", 4, 2, 7, batch=3),
    _case(S, 50, "tanh", False, "ce-identity", "identity", "dense", 3, 1, 2),
    _case(S, 3, "sigmoid", False, "mse-identity", "dense", AS, 3, 3, 2, batch=5),
    _case(S, 1, "sigmoid", True, "ce-dense", "dense", AS, 3, 1, 1),
    _case(S, 3, "tanh", False, "mse-identity", "identity", "dense", 3, 2, 1, batch=3),
    _case(S, 1, "relu", True, "ce-identity", "replicate", "dense", 2, 2, 2, batch=5),
    _case(S, 3, "tanh", False, "mse-mean", "dense", "dense", 3, 3, 2),
    _case(S, 50, "tanh", True, "mse-dense", "replicate", AS, 3, 1, 1),
    # ODEnets
    _case(O, 1, "sigmoid", True, "mse-identity", "replicate", "dense", 3),
    _case(O, 3, "tanh", False, "ce-dense", "dense", AS, 4, batch=5),
    _case(O, 50, "relu", True, "mse-mean", "identity", "dense", 3, batch=3),
    _case(O, 50, "tanh", False, "mse-dense", "replicate", AS, 2),
    _case(O, 3, "sigmoid", False, "ce-identity", "identity", "dense", 2, batch=5),
    _case(O, 50, "sigmoid", True, "ce-dense", "replicate", "dense", 3),
    # ResNets (h = 1)
    _case(R, 1, "relu", False, "ce-identity", "dense", AS, 3),
    _case(R, 3, "tanh", True, "mse-mean", "replicate", "dense", 2, batch=5),
    _case(R, 50, "tanh", False, "mse-dense", "identity", "dense", 3, batch=3),
    _case(R, 3, "relu", True, "mse-identity", "replicate", "dense", 3),
    _case(R, 50, "sigmoid", True, "ce-dense", "dense", AS, 4),
    _case(R, 3, "sigmoid", False, "mse-dense", "dense", "dense", 2, batch=5),
]
for _i, _c in enumerate(CASES):
    _c["seed"] = _i


#: Configurations at the ends of the ranges, for the back-end and jit-free runs: layer
#: times on every knot (N = L), more knot intervals than layers, one layer, one interval,
#: degrees 4 and 5, the identity activation, widths above the BLAS threshold, states
#: large enough to be worked on in place.
EDGE_CASES = [
    _case(S, 7, "tanh", False, "mse-mean", "replicate", "dense", 2, 1, 7, seed=101),
    _case(S, 7, "sigmoid", True, "ce-dense", "dense", AS, 3, 2, 7, seed=102),
    _case(S, 7, "relu", False, "mse-identity", "identity", "dense", 3, 3, 7, seed=103),
    _case(S, 3, "tanh", True, "ce-identity", "replicate", AS, 3, 3, 7, seed=104),
    _case(S, 1, "identity", True, "mse-dense", "dense", "dense", 2, 3, 1, seed=105),
    _case(S, 2, "sigmoid", False, "mse-mean", "identity", "dense", 2, 2, 5, seed=106),
    _case(S, 11, "tanh", True, "mse-dense", "replicate", AS, 3, 5, 3, seed=107),
    _case(S, 1, "tanh", False, "ce-dense", "replicate", "dense", 2, 4, 13, seed=108),
    _case(O, 1, "identity", True, "mse-mean", "replicate", AS, 2, seed=109),
    _case(R, 1, "relu", True, "mse-identity", "dense", "dense", 3, seed=110),
    # widths from 32 on take the BLAS branch of the compiled dense products
    _case(S, 3, "tanh", True, "mse-dense", "dense", "dense", 33, 2, 2, batch=3, seed=111),
    _case(O, 2, "sigmoid", False, "ce-dense", "replicate", AS, 34, batch=3, seed=112),
    # states of 512 entries and more are read and written in place in the stores
    _case(S, 4, "relu", True, "ce-dense", "dense", "dense", 20, 2, 3, batch=30, seed=113),
    _case(S, 3, "tanh", True, "mse-identity", "identity", AS, 33, 3, 2, batch=20, seed=114),
]


def case_id(c):
    """A readable pytest id."""
    arch = c["arch"]
    if arch == "splinet":
        arch += f"-d{c['degree']}-L{c['n_knots']}"
    op = "anti" if c["operator"] == "antisymmetric" else "dense"
    lam = "lam" if c["learn_lam"] else "fixlam"
    return (f"{arch}-N{c['n_layers']}-{c['activation']}-{lam}-{c['head']}-"
            f"open_{c['opening']}-{op}-m{c['width']}")


def network(c, backend="numba"):
    """The network of case ``c``."""
    width = c["width"]
    loss, closing = c["head"].split("-")
    loss = {"mse": "mse", "ce": "cross_entropy"}[loss]
    n_inputs = {"replicate": 2 if width > 2 else 1, "identity": width, "dense": 2}[c["opening"]]
    n_outputs = {"mean": 1, "identity": width}.get(closing, 3 if loss != "mse" else 2)
    operator = {"kind": "antisymmetric", "gamma": 0.3} if c["operator"] == "antisymmetric" \
        else "dense"
    if c["activation"] == "relu" and c["operator"] == "antisymmetric":
        operator = {"kind": "antisymmetric", "gamma": 0.0}
    kwargs = dict(activation=c["activation"], operator=operator, opening=c["opening"],
                  closing=closing, loss=loss, n_inputs=n_inputs, n_outputs=n_outputs,
                  time_scale=0.8 if c["learn_lam"] else 0.6,
                  learn_time_scale=c["learn_lam"], backend=backend)
    if c["arch"] == "splinet":
        return ps.SpliNet(width, c["n_layers"], degree=c["degree"], n_knots=c["n_knots"],
                          final_time=1.5, **kwargs)
    if c["arch"] == "odenet":
        return ps.ODENet(width, c["n_layers"], final_time=1.5, **kwargs)
    if c["activation"] == "tanh":
        kwargs["time_scale"] = 0.8 if c["learn_lam"] else 0.2
    return ps.ResNet(width, c["n_layers"], **kwargs)


def build(c, backend="numba"):
    """``(net, params, x, y)`` for case ``c``, all seeded by ``c["seed"]``.

    For ReLU the weights are shrunk and the biases pushed to +-1.5 (alternating over the
    state components), so that every pre-activation stays well away from the kink and the
    loss is smooth in a neighbourhood of the parameters; :func:`preactivations` lets a
    test check this.
    """
    net = network(c, backend)
    rng = np.random.default_rng(c["seed"])
    params = net.init_params(rng, amplitude=0.5 if c["arch"] == "resnet" else 1.0)
    if c["activation"] == "relu":
        params["W"] *= 0.05
        signs = np.where(np.arange(net.width) % 2 == 0, 1.0, -1.0)
        params["b"] += 1.5 * signs
        if "opening.W" in params:
            params["opening.W"] *= 0.5
    x = rng.uniform(-1.0, 1.0, (c["batch"], net.n_inputs))
    if net.loss_name == "mse":
        y = rng.normal(size=(c["batch"], net.n_outputs))
    else:
        y = rng.integers(0, net.n_outputs, c["batch"])
    return net, params, x, y


def layer_matrices(net, params):
    """The effective operator ``K_i`` and bias ``b_i`` of every layer, from the control
    table and the coefficients (eqs. 14-15), for dense and antisymmetric operators."""
    if net.architecture == "splinet":
        first, weights = ps.layer_basis(net.n_layers, net.degree, net.n_knots)
    else:
        first, weights = np.arange(net.n_layers), np.ones((net.n_layers, 1))
    Ks, bs = [], []
    for k, w in zip(first, weights):
        W = sum(wj * params["W"][k + j] for j, wj in enumerate(w))
        b = sum(wj * params["b"][k + j] for j, wj in enumerate(w))
        if net.operator.name == "antisymmetric":
            W = W - W.T - net.operator.gamma * np.eye(net.width)
        Ks.append(W)
        bs.append(b)
    return Ks, bs


def preactivations(net, params, x):
    """``a_i = K_i x_i + b_i`` for every layer, shape (N, B, m)."""
    states = net.trajectory(params, x)
    Ks, bs = layer_matrices(net, params)
    return np.array([states[i] @ Ks[i].T + bs[i] for i in range(net.n_layers)])
