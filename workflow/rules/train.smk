# One training run per (model, seed). Outputs are files, not the directory: a failed or preempted
# job leaves checkpoint.pt behind and `newlogic train` resumes from it on the retry. Retries come
# from the profile (`retries:`), not from the rule: a rule's `retries` is also applied by the
# snakemake inside a cluster job, which would rerun the job in the allocation whose time is up.
# `gpu=1`: a local GPU machine runs one GPU job at a time with `--resources gpu=1` (README).
# One thread: on the CPU, two one-thread jobs side by side finish ~10% sooner than two two-thread
# jobs one after the other (the MNIST CNN's batches are small), and a job's start-up, one thread
# anyway, no longer holds a second core; on a cluster node give more with
# `--set-threads train=N` (a profile's `set-threads:`).


rule train:
    input:
        data=lambda w: data_marker(w.dataset),
    output:
        metrics=MODEL_METRICS,
        weights=MODEL_WEIGHTS,
    log:
        logged("train/{dataset}/{model}/seed{seed}.log"),
    benchmark:
        benchmarked("train/{dataset}/{model}/seed{seed}.tsv")
    conda:
        "../envs/newlogic.yaml"
    threads: 1
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=60,
    params:
        out=model_dir,
        training=json_for_html(STUDY.training, sort_keys=True),
        architecture=json_for_html(STUDY.architecture, sort_keys=True),
        data_dir=STUDY.data_dir,
        device=STUDY.device,
    shell:
        "OMP_NUM_THREADS={threads} newlogic train --dataset {wildcards.dataset:q} --model {wildcards.model:q}"
        " --seed {wildcards.seed:q} --out {params.out:q} --data-dir {params.data_dir:q} --device {params.device:q}"
        " --training {params.training:q} --architecture {params.architecture:q} > {log:q} 2>&1"
