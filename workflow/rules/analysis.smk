# Analyses beyond attacks (SPEC §6): noise rejection per training run, depth propagation once.


rule noise:
    input:
        metrics=MODEL_METRICS,
        weights=MODEL_WEIGHTS,
    output:
        NOISE_JSON,
    params:
        model_dir=model_dir,
    log:
        "logs/noise/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/noise/{dataset}/{model}/seed{seed}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} newlogic noise --model-dir {params.model_dir} --out {output} --seed {wildcards.seed}"
        " --data-dir {config[data_dir]} --device {config[device]} > {log} 2>&1"


rule depth:
    output:
        DEPTH_JSON,
    log:
        "logs/depth.log",
    benchmark:
        "benchmarks/depth.tsv"
    shell:
        "newlogic inspect depth --out {output} > {log} 2>&1"
