"""The issue-30 classes of the campaign (tests/campaign_forgery.py, campaign_parsing.py, campaign_cluster.py), run
like the others: each case ends in one line naming what was refused, exit 2, with nothing written.

The cluster cases need the local cluster of cluster/local-slurm/start.sh (CI starts it).
"""

from collections import Counter
from pathlib import Path

import pytest
from bad_inputs_campaign import Case, Workspace, issue30_cases, make_workspace, release_locks, run_case
from campaign_cluster import CLUSTER_CASES, CODE_RUNS, FAILING
from campaign_forgery import FORGED, FORGERY_CASES, OVERWRITE
from campaign_parsing import NUMBERS, PARSING_CASES, TEXT

FEWEST_CASES = {FORGED: 6, OVERWRITE: 6, TEXT: 8, NUMBERS: 15, CODE_RUNS: 5, FAILING: 12}  # per class


@pytest.fixture(scope="module")
def campaign_workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return make_workspace(tmp_path_factory.mktemp("hostile"))


@pytest.mark.slow
@pytest.mark.parametrize("case", FORGERY_CASES + PARSING_CASES, ids=lambda case: case.name)
def test_each_forgery_and_parsing_case_is_clean(case: Case, campaign_workspace: Workspace, tmp_path: Path) -> None:
    try:
        outcome = run_case(case, campaign_workspace, tmp_path)
    finally:
        release_locks()
    assert outcome.problems(case) == [], outcome.stderr


@pytest.mark.slurm
@pytest.mark.parametrize("case", CLUSTER_CASES, ids=lambda case: case.name)
def test_each_cluster_case_is_clean(case: Case, tmp_path: Path) -> None:
    outcome = run_case(case, Workspace(tmp_path / "no-model", tmp_path), tmp_path / "case")
    assert outcome.problems(case) == [], outcome.stderr


def test_every_class_has_its_cases_and_names_are_unique() -> None:
    cases = issue30_cases()
    kinds = Counter(case.kind for case in cases)
    assert {kind: kinds[kind] for kind in FEWEST_CASES} == {kind: max(kinds[kind], least)
                                                            for kind, least in FEWEST_CASES.items()}
    assert len({case.name for case in cases}) == len(cases)
