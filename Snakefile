# newlogic workflow: train → attack → checks → aggregate. Thin by design: the science is in the
# `newlogic` package; rules only wire files (see docs/architecture.md and README.md).
import sys

from snakemake.utils import min_version, validate

from newlogic.config_file import check_workflow_config
from newlogic.errors import UserError
from newlogic.study import seeds_from_command_line

min_version("9.0")


# The digits demo is the default; a --configfile replaces it (Snakemake would otherwise merge the two).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


seeds_from_command_line(config)
# Configs are data (newlogic.config_file): each config file is read again strictly, so duplicate keys, YAML
# tags and __use_yte__ are refused before any job, and a schema error is one line naming the key. Snakemake
# itself has loaded (and, for __use_yte__, evaluated) a --configfile before this line runs: README "Configs".
try:
    check_workflow_config(config, workflow.configfiles, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
except UserError as error:
    sys.exit(f"config error: {error}")
validate(config, "workflow/schemas/config.schema.yaml")  # fills in the schema's defaults


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


# Under the slurm executor, the cluster preflight runs before the first sbatch and stops the run on a
# blocking finding; then a watchdog stops a run whose job states stay unreadable (cluster/README.md).
# Jobs inside Slurm re-read this file: the hook acts only in the main process and under the slurm executor.
onstart:
    from newlogic.preflight import workflow_preflight

    workflow_preflight(workflow, config)


rule all:
    default_target: True
    input:
        all_outputs(),
