"""Published against regenerated: the published data (strict loader), its mapping onto every shipped config, the
comparison of cells and of consecutive rows from per-image outcomes, the labels and Kendall's τ per column, shape
mode, the renderers, the figure, the command and the workflow."""

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
from newlogic.report import published as published_module
from newlogic.report.published import PublishedCell, load_published, resolve_mapping
from newlogic.report.reproduction import (
    AGREES,
    BOOTSTRAP,
    CLOPPER_PEARSON,
    INCONCLUSIVE,
    NOT_COMPARABLE,
    OPPOSITE,
    Outcomes,
    RegeneratedCell,
    RegeneratedRow,
    build_reproduction,
    pair_change,
    pair_label,
    reproduction_of,
    setting_differences,
)
from newlogic.report.reproduction_render import reproduction_texts, write_reproduction
from newlogic.report.summary import summarize
from newlogic.spec import canonical_name
from newlogic.stats import clopper_pearson
from newlogic.store import paths
from newlogic.study import ablations
from newlogic.study_loader import load_study

REPO = Path(__file__).resolve().parents[1]
SOURCE = "arxiv-1911.08635"
IMAGES = 1000  # per result: a published value v is v·IMAGES images right
SPREAD = (-1, 0, 1)  # per seed, images added to v·IMAGES: the seeds vary, their mean is v (one seed: 0)
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


