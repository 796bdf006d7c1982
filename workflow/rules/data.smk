# Datasets that need files are fetched on the login node (compute nodes often have no internet):
# `snakemake download` fetches the config's dataset; digits is bundled and needs nothing.
localrules:
    download,
    download_dataset,


def data_marker(dataset):
    return [] if dataset == "digits" else f"{config['data_dir']}/.{dataset}.downloaded"


rule download:
    input:
        data_marker(DATASET),


rule download_dataset:
    output:
        touch(f"{config['data_dir']}/.{{dataset}}.downloaded"),
    log:
        "logs/download/{dataset}.log",
    shell:
        "newlogic download --dataset {wildcards.dataset} --data-dir {config[data_dir]} > {log} 2>&1"
