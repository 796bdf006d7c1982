# Figures (PNG for the report, PDF for papers) under results/figures/; captions in workflow/report/.
# The per-ablation figures and the depth plot read small JSON files: they run where Snakemake runs.
# Which figures: the entries of newlogic.figure_catalog (per model and per ablation), each with its caption.
from newlogic.figure_catalog import ABLATION, MODEL, figures_of
from newlogic.store.paths import DEPTH_FIGURE


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
            f"{entry.name}_png": report_png(
                f"{MODEL_FIGURES_DIR}/{entry.name}.png",
                entry.name,
                caption=entry.caption_file,
                figure=entry.name,
                model="{model}",
                seed="{seed}",
            )
            for entry in figures_of(MODEL)
        },
        **{f"{entry.name}_pdf": f"{MODEL_FIGURES_DIR}/{entry.name}.pdf" for entry in figures_of(MODEL)},
    log:
        logged("figures/{dataset}/{model}/seed{seed}.log"),
    benchmark:
        benchmarked("figures/{dataset}/{model}/seed{seed}.tsv")
    conda:
        "../envs/newlogic.yaml"
    resources:
        gpu=1,  # it runs the model (--device): one GPU job at a time with --resources gpu=1
        mem_mb=4000,
        runtime=30,
    params:
        model_dir=model_dir,
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        options=json_for_html(STUDY.figures, sort_keys=True),
        data_dir=STUDY.data_dir,
        device=STUDY.device,
    shell:
        "OMP_NUM_THREADS={threads} newlogic figures model --model-dir {params.model_dir:q}"
        " --out-dir {params.out_dir:q} --results {input.results:q} --options {params.options:q}"
        " --seed {wildcards.seed:q} --data-dir {params.data_dir:q} --device {params.device:q} > {log:q} 2>&1"


rule figures_ablation:
    input:
        results=ablation_results,
        metrics=ablation_metrics,
        config=CONFIG_JSON,
    output:
        **{
            f"{entry.name}_png": report_png(
                f"{ABLATION_FIGURES_DIR}/{entry.name}.png",
                entry.name,
                caption=entry.caption_file,
                figure=entry.name,
                model="{ablation}",
                seed="all",
            )
            for entry in figures_of(ABLATION)
        },
        **{f"{entry.name}_pdf": f"{ABLATION_FIGURES_DIR}/{entry.name}.pdf" for entry in figures_of(ABLATION)},
    log:
        logged("figures/{ablation}.log"),
    benchmark:
        benchmarked("figures/{ablation}.tsv")
    conda:
        "../envs/newlogic.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output[0]),
        # ABLATION_FIGURES_DIR is {results}/figures/{ablation}: the results folder is two levels up
        results_dir=lambda wildcards, output: os.path.dirname(os.path.dirname(os.path.dirname(output[0]))),
    shell:
        "newlogic figures ablation --config {input.config:q} --ablation {wildcards.ablation:q}"
        " --results-dir {params.results_dir:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"


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
        logged("figures/depth.log"),
    benchmark:
        benchmarked("figures/depth.tsv")
    conda:
        "../envs/newlogic.yaml"
    params:
        out_dir=lambda wildcards, output: os.path.dirname(output.png),
    shell:
        "newlogic figures depth --depth-json {input:q} --out-dir {params.out_dir:q} > {log:q} 2>&1"
