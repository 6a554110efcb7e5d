"""GUI-free sessions: a cached decomposition plus ``update(reg, ...)``."""

from .filtering import RegularizationSession

__all__ = ["RegularizationSession"]
