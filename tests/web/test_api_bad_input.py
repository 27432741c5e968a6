"""Bad input to every endpoint: a 4xx with one JSON error shape, a readable message in the
request's language naming the field and its valid range — never a 5xx, never a traceback."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.web.api_support import digits, error_of, make_app, make_client, png


@pytest.fixture(scope="module")
def app() -> Any:
    return make_app()


@pytest.fixture(scope="module")
def client(app: Any) -> Iterator[TestClient]:
    yield from make_client(app)


HANGUL = ("\uac00", "\ud7a3")


def _korean(text: str) -> bool:
    return any(HANGUL[0] <= ch <= HANGUL[1] for ch in text)


ZEROS = [[0.0] * 28] * 28


@pytest.mark.parametrize(
    ("body", "field", "valid"),
    [
        ({"pixels": [[0.0] * 28] * 27}, "pixels", "28×28 | 784"),
        ({"pixels": [0.0] * 783}, "pixels", "28×28 | 784"),
        ({"pixels": [[0.0] * 27] * 28}, "pixels", "28×28 | 784"),
        ({"pixels": [[2.0] * 28] * 28}, "pixels", "0 … 1"),
        ({"pixels": [[-0.5] * 28] * 28}, "pixels", "0 … 1"),
        ({"pixels": "abc"}, "pixels", None),
        ({}, "pixels", None),
        ({"pixels": ZEROS, "shift": [9, 0]}, "shift.0", "-8 … 8"),
        ({"pixels": ZEROS, "shift": [0, -100]}, "shift.1", "-8 … 8"),
        ({"pixels": ZEROS, "shift": [1]}, "shift", None),
        ({"pixels": ZEROS, "shift": [1.5, 0]}, "shift.0", "-8 … 8"),
        ({"pixels": ZEROS, "maps": "sometimes"}, "maps", None),
        ({"pixels": ZEROS, "cnn": "../../etc"}, "cnn", None),
        ({"pixels": ZEROS, "padding": 1}, "padding", None),  # unknown field: a typo, refused
    ],
)
def test_predict_bad_bodies_name_the_field(client, body, field: str, valid: str | None) -> None:
    err = error_of(client.post("/api/predict", json=body), 422, "validation")
    fields = {f["field"]: f for f in err["fields"]}
    assert any(name.startswith(field) for name in fields), err
    if valid is not None:
        assert valid in (fields[field]["valid"] or ""), fields[field]
    assert field.split(".")[0] in err["message"]


def test_validation_messages_are_in_the_request_language(client) -> None:
    body = {"pixels": ZEROS, "shift": [12, 0]}
    ko = error_of(client.post("/api/predict?lang=ko", json=body), 422, "validation")
    en = error_of(
        client.post("/api/predict", json=body, headers={"Accept-Language": "en"}), 422, "validation"
    )
    assert _korean(ko["message"]) and not _korean(en["message"])
    assert ko["fields"][0]["got"] == 12 and "-8 … 8" in ko["message"]


def test_nan_and_malformed_json(client) -> None:
    raw = '{"pixels": [' + ",".join(["NaN"] * 784) + "]}"
    err = error_of(
        client.post("/api/predict", content=raw, headers={"Content-Type": "application/json"}),
        422,
        "validation",
    )
    assert "0" in err["fields"][0]["valid"]
    for bad in ('{"pixels": [', "not json", "", "[]", "null", '{"pixels": 1e999}'):
        error_of(
            client.post("/api/predict", content=bad, headers={"Content-Type": "application/json"}),
            422,
            "validation",
        )


def test_unknown_models(client) -> None:
    err = error_of(
        client.post("/api/predict", json={"pixels": ZEROS, "cnn": "resnet"}), 404, "not_found"
    )
    assert "cnn, mlp" in err["message"]
    err = error_of(
        client.post("/api/predict?lang=ko", json={"pixels": ZEROS, "cnn": "mlp"}), 422, "validation"
    )
    assert _korean(err["message"]) and "cnn" in err["message"]


@pytest.mark.parametrize(
    ("body", "field", "valid"),
    [
        ({"size": 0, "kernel": 3}, "size", "1 … 512"),
        ({"size": 10**9, "kernel": 3}, "size", "1 … 512"),
        ({"size": 28, "kernel": 32}, "kernel", "1 … 31"),
        ({"size": 28, "kernel": 3, "stride": 0}, "stride", "1 … 31"),
        ({"size": 28, "kernel": 3, "dilation": 17}, "dilation", "1 … 16"),
        ({"size": 28, "kernel": 3, "padding": -1}, "padding", "same"),
        ({"size": 28, "kernel": 3, "padding": "full"}, "padding", "same"),
        ({"size": 28}, "kernel", None),
        ({"size": "28", "kernel": "three"}, "kernel", None),
    ],
)
def test_geometry_out_of_range(client, body, field: str, valid: str | None) -> None:
    err = error_of(client.post("/api/conv/geometry", json=body), 422, "validation")
    fields = {f["field"].split(".")[0]: f for f in err["fields"]}
    assert field in fields, err
    if valid:
        assert valid in fields[field]["message"]


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/conv/trace", {"patch": 13}),
        ("/api/conv/trace", {"top": -1}),
        ("/api/conv/trace", {"kernel_size": 6}),
        ("/api/conv/trace", {"stride": 0}),
        ("/api/conv/trace", {"pixels": [[0.0] * 3]}),
        ("/api/rf", {"layer": "features.0", "y": -1, "x": 0}),
        ("/api/rf", {"layer": "features.0; drop", "y": 0, "x": 0}),
        ("/api/rf", {"y": 0, "x": 0}),
        ("/api/pool", {"pixels": ZEROS, "layer": "features.2", "kernel": 9}),
        ("/api/pool", {"pixels": ZEROS, "layer": "features.2", "stride": 0}),
        ("/api/train", {"model": "resnet"}),
        ("/api/train", {"epochs": 0}),
        ("/api/train", {"epochs": 6}),
        ("/api/train", {"lr": 100}),
        ("/api/train", {"seed": -1}),
    ],
)
def test_other_endpoints_refuse_out_of_range_knobs(client, url: str, body) -> None:
    err = error_of(client.post(url, json=body), 422, "validation")
    assert err["fields"] and all(f["field"] for f in err["fields"])


def test_train_epochs_above_the_servers_limit(client) -> None:
    # the schema allows 5; this app (TINY) allows 2: the server's own limit, in words
    err = error_of(client.post("/api/train?lang=ko", json={"epochs": 3}), 422, "validation")
    assert "1 … 2" in err["message"] and _korean(err["message"])


def test_pool_unknown_layer(client) -> None:
    err = error_of(
        client.post("/api/pool", json={"pixels": ZEROS, "layer": "features.99"}), 404, "not_found"
    )
    assert "features.7" in err["message"]


def test_body_over_the_limit_is_413(client, app) -> None:
    limit = app.state.cnnlab.config.max_body
    big = b'{"pixels": [' + b"0," * (limit // 2) + b"0]}"
    err = error_of(
        client.post(
            "/api/predict?lang=ko", content=big, headers={"Content-Type": "application/json"}
        ),
        413,
        "too_large",
    )
    assert f"{limit:,}" in err["message"] and _korean(err["message"])

    def chunks():  # no Content-Length: counted while reading
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    error_of(
        client.post("/api/predict", content=chunks(), headers={"Content-Type": "application/json"}),
        413,
        "too_large",
    )


# --- image upload ---------------------------------------------------------------------------------


def _upload(client, data: bytes, lang: str = "en", name: str = "x.png"):
    return client.post(f"/api/image?lang={lang}", files={"file": (name, data, "image/png")})


def test_image_upload_is_prepared_like_cnnlab_predict(client) -> None:
    from PIL import Image

    from cnnlab.train.predict import prepare

    img = digits(1)[0][0]
    paper = (255 - np.kron(img * 255, np.ones((4, 4)))).astype(np.uint8)  # dark ink on white, 112²
    r = _upload(client, png(paper, "RGB"))
    body = r.json()
    assert r.status_code == 200, body
    want = prepare(Image.open(io.BytesIO(png(paper, "RGB")))).pixels / 255
    assert np.allclose(body["pixels"], want, atol=1e-4)
    assert body["inverted"] and body["ink"] and body["original"]["width"] == 112
    assert [s["step"] for s in body["steps"]][-1] == "centered 28x28"
    pred = client.post("/api/predict", json={"pixels": body["pixels"]}).json()
    assert pred["cnn"]["top"] == int(digits(1)[1][0])


def test_uploaded_digit_keeps_its_label(client) -> None:
    images, labels = digits(10)
    right = 0
    for img, label in zip(images, labels):
        paper = (255 - img * 255).astype(np.uint8)
        body = _upload(client, png(paper)).json()
        pred = client.post("/api/predict", json={"pixels": body["pixels"]}).json()
        right += pred["cnn"]["top"] == int(label)
    assert right >= 8


def test_blank_image_has_no_ink(client) -> None:
    body = _upload(client, png(np.full((40, 30), 255, np.uint8))).json()
    assert body["ink"] is False and np.max(body["pixels"]) == 0


def test_not_an_image_is_415_in_the_request_language(client) -> None:
    err = error_of(_upload(client, b"%PDF-1.4 not an image", "ko"), 415, "not_image")
    assert _korean(err["message"])
    error_of(_upload(client, b""), 415, "not_image")
    truncated = png(np.zeros((50, 50), np.uint8))[:60]
    error_of(_upload(client, truncated), 415, "not_image")


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width×height`` with a tiny (bogus) body: a decompression bomb's
    shape without its bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_images_too_large_are_refused_before_decoding(client) -> None:
    err = error_of(_upload(client, _png_header_only(5000, 10)), 413, "too_large")
    assert "5000×10" in err["message"]
    err = error_of(_upload(client, _png_header_only(60000, 60000), "ko"), 413, "too_large")
    assert _korean(err["message"])  # Pillow's bomb guard or ours: either way before decoding
    error_of(
        client.post("/api/image", files={"file": ("x.png", b"\0" * (2 * 1024 * 1024 + 10))}),
        413,
        "too_large",
    )


def test_image_without_a_file_field(client) -> None:
    err = error_of(client.post("/api/image", data={"other": "x"}), 422, "validation")
    assert err["fields"][0]["field"] == "file"
