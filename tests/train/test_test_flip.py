"""A model marked ``test_flip`` predicts with flip averaging on every face that predicts or
evaluates: training's evaluation, ``predict``, a folder model's prediction, the web page's probe."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.inspect.probe import probe
from cnnlab.models import build
from cnnlab.train.folder_data import predict_image
from cnnlab.train.metrics import evaluate_tensors
from cnnlab.train.predict import Prepared, predict
from cnnlab.train.tensors import Preprocess


def _pair():
    torch.manual_seed(0)
    flip = build("cnn", channels=(4, 8), test_flip=True).eval()
    plain = build("cnn", channels=(4, 8)).eval()
    plain.load_state_dict(flip.state_dict())
    return flip, plain


def _averaged(plain, x):
    with torch.no_grad():
        return (plain(x) + plain(x.flip(3))) / 2


def test_evaluation_scores_the_flip_averaged_logits():
    flip, plain = _pair()
    x, y = torch.randn(50, 1, 28, 28), torch.randint(0, 10, (50,))
    logits = _averaged(plain, x)
    m = evaluate_tensors(flip, x, y, 10, batch_size=16)
    assert m.accuracy == int((logits.argmax(1) == y).sum()) / 50
    assert abs(m.loss - float(F.cross_entropy(logits, y))) < 1e-5
    unmarked = evaluate_tensors(plain, x, y, 10, batch_size=16)
    assert abs(unmarked.loss - float(F.cross_entropy(plain(x), y))) < 1e-5
    assert unmarked.loss != m.loss


def test_predict_faces_use_the_flip_averaged_logits():
    flip, plain = _pair()
    pre = Preprocess(mean=[0.5], std=[0.25])
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    x = pre.apply(torch.from_numpy(pixels).float().div(255).view(1, 1, 28, 28))
    want = torch.softmax(_averaged(plain, x), dim=1)[0]

    rows = predict(flip, pre, Prepared(pixels), [])
    assert rows[0]["index"] == int(want.argmax())
    assert abs(rows[0]["prob"] - float(want.max())) < 1e-5

    rows = predict_image(flip, pre, pixels[None], [])
    assert abs(rows[0]["prob"] - float(want.max())) < 1e-5

    seen = probe(flip, x, with_maps=True)
    np.testing.assert_allclose(seen.probs, want.double().numpy(), rtol=0, atol=1e-6)
    with torch.no_grad():  # the maps are the image's own, not its mirror image's
        np.testing.assert_allclose(seen.maps[0].values, plain.features[0](x)[0].numpy(), atol=1e-6)
    assert np.allclose(probe(flip, x, with_maps=False).probs, seen.probs)
