# Analyses beyond attacks (SPEC §6): depth propagation once. Noise rejection of each training run
# is part of its evaluate job (workflow/rules/attack.smk).


localrules:
    depth,


rule depth:
    output:
        DEPTH_JSON,
    log:
        logged("depth.log"),
    benchmark:
        benchmarked("depth.tsv")
    conda:
        "../envs/newlogic.yaml"
    shell:
        "newlogic inspect depth --out {output:q} > {log:q} 2>&1"
