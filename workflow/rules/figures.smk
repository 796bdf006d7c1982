# Figures (PNG for the report, PDF for papers) under results/figures/; captions in workflow/report/.
from newlogic.store.paths import ACCURACY_FIGURE, DEPTH_FIGURE, MODEL_FIGURE_NAMES


def report_png(path, name, **labels):
    return report(path, caption=f"../report/{name}.rst", category="Figures", labels=labels)


rule figures_model:
    input:
        metrics=MODEL_METRICS,
        weights=MODEL_WEIGHTS,
        results=model_results,
    output:
        **{f"{name}_png": report_png(f"{MODEL_FIGURES_DIR}/{name}.png", name, figure=name, model="{model}",
                                     seed="{seed}") for name in MODEL_FIGURE_NAMES},
        **{f"{name}_pdf": f"{MODEL_FIGURES_DIR}/{name}.pdf" for name in MODEL_FIGURE_NAMES},
    params:
        model_dir=model_dir,
        out_dir=MODEL_FIGURES_DIR,
        options=json.dumps(config.get("figures", {}), sort_keys=True),
    log:
        "logs/figures/{dataset}/{model}/seed{seed}.log",
    benchmark:
        "benchmarks/figures/{dataset}/{model}/seed{seed}.tsv"
    shell:
        "OMP_NUM_THREADS={threads} newlogic figures model --model-dir {params.model_dir} --out-dir {params.out_dir} --results {input.results}"
        " --options {params.options:q} --seed {wildcards.seed} --data-dir {config[data_dir]} --device {config[device]}"
        " > {log} 2>&1"


rule figures_ablation:
    input:
        ablation_results,
    output:
        png=report_png(f"{ABLATION_FIGURES_DIR}/{ACCURACY_FIGURE}.png", ACCURACY_FIGURE, figure=ACCURACY_FIGURE,
                       model="{ablation}", seed="all"),
        pdf=f"{ABLATION_FIGURES_DIR}/{ACCURACY_FIGURE}.pdf",
    params:
        out_dir=ABLATION_FIGURES_DIR,
        labels=ablation_labels,
    log:
        "logs/figures/{ablation}.log",
    shell:
        "newlogic figures ablation --results {input} --out-dir {params.out_dir} --labels {params.labels:q}"
        " --title {wildcards.ablation:q} > {log} 2>&1"


rule figures_depth:
    input:
        DEPTH_JSON,
    output:
        png=report_png(f"{DEPTH_FIGURES_DIR}/{DEPTH_FIGURE}.png", DEPTH_FIGURE, figure=DEPTH_FIGURE,
                       model="ReLU vs ReLog", seed="0"),
        pdf=f"{DEPTH_FIGURES_DIR}/{DEPTH_FIGURE}.pdf",
    log:
        "logs/figures/depth.log",
    shell:
        "newlogic figures depth --depth-json {input} --out-dir {DEPTH_FIGURES_DIR} > {log} 2>&1"
