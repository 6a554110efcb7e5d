"""Every public entry point of spectrakit, with the kind of each parameter.

One table, read by two things: the ``.spectral`` accessor (:mod:`spectrakit.xr.accessor`
is generated from it: a labelled function whose first argument is data becomes a method
of ``DataArray.spectral`` and, where it takes a Dataset, of ``Dataset.spectral``) and the
input contract (each kind says what bad input the entry point must refuse, by name).
A new public function is added here, or ``tests/test_registry.py`` fails.

Parameter kinds
---------------
``data``      numbers as a numpy array, torch tensor or xarray object (finite, real unless
              the entry says so)
``dataset``   an xarray Dataset with named variables (a path, a problem, two views)
``dims``      one dim name or several
``reg``       regularization strength: finite, ``>= 0``; a scalar or a 1-D grid
``int``       an integer count, size or index
``real``      a finite real number (a rate, a scale, a tolerance, an exponent)
``choice``    one of a few names (a filter, an estimator, a solver, a kind)
``flag``      True or False
``seed``      None or a non-negative integer (some accept a grid of seeds)
``device``    a torch device or its name
``dtype``     a torch dtype
``callable``  a function (a loss, a matrix-vector product, a training step)
``model``     a torch module
``shape``     a tuple of sizes
``options``   keyword options passed on to a filter or estimator
``other``     anything else the docstring describes (windows, grids of labels, ...)
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from functools import cached_property

KINDS = ("data", "dataset", "dims", "reg", "int", "real", "choice", "flag", "seed", "device", "dtype", "callable",
         "model", "shape", "options", "other")

# the kind of a parameter by its name (the same name means the same thing everywhere)
KIND_BY_NAME = {
    **dict.fromkeys(
        ("A", "K", "K_test", "X", "Y", "b", "y", "x", "x_true", "da", "obj", "data", "signal", "adjacency", "points",
         "weight", "eigenvalues", "eigenvectors", "coefs", "covariance", "kernel", "labels", "labels_true",
         "labels_pred", "clean", "positions", "s", "singular_values", "spectrum", "z", "z_a", "z_b", "inputs",
         "views", "w", "w0", "v0", "history", "estimated", "true", "freq", "values", "other",
         "L", "noise_norm", "params", "target_values", "w_star", "probabilities"), "data"),
    **dict.fromkeys(("path", "problem"), "dataset"),
    **dict.fromkeys(("dim", "dims", "sample_dim", "feature_dim"), "dims"),
    **dict.fromkeys(("reg", "reg_grid"), "reg"),
    **dict.fromkeys(
        ("n", "k", "d", "n_eigs", "n_clusters", "max_clusters", "n_init", "max_iter", "n_iter", "steps", "nfft",
         "nperseg", "noverlap", "nbins", "trials", "order", "rank", "T", "T0", "d_in", "d_out", "signal_dim",
         "n_endmembers", "n_measurements", "n_samples", "power_iters", "gram_iters", "record_every", "batch_size",
         "hidden", "width", "n_modes", "n_features", "n_test", "draws", "filter_order", "generations", "hessian_k",
         "hessian_every", "trace_samples", "tasks", "steps_per_task", "classes", "power", "spectrum_every", "example",
         "ny", "nx", "n_bands"), "int"),
    **dict.fromkeys(
        ("alpha", "beta", "noise", "tol", "rtol", "lr", "gamma", "eps", "decay", "bandwidth", "level", "lmax",
         "sobolev", "init_scale", "damping", "scale", "q", "lamb", "lambd", "kappa", "weight_decay", "spacing_tol",
         "target", "length_scale", "sim", "var", "p", "fmax", "radius", "sparsity", "rho", "fourier_features",
         "grokfast_alpha", "cov", "a", "sharpness", "source", "p_in", "p_out"), "real"),
    **dict.fromkeys(
        ("method", "solver", "kind", "scaling", "detrend", "build", "symmetrize", "init", "optimizer", "activation",
         "architecture", "loss", "average", "criterion", "graph", "mode", "task", "fill", "weights"), "choice"),
    **dict.fromkeys(
        ("onesided", "shift", "include_self", "normalize_rows", "directed", "real", "true_phase", "true_amplitude",
         "angular", "drop_first", "center", "normalize", "sum_to_one", "update_endmembers", "by_frequency",
         "criteria", "grokfast"), "flag"),
    **dict.fromkeys(("seed", "data_seed"), "seed"),
    "device": "device",
    "dtype": "dtype",
    **dict.fromkeys(("loss_fn", "matvec", "rmatvec", "outputs_fn", "step", "callback"), "callable"),
    **dict.fromkeys(("model", "encoder"), "model"),
    **dict.fromkeys(("input_shape", "sizes"), "shape"),
    **dict.fromkeys(("options", "method_options", "kwargs", "args"), "options"),
    **dict.fromkeys(("window", "operator", "grid", "eigen", "n_grid", "n_mc"), "other"),
}


@dataclass(frozen=True)
class Entry:
    """One public entry point: ``module.name``, the accessors it is a method of
    (``"dataarray"``, ``"dataset"``), and parameter kinds that differ from
    :data:`KIND_BY_NAME` for it (``kinds``)."""

    module: str
    name: str
    accessors: tuple[str, ...] = ()
    kinds: dict = field(default_factory=dict)
    #: how the Dataset accessor passes the Dataset: "self" (as the first argument) or
    #: "problem" (its variables A and b, as a spectrakit.datasets problem holds them)
    dataset_as: str = "self"

    @cached_property
    def function(self):
        return getattr(importlib.import_module(self.module), self.name)

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"

    @cached_property
    def parameters(self) -> dict[str, str]:
        """Each parameter's kind (the first is what the accessor passes its object as)."""
        target = self.function.__init__ if inspect.isclass(self.function) else self.function
        out = {}
        for p in inspect.signature(target).parameters.values():
            if p.name == "self":
                continue
            out[p.name] = self.kinds.get(p.name, KIND_BY_NAME.get(p.name, "unknown"))
        return out


