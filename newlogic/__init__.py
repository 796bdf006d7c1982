"""newlogic: logic-inspired neural networks and their adversarial robustness (see SPEC.md)."""

__version__ = "0.1.0"
