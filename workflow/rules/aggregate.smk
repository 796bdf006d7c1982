# Tables per ablation; cheap, so it runs where Snakemake runs (the login node on a cluster).
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
    params:
        config=json.dumps(config),  # key order kept: columns follow the config
    log:
        "logs/aggregate/{ablation}.log",
    benchmark:
        "benchmarks/aggregate/{ablation}.tsv"
    shell:
        "newlogic aggregate --config {params.config:q} --ablation {wildcards.ablation}"
        " --results-dir {RESULTS} --out-dir {RESULTS}/tables > {log} 2>&1"
