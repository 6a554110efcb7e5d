"""Representation spectra, compute layer: embedding covariance spectra, effective rank, von
Neumann entropy, VICReg / VNE / Barlow Twins losses, IterNorm whitening, and small
self-supervised training loops on synthetic two-view data.

Torch only, unlabelled tensors in and out: every result is on the input's device and in
its dtype, and no input is modified (training loops train a copy of the encoder). Random
draws come from a CPU ``torch.Generator`` seeded with ``seed`` and are then moved, so a
seeded call gives the same numbers on the CPU and on a GPU (up to rounding). Embeddings
are ``z`` of shape ``(n, d)``: ``n`` samples (the batch), ``d`` embedding dimensions.

Functions
---------
embedding_covariance    the (d, d) covariance (centred, / (n-1)) or autocorrelation (/ n)
covariance_spectrum     its eigenvalues, largest first
spectral_entropy        -sum p log p of p = s / sum(s), along the last dim
effective_rank          exp(spectral_entropy) (Roy & Vetterli 2007) of a spectrum, of the
                        covariance eigenvalues of z, or of the singular values of z (RankMe)
von_neumann_entropy     VNE (Kim et al. 2023): entropy of the eigenvalues of the
                        autocorrelation of the row-normalized embeddings
vne_loss                -von_neumann_entropy (minimize to raise the entropy)
vicreg_terms            VICReg's invariance, variance and covariance terms (Bardes et al. 2022)
vicreg_loss             their weighted sum, paper defaults 25, 25, 1
barlow_twins_loss       Zbontar et al. 2021 (normalize=True), or the unnormalized symmetrized
                        form of Simon et al. 2023 (normalize=False, lambd=1)
iternorm                whitening matrix by T Newton-Schulz steps (Huang et al. 2019)
iternorm_whiten         the embeddings whitened by it
ssl_toy_data            two augmented views of synthetic data with a known signal spectrum
linear_encoder          a seeded bias-free torch.nn.Linear
train_ssl               train a copy of an encoder on two views; covariance spectra per step
SSLTrainer              its step routine, one optimizer step at a time (exact pause and resume)
linear_barlow_twins     linear Barlow Twins from small init: eigenvalues learned one at a time
switch_on_steps         the step at which each eigenvalue first reaches a fraction of its final value

Modules
-------
The names above are re-exported here from the modules that define them, one family each:
``metrics`` (covariances, spectra, spectral entropy, effective rank, von Neumann entropy),
``losses`` (VNE, VICReg, Barlow Twins), ``whitening`` (IterNorm) and ``training`` (the
synthetic two-view data, the linear encoder, the training loops and switch-on steps);
``_common`` holds their shared argument checks. Import from
``spectrakit.core.representations``; the module layout may change.
"""

from .metrics import (
    covariance_spectrum,
    effective_rank,
    embedding_covariance,
    spectral_entropy,
    von_neumann_entropy,
)
from .losses import VICRegTerms, barlow_twins_loss, vicreg_loss, vicreg_terms, vne_loss
from .whitening import iternorm, iternorm_whiten
from .training import (
    SSLTrainResult,
    SSLTrainer,
    StepwiseResult,
    ViewPair,
    linear_barlow_twins,
    linear_encoder,
    ssl_toy_data,
    switch_on_steps,
    train_ssl,
)

__all__ = [
    "embedding_covariance",
    "covariance_spectrum",
    "spectral_entropy",
    "effective_rank",
    "von_neumann_entropy",
    "vne_loss",
    "VICRegTerms",
    "vicreg_terms",
    "vicreg_loss",
    "barlow_twins_loss",
    "iternorm",
    "iternorm_whiten",
    "ViewPair",
    "ssl_toy_data",
    "linear_encoder",
    "SSLTrainResult",
    "SSLTrainer",
    "train_ssl",
    "StepwiseResult",
    "linear_barlow_twins",
    "switch_on_steps",
]
