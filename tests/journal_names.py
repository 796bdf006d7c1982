"""Every model name SPEC §1 lists, shared by the tests."""

# Every name SPEC §1 lists, with its canonical form worked out by hand from SPEC §1's rules:
# fixed order (activation, units, folding, output, loss, regulariser, negatives), default
# coefficients dropped (max_fit_l1 c = 1, max_fit_l2 c = 0.01), legacy spellings replaced,
# `bce` implies `sigmoid_out`, `cnn-<dataset>-` names write minmaxout's max factor first.
JOURNAL_NAMES = {
    "relu": "relu",
    "relog": "relog",
    "relog-maxout_4": "relog-maxout_4",
    "relog-minmaxout_2_4": "relog-minmaxout_2_4",
    "relog-minmaxout_2_4-max_fit_l2": "relog-minmaxout_2_4-max_fit_l2",
    "relog-elliptical-maxout_4": "relog-elliptical-maxout_4",
    "relog-elliptical-maxout_4-max_fit_l1_1": "relog-elliptical-maxout_4-max_fit_l1",
    "relog-elliptical-maxout_4-sigmoid_out-max_fit_l1_1": "relog-elliptical-maxout_4-sigmoid_out-max_fit_l1",
    "relog-elliptical-maxout_4-sigmoid_out-max_fit_l1_1-scrambling":
        "relog-elliptical-maxout_4-sigmoid_out-max_fit_l1-scrambling",
    "relog-elliptical-maxout_4-sigmoid_out-max_fit_l1_1-overlay":
        "relog-elliptical-maxout_4-sigmoid_out-max_fit_l1-overlay",
    "relog-quadratic-max_fit_l2-maxout_4": "relog-quadratic-maxout_4-max_fit_l2",
    "relog-quadratic-max_fit_l2-maxout_4-sigmoid_out": "relog-quadratic-maxout_4-sigmoid_out-max_fit_l2",
    "relog-quadratic-max_fit_l2-maxout_4-sigmoid_out-overlay":
        "relog-quadratic-maxout_4-sigmoid_out-max_fit_l2-overlay",
    "relog-quadratic-max_fit_l2-maxout_4-sigmoid_out-scrambling":
        "relog-quadratic-maxout_4-sigmoid_out-max_fit_l2-scrambling",
    "relog-quadratic-maxout_4-sigmoid_out-scrambling": "relog-quadratic-maxout_4-sigmoid_out-scrambling",
    "relog-elliptical-maxout_4-bce-max_fit_l1": "relog-elliptical-maxout_4-sigmoid_out-bce-max_fit_l1",
    "relog-elliptical-maxout_4-bce-max_fit_l1-overlay":
        "relog-elliptical-maxout_4-sigmoid_out-bce-max_fit_l1-overlay",
    "cnn-relu": "relu",
    "cnn-relog": "relog",
    "cnn-relog-maxout_4": "relog-maxout_4",
    "cnn-relog-minmaxout_2_4": "relog-minmaxout_2_4",
    "cnn-mnist-relog-minmaxout_4_2-sigmoid-out-strictening_0.1": "relog-minmaxout_2_4-sigmoid_out-max_fit_l1_0.1",
    "cnn-mnist-relog-kernel-minmaxout_4_2-sigmoid-out": "relog-quadratic-minmaxout_2_4-sigmoid_out",
    "cnn-mnist-relog-kernel-minmaxout_4_2-sigmoid_out-max_margin":
        "relog-quadratic-minmaxout_2_4-sigmoid_out-max_margin",
    "cnn-cifar10-relu-kernel": "relu-quadratic",
    "cnn-cifar10-relog-kernel": "relog-quadratic",
}
