"""Attack kinds (what the gradient-masking checks compare by), importable without torch (outside ``newlogic.attacks``).

``one_step`` (FGSM, FGM), ``iterative`` (BIM, PGD, C&W, MaxConfidence, JSMA), ``black_box`` (SPSA),
``transfer`` (examples crafted on a surrogate), ``ensemble`` (AutoAttack) and ``noise`` (uniform
random noise at ε: the baseline an attack must beat, Carlini et al. 2019 §5).
"""

ATTACK_KINDS = ("one_step", "iterative", "black_box", "transfer", "ensemble", "noise")
# attacks that differentiate the attacked model itself: their results record the zero-gradient fraction
WHITE_BOX_KINDS = ("one_step", "iterative", "ensemble")
