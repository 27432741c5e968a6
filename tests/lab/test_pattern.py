"""Pattern detector: the planted pattern is found where it was planted, with contrast; the score map
moves with the image; learned first-layer kernels are compared with their untrained start (the
top-patch match is mostly by construction) and with inked random patches."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnnlab import lab
from cnnlab.cli import main
from cnnlab.errors import ConfigError
from cnnlab.lab.pattern import (
    INK,
    KERNEL,
    PATTERNS,
    _inked_patches,
    _top_patches,
    centred_cosine,
    make_pattern,
    peak_and_contrast,
    sign_flip_test,
)

QUICK = {"data": "mnist-sample", "n_train": 300, "n_test": 100, "epochs": 1, "seeds": 1}


@pytest.fixture(scope="module")
def learned_run():
    torch.set_num_threads(1)
    return lab.run("pattern", **QUICK)


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize(
    ("row", "col", "background"),
    [(18, 3, "digit"), (2, 20, "digit"), (10, 10, "noise"), (0, 0, "noise")],
)
def test_planted_pattern_is_found(pattern: str, row: int, col: int, background: str) -> None:
    r = lab.run(
        "pattern",
        data="mnist-sample",
        pattern=pattern,
        row=row,
        col=col,
        background=background,
        train=False,
        seed=1,
    )
    zm = r.numbers["zero_mean"]
    assert zm["found"] is True and zm["peak"] == [row, col]
    assert zm["ratio"] > 1.2 and zm["margin_in_std"] > 1  # an L corner resembles stroke edges most


def test_zero_mean_kernel_beats_raw_kernel_on_contrast() -> None:
    n = lab.run("pattern", data="mnist-sample", train=False).numbers
    assert n["zero_mean"]["ratio"] > 3 * n["raw_kernel"]["ratio"]
    assert n["planted_centre"] == [20, 5] and n["score_map_shape"] == [24, 24]
    assert n["learned"] is None


def test_score_map_is_the_correlation_of_the_drawn_image() -> None:
    r = lab.run("pattern", data="mnist-sample", train=False, pattern="ring")
    d = r.data
    k = torch.from_numpy(d.pattern_mask - d.pattern_mask.mean())
    score = F.conv2d(torch.from_numpy(d.image)[None, None], k[None, None])[0, 0]
    torch.testing.assert_close(torch.from_numpy(d.score_map), score)
    assert d.score_map.shape == (24, 24) and d.zero_mean.peak == list(
        np.unravel_index(d.score_map.argmax(), d.score_map.shape)
    )


def test_score_map_moves_with_the_image() -> None:
    # equivariance, exactly: correlating a shifted image gives the shifted score map
    g = torch.Generator().manual_seed(0)
    x = torch.rand(28, 28, generator=g)
    k = make_pattern("ring", 5) - make_pattern("ring", 5).mean()
    score = F.conv2d(x[None, None], k[None, None])[0, 0]
    shifted = torch.roll(x, shifts=(3, 2), dims=(0, 1))
    score_s = F.conv2d(shifted[None, None], k[None, None])[0, 0]
    torch.testing.assert_close(score_s[3:, 2:], score[:-3, :-2], rtol=0, atol=1e-5)


def test_peak_and_contrast_excludes_the_neighbourhood() -> None:
    s = torch.zeros(10, 10)
    s[4, 4], s[4, 5], s[9, 0] = 5.0, 4.9, 2.0  # 4.9 is inside the exclusion zone
    res = peak_and_contrast(s, 3)
    assert res["peak"] == [4, 4] and res["second"] == [9, 0] and res["ratio"] == 2.5


def test_centred_cosine_matches_torch_and_blank_is_zero() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, 5, 5, generator=g).double(), torch.rand(6, 5, 5, generator=g).double()
    ac, bc = (
        a.flatten(1) - a.flatten(1).mean(1, keepdim=True),
        b.flatten(1) - b.flatten(1).mean(1, keepdim=True),
    )
    expected = F.cosine_similarity(ac, bc, dim=1).numpy()
    np.testing.assert_allclose(centred_cosine(a.numpy(), b.numpy()), expected, atol=1e-12)
    # a blank patch has no direction: its cosine is 0 whatever the kernel (why the old 0.00
    # random baseline meant nothing)
    assert centred_cosine(a.numpy()[:1], np.zeros((1, 5, 5)))[0] == 0.0


def test_random_baseline_draws_only_inked_patches() -> None:
    x = torch.zeros(4, 1, 28, 28)
    x[2, 0, 10:14, 10:12] = 1.0  # one small stroke in one image; everything else blank
    patches = _inked_patches(x, 30, np.random.default_rng(0))
    assert patches.shape == (30, KERNEL, KERNEL) and (patches.max(axis=(1, 2)) >= INK).all()


def test_sign_flip_test_follows_the_paired_difference() -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, 48)
    assert sign_flip_test(noise - noise.mean()) > 0.9  # exactly zero mean: no evidence
    assert sign_flip_test(noise + 2.0) < 1e-3  # a clear shift
    assert sign_flip_test(noise + 2.0) > 0  # a permutation p is never 0


def test_top_patch_is_the_argmax_window() -> None:
    # the patch returned is the window whose activation is largest over all images and positions
    from cnnlab.models import build
    from cnnlab.train.tensors import Preprocess

    torch.manual_seed(0)
    model = build("cnn", channels=(4, 8), kernel_size=KERNEL, hidden=16).eval()
    x = torch.rand(5, 1, 28, 28)
    pre = Preprocess.fit(x)
    kernels, patches = _top_patches(model, pre, x)
    with torch.no_grad():
        act = model.features[:3](pre.apply(x))  # (5, 4, 28, 28)
    for ch in range(4):
        n, r, c = np.unravel_index(int(act[:, ch].argmax()), act[:, ch].shape)
        window = F.pad(x, (2, 2, 2, 2))[n, 0, r : r + KERNEL, c : c + KERNEL].numpy()
        np.testing.assert_array_equal(patches[ch], window)
    np.testing.assert_array_equal(kernels, model.features[0].weight.detach()[:, 0].numpy())


def test_learned_kernels_match_their_top_patches(learned_run) -> None:
    learned = learned_run.numbers["learned"]
    assert learned["channels"] == 16 and len(learned["cosine_top"]) == 16
    assert learned["mean_cosine_top"] > learned["mean_cosine_random"] + 0.3
    assert set(learned_run.figures) == {"detector", "learned_kernels", "top_patch_control"}


def test_untrained_kernels_match_their_top_patches_too(learned_run) -> None:
    # the control: the top-patch search makes the match by construction, trained or not
    le = learned_run.numbers["learned"]
    assert le["mean_cosine_untrained"] > le["mean_cosine_random"] + 0.3
    assert abs(le["mean_cosine_random"]) < 0.1  # inked random patches: no systematic match
    assert le["difference"] == pytest.approx(
        np.mean(le["cosine_top"]) - np.mean(le["cosine_top_untrained"])
    )  # one seed: paired mean


def test_untrained_kernels_are_the_trained_models_initial_weights(learned_run) -> None:
    from cnnlab.models import build

    torch.manual_seed(learned_run.data.learned.seeds[0])
    initial = build("cnn", image_size=28, channels=(16, 32), kernel_size=KERNEL, hidden=64)
    np.testing.assert_array_equal(
        learned_run.data.learned.kernels_untrained,
        initial.features[0].weight.detach()[:, 0].numpy(),
    )
    assert not np.array_equal(
        learned_run.data.learned.kernels, learned_run.data.learned.kernels_untrained
    )


def test_verdict_and_kernel_description_follow_the_measurements(learned_run) -> None:
    exp = lab.get("pattern")
    n = learned_run.data

    def keys(**changes):
        le = dataclasses.replace(n.learned, **changes)
        return [k for k, _ in exp.explain(dataclasses.replace(n, learned=le))]

    assert "lab.pattern.diff_noise" in keys(p_value=0.3, difference=0.2)
    assert "lab.pattern.diff_up" in keys(p_value=0.001, difference=0.1)
    assert "lab.pattern.diff_down" in keys(p_value=0.001, difference=-0.1)
    assert "lab.pattern.kernels_rough" in keys(smoothness_trained=0.1)
    assert "lab.pattern.kernels_smooth" in keys(smoothness_trained=0.5)
    assert "lab.pattern.one_seed" in keys() and "lab.pattern.one_seed" not in keys(seeds=[0, 1, 2])
    text_en, text_ko = learned_run.text("en"), learned_run.text("ko")
    assert "by construction" in text_en and "untrained" in text_en
    assert "학습 전 커널" in text_ko and "을(를)" not in text_ko and "cross" not in text_ko


def test_bad_placement(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"row 25, col 3 does not fit.*row 0\.\.23, col 0\.\.23"):
        lab.run("pattern", data="mnist-sample", row=25, train=False)
    with pytest.raises(ConfigError, match=r"size = 15 is out of range; valid: 3\.\.14"):
        lab.run("pattern", size=15)
    with pytest.raises(ConfigError, match=r"seeds = 0 is out of range; valid: 1\.\.10"):
        lab.run("pattern", seeds=0)
    out = tmp_path / "o"
    assert (
        main(
            [
                "lab",
                "pattern",
                "--data",
                "mnist-sample",
                "--col",
                "30",
                "--no-train",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "does not fit" in capsys.readouterr().err and not out.exists()
