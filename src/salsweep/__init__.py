"""salsweep: measure how natural image perturbations change classifier saliency maps."""

__version__ = "0.1.0"
