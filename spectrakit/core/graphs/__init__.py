"""Graph spectra, compute layer: graphs, Laplacians, their eigenpairs, spectral clustering,
positional encodings, graph filters and label propagation.

Torch (+ numpy/scipy) only, unlabelled tensors in and out: every result is on the input's
device and in its dtype (numpy and scipy inputs go where ``device=``/the options say, in
float64 by default), and no input is modified. Random draws come from a CPU
``torch.Generator`` (or a numpy ``Generator`` for scipy's solvers) seeded with ``seed``,
so a seeded call gives the same numbers on the CPU and on a GPU (up to rounding).

The filter convention (DESIGN.md). Graph smoothing is general-form Tikhonov with A = I
and the penalty ``x^T L x``: the squared generalized singular value of a Laplacian mode
with eigenvalue ``lam`` is ``s = 1/lam``, so every filter ``h(s, reg)`` of
:mod:`spectrakit.core.filtering` applies unchanged: Tikhonov ``s/(s+reg) = 1/(1 + reg lam)``
(the solution of ``min ||x - y||^2 + reg x^T L x``, i.e. ``(I + reg L)^{-1} y``), heat
``exp(-reg/s) = exp(-reg lam)`` (the heat kernel at time ``reg``), Butterworth
``1/(1 + (reg lam)^order)`` and the ideal low-pass (``tsvd``) that keeps ``lam <= 1/reg``.
``lam = 0`` (the smooth, constant-like modes) has ``s = inf`` and factor 1.

Adjacency matrices ``W`` may be dense tensors or arrays, torch sparse tensors or scipy
sparse matrices/arrays. Weights must be finite and >= 0; undirected graphs must be
symmetric. Self-loops (diagonal entries) are ignored by every Laplacian, as
``scipy.sparse.csgraph.laplacian`` ignores them: ``L = D - W`` with ``D`` the degrees
of the off-diagonal part.

Functions
---------
adjacency               check and convert a given adjacency (dense, torch sparse, scipy sparse)
knn_graph               k-nearest-neighbour graph of points, symmetrized (max, mean or mutual)
epsilon_graph           all pairs closer than ``eps``
gaussian_affinity       the dense Gaussian (RBF) affinity ``exp(-d^2 / (2 bandwidth^2))``
grid_graph              the 4- (or 8-) neighbour graph of an ny x nx pixel grid
stochastic_block_model  seeded SBM adjacency and its block labels
laplacian               combinatorial ``D - W``, symmetric ``I - D^-1/2 W D^-1/2``, random
                        walk ``I - D^-1 W``, and the magnetic kinds
magnetic_laplacian      Hermitian Laplacian of a directed graph with charge ``q``
lambda_max_bound        a guaranteed upper bound on the largest Laplacian eigenvalue
laplacian_eigh          lowest eigenpairs of a given symmetric/Hermitian matrix
graph_spectrum          lowest eigenpairs of a graph's Laplacian (dense, shift-invert
                        ARPACK, Lanczos or LOBPCG, chosen by size and device; reported)
fix_signs               the deterministic sign (phase) convention for eigenvectors
spectral_embedding      rows of the lowest Laplacian eigenvectors
eigengap                the eigengap heuristic for the number of clusters
kmeans                  k-means in torch: k-means++ starts, several seeded initializations
spectral_clustering     Ng-Jordan-Weiss: normalized embedding, rows normalized, k-means
laplacian_positional_encoding  eigenvector encodings with signs fixed and ambiguity flagged
graph_frequency_response  the filter factors ``h(1/lam, reg)`` over eigenvalues
graph_filter            exact filtering through a complete eigenbasis
GraphBasis              a complete spectrum as the spine's spectral basis (s = 1/lam)
chebyshev_coefficients  Chebyshev coefficients of ``h`` on ``[0, lmax]``
chebyshev_eval          the series at given points (Clenshaw's recurrence)
chebyshev_filter        filtering by a Chebyshev polynomial of order K, no eigenvectors,
                        with the approximation error
label_propagation       Zhou et al. (2004): ``F = (I + reg L_sym)^-1 Y``
reg_from_zhou_alpha     Zhou's ``alpha`` (scikit-learn's LabelSpreading) as ``reg``
nmf_unmix               hyperspectral unmixing: NMF with a graph-Laplacian spatial penalty,
                        an l1 sparsity penalty and an optional soft sum-to-one constraint
abundance_error         abundance RMSE with endmembers matched (Hungarian) and scale fixed

Modules
-------
The names above are re-exported here from the modules that define them, one job each:
``construction`` (adjacency checks, kNN, epsilon-ball, Gaussian, pixel grid, SBM), ``laplacians``
(the Laplacians and the lambda-max bound), ``spectrum`` (:class:`GraphSpectrum` and the
eigensolvers), ``clustering`` (signs, embeddings, eigengap, k-means, spectral clustering,
positional encodings), ``filters`` (frequency responses, exact and Chebyshev filters,
label propagation) and ``unmixing`` (graph-regularized sparse NMF and its error).
Import from ``spectrakit.core.graphs``; the module layout may change.
"""

from .clustering import (
    Eigengap,
    KMeansResult,
    PositionalEncoding,
    SpectralClusteringResult,
    SpectralEmbedding,
    eigengap,
    fix_signs,
    kmeans,
    laplacian_positional_encoding,
    spectral_clustering,
    spectral_embedding,
)
from .construction import (
    KNN_TREE_MAX_DIM,
    BlockModel,
    adjacency,
    epsilon_graph,
    gaussian_affinity,
    grid_graph,
    knn_graph,
    stochastic_block_model,
)
from .filters import (
    GRAPH_FILTERS,
    ChebyshevFilterResult,
    LabelPropagationResult,
    GraphBasis,
    chebyshev_coefficients,
    chebyshev_eval,
    chebyshev_filter,
    graph_filter,
    graph_frequency_response,
    label_propagation,
    reg_from_zhou_alpha,
)
from .laplacians import LAPLACIANS, lambda_max_bound, laplacian, magnetic_laplacian
from .spectrum import (
    DENSE_MAX_CPU,
    DENSE_MAX_GPU,
    SMALL,
    SOLVERS,
    SPARSE_DENSITY,
    GraphSpectrum,
    graph_spectrum,
    laplacian_eigh,
)
from .unmixing import INITS, AbundanceError, UnmixingResult, abundance_error, nmf_unmix

__all__ = [
    "LAPLACIANS",
    "GRAPH_FILTERS",
    "SOLVERS",
    "adjacency",
    "knn_graph",
    "epsilon_graph",
    "gaussian_affinity",
    "grid_graph",
    "BlockModel",
    "stochastic_block_model",
    "laplacian",
    "magnetic_laplacian",
    "lambda_max_bound",
    "GraphSpectrum",
    "laplacian_eigh",
    "graph_spectrum",
    "fix_signs",
    "SpectralEmbedding",
    "spectral_embedding",
    "Eigengap",
    "eigengap",
    "KMeansResult",
    "kmeans",
    "SpectralClusteringResult",
    "spectral_clustering",
    "PositionalEncoding",
    "laplacian_positional_encoding",
    "graph_frequency_response",
    "graph_filter",
    "GraphBasis",
    "chebyshev_coefficients",
    "chebyshev_eval",
    "ChebyshevFilterResult",
    "chebyshev_filter",
    "LabelPropagationResult",
    "label_propagation",
    "reg_from_zhou_alpha",
    "UnmixingResult",
    "nmf_unmix",
    "AbundanceError",
    "abundance_error",
]