def _entries(module: str, spec: str, **per_name) -> list[Entry]:
    """Entries of one module from ``"name name:dataarray name:both ..."`` (``both`` is both
    accessors), with keyword overrides per name (a dict of Entry fields)."""
    out = []
    for item in spec.split():
        name, _, acc = item.partition(":")
        accessors = {"": (), "dataarray": ("dataarray",), "dataset": ("dataset",),
                     "both": ("dataarray", "dataset")}[acc]
        out.append(Entry(module, name, accessors, **per_name.get(name, {})))
    return out


_XR = "spectrakit.xr."

ENTRIES: tuple[Entry, ...] = tuple(
    _entries(_XR + "filtering", "regularize:both regularize_kernel:dataarray picard:both filter_factors:dataarray",
             regularize={"dataset_as": "problem"}, picard={"dataset_as": "problem"})
    + _entries(_XR + "choose", "choose:dataset")
    + _entries(
        _XR + "fourier",
        "fft:both ifft:both rfft:both irfft:both power:both spectrogram:both cross_spectrum:dataarray "
        "coherence:dataarray isotropic_power:both wavenumbers_squared:dataarray smooth:dataarray "
        "deconvolve:dataarray lowpass:dataarray blur:dataarray",
        irfft={"kinds": {"n": "other"}}, power={"kinds": {"method": "choice"}},
    )
    + _entries(
        _XR + "graphs",
        "graph:dataarray laplacian:dataarray graph_spectrum:dataarray spectral_embedding:dataarray "
        "eigengap:dataarray spectral_clustering:dataarray positional_encoding:dataarray graph_filter:dataarray "
        "label_propagation:dataarray kmeans:dataarray nmf_unmix:dataarray abundance_error:dataarray "
        "adjusted_rand_index:dataarray",
        spectral_clustering={"kinds": {"graph": "choice"}}, nmf_unmix={"kinds": {"graph": "other"}},
    )
    + _entries(
        _XR + "curves",
        "learning_curve:dataarray monte_carlo_curve:dataarray optimal_learning_curve:dataarray "
        "random_features_curve:dataarray random_features_monte_carlo:dataarray model_collapse "
        "model_collapse_monte_carlo:dataarray",
        monte_carlo_curve={"kinds": {"seed": "seed"}},
    )
    + _entries(_XR + "dynamics", "hessian_spectrum hutchinson_trace ntk_spectrum training_jacobian "
               "ema_filter_response:dataarray")
    + _entries(
        _XR + "weights",
        "conv_matrix:dataarray conv_singular_values:dataarray conv_operator_norm:dataarray power_iteration:dataarray "
        "conv_power_iteration:dataarray gram_iteration_norm:dataarray spectral_normalize:dataarray layer_spectra "
        "lipschitz_bound input_jacobian_norms max_input_gradient_norm",
        power_iteration={"kinds": {"operator": "data"}}, spectral_normalize={"kinds": {"target": "real"}},
    )
    + _entries(
        _XR + "representations",
        "covariance_spectrum:dataarray spectral_entropy:dataarray effective_rank:dataarray "
        "von_neumann_entropy:dataarray vicreg_terms:dataarray iternorm:dataarray iternorm_whiten:dataarray "
        "ssl_toy_data train_ssl TrainedEncoder linear_barlow_twins:dataset switch_on_steps:dataarray",
        TrainedEncoder={"kinds": {"history": "data"}}, linear_barlow_twins={"kinds": {"views": "dataset"}},
    )
    + _entries(
        _XR + "implicit",
        "matrix_sensing_problem gd_matrix_sensing:dataset scaled_gd:dataset learning_times:both "
        "first_step_below:dataarray diagonal_network_gd:dataarray diagonal_network_potential:dataarray "
        "diagonal_network_limit:dataarray min_l1_interpolator:dataarray eigenpro_preconditioner:dataarray "
        "eigenpro_gd:dataarray",
        learning_times={"kinds": {"target": "data"}},
    )
    + _entries(
        "spectrakit.tuning",
        "RegularizationSession SpectrumSession GraphFilterSession GraphSpectrumSession LearningCurveSession "
        "TrainingSession WeightSession RepresentationSession ImplicitSession",
    )
    + _entries(
        "spectrakit.datasets",
        "baart camera co2 deblur1d deriv2 foxgood gravity heat hyperspectral_cube phillips ridge_regression shaw "
        "stochastic_block_model sunspots",
    )
)


def accessor_entries(kind: str) -> list[Entry]:
    """The entries that are methods of ``DataArray.spectral`` (``"dataarray"``) or
    ``Dataset.spectral`` (``"dataset"``)."""
    return [e for e in ENTRIES if kind in e.accessors]


def entry(name: str) -> Entry:
    """The entry of a public name (a ``KeyError`` names it when it is not registered)."""
    for e in ENTRIES:
        if e.name == name:
            return e
    raise KeyError(f"{name!r} is not a registered spectrakit entry point (spectrakit/_registry.py).")
