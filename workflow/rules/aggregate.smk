# Tables and the summary (`{ablation}.summary.json`, docs/results.md) per ablation; cheap, so it
# runs where Snakemake runs (the login node on a cluster).
# The config reaches the job as a file, never as a parameter: Snakemake embeds parameters in
# report.html and in the command line. Its name is the hash of its text, so a changed config
# makes a new file, and the tables that read it run again.
CONFIG_TEXT = json.dumps(STUDY.config)  # the prepared config, key order kept: columns follow it
CONFIG_JSON = str(paths.config_json(RESULTS, CONFIG_TEXT))  # refused when edited: newlogic.store.config_copy


localrules:
    aggregate,
    config_json,


rule config_json:
    output:
        CONFIG_JSON,
    log:
        logged("config_json.log"),  # nothing to log: the file is written in this process
    run:
        atomic_write_text(Path(output[0]), CONFIG_TEXT)


rule aggregate:
    input:
        ablation_inputs,
        config=CONFIG_JSON,
    output:
        csv=report(
            paths.TABLE.format(results=RESULTS, ablation="{ablation}", ext="csv"),
            caption="../report/table.rst",
            category="Tables",
            labels={"ablation": "{ablation}"},
        ),
        md=paths.TABLE.format(results=RESULTS, ablation="{ablation}", ext="md"),
        tex=paths.TABLE.format(results=RESULTS, ablation="{ablation}", ext="tex"),
        summary=paths.TABLE.format(results=RESULTS, ablation="{ablation}", ext=paths.SUMMARY_EXT),
    log:
        logged("aggregate/{ablation}.log"),
    benchmark:
        benchmarked("aggregate/{ablation}.tsv")
    conda:
        "../envs/newlogic.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.csv),
        # paths.TABLE is {results}/tables/...: the results folder is the tables' parent
        results_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.csv)),
    shell:
        "newlogic aggregate --config {input.config:q} --ablation {wildcards.ablation:q}"
        " --results-dir {params.results_dir:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


# Published against regenerated (newlogic.report.reproduction, docs/results.md): for each ablation
# with a `published` counterpart, the paper's numbers beside the regenerated ones, and the figure.
localrules:
    reproduction,


rule reproduction:
    input:
        ablation_inputs,
        config=CONFIG_JSON,
    output:
        csv=report(
            reproduction_table("{ablation}", "csv"),
            caption="../report/reproduction.rst",
            category="Reproduction",
            labels={"ablation": "{ablation}", "item": "table (CSV)"},
        ),
        md=reproduction_table("{ablation}", "md"),
        tex=reproduction_table("{ablation}", "tex"),
        png=report(
            f"{ABLATION_FIGURES_DIR}/{paths.REPRODUCTION_FIGURE}.png",
            caption="../report/reproduction.rst",
            category="Reproduction",
            labels={"ablation": "{ablation}", "item": "figure"},
        ),
        pdf=f"{ABLATION_FIGURES_DIR}/{paths.REPRODUCTION_FIGURE}.pdf",
    log:
        logged("reproduction/{ablation}.log"),
    benchmark:
        benchmarked("reproduction/{ablation}.tsv")
    conda:
        "../envs/newlogic.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.csv),
        figure_dir=lambda wildcards, output: os.path.dirname(output.png),
        results_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.csv)),
    shell:
        "newlogic reproduction --config {input.config:q} --ablation {wildcards.ablation:q}"
        " --results-dir {params.results_dir:q} --out-dir {params.out_dir:q} --figure-dir {params.figure_dir:q}"
        " > {log:q} 2>&1"
