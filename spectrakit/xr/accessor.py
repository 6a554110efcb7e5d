"""The ``.spectral`` accessor: labelled objects call spectrakit's functions directly.

The accessor only delegates; each capability keeps its code in its own module.

>>> import numpy as np, spectrakit
>>> problem = spectrakit.datasets.shaw(32, noise=1e-3, seed=0)
>>> path = problem.spectral.regularize(reg=np.logspace(-8, 0, 17), device="cpu")
>>> path.spectral.choose("gcv") > 0
True
"""

from __future__ import annotations

import xarray as xr

from . import filtering, fourier, graphs
from . import dynamics, implicit, representations, weights


@xr.register_dataarray_accessor("spectral")
class SpectralDataArrayAccessor:
    """``A.spectral``: A is the operator (its row dim is the one it shares with b)."""

    def __init__(self, obj: xr.DataArray):
        self._obj = obj

    def regularize(self, b, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.regularize` with this DataArray as A."""
        return filtering.regularize(self._obj, b, **kwargs)

    def picard(self, b, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.picard` with this DataArray as A."""
        return filtering.picard(self._obj, b, **kwargs)

    # -- Fourier (spectrakit.xr.fourier): conventions in that module's docstring --

    def fft(self, dim=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.fft` of this DataArray over ``dim``."""
        return fourier.fft(self._obj, dim, **kwargs)

    def ifft(self, dim=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.ifft` of this DataArray over frequency dims."""
        return fourier.ifft(self._obj, dim, **kwargs)

    def rfft(self, dim=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.rfft` of this DataArray (the last of ``dim`` halved)."""
        return fourier.rfft(self._obj, dim, **kwargs)

    def irfft(self, dim=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.irfft` of this DataArray."""
        return fourier.irfft(self._obj, dim, **kwargs)

    def power(self, dim, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.power` (periodogram or Welch) along ``dim``."""
        return fourier.power(self._obj, dim, **kwargs)

    def spectrogram(self, dim, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.spectrogram` along ``dim``."""
        return fourier.spectrogram(self._obj, dim, **kwargs)

    def cross_spectrum(self, other, dim, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.cross_spectrum` of this DataArray (x) and ``other`` (y)."""
        return fourier.cross_spectrum(self._obj, other, dim, **kwargs)

    def coherence(self, other, dim, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.coherence` of this DataArray and ``other``."""
        return fourier.coherence(self._obj, other, dim, **kwargs)

    def isotropic_power(self, dims=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.isotropic_power` over two dims ``(y, x)``."""
        return fourier.isotropic_power(self._obj, dims, **kwargs)

    def smooth(self, dims=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.smooth` (Sobolev smoothing) of this DataArray along ``dims``."""
        return fourier.smooth(self._obj, dims, **kwargs)

    def deconvolve(self, kernel, dims=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.deconvolve` of this DataArray by the point-spread ``kernel``."""
        return fourier.deconvolve(self._obj, kernel, dims, **kwargs)

    def lowpass(self, dims=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.lowpass` (Gaussian or Butterworth) of this DataArray."""
        return fourier.lowpass(self._obj, dims, **kwargs)

    def blur(self, kernel, dims=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.blur`: circular convolution with the centred ``kernel``."""
        return fourier.blur(self._obj, kernel, dims, **kwargs)

    def wavenumbers_squared(self, dim=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.fourier.wavenumbers_squared` on this DataArray's FFT grid."""
        return fourier.wavenumbers_squared(self._obj, dim, **kwargs)

    # -- graphs (spectrakit.xr.graphs): conventions in that module's docstring --

    def graph(self, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.graphs.graph` of these points (sample, feature)."""
        return graphs.graph(self._obj, **kwargs)

    def graph_spectrum(self, n_eigs=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.graphs.graph_spectrum` of this adjacency (or Laplacian)."""
        return graphs.graph_spectrum(self._obj, n_eigs, **kwargs)

    def spectral_clustering(self, n_clusters=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.graphs.spectral_clustering` of these points or this adjacency."""
        return graphs.spectral_clustering(self._obj, n_clusters, **kwargs)

    def graph_filter(self, adjacency, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.graphs.graph_filter` of this signal on the graph ``adjacency``."""
        return graphs.graph_filter(self._obj, adjacency, **kwargs)

    def label_propagation(self, adjacency, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.graphs.label_propagation` of these partial labels on ``adjacency``."""
        return graphs.label_propagation(self._obj, adjacency, **kwargs)

    # -- dynamics, weights, representations, implicit: conventions in each module's docstring --

    def ema_filter_response(self, alpha, lamb, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.dynamics.ema_filter_response` at these frequencies (cycles per step)."""
        return dynamics.ema_filter_response(self._obj, alpha, lamb, **kwargs)

    def conv_matrix(self, input_shape, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.weights.conv_matrix` of this conv kernel (out, in, kh, kw)."""
        return weights.conv_matrix(self._obj, input_shape, **kwargs)

    def conv_singular_values(self, input_shape, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.weights.conv_singular_values` of this conv kernel on ``input_shape``."""
        return weights.conv_singular_values(self._obj, input_shape, **kwargs)

    def conv_operator_norm(self, input_shape, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.weights.conv_operator_norm` of this conv kernel on ``input_shape``."""
        return weights.conv_operator_norm(self._obj, input_shape, **kwargs)

    def power_iteration(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.weights.power_iteration` on this matrix."""
        return weights.power_iteration(self._obj, **kwargs)

    def conv_power_iteration(self, input_shape, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.weights.conv_power_iteration` on this conv kernel."""
        return weights.conv_power_iteration(self._obj, input_shape, **kwargs)

    def gram_iteration_norm(self, input_shape=None, n_iter=4, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.weights.gram_iteration_norm` of this matrix or conv kernel."""
        return weights.gram_iteration_norm(self._obj, input_shape, n_iter, **kwargs)

    def spectral_normalize(self, target=1.0, input_shape=None, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.weights.spectral_normalize` of this weight."""
        return weights.spectral_normalize(self._obj, target, input_shape, **kwargs)

    def covariance_spectrum(self, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.covariance_spectrum` of these embeddings (sample, feature)."""
        return representations.covariance_spectrum(self._obj, **kwargs)

    def spectral_entropy(self, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.spectral_entropy` of this spectrum (over ``mode``)."""
        return representations.spectral_entropy(self._obj, **kwargs)

    def effective_rank(self, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.effective_rank` of this spectrum (or embeddings, ``kind="covariance"``)."""
        return representations.effective_rank(self._obj, **kwargs)

    def von_neumann_entropy(self, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.von_neumann_entropy` of these embeddings."""
        return representations.von_neumann_entropy(self._obj, **kwargs)

    def vicreg_terms(self, other, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.representations.vicreg_terms` of these embeddings (z_a) and ``other`` (z_b)."""
        return representations.vicreg_terms(self._obj, other, **kwargs)

    def iternorm(self, T=5, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.iternorm` of this covariance matrix."""
        return representations.iternorm(self._obj, T, **kwargs)

    def iternorm_whiten(self, T=5, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.iternorm_whiten` of these embeddings."""
        return representations.iternorm_whiten(self._obj, T, **kwargs)

    def switch_on_steps(self, level=0.5) -> xr.DataArray:
        """:func:`spectrakit.xr.representations.switch_on_steps` of this (step, mode) history."""
        return representations.switch_on_steps(self._obj, level)

    def learning_times(self, target, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.implicit.learning_times` of this (step, mode) history."""
        return implicit.learning_times(self._obj, target, **kwargs)

    def first_step_below(self, level) -> xr.DataArray:
        """:func:`spectrakit.xr.implicit.first_step_below` of this curve over ``step``."""
        return implicit.first_step_below(self._obj, level)

    def diagonal_network_gd(self, y, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.implicit.diagonal_network_gd` with this design (sample, feature) as X."""
        return implicit.diagonal_network_gd(self._obj, y, **kwargs)

    def diagonal_network_limit(self, y, init_scale, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.implicit.diagonal_network_limit` with this design as X."""
        return implicit.diagonal_network_limit(self._obj, y, init_scale, **kwargs)

    def diagonal_network_potential(self, init_scale, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.implicit.diagonal_network_potential` of these weights."""
        return implicit.diagonal_network_potential(self._obj, init_scale, **kwargs)

    def min_l1_interpolator(self, y, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.implicit.min_l1_interpolator` with this design as X."""
        return implicit.min_l1_interpolator(self._obj, y, **kwargs)

    def eigenpro_gd(self, y, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.implicit.eigenpro_gd` with this kernel (or design, ``kind="features"``)."""
        return implicit.eigenpro_gd(self._obj, y, **kwargs)

    def kmeans(self, n_clusters, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.graphs.kmeans` of these points (sample, feature)."""
        return graphs.kmeans(self._obj, n_clusters, **kwargs)

    def nmf_unmix(self, n_endmembers, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.graphs.nmf_unmix` of these spectra (pixel, band)."""
        return graphs.nmf_unmix(self._obj, n_endmembers, **kwargs)


@xr.register_dataset_accessor("spectral")
class SpectralDatasetAccessor:
    """``ds.spectral`` on a problem (variables A, b, optional x_true, attr noise_norm) or
    on a path returned by :func:`spectrakit.regularize`."""

    def __init__(self, obj: xr.Dataset):
        self._obj = obj

    def _problem_args(self, kwargs):
        ds = self._obj
        for name in ("A", "b"):
            if name not in ds:
                raise ValueError(f"this Dataset has no variable {name!r}: expected a problem with A and b.")
        if "x_true" in ds:
            kwargs.setdefault("x_true", ds["x_true"])
        return ds["A"], ds["b"], kwargs

    def regularize(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.regularize` on the problem's A, b (and x_true, noise_norm)."""
        A, b, kwargs = self._problem_args(kwargs)
        if self._obj.attrs.get("noise_norm"):
            kwargs.setdefault("noise_norm", self._obj.attrs["noise_norm"])
        return filtering.regularize(A, b, **kwargs)

    def picard(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.picard` on the problem's A and b."""
        A, b, kwargs = self._problem_args(kwargs)
        kwargs.pop("x_true", None)
        return filtering.picard(A, b, **kwargs)

    def choose(self, criterion: str, **options) -> float:
        """:func:`spectrakit.choose` on this path."""
        return filtering.choose(self._obj, criterion, **options)

    # -- Fourier: each data variable that has the dims (the others are kept unchanged) --

    def fft(self, dim=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.fft` of each data variable with all of ``dim``."""
        return fourier.fft(self._obj, dim, **kwargs)

    def ifft(self, dim=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.ifft` of each data variable with the frequency dims."""
        return fourier.ifft(self._obj, dim, **kwargs)

    def rfft(self, dim=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.rfft` of each data variable with all of ``dim``."""
        return fourier.rfft(self._obj, dim, **kwargs)

    def irfft(self, dim=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.irfft` of each data variable with the frequency dims."""
        return fourier.irfft(self._obj, dim, **kwargs)

    def power(self, dim, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.power` of each data variable with ``dim``."""
        return fourier.power(self._obj, dim, **kwargs)

    def spectrogram(self, dim, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.spectrogram` of each data variable with ``dim``."""
        return fourier.spectrogram(self._obj, dim, **kwargs)

    def isotropic_power(self, dims=None, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.fourier.isotropic_power` of each data variable with ``dims``."""
        return fourier.isotropic_power(self._obj, dims, **kwargs)

    # -- representations and implicit: results and problems as Datasets --

    def linear_barlow_twins(self, d_out, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.representations.linear_barlow_twins` on these views (view_a, view_b)."""
        return representations.linear_barlow_twins(self._obj, d_out, **kwargs)

    def gd_matrix_sensing(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.implicit.gd_matrix_sensing` on this matrix sensing problem."""
        return implicit.gd_matrix_sensing(self._obj, **kwargs)

    def scaled_gd(self, **kwargs) -> xr.Dataset:
        """:func:`spectrakit.xr.implicit.scaled_gd` on this matrix sensing problem."""
        return implicit.scaled_gd(self._obj, **kwargs)

    def learning_times(self, **kwargs) -> xr.DataArray:
        """:func:`spectrakit.xr.implicit.learning_times` of this matrix sensing result or history."""
        return implicit.learning_times(self._obj, **kwargs)
