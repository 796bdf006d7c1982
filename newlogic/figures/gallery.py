"""A gallery of adversarial examples (SPEC §6, journal: C&W): clean, perturbation, adversarial, both predictions.

The first ``n_samples`` test images in the order ``newlogic.evaluation.evaluate`` attacks them (a
``randperm`` seeded with ``seed``) are attacked on the spot with one registered attack setting
(``newlogic.attacks``; default C&W L2, ``paper`` preset), through the model's scores unless the
setting says ``attack_on: probs``. A prediction is ``argmax_c s_c`` with its probability
``p_c``; a ``sigmoid_out`` model that rejects an image (every ``σ(s_c) < 0.5``) is marked
"rejected". The perturbation ``δ = x_adv − x`` is drawn on one colour scale centred on 0 for
all samples (channels averaged; the scale spans at least one grey level, ±1/255), titled
with its L2 norm.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

from newlogic.attacks import resolve_setting
from newlogic.attacks.base import run_attack
from newlogic.attacks.catalog import GALLERY_SETTING
from newlogic.attacks.context import AttackContext
from newlogic.errors import UserError
from newlogic.evaluation.model_loading import TrainedModel
from newlogic.evaluation.target import attack_target
from newlogic.figures.common import centred_norm, show_image, show_signed
from newlogic.figures.options import GALLERY_SAMPLES
from newlogic.nn.outputs import predictions, probabilities, rejected

MIN_DELTA_SCALE = 1 / 255  # one grey level: float noise of an unchanged image stays white


@dataclass(frozen=True)
class Gallery:
    """Clean and adversarial images ``[n, C, H, W]``, labels, and per image: prediction, its probability, rejected."""

    clean: torch.Tensor
    adversarial: torch.Tensor
    labels: torch.Tensor
    setting: str
    clean_prediction: torch.Tensor
    clean_probability: torch.Tensor
    clean_rejected: torch.Tensor
    adv_prediction: torch.Tensor
    adv_probability: torch.Tensor
    adv_rejected: torch.Tensor


def craft_gallery(trained: TrainedModel, images: torch.Tensor, labels: torch.Tensor, *,
                  setting: Mapping[str, Any] = GALLERY_SETTING, n_samples: int = GALLERY_SAMPLES, seed: int = 0,
                  device: torch.device | str = "cpu") -> Gallery:
    """Attack the first ``n_samples`` of ``images`` shuffled with ``seed`` using ``setting``; read both predictions."""
    attack = resolve_setting(setting, trained.dataset)
    if attack.entry.needs_surrogate:
        raise UserError("the adversarial gallery crafts on the model itself; use a white- or black-box attack, "
                        f"not {attack.name}")
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:n_samples]
    x, y = images[order].to(device), labels[order].to(device)
    model, spec = trained.model.requires_grad_(False), trained.spec
    with torch.no_grad():
        num_classes = int(model(x[:1]).shape[1])
    context = AttackContext(num_classes=num_classes, probabilities=lambda inputs: probabilities(model(inputs), spec),
                            seed=seed)
    torch.manual_seed(seed)
    target = attack_target(model, spec.output, attack.params["attack_on"])
    adversarial = run_attack(attack, target, x, y, context).detach()
    with torch.no_grad():
        clean_scores, adv_scores = model(x), model(adversarial)
    clean_p, adv_p = probabilities(clean_scores, spec), probabilities(adv_scores, spec)
    clean_pred, adv_pred = predictions(clean_scores), predictions(adv_scores)
    label = attack.name + ("" if attack.eps is None else f" ε={attack.eps:g}")
    return Gallery(
        clean=x.cpu(), adversarial=adversarial.cpu(), labels=y.cpu(), setting=label,
        clean_prediction=clean_pred.cpu(), clean_probability=clean_p.gather(1, clean_pred[:, None]).squeeze(1).cpu(),
        clean_rejected=rejected(clean_scores, spec).cpu(),
        adv_prediction=adv_pred.cpu(), adv_probability=adv_p.gather(1, adv_pred[:, None]).squeeze(1).cpu(),
        adv_rejected=rejected(adv_scores, spec).cpu(),
    )


def _verdict(prediction: int, probability: float, is_rejected: bool) -> str:
    return f"rejected ({prediction}: {probability:.2f})" if is_rejected else f"pred {prediction} ({probability:.2f})"


def plot_gallery(gallery: Gallery, title: str = "") -> Figure:
    """Three rows (clean, perturbation, adversarial), one column per sample, predictions in the titles."""
    count = len(gallery.labels)
    delta = gallery.adversarial - gallery.clean
    norm = centred_norm(delta.mean(dim=1).numpy(), minimum=MIN_DELTA_SCALE)
    figure = Figure(figsize=(1.5 * count + 1.2, 5.4), layout="constrained")
    axes = figure.subplots(3, count, squeeze=False)
    perturbations: list[AxesImage] = []
    for column in range(count):
        label = int(gallery.labels[column])
        clean_ok = int(gallery.clean_prediction[column]) == label and not bool(gallery.clean_rejected[column])
        adv_ok = int(gallery.adv_prediction[column]) == label and not bool(gallery.adv_rejected[column])
        show_image(axes[0, column], gallery.clean[column])
        axes[0, column].set_title(f"label {label}\n" + _verdict(int(gallery.clean_prediction[column]),
                                  float(gallery.clean_probability[column]), bool(gallery.clean_rejected[column])),
                                  fontsize=7, color="black" if clean_ok else "tab:red")
        perturbations.append(show_signed(axes[1, column], delta[column], norm))
        axes[1, column].set_title(f"L2 = {float(delta[column].norm()):.2f}", fontsize=7)
        show_image(axes[2, column], gallery.adversarial[column])
        axes[2, column].set_title(_verdict(int(gallery.adv_prediction[column]), float(gallery.adv_probability[column]),
                                           bool(gallery.adv_rejected[column])),
                                  fontsize=7, color="black" if adv_ok else "tab:red")
    for row, name in enumerate(("clean", "perturbation", "adversarial")):
        axes[row, 0].set_ylabel(name)
    figure.colorbar(perturbations[-1], ax=axes[1, :], shrink=0.9, label="δ")
    figure.suptitle(f"Adversarial examples: {gallery.setting} {title}".strip())
    return figure
