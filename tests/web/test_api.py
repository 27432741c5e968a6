"""The API of `cnnlab serve` through FastAPI's TestClient: every endpoint's numbers checked against
the library computing the same thing directly (docs/web-api.md is the contract)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from cnnlab.web.encode import q8, q8_decode
from tests.web.api_support import digits, error_of, make_app, make_client


@pytest.fixture(scope="module")
def app() -> Any:
    return make_app()


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    yield from make_client(app)


def _served(app, model_id):
    return app.state.cnnlab.store.get(model_id)


def test_q8_round_trip() -> None:
    a = np.random.default_rng(0).normal(size=(3, 5, 7)).astype(np.float32)
    q = q8(a)
    assert q["shape"] == [3, 5, 7] and q["min"] == pytest.approx(a.min())
    step = (a.max() - a.min()) / 255
    assert np.abs(q8_decode(q) - a).max() <= step / 2 + 1e-6
    flat = q8(np.full((2, 2), 1.5))
    assert flat["min"] == flat["max"] == 1.5 and np.all(q8_decode(flat) == 1.5)


# --- meta -----------------------------------------------------------------------------------------


def test_meta_lists_models_layers_and_strings_in_each_language(client) -> None:
    en = client.get("/api/meta?lang=en").json()
    ko = client.get("/api/meta?lang=ko").json()
    assert en["lang"] == "en" and ko["lang"] == "ko" and en["langs"] == ["en", "ko"]
    ids = [m["id"] for m in en["models"]]
    assert ids[:2] == ["cnn", "mlp"]
    cnn = en["models"][0]
    assert cnn["slot"] == "cnn" and en["models"][1]["slot"] == "mlp"
    assert 0.9 < cnn["test_accuracy"] <= 1  # recorded by scripts/make_web_weights.py
    layers = en["layers"]["cnn"]
    assert [layer["shape"] for layer in layers if layer["kind"] == "MaxPool2d"] == [
        [8, 14, 14],
        [16, 7, 7],
    ]
    assert all(layer["rf"] for layer in layers)
    assert "mlp" not in en["layers"]
    names = {e["name"] for e in en["experiments"]}
    assert {"padding", "pooling", "receptive-field"} <= names or "padding" in names
    # UI strings: same keys, different language
    assert en["strings"] and set(en["strings"]) == set(ko["strings"])
    assert any(en["strings"][k] != ko["strings"][k] for k in en["strings"])
    assert en["limits"]["train_max_epochs"] == 2  # the app's config, not the default


def test_language_from_accept_language_and_query(client) -> None:
    r = client.get("/api/meta", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert r.json()["lang"] == "ko" and r.headers["content-language"] == "ko"
    r = client.get("/api/meta", headers={"Accept-Language": "en;q=0.9,ko;q=0.2"})
    assert r.json()["lang"] == "en"
    r = client.get("/api/meta?lang=en", headers={"Accept-Language": "ko"})
    assert r.json()["lang"] == "en"  # the query wins
    assert "app;dur=" in r.headers["server-timing"]


def test_unknown_language_is_a_422_naming_the_choices(client) -> None:
    err = error_of(client.get("/api/meta?lang=fr"), 422, "validation")
    assert err["fields"][0]["field"] == "lang"
    assert "en" in err["fields"][0]["message"] and "ko" in err["fields"][0]["message"]


# --- predict --------------------------------------------------------------------------------------


def test_predict_matches_the_models_and_recognises_real_digits(app, client) -> None:
    images, labels = digits(10)
    right = 0
    for img, label in zip(images, labels):
        r = client.post("/api/predict", json={"pixels": img.tolist()})
        assert r.status_code == 200, r.text
        body = r.json()
        for slot in ("cnn", "mlp"):
            served = _served(app, slot)
            x = torch.tensor(img, dtype=torch.float32).view(1, 1, 28, 28)
            with torch.no_grad():
                want = torch.softmax(served.model(served.preprocess.apply(x)).double(), 1)[0]
            assert np.allclose(body[slot]["probs"], want.numpy(), atol=1e-4)
            assert sum(body[slot]["probs"]) == pytest.approx(1, abs=1e-3)
        right += body["cnn"]["top"] == label
    assert right >= 9  # the shipped CNN: 97% on MNIST's test set


def test_predict_maps_are_the_layers_outputs(app, client) -> None:
    from cnnlab.inspect.feature_maps import feature_maps

    img = digits(1)[0][0]
    body = client.post("/api/predict", json={"pixels": img.reshape(-1).tolist()}).json()
    served = _served(app, "cnn")
    x = served.preprocess.apply(torch.tensor(img, dtype=torch.float32).view(1, 1, 28, 28))
    want = [m for m in feature_maps(served.model, x) if m.is_spatial]
    assert [layer["name"] for layer in body["layers"]] == [m.name for m in want]
    for layer, m in zip(body["layers"], want):
        got = q8_decode(layer["map"])
        span = layer["map"]["max"] - layer["map"]["min"]
        assert np.abs(got - m.output[0].numpy()).max() <= span / 255 / 2 + 1e-5, layer["name"]
    kernels = q8_decode(body["kernels"])
    w = served.model.features[0].weight.detach().numpy()
    assert kernels.shape == w.shape
    assert np.abs(kernels - w).max() <= (w.max() - w.min()) / 255 / 2 + 1e-6
    assert np.allclose(q8_decode(body["input"]), img, atol=1 / 255)


def test_predict_without_maps_and_flat_equals_rows(client) -> None:
    img = digits(1)[0][0]
    a = client.post("/api/predict", json={"pixels": img.tolist(), "maps": False}).json()
    b = client.post("/api/predict", json={"pixels": img.reshape(-1).tolist()}).json()
    assert a["layers"] == [] and a["kernels"] is None
    assert a["cnn"]["probs"] == b["cnn"]["probs"] and a["mlp"]["probs"] == b["mlp"]["probs"]


def test_shift_moves_the_input_and_the_first_map_with_it(client) -> None:
    from cnnlab.lab.translation import shift_images

    img = digits(1)[0][0]
    base = client.post("/api/predict", json={"pixels": img.tolist()}).json()
    moved = client.post("/api/predict", json={"pixels": img.tolist(), "shift": [3, -2]}).json()
    want = shift_images(torch.tensor(img).view(1, 1, 28, 28), -2, 3)[0, 0].numpy()
    assert np.allclose(q8_decode(moved["input"]), want, atol=1 / 255)
    # the first conv map moves with the input (equivariance), away from the borders
    m0 = q8_decode(base["layers"][0]["map"])
    m1 = q8_decode(moved["layers"][0]["map"])
    assert np.allclose(m1[:, 4:-4, 5:-3], m0[:, 6:-2, 2:-6], atol=0.05)


def test_a_trained_checkpoint_directory_is_listed_by_id(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from cnnlab.models import build
    from cnnlab.train import fit
    from cnnlab.train.config import TrainConfig
    from cnnlab.web.app import create_app
    from cnnlab.web.state import ServerConfig

    x, y = torch.rand(64, 1, 28, 28), torch.arange(64) % 10
    fit(
        build("cnn", channels=[4], hidden=8),
        (x, y),
        None,
        TrainConfig(epochs=1, batch_size=32, out=str(tmp_path / "run-a")),
    )
    fit(
        build("mlp", hidden=[8], image_size=14),
        (x[:, :, :14, :14], y),
        None,
        TrainConfig(epochs=1, batch_size=32, out=str(tmp_path / "small")),
    )  # 14×14: skipped
    app = create_app(ServerConfig(checkpoint_dir=tmp_path))
    assert len(app.state.skipped) == 1 and "14" in app.state.skipped[0]
    with TestClient(app) as c:
        meta = c.get("/api/meta").json()
        ck = [m for m in meta["models"] if m["source"] == "checkpoint"]
        assert ck == [dict(ck[0], id="ckpt-1", label="run-a", arch="cnn", slot="cnn")]
        assert str(tmp_path) not in str(meta)  # ids and names, never paths
        r = c.post("/api/predict", json={"pixels": [[0.0] * 28] * 28, "cnn": "ckpt-1"})
        assert r.status_code == 200 and r.json()["cnn"]["model"] == "ckpt-1"
        assert meta["layers"]["ckpt-1"][0]["shape"] == [4, 28, 28]


# --- conv playground ------------------------------------------------------------------------------


def test_geometry_gives_the_formula_with_numbers(client) -> None:
    body = {"size": 28, "kernel": 3, "padding": 1, "stride": 2, "dilation": 1}
    r = client.post("/api/conv/geometry", json=body).json()
    assert r["ok"] and r["out"] == 14 and r["formula"] == "(28 + 2*1 - 3) // 2 + 1 = 14"
    assert (
        r["out"]
        == F.conv2d(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 3, 3), None, 2, 1).shape[-1]
    )
    same = client.post("/api/conv/geometry", json={"size": 10, "kernel": 4, "padding": "same"})
    assert same.json()["out"] == 10 and same.json()["pads"] == [1, 2]
    gaps = client.post("/api/conv/geometry", json={"size": 10, "kernel": 1, "stride": 3}).json()
    assert gaps["unseen"] == [1, 2, 4, 5, 7, 8] and "6" in gaps["text"]


def test_geometry_explains_an_impossible_combination_in_words(client) -> None:
    r = client.post("/api/conv/geometry?lang=ko", json={"size": 4, "kernel": 3, "dilation": 3})
    body = r.json()
    assert r.status_code == 200 and body["ok"] is False and body["out"] is None
    assert "7" in body["text"] and any("\uac00" <= ch <= "\ud7a3" for ch in body["text"])
    r = client.post(
        "/api/conv/geometry", json={"size": 9, "kernel": 3, "padding": "same", "stride": 2}
    )
    assert r.json()["ok"] is False and "same" in r.json()["text"].lower()


def test_trace_steps_are_the_convolution_of_the_digit_patch(client) -> None:
    r = client.post(
        "/api/conv/trace", json={"patch": 6, "padding": 1, "stride": 2, "kernel": "edge_v"}
    )
    body = r.json()
    assert r.status_code == 200, body
    assert body["source"]["kind"] == "sample" and body["source"]["label"] == 3
    patch, kernel = np.array(body["input"]), np.array(body["kernel"])
    want = F.conv2d(
        torch.tensor(patch)[None, None], torch.tensor(kernel)[None, None], stride=2, padding=1
    )[0, 0].numpy()
    assert np.allclose(body["output"], want, atol=1e-3) and body["geometry"]["out"] == [3, 3]
    assert len(body["steps"]) == 9
    for s in body["steps"]:
        i, j = s["position"]
        assert s["value"] == pytest.approx(want[i, j], abs=1e-3)
        assert np.sum(s["products"]) == pytest.approx(s["total"], abs=1e-3)
        assert np.allclose(np.array(s["window"]) * kernel, s["products"], atol=1e-3)
    assert body["steps"][0]["is_padding"][0] == [True, True, True]  # top-left window: padding row


def test_trace_of_a_drawing_with_a_learned_kernel(app, client) -> None:
    img = digits(2)[0][1]
    r = client.post(
        "/api/conv/trace",
        json={"pixels": img.tolist(), "top": 25, "left": 0, "patch": 5, "kernel": "cnn:2"},
    ).json()
    assert r["source"] == {"kind": "drawing", "top": 23, "left": 0, "patch": 5}  # clipped to fit
    assert np.allclose(r["input"], img[23:28, 0:5], atol=1e-4)
    w = _served(app, "cnn").model.features[0].weight[2, 0].detach().numpy()
    assert np.allclose(r["kernel"], w, atol=1e-4)


@pytest.mark.parametrize("kernel", ["edge_h", "blur", "sharpen", "guide"])
def test_trace_named_kernels(client, kernel: str) -> None:
    r = client.post("/api/conv/trace", json={"kernel": kernel, "kernel_size": 3, "patch": 4})
    k = np.array(r.json()["kernel"])
    assert r.status_code == 200 and k.shape == (3, 3)
    if kernel in ("blur", "sharpen"):
        assert k.sum() == pytest.approx(1.0)  # a flat patch stays flat


def test_trace_errors(client) -> None:
    err = error_of(client.post("/api/conv/trace", json={"kernel": "cnn:99"}), 422, "validation")
    assert "cnn:7" in err["message"]
    err = error_of(
        client.post("/api/conv/trace", json={"patch": 3, "kernel_size": 3, "dilation": 3}),
        422,
        "validation",
    )
    assert "7" in err["message"]  # span 7 > patch 3, from geometry's own sentence
    err = error_of(
        client.post("/api/conv/trace", json={"kernel": "/etc/passwd"}), 422, "validation"
    )
    assert err["fields"][0]["field"] == "kernel"


# --- receptive field, pooling ---------------------------------------------------------------------


def test_rf_box_is_the_receptive_field_formula(app, client) -> None:
    from cnnlab.inspect.receptive_field import receptive_fields

    rows = receptive_fields(_served(app, "cnn").model.features, (28, 28))
    for layer, rf in (("features.0", rows[0]), ("features.2", rows[0]), ("features.7", rows[-1])):
        r = client.post("/api/rf", json={"layer": layer, "y": 1, "x": 2}).json()
        top, bottom, left, right = rf.box((1, 2), (28, 28))
        assert r["box"] == {"top": top, "bottom": bottom, "left": left, "right": right}
        assert r["size"] == list(rf.size)
    deep = client.post("/api/rf", json={"layer": "features.7", "y": 3, "x": 3}).json()
    assert deep["box"] == {"top": 9, "bottom": 18, "left": 9, "right": 18}  # 10×10, jump 4


def test_rf_errors(client) -> None:
    err = error_of(
        client.post("/api/rf?lang=ko", json={"layer": "features.7", "y": 7, "x": 0}),
        422,
        "validation",
    )
    assert "0 … 6" in err["message"]
    err = error_of(
        client.post("/api/rf", json={"layer": "classifier.1", "y": 0, "x": 0}), 404, "not_found"
    )
    assert "features.0" in err["message"]
    error_of(
        client.post("/api/rf", json={"model": "mlp", "layer": "net.1", "y": 0, "x": 0}),
        422,
        "validation",
    )
    error_of(
        client.post("/api/rf", json={"model": "nope", "layer": "a", "y": 0, "x": 0}),
        404,
        "not_found",
    )


def test_pool_is_max_and_average_of_the_layer_map(client) -> None:
    img = digits(1)[0][0]
    pred = client.post("/api/predict", json={"pixels": img.tolist()}).json()
    r = client.post(
        "/api/pool", json={"pixels": img.tolist(), "layer": "features.2", "kernel": 2}
    ).json()
    relu = q8_decode(pred["layers"][2]["map"])
    got_in = q8_decode(r["input"])
    assert np.allclose(got_in, relu, atol=(r["input"]["max"] - r["input"]["min"]) / 255)
    exact = torch.tensor(got_in)[None]
    want_max = F.max_pool2d(exact, 2)[0].numpy()
    want_avg = F.avg_pool2d(exact, 2)[0].numpy()
    assert q8_decode(r["max"]).shape == (8, 14, 14)
    assert np.abs(q8_decode(r["max"]) - want_max).max() < 0.02 * (want_max.max() + 1e-9) + 0.02
    assert np.abs(q8_decode(r["avg"]) - want_avg).max() < 0.02 * (want_avg.max() + 1e-9) + 0.02
    # the real layer after features.2 is MaxPool2d(2): the endpoint agrees with the network
    assert np.allclose(q8_decode(r["max"]), q8_decode(pred["layers"][3]["map"]), atol=0.05)


# --- lab, static ----------------------------------------------------------------------------------


def test_lab_listing_text_and_figure(client) -> None:
    listing = client.get("/api/lab?lang=ko").json()["experiments"]
    assert any(e["name"] == "shapes" for e in listing)
    en = client.get("/api/lab/shapes?lang=en").json()
    ko = client.get("/api/lab/shapes?lang=ko").json()
    assert en["text"] and len(en["text"]) == len(ko["text"]) and en["text"] != ko["text"]
    assert en["figures"] == ko["figures"] and en["figures"]
    fig = client.get(f"/api/lab/shapes/figures/{en['figures'][0]}.png?lang=ko")
    assert fig.status_code == 200 and fig.content[:8] == b"\x89PNG\r\n\x1a\n"
    error_of(client.get("/api/lab/shapes/figures/nope.png"), 404, "not_found")
    error_of(client.get("/api/lab/no-such-experiment"), 404, "not_found")


def test_static_page_and_unknown_paths(client) -> None:
    from cnnlab.web.app import STATIC

    if (STATIC / "index.html").is_file():
        r = client.get("/")
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    err = error_of(client.get("/api/nothing-here?lang=ko"), 404, "not_found")
    assert "/api/nothing-here" in err["message"]
    error_of(client.get("/../../etc/passwd"), 404, "not_found")
    error_of(client.delete("/api/predict"), 405, "method")


def test_no_endpoint_takes_a_path(app) -> None:
    schema = app.openapi()
    for route, ops in schema["paths"].items():
        for op in ops.values():
            for p in op.get("parameters", []):
                assert not any(w in p["name"].lower() for w in ("path", "dir", "file")), route
    bodies = schema["components"]["schemas"]
    for name, body in bodies.items():
        for field in body.get("properties", {}):
            assert not any(w in field.lower() for w in ("path", "dir")), (name, field)
