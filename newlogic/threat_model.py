"""Threat models of an attack setting, importable without torch (the tables read them too).

The attacks run in the paper's one by ``newlogic.attacks.normalized``.

``pixels`` (default): ε in pixel units, adversarial images clipped to [0, 1]. ``normalized`` (the
paper's CIFAR-10 threat model, SPEC §3 calls it a flaw): ε in normalised units
``z = (x − mean_c) / std_c`` and ``z`` clipped to ``±normalized_clip`` (journal: 3).
"""

PIXELS = "pixels"
NORMALIZED = "normalized"
THREAT_MODELS = (PIXELS, NORMALIZED)
DEFAULT_CLIP = 3.0  # the journal's ±3
NORMALIZED_NOTE = ("Threat model: the paper's, ε in normalised units (x − mean)/std and clip ±{clip:g} "
                   "(SPEC §3 calls it a flaw), for the settings with threat_model: normalized.")
