"""pysplinet: SpliNets -- neural ODE networks with B-spline controls -- in NumPy and Numba.

The network ``dx/dt = lam sigma(W(t) x + b(t))`` on ``[0, T]``, discretised by forward
Euler on N layers, with ``W`` and ``b`` sums of ``L + d`` uniform B-splines of degree d
(Günther, Pazner, Qi, "Spline parameterization of neural network controls for deep
learning"). Gradients come from a hand-written discrete adjoint.

Quick start::

    import numpy as np, pysplinet as ps
    net = ps.SpliNet(width=4, n_layers=100, degree=2, n_knots=10, activation="tanh")
    params = net.init_params(np.random.default_rng(0), amplitude=0.5)
    loss, grads = net.value_and_grad(params, x, y)
    report = ps.gradcheck(net, params, x, y)
"""

from ._version import __version__
from .basis import active_values, basis_matrix, layer_basis
from .convolution import Conv, Conv1D
from .gradcheck import GradcheckReport, gradcheck, taylor_test
from .io import load_model, load_network, save_model
from .network import Network, ODENet, ResNet, SpliNet, network_from_config
from .operators import Antisymmetric, Dense
from .optim import Adam
from .training import TrainResult, train

__all__ = [
    "__version__", "SpliNet", "ODENet", "ResNet", "Network", "network_from_config",
    "Dense", "Antisymmetric", "Conv1D", "Conv", "gradcheck", "taylor_test", "GradcheckReport",
    "active_values", "basis_matrix", "layer_basis",
    "train", "TrainResult", "Adam", "save_model", "load_model", "load_network",
]