def mnist_result(results: Path, reference: dict, setting_id: str, count: int, clean: int,
                 dataset: str = "mnist") -> None:
    """The result of ``MNIST_ATTACKS[setting_id]`` on an MNIST model: ``count`` of ``IMAGES`` images right under
    attack and ``clean`` right clean (the first ones, so rows align image by image)."""
    attack = resolve_setting(attack_request(setting_id, MNIST_ATTACKS[setting_id], dataset).attack, dataset)
    path = paths.result_json(results, dataset, reference["name"], reference["seed"], setting_id)
    fake_result(path, correct(count), clean=correct(clean), attack=attack.name, eps=attack.eps, model=reference["name"],
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
        spreads = SPREAD if len(config["seeds"]) == len(SPREAD) else (0,) * len(config["seeds"])
        for seed, spread in zip(config["seeds"], spreads, strict=True):
            def count(column: str, spread: int = spread, cells: dict = cells) -> int:
                base = round(cells[column].value * IMAGES)
                return base + spread if base > 0 else 0

            reference = fake_model_dir(results, canonical_name(row.model), seed, test_accuracy=count("clean") / IMAGES,
                                       dataset=dataset)
            for column, setting in table.settings.items():
                if setting != "clean":
                    mnist_result(results, reference, setting, count(column), count("clean"), dataset)
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
    config = load_study(config_path).config
    for name, ablation in ablations(config).items():
        body = config["ablations"][name]
        mapping = resolve_mapping(body, [e.name for e in ablation.models], ablation.settings, name)
        if mapping is None:
            continue
        explicit = body["published"].get("rows")
        assert len(mapping.rows) == (len(explicit) if explicit else len(mapping.table.rows))
        assert set(mapping.columns) == set(mapping.table.headers)  # every published column of the table is compared


def test_the_paper_configs_and_the_demo_name_their_published_table() -> None:
    found = {path.stem: {name: block["table"] for name, block in load_study(path).published.items()}
             for path in SHIPPED}
    assert found["paper-mnist"] == {"ablation-mnist": "mnist"} and found["paper-cifar10"] == {
        "ablation-cifar10": "cifar10"}
    assert found["config"] == {"mnist5k-demo": "mnist"} and found["mnist5k"] == {"ablation-mnist5k": "mnist"}


@pytest.mark.parametrize("rename", ["model", "attack", "row"])
def test_a_renamed_model_attack_or_row_fails_the_mapping(rename: str) -> None:
    config = load_study(REPO / ("config/config.yaml" if rename == "row" else "config/paper-mnist.yaml")).config
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


def cell_of(*right: int, images: int = 100, start: int = 0, shift: int = 0) -> RegeneratedCell:
    """A cell with one seed per count in ``right``: test images ``start …`` of which ``right[s]`` are correct, from
    position ``shift`` on (rows with other shifts differ image by image both ways)."""
    index, position = np.arange(start, start + images), np.arange(images)
    return RegeneratedCell({seed: Outcomes(index, (position >= shift) & (position < shift + count))
                            for seed, count in enumerate(right)})


def test_fixtures_equal_to_the_published_values_agree_everywhere(tmp_path: Path) -> None:
    config = mnist_config()
    write_fixtures(tmp_path, config)
    reproduction = reproduction_of(config, "ablation-mnist", tmp_path)
    assert reproduction is not None and not reproduction.shape_mode, reproduction.differences
    assert len(reproduction.cells) == 8 * 6
    for (model, column), cell in reproduction.cells.items():
        assert cell.inside is True, (model, column, cell.interval, cell.published.value)
        assert cell.difference == pytest.approx(0, abs=1e-9) and cell.method == BOOTSTRAP  # 3 seeds
    for column, agreement in reproduction.agreement.items():
        equal = sum(pair.published == 0 for pair in agreement.pairs)  # e.g. clean 0.99 → 0.99: no published sign
        assert agreement.count(AGREES) == 7 - equal and agreement.count(NOT_COMPARABLE) == equal, column
        assert agreement.count(OPPOSITE) == agreement.count(INCONCLUSIVE) == 0, column
        assert agreement.tau == pytest.approx(1.0), column
        for pair in agreement.pairs:
            if pair.published:
                assert pair.regenerated == pytest.approx(pair.published, abs=1e-9), (column, pair)
    assert reproduction.agreement["fgsm"].tau_p == pytest.approx(1 / 40320)  # 8 distinct values: one ordering of 8!
    worst = {row.model: row.worst_case.mean for row in reproduction.rows}
    assert worst["relu"] == pytest.approx(0.0) and worst["relog-minmaxout_2_4"] == pytest.approx(0.16)


def test_two_swapped_rows_are_opposite_where_they_meet(tmp_path: Path) -> None:
    from scipy.stats import kendalltau

    config = mnist_config()
    write_fixtures(tmp_path, config, swap=("+ MaxOut", "+ MinOut"))
    reproduction = reproduction_of(config, "ablation-mnist", tmp_path)
    assert reproduction is not None
    fgsm = reproduction.agreement["fgsm"]
    # published 0.30 → 0.42* → 0.66* → 0.58*; regenerated 0.30 → 0.66 → 0.42 → 0.58: two of the three pairs
    # the swap touches change sign, the first keeps it
    labels = {(pair.above, pair.below): pair.label for pair in fgsm.pairs}
    assert labels[("+ ReLog", "+ MaxOut")] == AGREES
    assert labels[("+ MaxOut", "+ MinOut")] == OPPOSITE and labels[("+ MinOut", "+ Elliptical")] == OPPOSITE
    assert (fgsm.count(AGREES), fgsm.count(OPPOSITE)) == (5, 2)
    published = [row.cells["fgsm"].value for row in reproduction.table.rows]
    regenerated = [reproduction.cells[(row.model, "fgsm")].regenerated.mean for row in reproduction.rows]
    assert fgsm.tau == pytest.approx(kendalltau(published, regenerated).statistic) and fgsm.tau < 1
    assert fgsm.tau_p == pytest.approx(kendalltau(published, regenerated, method="exact",
                                                  alternative="greater").pvalue)
    assert reproduction.agreement["clean"].count(OPPOSITE) == 0  # both rows publish 0.99: the swap changes nothing
    for column in ("fgm_l2", "cw", "bim", "spsa"):
        assert reproduction.agreement[column].count(OPPOSITE) >= 1 and reproduction.agreement[column].tau < 1, column
    assert reproduction.cells[("relog-maxout_4", "fgsm")].inside is False
    assert reproduction.cells[("relu", "fgsm")].inside is True


def test_pair_labels_follow_the_interval_and_the_published_sign() -> None:
    assert pair_label(0.12, (0.01, 0.2)) == AGREES and pair_label(-0.12, (-0.2, -0.01)) == AGREES
    assert pair_label(0.12, (-0.2, -0.01)) == OPPOSITE and pair_label(-0.12, (0.01, 0.2)) == OPPOSITE
    assert pair_label(0.12, (-0.01, 0.2)) == INCONCLUSIVE and pair_label(0.12, (0.0, 0.2)) == INCONCLUSIVE
    assert pair_label(0.0, (0.01, 0.2)) == NOT_COMPARABLE and pair_label(0.12, None) == NOT_COMPARABLE
    up, flat = PublishedCell(0.42, True), PublishedCell(0.30, False)
    change = pair_change(cell_of(30, 30), cell_of(36, 34, shift=10), flat, up, 2, True, ("a", "b"))
    assert change.published == pytest.approx(0.12) and change.star is True
    assert change.regenerated == pytest.approx(0.05) and change.label == INCONCLUSIVE and change.same_sign is True
    apart = pair_change(cell_of(30, 30), cell_of(36, 34, start=100), flat, up, 2, False, ("a", "b"))
    clear = pair_change(cell_of(30, 30), cell_of(36, 34), flat, up, 2, True, ("a", "b"))
    assert clear.label == AGREES  # the same images plus a few more, in both seeds: the interval excludes 0
    assert apart.label == NOT_COMPARABLE and apart.regenerated is None and apart.star is None  # no shared image
    # images are aligned by test-set index, not by position: the same images in another order change nothing
    shuffled = RegeneratedCell({seed: Outcomes(o.index[::-1], o.correct[::-1])
                                for seed, o in cell_of(36, 34, shift=10).per_seed.items()})
    assert pair_change(cell_of(30, 30), shuffled, flat, up, 2, True, ("a", "b")) == change


def test_a_demo_like_table_whose_point_estimates_mostly_agree_does_not_read_zero() -> None:
    """Four rows, two seeds, 50 images (the demo's worst-case n): small changes in the published direction
    are inconclusive, never counted as disagreement, and the text says that their sign agrees."""
    table = load_published(SOURCE, "mnist")
    counts = {"relu": (4, 5), "relog": (7, 8), "relog-maxout_4": (9, 9), "relog-minmaxout_2_4": (12, 10)}
    labels = {"relu": "Baseline (relu)", "relog": "+ ReLog", "relog-maxout_4": "+ MaxOut",
              "relog-minmaxout_2_4": "+ MinOut"}
    rows = [RegeneratedRow(model, labels[model], labels[model], {"fgsm": cell_of(*right, images=50, shift=3 * k)})
            for k, (model, right) in enumerate(counts.items())]
    reproduction = build_reproduction("demo", table, rows, ["fgsm"], ["dataset mnist5k, published mnist"])
    fgsm = reproduction.agreement["fgsm"]
    assert fgsm.count(INCONCLUSIVE) == 3 and fgsm.inconclusive_same_sign == 3 and fgsm.count(OPPOSITE) == 0
    assert fgsm.tau == pytest.approx(1.0) and fgsm.tau_p == pytest.approx(1 / 24)
    markdown = reproduction_texts(reproduction)["md"]
    assert "0%" not in markdown and "inconclusive 3 (3 same sign)" in markdown and "p = 0.0417" in markdown
    assert "inconclusive, same sign" in markdown


def test_cell_intervals_come_from_per_image_outcomes() -> None:
    from scipy import stats

    table = load_published(SOURCE, "mnist")

    def compared(cell: RegeneratedCell) -> tuple:
        row = RegeneratedRow("relu", "Baseline", "Baseline (relu)", {"clean": cell})
        comparison = build_reproduction("x", table, [row], ["clean"]).cells[("relu", "clean")]
        return comparison.interval, comparison.method, comparison.inside

    interval, method, inside = compared(cell_of(990, images=1000))  # one seed: Clopper–Pearson on its images
    assert method == CLOPPER_PEARSON and inside is True
    assert interval == pytest.approx(tuple(stats.binomtest(990, 1000).proportion_ci(method="exact")))
    # two seeds that agree (the old t interval read 4.5 [4.5, 4.5]): the pooled images give a real width
    interval, method, _ = compared(cell_of(9, 9, images=200))
    assert method == CLOPPER_PEARSON and interval == pytest.approx(clopper_pearson(18, 400))
    assert interval[1] - interval[0] > 0.02
    # two seeds far apart (the old t interval on 1 df read 33.0 [0.0, 100.0])
    interval, _, _ = compared(cell_of(16, 50, images=100))
    assert interval == pytest.approx(clopper_pearson(66, 200)) and 0.2 < interval[0] < interval[1] < 0.45
    # three seeds: a bootstrap over seeds and images, seeded (the same files give the same interval)
    interval, method, _ = compared(cell_of(20, 30, 40, images=100))
    assert method == BOOTSTRAP and 0.1 < interval[0] < 0.3 < interval[1] < 0.5
    assert compared(cell_of(20, 30, 40, images=100))[0] == interval
    assert compared(RegeneratedCell())[:2] == (None, None)


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
    rows = [RegeneratedRow(row.model, row.label, row.label, {"fgsm": cell_of(10 * (k + 1), 10 * (k + 1) + 2)})
            for k, row in enumerate(table.rows[:3])]
    reproduction = build_reproduction("demo", table, rows, ["fgsm"], found)
    assert reproduction.shape_mode
    assert all(cell.difference is None and cell.inside is None for cell in reproduction.cells.values())
    markdown = reproduction_texts(reproduction)["md"]
    assert "Shape only" in markdown and "mnist5k" in markdown


def test_the_demo_is_compared_in_shape_on_its_four_published_rows() -> None:
    config = load_study(REPO / "config/config.yaml").config
    ablation = ablations(config)["mnist5k-demo"]
    mapping = resolve_mapping(config["ablations"]["mnist5k-demo"], [e.name for e in ablation.models],
                              ablation.settings, "mnist5k-demo")
    assert list(mapping.rows) == ["relu", "relog", "relog-maxout_4", "relog-minmaxout_2_4"]
    assert "relog-bce-overlay" not in mapping.rows


def test_renderers_escape_labels() -> None:
    table = load_published(SOURCE, "mnist")
    label = "A|b & c_d %e $f #g ^h ~i {j}\\k\nl"
    rows = [RegeneratedRow("relu", label, "Baseline (relu)", {"fgsm": cell_of(7, 8)}),
            RegeneratedRow("relog", "+ ReLog", "+ ReLog", {"fgsm": cell_of(30, 31)})]
    reproduction = build_reproduction("demo", table, rows, ["fgsm"])
    markdown = reproduction_texts(reproduction)["md"]
    line = next(line for line in markdown.splitlines() if line.startswith("| A"))
    assert "A\\|b" in line and line.count(" | ") == 2  # one row, the label's | escaped, its newline a space
    latex = reproduction_texts(reproduction)["tex"]
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
    cells, changes = frame[frame["kind"] == "cell"], frame[frame["kind"] == "change"]
    assert len(cells) == 48 and cells["inside"].all() and (cells["images"] == 3 * IMAGES).all()
    assert len(changes) == 7 * 6 and set(changes["label"]) == {AGREES, NOT_COMPARABLE}
    assert (frame[frame["kind"] == "column"]["opposite"] == 0).all()
    markdown = (out / "ablation-mnist.reproduction.md").read_text()
    assert "+ Negative examples" in markdown and "Δ + BCE training → + Negative examples" in markdown
    assert "training variance" in markdown  # the caption says what the intervals cover
    assert (out / "ablation-mnist.reproduction.tex").read_text().startswith(r"\begin{tabular}")
    assert all((figures / f"{paths.REPRODUCTION_FIGURE}.{ext}").stat().st_size > 1000 for ext in ("png", "pdf"))
    summary = summarize(config, "ablation-mnist", results)["reproduction"]
    assert summary["mode"] == "values" and summary["inside_interval"] == {"inside": 48, "cells": 48}
    assert summary["columns"]["fgsm"] == {"setting": "fgsm_0.3", "pairs": {"agrees": 7, "inconclusive": 0,
                                                                           "opposite": 0, "not_comparable": 0},
                                          "inconclusive_same_sign": 0, "kendall_tau_b": pytest.approx(1.0),
                                          "kendall_p": pytest.approx(1 / 40320)}
    schema = yaml.safe_load((REPO / "workflow/schemas/summary.schema.yaml").read_text())
    import jsonschema

    jsonschema.validate(summary, {"$defs": schema["$defs"], **schema["properties"]["reproduction"]})


def test_the_figure_draws_each_worst_case_only_at_its_threat_and_zooms_each_panel(tmp_path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from newlogic.figures.reproduction import plot_reproduction

    config = mnist_config()
    write_fixtures(tmp_path, config)
    reproduction = reproduction_of(config, "ablation-mnist", tmp_path)
    figure = plot_reproduction(reproduction)
    panels = dict(zip(reproduction.columns, figure.axes, strict=False))
    hollow = {column: sum(line.get_marker() == "v" for line in ax.lines) for column, ax in panels.items()}
    assert hollow == {"clean": 0, "fgsm": 8, "fgm_l2": 0, "cw": 0, "bim": 8, "spsa": 8}  # L∞ 0.3 columns only
    assert {column: ax.get_title().splitlines()[0] for column, ax in panels.items()} == reproduction.table.headers
    low, high = panels["clean"].get_xlim()
    assert low > 0.8 and high <= 1.02  # clean accuracies 0.93–0.99: the panel is zoomed, not a corner of [0, 1]
    FigureCanvasAgg(figure).draw()
    renderer = figure.canvas.get_renderer()
    def drawn_ticks(ax: object) -> list:  # tick labels inside the view (ticks beyond it keep stale positions)
        low, high = ax.get_xlim()
        return [label for labels, position in ((ax.get_xticklabels(), 0), (ax.get_yticklabels(), 1))
                for label in labels if low <= label.get_position()[position] <= high]

    texts = [text for ax in figure.axes for text in (ax.title, ax.xaxis.label, ax.yaxis.label, *drawn_ticks(ax))
             if text.get_text() and text.get_visible()]
    texts += [figure._suptitle, *figure.legends[0].get_texts()]
    boxes = [text.get_window_extent(renderer) for text in texts]
    overlapping = [(texts[a].get_text(), texts[b].get_text()) for a in range(len(boxes))
                   for b in range(a + 1, len(boxes)) if boxes[a].overlaps(boxes[b])]
    assert not overlapping


def test_without_a_published_counterpart_there_is_no_reproduction(tmp_path: Path) -> None:
    config = mnist_config()
    del config["ablations"]["ablation-mnist"]["published"]
    assert reproduction_of(config, "ablation-mnist", tmp_path) is None
    with pytest.raises(UserError, match="no 'published' counterpart"):
        write_reproduction(config, "ablation-mnist", results_dir=tmp_path, out_dir=tmp_path)


def test_a_one_seed_ablation_runs_end_to_end_through_the_command(tmp_path: Path) -> None:
    """One seed (a valid config that passes the dry run) used to crash: ``'Cell' object has no attribute
    'per_sample'``. Now: Clopper–Pearson cells, a bootstrap over images for the changes, shape mode."""
    config = {**mnist_config(), "seeds": [0]}
    results = tmp_path / "results"
    write_fixtures(results, config)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config))
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([str(bin_dir / "newlogic"), "reproduction", "--config", str(config_file), "--ablation",
                           "ablation-mnist", "--results-dir", str(results), "--out-dir", str(tmp_path / "tables"),
                           "--figure-dir", str(tmp_path / "figures")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    markdown = (tmp_path / "tables" / "ablation-mnist.reproduction.md").read_text()
    assert "1 seed(s), published several" in markdown and "Clopper–Pearson on the seeds' pooled images" in markdown
    frame = pd.read_csv(tmp_path / "tables" / "ablation-mnist.reproduction.csv")
    cells = frame[frame["kind"] == "cell"]
    assert (cells["interval_method"] == CLOPPER_PEARSON).all() and (cells["seeds"] == 1).all()
    columns = frame[frame["kind"] == "column"]
    assert (columns["agrees"] + columns["not_comparable"] == 7).all() and (columns["opposite"] == 0).all()
    assert (tmp_path / "figures" / f"{paths.REPRODUCTION_FIGURE}.png").stat().st_size > 1000


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text.replace("fgsm: [0.07, false]", "fgsm: [1.5, false]", 1), "1.5 is not an accuracy in [0, 1]"),
    (lambda text: text.replace("fgsm: [0.07, false]", "fgsm: [-0.2, false]", 1), "-0.2 is not an accuracy"),
    (lambda text: text.replace("fgsm: [0.07, false]", "fgsm: [.nan, false]", 1), "not a finite number"),
    (lambda text: text.replace("fgsm: [0.07, false]", "fgsm: [0.07, false], fgsm: [0.5, true]", 1), "given twice"),
    (lambda text: text.replace("decimals: 2\n", ""), "lacks the required key 'decimals'"),
    (lambda text: text.replace("decimals: 2\n", "decimals: two\n"), "'two' is not an integer"),
    (lambda text: text.replace("fgsm: [0.07, false]", "fgsm: [0.07, maybe]", 1), "is not [accuracy, star]"),
    (lambda text: text.replace("    worst_case: {norm: linf, eps: 0.3}", "", 1), "lacks the required key 'worst_case'"),
    (lambda text: text.replace("spsa: [0.07, false]", "", 1), "has columns"),
], ids=["above_one", "negative", "nan", "duplicate_key", "no_decimals", "decimals_text", "star_text", "no_worst_case",
        "missing_cell"])
