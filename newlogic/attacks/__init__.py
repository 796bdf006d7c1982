"""Attacks (SPEC §5), torch-free at import: the catalog (``catalog``: what each attack is) and setting resolution
(``resolve``). The implementations load only when an attack runs (``base.run_attack``), one module per
family: ``gradient`` (fgsm, fgm_l2, bim: cleverhans for the paper preset, the project's ``fgm``/``pgd``
with per-sample ``losses`` for the strong one), ``pgd``, ``adaptive`` (through ``newlogic.nn.surrogate``),
``carlini`` (cw_l2: the project's batched C&W), ``spsa`` (the project's batched SPSA),
``max_confidence``, ``saliency`` (jsma: torchattacks), ``transfer``, ``autoattack`` (with ``apgd``: the
project's APGD port), ``uniform_noise`` (the noise baseline of the masking checks); ``suite`` is the
strong suite; ``normalized`` is the paper's threat model, applied by ``run_attack``.
"""

from newlogic.attacks.catalog import CATALOG, PRESETS, AttackEntry, attack_entry
from newlogic.attacks.resolve import ResolvedAttack, resolve_setting

__all__ = ["CATALOG", "PRESETS", "AttackEntry", "ResolvedAttack", "attack_entry", "resolve_setting"]
