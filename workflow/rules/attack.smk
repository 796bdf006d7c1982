# One attack setting on one training run, then the gradient-masking checks over all of its results.


rule attack:
    input:
        metrics=MODEL_METRICS,
        weights=MODEL_WEIGHTS,
        surrogate=surrogate_inputs,
    output:
        result=RESULT_JSON,
        samples=RESULT_NPZ,
    params:
        model_dir=model_dir,
        attack=lambda w: config["attacks"][w.setting]["attack"],
        setting=attack_setting,
        run_options=attack_run_options,
    log:
        "logs/attack/{dataset}/{model}/seed{seed}/{setting}.log",
    benchmark:
        "benchmarks/attack/{dataset}/{model}/seed{seed}/{setting}.tsv"
    threads: 1
    shell:
        "OMP_NUM_THREADS={threads} newlogic attack --model-dir {params.model_dir} --attack {params.attack}"
        " --setting {params.setting:q} {params.run_options}"
        " --seed {wildcards.seed} --out {output.result} --data-dir {config[data_dir]} --device {config[device]}"
        " > {log} 2>&1"


rule checks:
    input:
        model_results,
    output:
        CHECKS_JSON,
    log:
        "logs/checks/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/checks/{dataset}/{model}/seed{seed}.tsv"
    shell:
        "newlogic checks --results {input} --out {output} > {log} 2>&1"
