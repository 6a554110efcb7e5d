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
