"""Reproducing the noisy-link model: synthetic copies and non-copies, and the fit (not imported by the service)."""
