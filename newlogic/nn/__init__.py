"""Layers and models of the study (SPEC §2–§3)."""
