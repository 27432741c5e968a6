"""text-conv: the slide is the convolution (vs torch), max over time picks the window, the
contributions add up to the logit difference, the controls are computed, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.errors import CnnlabError, ConfigError
from cnnlab.lab.registry import get
from cnnlab.lab.text_conv import join_ngram, purity, shuffle_tokens

EXP = get("text-conv")
TINY = {"n_train": 600, "n_test": 200, "epochs": 1, "channels": 8, "embed_dim": 8, "filters": 4}


@pytest.fixture(scope="module")
def numbers():
    return EXP.measure(EXP.make_params(**TINY), None)


def test_shuffle_tokens_keeps_each_rows_tokens_and_padding() -> None:
    x = np.array([[5, 6, 7, 8, 0, 0], [9, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    out = shuffle_tokens(x, seed=1)
    assert out.shape == x.shape
    for a, b in zip(x, out, strict=True):
        assert sorted(a) == sorted(b)
        n = int((a != 0).sum())
        assert (b[n:] == 0).all() and (b[:n] != 0).all()
    assert not np.array_equal(shuffle_tokens(np.arange(1, 41)[None], 0), np.arange(1, 41)[None])


def test_purity_is_the_majority_share_of_each_filters_top_reviews() -> None:
    values = np.array([[3.0, 0.0], [2.0, 1.0], [1.0, 2.0], [0.0, 3.0]])  # (N=4, F=2)
    labels = np.array([1, 1, 0, 1])
    # filter 0's top 2 reviews: 0, 1 (labels 1, 1) → 1.0; filter 1's: 3, 2 (labels 1, 0) → 0.5
    np.testing.assert_allclose(purity(values, labels, 2), [1.0, 0.5])
    np.testing.assert_allclose(purity(values, 1 - labels, 3), [2 / 3, 2 / 3])


def test_join_ngram_shows_syllable_spaces() -> None:
    assert join_ngram(["재", "▁", "밌"], "syllable") == "재␣밌"
    assert join_ngram(["재밌", "다"], "morpheme") == "재밌 다"


def test_slide_matches_torch_and_the_models_feature_map(numbers) -> None:
    n = numbers
    length, embed = n.embedded.shape
    assert length == len(n.tokens) and embed == TINY["embed_dim"]
    assert n.kernel.shape == (embed, n.width)
    assert n.responses.shape == (length - n.width + 1,)  # no padding, stride 1
    assert n.max_diff_torch < 1e-9 and n.max_diff_model < 1e-5
    # the per-token products add up to each response, bias included
    np.testing.assert_allclose(n.token_products.sum(1) + n.bias, n.responses, atol=1e-12)
    # max over time fires where the ReLU'd response is largest
    assert max(n.responses[n.argmax], 0.0) == pytest.approx(max(n.responses.max(), 0.0), abs=1e-5)


def test_contributions_add_up_to_the_logit_difference(numbers) -> None:
    n = numbers
    assert n.contributions.shape == (len(n.tokens),)
    assert n.identity_error < 1e-4
    assert n.probability == pytest.approx(1 / (1 + np.exp(-n.logit_diff)), abs=1e-6)


def test_detectors_and_controls(numbers) -> None:
    n = numbers
    assert len(n.detectors) == TINY["filters"]
    assert len(n.purity_trained) == len(n.purity_untrained) == TINY["channels"]
    assert all(0.5 <= p <= 1.0 for p in n.purity_trained + n.purity_untrained)
    assert 0 < n.purity_p <= 1
    pos = [d for d in n.detectors if d.weight > 0]
    neg = [d for d in n.detectors if d.weight < 0]
    assert len(pos) == len(neg) == TINY["filters"] // 2
    for d in n.detectors:
        assert d.counts == sorted(d.counts, reverse=True) and sum(d.counts) <= n.top_reviews
        # every n-gram is `width` syllables shown with ␣ for the word boundary (or <pad>/<unk>)
        assert all(g for g in d.ngrams)
    assert 0.0 <= n.accuracy_shuffled <= 1.0 and 0.0 <= n.accuracy_untrained <= 1.0
    assert n.n_train == TINY["n_train"] and n.n_test == TINY["n_test"]


def test_saved_numbers_rerender_in_korean(numbers) -> None:
    import json

    from cnnlab.jsonable import to_jsonable

    data = json.loads(json.dumps(to_jsonable(numbers)))
    result = EXP.load(data, lang="ko")
    text = result.text("ko")
    assert "n-그램" in text and "대조군" in text
    assert result.data.tokens == numbers.tokens


def test_own_text_is_tokenised_and_slid() -> None:
    n = EXP.measure(EXP.make_params(**TINY, text="영화 정말 재밌다"), None)
    assert n.text == "영화 정말 재밌다" and n.label is None
    assert n.tokens == ["영", "화", "▁", "정", "말", "▁", "재", "밌", "다"]
    assert n.responses.shape == (9 - 3 + 1,)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ConfigError, match="text is empty or only whitespace"):
        EXP.measure(EXP.make_params(**TINY, text="   "), None)
    with pytest.raises(ConfigError, match=r"index = 200 is out of range; valid: 0..199"):
        EXP.measure(EXP.make_params(**TINY, index=200), None)
    with pytest.raises(ConfigError, match="tokenizer = 'bogus' is not valid"):
        EXP.make_params(tokenizer="bogus")


def test_more_than_two_classes_is_refused(tmp_path) -> None:
    path = tmp_path / "three.csv"
    rows = ["text,label"] + [f"문장 {i},{i % 3}" for i in range(300)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(CnnlabError, match="needs two classes"):
        params = {**TINY, "dataset": f"csvtext:{path}", "n_train": 100, "n_test": 100}
        EXP.measure(EXP.make_params(**params), None)


def test_missing_nsmc_names_this_commands_option(tmp_path, monkeypatch) -> None:
    from cnnlab.errors import DataError

    monkeypatch.delenv("CNNLAB_DATA_PATH", raising=False)
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))  # an empty cache
    with pytest.raises(DataError, match=r"not in --text-dir.*cnnlab data download nsmc"):
        EXP.measure(EXP.make_params(**TINY, dataset="nsmc"), None)
