"""One vocabulary: every verdict word means the same in the tables' legend, summary.json, docs/results.md and the
report's table caption (``newlogic.report.vocabulary``)."""

from pathlib import Path

import pytest
from result_fixtures import fake_model_dir, fake_setting_result

from newlogic.report.checks import CHECKS, write_checks
from newlogic.report.summary import summarize
from newlogic.report.tables import RENDERERS, AblationTable, Cell
from newlogic.report.vocabulary import CELL_VERDICTS, MEANINGS, VERDICTS, meaning_line
from newlogic.store import paths
from newlogic.study import Ablation, ModelEntry

REPO = Path(__file__).resolve().parents[1]
WORDS = tuple(dict.fromkeys((*VERDICTS, *CELL_VERDICTS)))


def _legend() -> str:
    ablation = Ablation("demo", "digits", (ModelEntry("relu", "Baseline"),), ("s",), (0,))
    cells = {("relu", column): Cell(values={0: 0.5}) for column in ("clean", "s")}
    table = AblationTable(ablation, {"clean": "Clean", "s": "FGSM"}, cells, set(), [],
                          verdicts={"relu": VERDICTS[0]})
    return RENDERERS["md"].render(table)


def _summary(tmp_path: Path) -> dict:
    config = {"dataset": "digits", "seeds": [0], "attacks": {"fgsm_0.3": {"attack": "fgsm", "eps": 0.3}},
              "ablations": {"demo": {"models": [{"name": "relu", "label": "Baseline"}]}}}
    reference = fake_model_dir(tmp_path, "relu", 0)
    result = fake_setting_result(tmp_path, reference, "fgsm_0.3", config["attacks"]["fgsm_0.3"], [1, 0] * 20)
    write_checks([result], paths.checks_json(tmp_path, "digits", "relu", 0))
    return summarize(config, "demo", tmp_path)


def test_every_word_has_one_meaning_in_all_four_places(tmp_path: Path) -> None:
    assert set(WORDS) == set(MEANINGS) and "robust" not in " ".join(WORDS)
    legend = _legend()
    docs = (REPO / "docs/results.md").read_text()
    caption = (REPO / "workflow/report/table.rst").read_text()
    vocabulary = _summary(tmp_path)["vocabulary"]
    for word in WORDS:
        assert meaning_line(word) in legend, word
        assert f"| `{word}` | {MEANINGS[word]} |" in docs, word
        assert vocabulary[word] == MEANINGS[word], word
        assert meaning_line(word) in caption, word


@pytest.mark.parametrize("stale", ["robust = every check passed", "suspect = a check flagged",
                                   "not evaluated = a check", "McNemar's exact test with one seed",
                                   "possible gradient masking"])
def test_the_caption_and_legend_carry_no_retired_word(stale: str) -> None:
    assert stale not in (REPO / "workflow/report/table.rst").read_text()
    assert stale not in _legend()


def test_the_caption_names_every_check_marker() -> None:
    caption = (REPO / "workflow/report/table.rst").read_text()
    assert [name for name, check in CHECKS.items() if f"{check.marker} " not in caption] == []


def test_the_summary_schema_allows_exactly_the_verdict_words() -> None:
    """summary.json is checked against its schema before the report reads it: a verdict word the schema lacks
    would stop the landing view (as ``inconclusive`` once did)."""
    import yaml

    from newlogic.repo_files import SUMMARY_SCHEMA

    masking = yaml.safe_load(SUMMARY_SCHEMA.read_text())
    masking = masking["properties"]["models"]["items"]["properties"]["masking"]["properties"]
    assert tuple(masking["verdict"]["enum"]) == VERDICTS
    assert tuple(masking["per_seed"]["additionalProperties"]["enum"]) == VERDICTS
