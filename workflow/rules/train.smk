# One training run per (model, seed). Outputs are files, not the directory: a failed or preempted
# job leaves checkpoint.pt behind and `newlogic train` resumes from it on the retry.


rule train:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        metrics=MODEL_METRICS,
        weights=MODEL_WEIGHTS,
    params:
        out=model_dir,
        training=json.dumps(config.get("training", {}), sort_keys=True),
        architecture=json.dumps(config.get("architecture", {}), sort_keys=True),
    log:
        "logs/train/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{dataset}/{model}/seed{seed}.tsv"
    threads: 2
    retries: 2
    shell:
        "OMP_NUM_THREADS={threads} newlogic train --dataset {wildcards.dataset} --model {wildcards.model} --seed {wildcards.seed}"
        " --out {params.out} --data-dir {config[data_dir]} --device {config[device]}"
        " --training {params.training:q} --architecture {params.architecture:q} > {log} 2>&1"
