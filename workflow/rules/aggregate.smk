# Tables and the summary (`{ablation}.summary.json`, docs/results.md) per ablation; cheap, so it
# runs where Snakemake runs (the login node on a cluster).
localrules:
    aggregate,


rule aggregate:
    input:
        ablation_inputs,
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
        "logs/aggregate/{ablation}.log",
    benchmark:
        "benchmarks/aggregate/{ablation}.tsv"
    conda:
        "../envs/newlogic.yaml"
    params:
        config=json.dumps(config),  # key order kept: columns follow the config
        out_dir=lambda wildcards, output: os.path.dirname(output.csv),
        # paths.TABLE is {results}/tables/...: the results folder is the tables' parent
        results_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(output.csv)),
    shell:
        "newlogic aggregate --config {params.config:q} --ablation {wildcards.ablation}"
        " --results-dir {params.results_dir} --out-dir {params.out_dir} > {log} 2>&1"
