"""Every check a job would run on the workflow config, at parse time (``snakemake -n`` names a bad value).

Above the attack catalog, the training options and the figure options in the layers (it asks each of
them), below the CLI and the workflow; like everything planning imports, it imports no torch,
scikit-learn or matplotlib (``tests/test_planning.py``). The config model itself (ablations, models,
settings) is ``newlogic.study``; the one loader that runs these checks, after the schema's defaults and
the strong suite, is ``newlogic.study_loader``.
"""

from typing import Any

from newlogic.attacks import resolve_setting
from newlogic.attacks.request import attack_request
from newlogic.datasets import dataset_info
from newlogic.errors import UserError
from newlogic.figures.options import FigureOptions
from newlogic.names import check_safe_name
from newlogic.options import from_dict
from newlogic.study import ablations
from newlogic.text import check_text, normalized
from newlogic.training.options import resolve_options


def validate_config(config: dict[str, Any]) -> None:
    """Run every check the jobs would run on ``config``; the first bad value raises a UserError naming it.

    ``config`` has the schema's defaults filled (``newlogic.study_loader.study_from_config`` calls this).

    Checks the dataset (``dataset_info``), the run and setting names (``check_safe_name``), the
    labels and captions (``check_config_text``), the ablations (model names, duplicates, setting ids),
    the ``training`` and ``architecture`` overrides against the dataset's recipe (``resolve_options``),
    every attack setting (``resolve_setting``: names, parameters, ranges, ε) and its surrogate's name,
    and ``figures`` (``FigureOptions``, its gallery's attack setting).
    """
    dataset = dataset_info(config["dataset"]).name  # an unknown dataset: a UserError listing the registered ones
    if config.get("run") is not None:
        check_safe_name(config["run"], "run")
    for name in config.get("attacks", {}):
        check_safe_name(name, "attack setting")
    check_config_text(config)
    ablations(config)
    resolve_options(dataset, dict(config["training"]), dict(config["architecture"]), train_size=1)
    for name, setting in config.get("attacks", {}).items():
        try:
            resolve_setting(attack_request(name, setting, dataset).attack, dataset)  # the surrogate's name too
        except UserError as error:
            raise UserError(f"attack setting {name!r}: {error}") from None
    figures = from_dict(FigureOptions, dict(config.get("figures") or {}), "figures")
    try:
        resolve_setting(figures.gallery_setting, dataset)
    except UserError as error:
        raise UserError(f"figures.gallery_setting: {error}") from None


def check_config_text(config: dict[str, Any]) -> None:
    """Labels and captions hold no hidden character (``newlogic.text``); an ablation's model labels stay distinct.

    Two labels are one when their ``newlogic.text.normalized`` forms are equal (``Ａ`` and ``A``, a
    label and the same label with a zero-width space): a UserError naming both. Labels equal as
    written are left to ``newlogic.study``, which names them too.
    """
    for name, setting in (config.get("attacks") or {}).items():
        if isinstance(setting, dict) and "label" in setting:
            check_text(setting["label"], f"attacks.{name}.label")
    for ablation, body in (config.get("ablations") or {}).items():
        if not isinstance(body, dict):
            continue
        if "caption" in body:
            check_text(body["caption"], f"ablations.{ablation}.caption")
        seen: dict[str, str] = {}
        for entry in body.get("models") or []:
            label = check_text(entry.get("label", entry.get("name")) if isinstance(entry, dict) else entry,
                               f"ablations.{ablation}: label")
            twin = seen.setdefault(normalized(label), label)
            if twin != label:
                raise UserError(f"ablation {ablation!r}: labels {twin!r} and {label!r} read the same once normalised "
                                "(NFKC, hidden characters removed); each row needs its own label")
