"""Compute layer: unlabelled torch tensors in, tensors out (device and dtype kept)."""
