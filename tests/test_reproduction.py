"""Published against regenerated (issue 24): the published data, its mapping onto every shipped config, the
comparison of cells, direction and rank agreement, shape mode, the renderers, the figure and the workflow."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from result_fixtures import fake_model_dir, fake_result

from newlogic.attacks import resolve_setting
from newlogic.attacks.request import attack_request
from newlogic.errors import UserError
from newlogic.figures.ablation import make_reproduction_figure
from newlogic.report import checks
from newlogic.report.reproduction import (
    CLOPPER_PEARSON,
    RegeneratedCell,
    RegeneratedRow,
    build_reproduction,
    kendall_tau_b,
    load_published,
    reproduction_of,
    resolve_mapping,
    setting_differences,
    t_interval,
    to_latex,
    to_markdown,
    write_reproduction,
)
from newlogic.report.summary import summarize
from newlogic.spec import canonical_name
from newlogic.stats import clopper_pearson
from newlogic.store import paths
from newlogic.study import ablations, load_config

REPO = Path(__file__).resolve().parents[1]
SOURCE = "arxiv-1911.08635"
IMAGES = 1000  # per result: a published value v is v·IMAGES images right
SPREAD = (-1, 0, 1)  # per seed, images added to v·IMAGES: the seeds vary, their mean is v
MNIST_ATTACKS = {"fgsm_0.3": {"attack": "fgsm", "eps": 0.3}, "fgm_l2_2": {"attack": "fgm_l2", "eps": 2.0},
                 "cw_l2": {"attack": "cw_l2"}, "bim_0.3": {"attack": "bim", "eps": 0.3},
                 "spsa_0.3": {"attack": "spsa", "eps": 0.3}}
SHIPPED = sorted(REPO.glob("config/*.yaml"))


def mnist_config() -> dict:
    """The paper's MNIST ablation as config/paper-mnist.yaml writes it: full MNIST, 20 epochs, 3 seeds, 8 rows."""
    table = load_published(SOURCE, "mnist")
    return {"dataset": "mnist", "seeds": [0, 1, 2], "attacks": MNIST_ATTACKS,
            "ablations": {"ablation-mnist": {"models": [{"name": row.model, "label": row.label} for row in table.rows],
                                             "attacks": list(MNIST_ATTACKS),
                                             "published": {"source": SOURCE, "table": "mnist"}}}}


def mnist_result(results: Path, reference: dict, setting_id: str, count: int, dataset: str = "mnist") -> None:
    """The result of ``MNIST_ATTACKS[setting_id]`` on an MNIST model, ``count`` of ``IMAGES`` images right."""
    attack = resolve_setting(attack_request(setting_id, MNIST_ATTACKS[setting_id], dataset).attack, dataset)
    path = paths.result_json(results, dataset, reference["name"], reference["seed"], setting_id)
    fake_result(path, correct(count), attack=attack.name, eps=attack.eps, model=reference["name"],
                seed=reference["seed"], parameters=dict(attack.params), unbounded=attack.unbounded,
                attack_on=attack.params["attack_on"], preset=attack.preset, norm=attack.norm, batch_size=100,
                model_ref={key: reference[key] for key in ("name", "seed", "config_hash", "weights_sha256")},
                dataset=dataset)


def correct(count: int) -> list[int]:
    return [1] * count + [0] * (IMAGES - count)


def write_fixtures(results: Path, config: dict, swap: tuple[str, str] | None = None) -> None:
    """Every run of the ablation with the published values (each seed v·IMAGES + SPREAD images, clipped at 0).

    ``swap``: two published row labels whose values change places (their models keep their names).
    """
    table, dataset = load_published(SOURCE, "mnist"), config["dataset"]
    values = {row.label: row.cells for row in table.rows}
    if swap is not None:
        values[swap[0]], values[swap[1]] = values[swap[1]], values[swap[0]]
    for row in table.rows:
        cells = values[row.label]
        for seed, spread in zip(config["seeds"], SPREAD, strict=True):
            def count(column: str, spread: int = spread, cells: dict = cells) -> int:
                base = round(cells[column].value * IMAGES)
                return base + spread if base > 0 else 0

            reference = fake_model_dir(results, canonical_name(row.model), seed, test_accuracy=count("clean") / IMAGES,
                                       dataset=dataset)
            for column, setting in table.settings.items():
                if setting != "clean":
                    mnist_result(results, reference, setting, count(column), dataset)
            result_files = [paths.result_json(results, dataset, reference["name"], seed, setting)
                            for setting in MNIST_ATTACKS]
            checks.write_checks(result_files, paths.checks_json(results, dataset, reference["name"], seed))


