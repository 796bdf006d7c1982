# Figures (PNG for the report, PDF for papers) under results/figures/; captions in workflow/report/.
# The per-ablation figures and the depth plot read small JSON files: they run where Snakemake runs.
from newlogic.store.paths import ACCURACY_FIGURE, DEPTH_FIGURE, MODEL_FIGURE_NAMES, TRAINING_CURVES_FIGURE

ABLATION_FIGURES = (ACCURACY_FIGURE, TRAINING_CURVES_FIGURE)


localrules:
    figures_ablation,
    figures_depth,


rule figures_model:
    input:
        metrics=MODEL_METRICS,
        weights=MODEL_WEIGHTS,
        results=model_results,
    output:
        **{
            f"{name}_png": report_png(
                f"{MODEL_FIGURES_DIR}/{name}.png", name, figure=name, model="{model}", seed="{seed}"
            )
            for name in MODEL_FIGURE_NAMES
        },
        **{f"{name}_pdf": f"{MODEL_FIGURES_DIR}/{name}.pdf" for name in MODEL_FIGURE_NAMES},
    log:
        "logs/figures/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/figures/{dataset}/{model}/seed{seed}.tsv"
    conda:
        "../envs/newlogic.yaml"
    resources:
        gpu=1,  # it runs the model (--device): one GPU job at a time with --resources gpu=1
        mem_mb=4000,
        runtime=30,
    params:
        model_dir=model_dir,
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        options=json.dumps(config.get("figures", {}), sort_keys=True),
        data_dir=config["data_dir"],
        device=config["device"],
    shell:
        "OMP_NUM_THREADS={threads} newlogic figures model --model-dir {params.model_dir}"
        " --out-dir {params.out_dir} --results {input.results} --options {params.options:q}"
        " --seed {wildcards.seed} --data-dir {params.data_dir} --device {params.device} > {log} 2>&1"


rule figures_ablation:
    input:
        results=ablation_results,
        metrics=ablation_metrics,
    output:
        **{
            f"{name}_png": report_png(
                f"{ABLATION_FIGURES_DIR}/{name}.png", name, figure=name, model="{ablation}", seed="all"
            )
            for name in ABLATION_FIGURES
        },
        **{f"{name}_pdf": f"{ABLATION_FIGURES_DIR}/{name}.pdf" for name in ABLATION_FIGURES},
    log:
        "logs/figures/{ablation}.log",
    benchmark:
        "benchmarks/figures/{ablation}.tsv"
    conda:
        "../envs/newlogic.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        labels=ablation_labels,
    shell:
        "newlogic figures ablation --results {input.results} --metrics {input.metrics}"
        " --out-dir {params.out_dir} --labels {params.labels:q} --title {wildcards.ablation:q} > {log} 2>&1"


rule figures_depth:
    input:
        DEPTH_JSON,
    output:
        png=report_png(
            f"{DEPTH_FIGURES_DIR}/{DEPTH_FIGURE}.png",
            DEPTH_FIGURE,
            figure=DEPTH_FIGURE,
            model="ReLU vs ReLog",
            seed="0",
        ),
        pdf=f"{DEPTH_FIGURES_DIR}/{DEPTH_FIGURE}.pdf",
    log:
        "logs/figures/depth.log",
    benchmark:
        "benchmarks/figures/depth.tsv"
    conda:
        "../envs/newlogic.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.png),
    shell:
        "newlogic figures depth --depth-json {input} --out-dir {params.out_dir} > {log} 2>&1"
