# newlogic workflow: train → attack → checks → aggregate. Thin by design: the science is in the
# `newlogic` package; rules only wire files (see docs/architecture.md and README.md).
from snakemake.utils import min_version, validate

min_version("9.0")


# The digits demo is the default; a --configfile replaces it (Snakemake would otherwise merge the two).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"



validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
