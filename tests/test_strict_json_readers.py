"""Readers of JSON that users hand over read it strictly (``newlogic.config_file.parse_json_text``, issue 30 item 5).

A key given twice (whose last value ``json.loads`` would silently keep) or a ``NaN`` is refused in
one line naming the file, or, where the file is only a cache, makes it count as absent.
"""

from pathlib import Path
from typing import cast

import pytest

from newlogic.errors import UserError
from newlogic.evaluation.model_loading import TrainedModel
from newlogic.evaluation.noise import noise_up_to_date
from newlogic.figures.depth import read_depth_result
from newlogic.preflight.checks_environment import PROBE_MARK, _node_versions
from newlogic.report.html_page import load_summary

DUPLICATE = '{"schema_version": 1, "runs": [], "runs": []}'


@pytest.mark.parametrize("text", [DUPLICATE, '{"schema_version": NaN, "runs": []}', "[1, 2]"])
def test_a_depth_json_is_read_strictly(tmp_path: Path, text: str) -> None:
    path = tmp_path / "depth.json"
    path.write_text(text)
    with pytest.raises(UserError, match="depth"):
        read_depth_result(path)


def test_a_depth_json_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "depth.json"
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(UserError, match="--depth-json .*cannot be read"):
        read_depth_result(path)


def test_a_summary_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo.summary.json"
    path.write_text('{"ablation": "demo", "ablation": "other"}')
    with pytest.raises(UserError, match=r"--summary .*demo\.summary\.json: key 'ablation' given twice"):
        load_summary(path)


def test_a_noise_result_with_a_key_twice_is_not_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "seed0.json"
    path.write_text('{"provenance": {"config_hash": "a"}, "provenance": {"config_hash": "b"}}')
    # refused before the model is looked at: the file counts as absent, so the noise is evaluated again
    assert noise_up_to_date(path, cast(TrainedModel, None), 10, 0) is False


def test_a_probe_answer_with_a_key_twice_is_no_answer() -> None:
    assert _node_versions(f'{PROBE_MARK}{{"torch": "2.3", "python": "3.11"}}\n') == {"torch": "2.3", "python": "3.11"}
    assert _node_versions(f'{PROBE_MARK}{{"torch": "2.3", "torch": "9"}}\n') is None
    assert _node_versions(f"{PROBE_MARK}{{\"torch\": NaN}}\n") is None
