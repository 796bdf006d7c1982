"""The workflow config as a ``Study``: its typed fields and its ablations (which models meet which attack settings).

Torch-free and low in the layers (the reports read it). A ``Study`` is made in one place,
``newlogic.study_loader`` (read strictly, the schema's defaults filled, the strong suite expanded,
``newlogic.validation.validate_config`` run), for the Snakefile, the CLI and preflight alike.
"""

from dataclasses import dataclass
from typing import Any

from newlogic.attacks.catalog import CATALOG, DEFAULT_CLIP, NORMALIZED, NORMALIZED_NOTE, SCALE_NOTE
from newlogic.errors import UserError
from newlogic.names import check_safe_name
from newlogic.spec import canonical_name


@dataclass(frozen=True)
class ModelEntry:
    """A table row: the canonical model name (paths) and the label the config gives it."""

    name: str
    label: str


@dataclass(frozen=True)
class Ablation:
    """Models × attack settings × seeds on one dataset, tabulated together; ``caption`` heads its table."""

    name: str
    dataset: str
    models: tuple[ModelEntry, ...]
    settings: tuple[str, ...]
    seeds: tuple[int, ...]
    caption: str = ""
    suite: tuple[str, ...] = ()  # the strong suite's settings (newlogic.attacks.suite): evaluated, never columns

    @property
    def evaluated(self) -> tuple[str, ...]:
        """Every setting the ablation's models meet: its columns, then the strong suite."""
        return self.settings + self.suite


@dataclass(frozen=True)
class Study:
    """One workflow config, prepared: every key the schema defaults is present (``newlogic.study_loader``).

    ``config`` is the prepared mapping itself (what a job's ``--config`` copy holds and what the
    collector reads); the other fields are its keys, typed, so no reader restates a default.
    ``published`` maps each ablation with a published counterpart to its ``published`` block.
    """

    config: dict[str, Any]
    dataset: str
    run: str | None
    data_dir: str
    device: str
    seeds: tuple[int, ...]
    stats: str
    training: dict[str, Any]
    architecture: dict[str, Any]
    figures: dict[str, Any]
    attacks: dict[str, dict[str, Any]]
    ablations: dict[str, Ablation]
    published: dict[str, dict[str, Any]]
    landscape: dict[str, Any] | None


def study_of_prepared(config: dict[str, Any]) -> Study:
    """The ``Study`` of a config the loader has prepared (defaults filled, suite expanded, validated).

    Only ``newlogic.study_loader`` calls it: a key the schema defaults is read as it is, never defaulted here.
    """
    return Study(
        config=config, dataset=config["dataset"], run=config.get("run"), data_dir=config["data_dir"],
        device=config["device"], seeds=tuple(config["seeds"]), stats=config["stats"],
        training=config["training"], architecture=config["architecture"], figures=config["figures"],
        attacks=config["attacks"], ablations=ablations(config),
        published={name: body["published"] for name, body in config["ablations"].items() if "published" in body},
        landscape=config.get("landscape"),
    )


def seeds_from_command_line(config: dict[str, Any]) -> None:
    """Turn the digit strings of ``snakemake --config seeds='[0,1,2]'`` back into ints, in place.

    Snakemake parses a ``--config`` value with YAML's BaseLoader, which keeps every scalar inside a
    list a string; the schema (and the tables) want integer seeds.
    """
    seeds = config.get("seeds")
    if isinstance(seeds, list):
        config["seeds"] = [int(seed) if isinstance(seed, str) and seed.isascii() and seed.isdigit() else seed
                           for seed in seeds]  # '²'.isdigit() is True, int('²') fails: the schema names it instead


def _model_entry(entry: str | dict[str, Any], dataset: str) -> ModelEntry:
    if isinstance(entry, str):
        return ModelEntry(canonical_name(entry, dataset), entry)
    return ModelEntry(canonical_name(entry["name"], dataset), entry.get("label", entry["name"]))


def _unique_models(ablation: str, models: tuple[ModelEntry, ...]) -> tuple[ModelEntry, ...]:
    """The ablation's models; a model listed twice (under any two spellings of its name) is a UserError."""
    seen: dict[str, str] = {}
    labels = [entry.label for entry in models]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise UserError(f"ablation {ablation!r} gives label(s) {', '.join(map(repr, twice))} to two models; "
                        "each row needs its own label")
    for entry in models:
        if entry.name in seen:
            raise UserError(f"ablation {ablation!r} lists model {entry.name!r} twice ({seen[entry.name]!r} and "
                            f"{entry.label!r} name the same model); keep one")
        seen[entry.name] = entry.label
    return models


def _scale_dependent(setting: dict[str, Any]) -> str | None:
    """The attack of a column whose preset keeps the 2019 code's score-scale dependence (the catalog's), else None."""
    name = setting["base_attack"] if "base_attack" in setting else setting["attack"]
    entry = CATALOG.get(name)
    if entry is None:
        return None
    return name if setting.get("preset", entry.default_preset) in entry.scale_dependent_presets else None


def _caption(caption: str, settings: list[dict[str, Any]]) -> str:
    """The config's caption, plus ``NORMALIZED_NOTE`` when a column uses the paper's threat model and
    ``SCALE_NOTE`` when a column's attack depends on the score scale (the paper preset's 2019 attacks)."""
    clips = {setting.get("normalized_clip", DEFAULT_CLIP) for setting in settings
             if setting.get("threat_model") == NORMALIZED}
    notes = [NORMALIZED_NOTE.format(clip=clip) for clip in sorted(clips)]
    scale_dependent = sorted({name for name in map(_scale_dependent, settings) if name})
    if scale_dependent:
        notes.append(SCALE_NOTE.format(attacks=", ".join(scale_dependent)))
    if notes and caption and not caption.rstrip().endswith((".", "!", "?")):
        caption = caption.rstrip() + "."
    return " ".join([caption, *notes]).strip()


def ablations(config: dict[str, Any]) -> dict[str, Ablation]:
    """Every ablation of a config the study loader prepared (its seeds filled), models in config order, settings
    default to all."""
    dataset = config["dataset"]
    all_settings = tuple(config.get("attacks", {}))
    result = {}
    for name, body in config["ablations"].items():
        check_safe_name(name, "ablation")
        settings = tuple(body.get("attacks", all_settings))
        if len(set(settings)) != len(settings):
            raise UserError(f"ablation {name!r} lists an attack setting twice: {', '.join(settings)}")
        unknown = [setting for setting in settings if setting not in all_settings]
        if unknown:
            raise UserError(
                f"ablation {name!r} names attack setting(s) {', '.join(unknown)} not defined under 'attacks'; "
                f"defined: {', '.join(all_settings) or 'none'}"
            )
        models = _unique_models(name, tuple(_model_entry(entry, dataset) for entry in body["models"]))
        result[name] = Ablation(name, dataset, models, settings, tuple(config["seeds"]),
                                _caption(body.get("caption", ""), [config["attacks"][s] for s in settings]),
                                tuple(body.get("suite", ())))
    return result


def get_ablation(config: dict[str, Any], name: str) -> Ablation:
    """One ablation by name, with a clear error listing the defined ones."""
    defined = ablations(config)
    if name not in defined:
        raise UserError(f"unknown ablation {name!r}; defined: {', '.join(defined)}")
    return defined[name]