def test_the_published_file_holds_both_tables_with_their_source() -> None:
    data = yaml.safe_load((REPO / f"config/published/{SOURCE}.yaml").read_text())
    assert data["source"] == SOURCE and "1911.08635" in data["title"] and data["definitions"] and data["star"]
    mnist, cifar = load_published(SOURCE, "mnist"), load_published(SOURCE, "cifar10")
    assert [len(mnist.rows), len(mnist.headers), len(cifar.rows), len(cifar.headers)] == [8, 6, 8, 5]
    assert mnist.row("+ MinOut").cells["fgsm"].value == 0.66 and mnist.row("+ MinOut").cells["clean"].star is False
    assert cifar.row("+ Negative examples").cells["bim"].value == 0.03 and cifar.setting["threat_model"] == "normalized"
    with pytest.raises(UserError, match="valid: mnist, cifar10"):
        load_published(SOURCE, "svhn")


@pytest.mark.parametrize("config_path", SHIPPED, ids=lambda path: path.stem)
def test_every_shipped_published_mapping_holds_on_its_config(config_path: Path) -> None:
    config = load_config(config_path)
    for name, ablation in ablations(config).items():
        body = config["ablations"][name]
        mapping = resolve_mapping(body, [e.name for e in ablation.models], ablation.settings, name)
        if mapping is None:
            continue
        explicit = body["published"].get("rows")
        assert len(mapping.rows) == (len(explicit) if explicit else len(mapping.table.rows))
        assert set(mapping.columns) == set(mapping.table.headers)  # every published column of the table is compared


def test_the_paper_configs_and_the_demo_name_their_published_table() -> None:
    found = {path.stem: {name: body["published"]["table"] for name, body in load_config(path)["ablations"].items()
                         if "published" in body} for path in SHIPPED}
    assert found["paper-mnist"] == {"ablation-mnist": "mnist"} and found["paper-cifar10"] == {
        "ablation-cifar10": "cifar10"}
    assert found["config"] == {"mnist5k-demo": "mnist"} and found["mnist5k"] == {"ablation-mnist5k": "mnist"}


@pytest.mark.parametrize("rename", ["model", "attack", "row"])
def test_a_renamed_model_attack_or_row_fails_the_mapping(rename: str) -> None:
    config = load_config(REPO / ("config/config.yaml" if rename == "row" else "config/paper-mnist.yaml"))
    if rename == "model":
        config["ablations"]["ablation-mnist"]["models"][2]["name"] = "relog-maxout_2"
        name, match = "ablation-mnist", "relog-maxout_4"
    elif rename == "attack":
        config["attacks"]["fgsm_03"] = config["attacks"].pop("fgsm_0.3")
        for body in config["ablations"].values():
            body["attacks"] = ["fgsm_03" if s == "fgsm_0.3" else s for s in body["attacks"]]
        name, match = "ablation-mnist", "fgsm_0.3"
    else:
        config["ablations"]["mnist5k-demo"]["published"]["rows"]["relog"] = "+ Relog"
        name, match = "mnist5k-demo", "'\\+ Relog'"
    ablation = ablations(config)[name]
    with pytest.raises(UserError, match=match):
        resolve_mapping(config["ablations"][name], [e.name for e in ablation.models], ablation.settings, name)


def test_fixtures_equal_to_the_published_values_agree_everywhere(tmp_path: Path) -> None:
    config = mnist_config()
    write_fixtures(tmp_path, config)
    reproduction = reproduction_of(config, "ablation-mnist", tmp_path)
    assert reproduction is not None and not reproduction.shape_mode, reproduction.differences
    assert len(reproduction.cells) == 8 * 6
    for (model, column), cell in reproduction.cells.items():
        assert cell.inside is True, (model, column, cell.interval, cell.published.value)
        assert cell.difference == pytest.approx(0, abs=1e-9) and cell.method == "t"
    for column, agreement in reproduction.agreement.items():
        assert agreement.direction == 1.0 and agreement.counted >= 5, column
        assert agreement.tau == pytest.approx(1.0), column
    worst = {row.model: row.worst_case.mean for row in reproduction.rows}
    assert worst["relu"] == pytest.approx(0.0) and worst["relog-minmaxout_2_4"] == pytest.approx(0.16)


