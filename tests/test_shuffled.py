"""Clean measurements shared by a model's settings (issue 13): the same bits whatever ran before, right per sample."""

from pathlib import Path

import numpy as np
import pytest
import torch

from newlogic.data import load_dataset
from newlogic.evaluation.evaluate import run_attack_setting
from newlogic.evaluation.model_loading import load_trained_model
from newlogic.evaluation.shuffled import CHUNK, ShuffledTest, zero_gradients
from newlogic.evaluation.target import attack_target
from newlogic.runner import evaluate_model

CPU = torch.device("cpu")


def _shuffled(model_dir: Path, seed: int = 4) -> ShuffledTest:
    trained = load_trained_model(model_dir)
    trained.model.requires_grad_(False)
    return ShuffledTest(load_dataset("digits")[1], seed, trained.model, trained.spec.output, CPU)


def test_the_order_is_the_seeds_permutation_of_the_test_split(digits_model_dir: Path) -> None:
    test = load_dataset("digits")[1]
    shuffled = _shuffled(digits_model_dir)
    order = torch.randperm(len(test.labels), generator=torch.Generator().manual_seed(4))
    assert torch.equal(shuffled.order, order) and len(shuffled) == len(test.labels) > 3 * CHUNK
    assert torch.equal(shuffled.images, test.images[order]) and torch.equal(shuffled.labels, test.labels[order])


def test_clean_measurements_are_the_same_bits_whatever_was_asked_before(masked_model_dir: Path) -> None:
    """Spans across chunk borders, asked in another order and by another instance, give identical tensors."""
    direct, piecewise = _shuffled(masked_model_dir), _shuffled(masked_model_dir)
    stop = 2 * CHUNK + 50
    assert piecewise.clean_scores(CHUNK - 20, CHUNK + 30).shape[0] == 50
    assert piecewise.zero_gradient("scores", CHUNK + 10, stop).shape[0] == stop - CHUNK - 10
    assert torch.equal(direct.clean_scores(0, stop), piecewise.clean_scores(0, stop))
    assert torch.equal(direct.zero_gradient("scores", 0, stop), piecewise.zero_gradient("scores", 0, stop))
    assert torch.equal(direct.clean_scores(CHUNK - 20, CHUNK + 30), direct.clean_scores(0, stop)[CHUNK - 20:CHUNK + 30])
    # one image at a time (a batch of one runs other kernels, see the next test): still the chunk's bits
    together = direct.clean_scores(0, stop)
    assert all(torch.equal(_shuffled(masked_model_dir).clean_scores(i, i + 1), together[i: i + 1])
               for i in range(CHUNK, CHUNK + 40))


def test_clean_measurements_match_one_image_at_a_time(masked_model_dir: Path) -> None:
    """Scores equal the model's on each image alone; the zero-gradient flags equal ``zero_gradients`` per image."""
    shuffled = _shuffled(masked_model_dir)
    count = CHUNK + 40
    scores = shuffled.clean_scores(0, count)
    target = attack_target(shuffled.model, shuffled.output, "scores")
    with torch.no_grad():
        alone = torch.cat([shuffled.model(shuffled.images[i: i + 1]) for i in range(count)])
    flags = torch.cat([zero_gradients(target, shuffled.images[i: i + 1], shuffled.labels[i: i + 1])
                       for i in range(count)])
    torch.testing.assert_close(scores, alone, rtol=1e-4, atol=1e-3)  # scores ~100: a float's batch noise
    assert torch.equal(shuffled.zero_gradient("scores", 0, count), flags)
    assert 0 < int(flags.sum()) < count  # the masked model: saturated samples are flagged, the others are not


def test_one_setting_alone_gives_the_bits_it_gives_among_all_settings(digits_model_dir: Path, tmp_path: Path) -> None:
    """``newlogic attack`` for one setting and ``newlogic evaluate`` for several write identical per-sample arrays."""
    settings = {
        "fgsm_0.1": {"attack": "fgsm", "eps": 0.1, "limit": 130},
        "bim_probs": {"attack": "bim", "eps": 0.3, "nb_iter": 3, "attack_on": "probs", "limit": 30, "batch_size": 8},
        "noise_0.3": {"attack": "uniform_noise", "eps": 0.3, "limit": 110},
    }
    evaluate_model(digits_model_dir, settings, out_dir=tmp_path / "all", seed=2, data_dir=tmp_path, device="cpu")
    for name, setting in settings.items():
        options = {"limit": setting.pop("limit"), "batch_size": setting.pop("batch_size", None)}
        run_attack_setting(digits_model_dir, setting, tmp_path / "alone" / f"{name}.json", data_dir=tmp_path,
                           device="cpu", seed=2, surrogate_dir=None, **options)
        with np.load(tmp_path / "all" / f"{name}.npz") as together, \
                np.load(tmp_path / "alone" / f"{name}.npz") as alone:
            assert together.files == alone.files
            for key in together.files:
                np.testing.assert_array_equal(together[key], alone[key], err_msg=f"{name}: {key}")
    # batches of 100 and of 8, one setting through the scores and one through the probabilities: the
    # images they share have the same clean values
    with np.load(tmp_path / "all" / "fgsm_0.1.npz") as fgsm, np.load(tmp_path / "all" / "bim_probs.npz") as bim:
        assert fgsm["batch"].max() == 1 and bim["batch"].max() == 3
        for key in ("index", "clean_pred", "clean_confidence"):
            np.testing.assert_array_equal(fgsm[key][:30], bim[key], err_msg=key)


def test_a_span_outside_the_test_split_is_refused(digits_model_dir: Path) -> None:
    shuffled = _shuffled(digits_model_dir)
    for start, stop in ((CHUNK, CHUNK), (0, len(shuffled) + 1), (-1, 3)):
        with pytest.raises(ValueError, match="not a non-empty span"):
            shuffled.clean_scores(start, stop)
