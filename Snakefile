# newlogic workflow: train → attack → checks → aggregate. Thin by design: the science is in the
# `newlogic` package; rules only wire files (see docs/architecture.md and README.md).
from snakemake.utils import min_version, validate

from newlogic.study import seeds_from_command_line

min_version("9.0")


# The digits demo is the default; a --configfile replaces it (Snakemake would otherwise merge the two).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


seeds_from_command_line(config)
validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