def test_two_swapped_rows_lower_the_agreement_where_they_meet(tmp_path: Path) -> None:
    from scipy.stats import kendalltau

    config = mnist_config()
    write_fixtures(tmp_path, config, swap=("+ MaxOut", "+ MinOut"))
    reproduction = reproduction_of(config, "ablation-mnist", tmp_path)
    assert reproduction is not None
    fgsm = reproduction.agreement["fgsm"]
    # published 0.30 → 0.42* → 0.66* → 0.58*; regenerated 0.30 → 0.66 → 0.42 → 0.58: two of the three pairs
    # the swap touches change sign, the first keeps it
    verdicts = {(pair.above, pair.below): pair.agrees for pair in fgsm.pairs}
    assert verdicts[("+ ReLog", "+ MaxOut")] is True
    assert verdicts[("+ MaxOut", "+ MinOut")] is False and verdicts[("+ MinOut", "+ Elliptical")] is False
    assert fgsm.direction == pytest.approx(5 / 7)
    published = [row.cells["fgsm"].value for row in reproduction.table.rows]
    regenerated = [reproduction.cells[(row.model, "fgsm")].regenerated.mean for row in reproduction.rows]
    assert fgsm.tau == pytest.approx(kendalltau(published, regenerated).statistic) and fgsm.tau < 1
    assert reproduction.agreement["clean"].direction == 1.0  # both rows publish 0.99: the swap changes nothing
    for column in ("fgm_l2", "cw", "bim", "spsa"):
        assert reproduction.agreement[column].direction < 1 and reproduction.agreement[column].tau < 1, column
    assert reproduction.cells[("relog-maxout_4", "fgsm")].inside is False
    assert reproduction.cells[("relu", "fgsm")].inside is True


def test_kendall_tau_b_agrees_with_scipy_on_ties() -> None:
    from scipy.stats import kendalltau

    first, second = [0.99, 0.99, 0.99, 0.99, 0.93, 0.99, 0.98, 0.96], [0.9, 0.95, 0.95, 0.97, 0.9, 0.96, 0.93, 0.9]
    assert kendall_tau_b(first, second) == pytest.approx(kendalltau(first, second).statistic)
    assert kendall_tau_b([1, 1, 1], [1, 2, 3]) is None


def test_intervals_t_over_seeds_and_clopper_pearson_for_one_seed() -> None:
    from scipy import stats

    values = [0.5, 0.55, 0.6]
    low, high = t_interval(values)
    expected = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert (low, high) == pytest.approx(expected)
    assert clopper_pearson(7, 100) == pytest.approx(tuple(stats.binomtest(7, 100).proportion_ci(method="exact")))
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0
    assert t_interval([0.0, 0.07]) == (0.0, pytest.approx(0.035 + 12.706 * 0.035, abs=1e-3))  # cut at 0: s/√n = 0.035
    table = load_published(SOURCE, "mnist")
    row = RegeneratedRow("relu", "Baseline", "Baseline (relu)",
                         {"clean": RegeneratedCell((0.99,), None, 990, 1000)})
    cell = build_reproduction("x", table, [row], ["clean"]).cells[("relu", "clean")]
    assert cell.method == CLOPPER_PEARSON and cell.inside is True
    bare = build_reproduction("x", table, [RegeneratedRow("relu", "B", "Baseline (relu)",
                                                          {"clean": RegeneratedCell((0.5,))})], ["clean"])
    assert bare.cells[("relu", "clean")].interval is None and bare.cells[("relu", "clean")].inside is None