def test_the_published_loader_refuses_bad_tables_in_one_line(edit, message: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    text = (REPO / f"config/published/{SOURCE}.yaml").read_text()
    edited = edit(text)
    assert edited != text
    (tmp_path / f"{SOURCE}.yaml").write_text(edited)
    monkeypatch.setattr(published_module, "PUBLISHED_DIR", tmp_path)
    with pytest.raises(UserError) as caught:
        load_published(SOURCE, "mnist")
    assert message in str(caught.value) and "\n" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize("published", [{"source": SOURCE}, "mnist", {"source": SOURCE, "table": "mnist", "rows": [1]}])
def test_a_malformed_published_key_is_one_line(published: object) -> None:
    with pytest.raises(UserError, match="ablation 'x': published") as caught:
        resolve_mapping({"published": published}, ["relu"], ["fgsm_0.3"], "x")
    assert "\n" not in str(caught.value)


def test_the_published_data_module_stays_light_for_planning() -> None:
    """Planning (common.smk) resolves mappings through newlogic.report.published: no numpy, pandas, torch;
    the comparison module imports no pandas, torch, scipy.stats or matplotlib."""
    code = ("import sys, newlogic.report.published; light = sorted(m for m in ('numpy', 'pandas', 'torch', "
            "'matplotlib', 'scipy') if m in sys.modules); import newlogic.report.reproduction; "
            "heavy = sorted(m for m in ('pandas', 'torch', 'scipy.stats', 'matplotlib') if m in sys.modules); "
            "print(light, heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] []"


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
    assert all(agreement.count(OPPOSITE) == agreement.count(INCONCLUSIVE) == 0
               for agreement in reproduction.agreement.values())
    markdown = reproduction_texts(reproduction)["md"]
    assert "Shape only (values not compared)" in markdown and "4 of 8 published rows" in markdown
    assert "Per column: clean: agrees 0" in markdown


@pytest.mark.parametrize(("regenerated", "same_sign", "word"), [(0.02, True, "same sign"), (-0.02, False, "other sign"),
                                                                 (0.0, False, "no change")])
def test_an_inconclusive_change_says_its_sign_and_zero_has_none(regenerated: float, same_sign: bool, word: str) -> None:
    from newlogic.report.reproduction import PairChange
    from newlogic.report.reproduction_render import change_text
    from newlogic.report.vocabulary import INCONCLUSIVE

    pair = PairChange("Baseline", "+ ReLog", 0.23, True, regenerated, (-0.05, 0.05), INCONCLUSIVE, same_sign)
    assert change_text(pair, 3).endswith(f"inconclusive, {word}")
