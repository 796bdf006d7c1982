# Evaluation of one training run in one job: all of its attack settings, noise rejection and the
# gradient-masking checks (`newlogic evaluate`). A rule's outputs are fixed, so models that meet
# different settings get different rules (`evaluation_groups`: `evaluate`, `evaluate_2`, ...).
# Results are `update()` outputs: Snakemake keeps them when the job reruns, and the library skips
# each finished one (its `request_hash`), so a deleted result recomputes only that setting.


for index, (settings, models) in enumerate(evaluation_groups()):

    rule:
        name:
            evaluation_rule(index)
        input:
            metrics=MODEL_METRICS,
            weights=MODEL_WEIGHTS,
            surrogates=surrogate_inputs,
        output:
            *[update(RESULT_JSON.replace("{setting}", setting)) for setting in settings],
            *[update(RESULT_NPZ.replace("{setting}", setting)) for setting in settings],
            noise=update(NOISE_JSON),
            checks=CHECKS_JSON,
        log:
            logged("evaluate/{dataset}/{model}/seed{seed}.log"),
        benchmark:
            benchmarked("evaluate/{dataset}/{model}/seed{seed}.tsv")
        wildcard_constraints:
            model="|".join(re.escape(model) for model in models),
        conda:
            "../envs/newlogic.yaml"
        threads: 1
        resources:
            gpu=1,  # one GPU job at a time on a local GPU machine with --resources gpu=1
            mem_mb=4000,
            runtime=60,
        params:
            model_dir=model_dir,
            settings=settings_json,
            surrogates=surrogates_json,
            out_dir=lambda wildcards, output: os.path.dirname(output.checks),
            data_dir=STUDY.data_dir,
            device=STUDY.device,
            # the config's landscape block (schema: known keys, numbers only, so no quote inside), or nothing
            landscape=f" --landscape '{json.dumps(STUDY.landscape)}'" if STUDY.landscape is not None else "",
        shell:
            "OMP_NUM_THREADS={threads} newlogic evaluate --model-dir {params.model_dir:q} --settings {params.settings:q}"
            " --surrogates {params.surrogates:q} --out-dir {params.out_dir:q} --noise-out {output.noise:q}"
            " --checks-out {output.checks:q} --seed {wildcards.seed:q} --data-dir {params.data_dir:q}"
            " --device {params.device:q}{params.landscape} > {log:q} 2>&1"