def test_shape_mode_names_every_difference_and_compares_no_value() -> None:
    table = load_published(SOURCE, "mnist")
    found = setting_differences(table, dataset="mnist5k", epochs=4, seeds=1, rows_compared=4, test_subset=True,
                                threat_models=["pixels"])
    assert found == ["dataset mnist5k, published mnist", "4 epochs, published 20",
                     "1 seed(s), published several (≥ 2)", "4 of 8 published rows",
                     "attacks on a subset of the test set"]
    cifar = load_published(SOURCE, "cifar10")
    assert setting_differences(cifar, dataset="cifar10", epochs=40, seeds=3, rows_compared=8, test_subset=False,
                               threat_models=["pixels"]) == ["threat model pixels, published normalized"]
    rows = [RegeneratedRow(row.model, row.label, row.label,
                           {"fgsm": RegeneratedCell((0.1, 0.2), True)}) for row in table.rows[:3]]
    reproduction = build_reproduction("demo", table, rows, ["fgsm"], found)
    assert reproduction.shape_mode
    assert all(cell.difference is None and cell.inside is None for cell in reproduction.cells.values())
    assert "Shape only" in to_markdown(reproduction) and "mnist5k" in to_markdown(reproduction)


def test_the_demo_is_compared_in_shape_on_its_four_published_rows() -> None:
    config = load_config(REPO / "config/config.yaml")
    ablation = ablations(config)["mnist5k-demo"]
    mapping = resolve_mapping(config["ablations"]["mnist5k-demo"], [e.name for e in ablation.models],
                              ablation.settings, "mnist5k-demo")
    assert list(mapping.rows) == ["relu", "relog", "relog-maxout_4", "relog-minmaxout_2_4"]
    assert "relog-bce-overlay" not in mapping.rows


def test_renderers_escape_labels(tmp_path: Path) -> None:
    table = load_published(SOURCE, "mnist")
    label = "A|b & c_d %e $f #g ^h ~i {j}\\k\nl"
    rows = [RegeneratedRow("relu", label, "Baseline (relu)", {"fgsm": RegeneratedCell((0.07, 0.08))}),
            RegeneratedRow("relog", "+ ReLog", "+ ReLog", {"fgsm": RegeneratedCell((0.3, 0.31), True)})]
    reproduction = build_reproduction("demo", table, rows, ["fgsm"])
    markdown = to_markdown(reproduction)
    line = next(line for line in markdown.splitlines() if line.startswith("| A"))
    assert "A\\|b" in line and line.count(" | ") == 2  # one row, the label's | escaped, its newline a space
    latex = to_latex(reproduction)
    for escaped in (r"\&", r"\_", r"\%", r"\$", r"\#", r"\textasciicircum{}", r"\textasciitilde{}", r"\{", r"\}",
                    r"\textbackslash{}"):
        assert escaped in latex, escaped
    assert "A|b & c" not in latex and "\nl" not in latex


def test_tables_figure_and_summary_are_written(tmp_path: Path) -> None:
    config = mnist_config()
    results = tmp_path / "results"
    write_fixtures(results, config)
    out, figures = tmp_path / "tables", tmp_path / "figures"
    reproduction = write_reproduction(config, "ablation-mnist", results_dir=results, out_dir=out)
    make_reproduction_figure(reproduction, figures)
    frame = pd.read_csv(out / "ablation-mnist.reproduction.csv")
    cells = frame[frame["row"] != "agreement"]
    assert len(cells) == 48 and cells["inside"].all()
    assert (frame[frame["row"] == "agreement"]["direction_agreement"] == 1.0).all()
    assert "+ Negative examples" in (out / "ablation-mnist.reproduction.md").read_text()
    assert (out / "ablation-mnist.reproduction.tex").read_text().startswith(r"\begin{tabular}")
    assert all((figures / f"{paths.REPRODUCTION_FIGURE}.{ext}").stat().st_size > 1000 for ext in ("png", "pdf"))
    summary = summarize(config, "ablation-mnist", results)["reproduction"]
    assert summary["mode"] == "values" and summary["inside_interval"] == {"inside": 48, "cells": 48}
    assert summary["columns"]["fgsm"] == {"setting": "fgsm_0.3", "direction_agreement": 1.0, "pairs_counted": 7,
                                          "kendall_tau_b": pytest.approx(1.0)}
    schema = yaml.safe_load((REPO / "workflow/schemas/summary.schema.yaml").read_text())
    import jsonschema

    jsonschema.validate(summary, {"$defs": schema["$defs"], **schema["properties"]["reproduction"]})


def test_without_a_published_counterpart_there_is_no_reproduction(tmp_path: Path) -> None:
    config = mnist_config()
    del config["ablations"]["ablation-mnist"]["published"]
    assert reproduction_of(config, "ablation-mnist", tmp_path) is None
    with pytest.raises(UserError, match="no 'published' counterpart"):
        write_reproduction(config, "ablation-mnist", results_dir=tmp_path, out_dir=tmp_path)


