# newlogic workflow: train → attack → checks → aggregate. Thin by design: the science is in the
# `newlogic` package; rules only wire files (see docs/architecture.md and README.md).
import os
import sys

from snakemake.utils import min_version

from newlogic.errors import UserError
from newlogic.study import seeds_from_command_line
from newlogic.study_loader import study_from_config

min_version("9.0")


# The digits demo is the default; a --configfile replaces it (Snakemake would otherwise merge the two).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


seeds_from_command_line(config)
# Configs are data (newlogic.config_file): each config file is read again strictly, so duplicate keys, YAML
# tags and __use_yte__ are refused before any job. Snakemake itself has loaded (and, for __use_yte__,
# evaluated) a --configfile before this line runs: README "Configs". Then the one study loader
# (newlogic.study_loader, as the CLI and preflight): the schema (one line naming the key), its defaults
# filled into `config`, the strong suite expanded, and every job's checks in the main process
# (the dry run and the scheduling process; jobs parse a config checked already).
try:
    STUDY = study_from_config(config, configfiles=workflow.configfiles, validate=workflow.is_main_process)
except UserError as error:
    sys.exit(f"config error: {error}")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/attack.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


# The report opens on the findings (rule landing) once they exist; before, on a note saying how to make them.
report: os.path.abspath(LANDING_RST) if os.path.exists(LANDING_RST) else "workflow/report/workflow.rst"


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
        LANDING_RST,
