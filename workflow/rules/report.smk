# The report's first screen (newlogic.report.html_page): per ablation its findings, headline table and
# robustness curves, from every ablation's summary.json. The Snakefile's `report:` description is LANDING_RST
# once it exists, so `snakemake --report` opens on it. Cheap: it runs where Snakemake runs.
import shlex

from newlogic.store.paths import ROBUSTNESS_FIGURE

LANDING_RST = paths.LANDING_RST.format(results=RESULTS)


localrules:
    landing,


rule landing:
    input:
        summaries=[paths.TABLE.format(results=RESULTS, ablation=name, ext=paths.SUMMARY_EXT) for name in ABLATIONS],
        checks=[file for name in ABLATIONS for file in ablation_files(name)],  # the checks the verdicts link to
        config=CONFIG_JSON,
    output:
        rst=LANDING_RST,
        png=[
            report_png(
                f"{ABLATION_FIGURES_DIR.format(ablation=name)}/{ROBUSTNESS_FIGURE}.png",
                ROBUSTNESS_FIGURE,
                figure=ROBUSTNESS_FIGURE,
                model=name,
                seed="all",
            )
            for name in ABLATIONS
        ],
        pdf=[f"{ABLATION_FIGURES_DIR.format(ablation=name)}/{ROBUSTNESS_FIGURE}.pdf" for name in ABLATIONS],
    log:
        logged("landing.log"),
    benchmark:
        benchmarked("landing.tsv")
    conda:
        "../envs/newlogic.yaml"
    params:
        # LANDING_RST is {results}/report/landing.rst; each figure {results}/figures/{ablation}/robustness_curves.png
        results_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.rst)),
        figures_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.png[0])),
        summaries=lambda wildcards, input: " ".join(f"--summary {shlex.quote(path)}" for path in input.summaries),
    shell:
        "newlogic landing {params.summaries} --config {input.config:q} --results-dir {params.results_dir:q}"
        " --figures-dir {params.figures_dir:q} --out {output.rst:q} > {log:q} 2>&1"