def test_the_reproduction_module_imports_neither_torch_nor_scipy_stats() -> None:
    code = ("import sys, newlogic.report.reproduction; "
            "print('torch' in sys.modules, 'scipy.stats' in sys.modules, 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize("config_name", ["paper-mnist", "paper-cifar10"])
def test_the_paper_configs_plan_the_reproduction_tables(config_name: str, tmp_path: Path) -> None:
    """``snakemake -n`` (as tests/test_workflow.py runs it) plans the reproduction tables and figure."""
    ablation = {"paper-mnist": "ablation-mnist", "paper-cifar10": "ablation-cifar10"}[config_name]
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([str(bin_dir / "snakemake"), "--snakefile", str(REPO / "Snakefile"), "-n", "--configfile",
                           str(REPO / f"config/{config_name}.yaml")], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = [f"results/tables/{ablation}.{paths.REPRODUCTION_EXT}.{ext}" for ext in ("csv", "md", "tex")]
    outputs += [f"results/figures/{ablation}/{paths.REPRODUCTION_FIGURE}.{ext}" for ext in ("png", "pdf")]
    assert f"    output: {', '.join(outputs)}" in done.stdout


def test_direction_rules_star_no_change_unknown_and_non_adjacent_rows() -> None:
    from newlogic.report.reproduction import PublishedCell, published_direction, regenerated_direction

    low, high, high_star = PublishedCell(0.30, False), PublishedCell(0.42, False), PublishedCell(0.42, True)
    assert published_direction(low, high_star, adjacent=True) == 1
    assert published_direction(high, PublishedCell(0.30, True), adjacent=True) == -1
    assert published_direction(low, high, adjacent=True) == 0  # no star: no change, whatever the values
    assert published_direction(PublishedCell(0.99, False), PublishedCell(0.99, True), adjacent=True) is None
    assert published_direction(low, high, adjacent=False) == 1  # no star links them: the sign of the difference
    above, up = RegeneratedCell((0.3, 0.31)), RegeneratedCell((0.5, 0.52), True)
    assert regenerated_direction(above, up) == 1
    assert regenerated_direction(above, RegeneratedCell((0.5, 0.52), False)) == 0
    assert regenerated_direction(above, RegeneratedCell((0.5,), None)) is None  # untested: not counted
    table = load_published(SOURCE, "mnist")
    rows = [RegeneratedRow(model, model, label, {"fgsm": cell}) for model, label, cell in (
        ("relu", "Baseline (relu)", RegeneratedCell((0.1, 0.11))),
        ("relog-maxout_4", "+ MaxOut", RegeneratedCell((0.5, 0.51), True)),  # published 0.07 → 0.42: up
        ("relog-minmaxout_2_4", "+ MinOut", RegeneratedCell((0.4, 0.41), False)))]  # published 0.42 → 0.66*: up
    agreement = build_reproduction("subset", table, rows, ["fgsm"], ["2 of 8 published rows"]).agreement["fgsm"]
    assert [pair.agrees for pair in agreement.pairs] == [True, False] and agreement.direction == 0.5


def test_a_shorter_run_on_mnist5k_with_four_rows_is_compared_in_shape(tmp_path: Path) -> None:
    config = {**mnist_config(), "dataset": "mnist5k", "training": {"epochs": 4}}
    body = config["ablations"]["ablation-mnist"]
    body["models"] = body["models"][:4]
    rows = {"relu": "Baseline (relu)", "relog": "+ ReLog", "relog-maxout_4": "+ MaxOut",
            "relog-minmaxout_2_4": "+ MinOut"}
    body["published"] = {**body["published"], "rows": rows}
    write_fixtures(tmp_path, config)
    reproduction = reproduction_of(config, "ablation-mnist", tmp_path)
    assert reproduction.differences == ("dataset mnist5k, published mnist", "4 epochs, published 20",
                                        "4 of 8 published rows")
    assert all(cell.inside is None and cell.difference is None for cell in reproduction.cells.values())
    assert all(agreement.direction == 1.0 for agreement in reproduction.agreement.values())
    markdown = to_markdown(reproduction)
    assert "Shape only (values not compared)" in markdown and "4 of 8 published rows" in markdown
    assert "Agreement per column: clean: direction" in markdown
