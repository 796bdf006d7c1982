"""A dataset's training recipe (SPEC §2–§3): the defaults a config's overrides apply on top of.

The recipes are part of the dataset entries (``newlogic.datasets``: ``training``, ``architecture``,
``augmentation``, and why each value); ``training`` keys are ``newlogic.training.options.TrainOptions``
fields, ``architecture`` keys ``newlogic.nn.options.ArchOptions`` fields. ``resolve_options`` merges a
config's overrides over them and validates the result.
"""

from newlogic.datasets import Recipe, dataset_info


def recipe(dataset: str) -> Recipe:
    """The recipe of ``dataset``'s entry; an unknown dataset is a UserError listing the registered ones."""
    return dataset_info(dataset).recipe
