"""Evaluation of trained models: attacks run on a model, noise rejection, depth propagation."""
