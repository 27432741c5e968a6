"""The lecture's other 1-D example: a sentence is a sequence of token vectors, and a kernel that
slides over it reads n-grams.

Part 1 — the slide. One review (test review ``index``, or your own ``text``) is tokenised and looked
up in a trained TextCNN's embedding: the sentence becomes a matrix ``X (L, E)`` (one row per token).
One filter ``W (E, w)`` of width ``w`` (3 by default) slides over it; at every position ``j``::

    y[j] = Σ_a Σ_e W[e, a] · X[j + a, e] + b          (a = 0 … w-1: the w tokens under the filter)

written out per token (``Σ_e W[e, a]·X[j+a, e]``, one number per token of the window) for the first
steps, checked against ``torch.nn.functional.conv1d`` in float64 and against the model's own feature
map. Max over time keeps ``max_j ReLU(y[j])``: the n-gram ``tokens[j*: j* + w]`` the filter read.
The filter shown is the one that moved this review's decision most.

Part 2 — n-gram detectors. A TextCNN with one width (``width``) is trained on a slice of the data
(the embedded NSMC sample by default, ``nsmc`` for the whole corpus: ``n_train`` training
reviews, ``n_test`` test reviews). For every filter, the
``top`` test reviews where it fires hardest are collected with the n-gram that fired it; the figure
lists, for a handful of filters (the most positive and most negative ones by their weight in the
linear layer), the n-grams they read most often.

Control. Any filter has *some* n-grams it responds to most, trained or not, so listing them proves
nothing alone. The measured claim is label purity: among a filter's top reviews, the share of the
majority label. The same statistic on the same model's untrained filters (its initial weights,
same seed) is the control; the claim is the paired difference per filter (sign-flip test). A second
control: the trained model's accuracy when each test review's tokens are shuffled (the same tokens,
the order destroyed) — what the n-grams, rather than the bag of tokens, are worth.

Part 3 — one review shaded. With dropout off the logit difference positive − negative is
``Σ_f Δw_f · h_f + Δb`` (``h_f`` the value filter ``f`` kept, ``Δw_f`` its weight difference in
the linear layer). Each filter's term ``Δw_f · h_f`` is split equally over the ``w`` tokens it
read, so a token's contribution is the sum over the filters whose kept window covers it, and the
contributions add up to the logit difference minus ``Δb`` exactly (the identity is checked in the
numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnlab.errors import ConfigError, DataError
from cnnlab.i18n import Msg
from cnnlab.lab.registry import SEED_MAX, register
from cnnlab.progress import Progress, emit
from cnnlab.result import Message

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SHOWN_STEPS = 3  # slide steps written out in the text (all of them are in the numbers)
TOKENIZERS = ("syllable", "word", "morpheme")
BATCH = 64
LR = 3e-3  # AdamW with OneCycle: learns a syllable TextCNN on 20k reviews in two epochs
TOP_SHARE = 0.02  # a filter's "top reviews": this share of the test slice (at least 20)


@dataclass
class TextConvParams:
    dataset: str = field(default="nsmc-sample", metadata={"help": "lab.text_conv.param.dataset"})
    # the embedded 5,000 + 1,000 NSMC reviews (offline, any machine: the tour's default), nsmc
    # (the whole corpus, 150k/50k) or csvtext:<path> (columns text/document/... and label)
    text_dir: str | None = field(default=None, metadata={"help": "lab.text_conv.param.text_dir"})
    # a folder holding NSMC's files; not named data_dir: the tour sets that to the image data's
    tokenizer: str = field(
        default="syllable",
        metadata={"help": "lab.text_conv.param.tokenizer", "choices": TOKENIZERS},
    )
    # syllables need no extra package and keep the figure's n-grams short enough to read
    text: str | None = field(default=None, metadata={"help": "lab.text_conv.param.text"})
    index: int = field(default=0, metadata={"help": "lab.text_conv.param.index", "min": 0})
    # the test review slid over and shaded when no text is given
    n_train: int = field(
        default=5_000, metadata={"help": "lab.text_conv.param.n_train", "min": 100, "max": 150_000}
    )
    n_test: int = field(
        default=1_000, metadata={"help": "lab.text_conv.param.n_test", "min": 100, "max": 50_000}
    )
    # the whole embedded sample; on nsmc, --n-train 20000 --n-test 5000 --epochs 2 reads more
    epochs: int = field(
        default=3, metadata={"help": "lab.training.param.epochs", "min": 1, "max": 20}
    )
    # 3 epochs on the sample: trained filters' purity 74% vs 60% untrained (p = 5e-05)
    width: int = field(
        default=3, metadata={"help": "lab.text_conv.param.width", "min": 1, "max": 7}
    )
    # one width for every filter: each one reads trigrams, as in the lecture's figure
    channels: int = field(
        default=64, metadata={"help": "lab.text_conv.param.channels", "min": 2, "max": 512}
    )
    embed_dim: int = field(
        default=32, metadata={"help": "lab.text_conv.param.embed_dim", "min": 2, "max": 512}
    )
    filters: int = field(
        default=6, metadata={"help": "lab.text_conv.param.filters", "min": 2, "max": 12}
    )
    # detectors shown in the figure: half the most positive, half the most negative
    top: int = field(default=5, metadata={"help": "lab.text_conv.param.top", "min": 1, "max": 10})
    # n-grams listed per shown filter
    seed: int = field(default=0, metadata={"help": "lab.param.seed", "min": 0, "max": SEED_MAX})


@dataclass(frozen=True)
class Detector:
    """One filter as an n-gram detector."""

    filter: int
    weight: float  # Δw_f: its weight for positive minus negative in the linear layer
    purity: float  # majority-label share among its top test reviews (trained)
    purity_untrained: float  # the same filter index in the untrained model
    ngrams: list[str]  # its most frequent kept n-grams among its top reviews
    counts: list[int]  # how many of those top reviews each n-gram fired in
    positive: list[float]  # share of those reviews labelled positive, per n-gram


@dataclass(frozen=True)
class TextConvNumbers:
    dataset: str
    tokenizer: str
    classes: list[str]
    n_train: int
    n_test: int
    dropped_empty: int  # empty reviews dropped from the slices
    vocab_size: int
    max_len: int
    truncated_share: float  # training reviews longer than max_len (cut)
    epochs: int
    width: int
    channels: int
    embed_dim: int
    params: int
    train_seconds: float
    accuracy: float  # trained, on the test slice
    accuracy_untrained: float
    accuracy_shuffled: float  # trained, each test review's tokens shuffled
    majority: float  # share of the majority class in the test slice
    # part 1: the slide over one review
    text: str
    label: int | None  # None for your own text
    tokens: list[str]
    embedded: np.ndarray  # (L, E) the sentence as a matrix
    filter: int  # the filter slid
    kernel: np.ndarray  # (E, w)
    bias: float
    responses: np.ndarray  # (L - w + 1,) y[j] before ReLU
    token_products: np.ndarray  # (L - w + 1, w) Σ_e W[e, a]·X[j+a, e]
    argmax: int  # j*: where max over time fired
    max_diff_torch: float  # |responses − F.conv1d float64|
    max_diff_model: float  # |ReLU(responses) − the model's feature map|
    # part 2: detectors
    top_reviews: int  # reviews counted as a filter's top
    detectors: list[Detector]  # the shown filters
    purity_trained: list[float]  # every filter
    purity_untrained: list[float]
    purity_p: float  # sign-flip test of the paired difference
    # part 3: contributions
    probability: float  # of the positive class (index 1) for the review
    logit_diff: float
    contributions: np.ndarray  # (L,) per token
    identity_error: float  # |Σ contributions + Δb − logit_diff|


def _strip(texts: Any, labels: Any, n: int, param: str) -> tuple[list[str], np.ndarray]:
    if n > len(texts):
        raise ConfigError("lab.error.range", param=param, value=n, low=100, high=len(texts))
    return list(texts[:n]), np.asarray(labels[:n], dtype=np.int64)


def load_slices(params: TextConvParams) -> tuple[Any, Any]:
    """Training and test slices of the dataset (the first n reviews of each split)."""
    from cnnlab.data.text import load_text

    try:
        return (
            load_text(params.dataset, "train", data_dir=params.text_dir),
            load_text(params.dataset, "test", data_dir=params.text_dir),
        )
    except DataError as exc:  # name this command's option, not --data-dir/--download
        if exc.key == "data.text.nsmc_missing":
            raise DataError("lab.text_conv.error.nsmc_missing", **exc.params) from exc
        raise


def join_ngram(tokens: list[str], tokenizer: str) -> str:
    """An n-gram as text: syllables run together (their ``▁`` shown as a space), others spaced."""
    from cnnlab.text import SPACE

    if tokenizer == "syllable":
        return "".join(tokens).replace(SPACE, "␣")
    return " ".join(tokens)


def _train(
    model: Any, x: np.ndarray, y: np.ndarray, epochs: int, seed: int, progress: Any
) -> float:
    """AdamW + OneCycle, batches of similar length (less padding to convolve); returns seconds."""
    import time

    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    lengths = (x != 0).sum(1)
    steps = epochs * -(-len(x) // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.2)
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        order = order[np.argsort(lengths[order], kind="stable")]  # by length, ties shuffled
        batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
        for b in rng.permutation(len(batches)):
            idx = batches[b]
            cut = max(1, int(lengths[idx].max()))
            loss = F.cross_entropy(model(torch.from_numpy(x[idx, :cut])), torch.from_numpy(y[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        emit(progress, "train", model="textcnn", epoch=epoch + 1, epochs=epochs)
    model.eval()
    return time.perf_counter() - start


def _logits(model: Any, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.cat(
            [model(torch.from_numpy(x[i : i + 1000])) for i in range(0, len(x), 1000)]
        ).numpy()


def shuffle_tokens(x: np.ndarray, seed: int) -> np.ndarray:
    """Each row's real tokens (non-zero ids) in a random order, the padding left at the end."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    for row in out:
        n = int((row != 0).sum())
        row[:n] = row[:n][rng.permutation(n)]
    return out


def purity(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per filter: majority-label share among the ``k`` reviews with the largest kept value.
    ``values (N, F)`` → ``(F,)``."""
    top = np.argsort(-values, axis=0, kind="stable")[:k]  # (k, F)
    pos = labels[top].mean(0)  # (F,) share positive (binary labels)
    return np.maximum(pos, 1 - pos)


def measure(params: TextConvParams, progress: Progress | None = None) -> TextConvNumbers:
    import copy

    import torch
    import torch.nn.functional as F

    from cnnlab.lab.pattern import sign_flip_test
    from cnnlab.models.textcnn import TextCNN
    from cnnlab.text import TextEncoding, Vocab, get_tokenizer

    emit(progress, "stage", stage="data")
    train_data, test_data = load_slices(params)
    if len(train_data.classes) != 2:
        raise ConfigError("lab.text_conv.error.binary", n=len(train_data.classes))
    tr_texts, ytr = _strip(train_data.texts, train_data.labels, params.n_train, "n_train")
    te_texts, yte = _strip(test_data.texts, test_data.labels, params.n_test, "n_test")
    tok = get_tokenizer(params.tokenizer)
    # the review to slide over, checked before any training
    if params.text is not None:
        text, label = params.text, None
        if not tok.tokenize(text):
            raise ConfigError("lab.text_conv.error.empty_text")
    else:
        if params.index >= len(te_texts):
            raise ConfigError(
                "lab.error.range", param="index", value=params.index, low=0, high=len(te_texts) - 1
            )
        text, label = te_texts[params.index], int(yte[params.index])
    tr_tokens = tok.tokenize_many(tr_texts)
    lengths = np.array([len(t) for t in tr_tokens])
    max_len = max(params.width, int(np.percentile(lengths, 99)))  # 1 % of reviews cut
    vocab = Vocab.build(tr_tokens, min_count=2)
    xtr, truncated = vocab.encode_batch(tr_tokens, max_len)
    encoding = TextEncoding(tok.name, vocab, max_len, truncated)
    xte, _ = encoding.encode(te_texts)

    emit(progress, "stage", stage="train")
    torch.manual_seed(params.seed)
    model = TextCNN(len(vocab), 2, params.embed_dim, (params.width,), params.channels, 0.5)
    initial = copy.deepcopy(model).eval()
    seconds = _train(model, xtr, ytr, params.epochs, params.seed, progress)
    n_params = sum(p.numel() for p in model.parameters())
    acc = float((_logits(model, xte).argmax(1) == yte).mean())
    acc_untrained = float((_logits(initial, xte).argmax(1) == yte).mean())
    acc_shuffled = float((_logits(model, shuffle_tokens(xte, params.seed)).argmax(1) == yte).mean())

    emit(progress, "stage", stage="detectors")
    with torch.no_grad():
        mot = model.max_over_time(torch.from_numpy(xte))
        mot_u = initial.max_over_time(torch.from_numpy(xte))
    values, positions = mot.values.numpy(), mot.positions.numpy()  # (N, F) each
    k = max(20, int(TOP_SHARE * len(xte)))
    p_t, p_u = purity(values, yte, k), purity(mot_u.values.numpy(), yte, k)
    fc = model.fc.weight.detach().numpy().astype(np.float64)  # (2, F)
    dw = fc[1] - fc[0]  # (F,)
    order = np.argsort(dw)
    half = params.filters // 2
    shown = [int(f) for f in list(order[::-1][: params.filters - half]) + list(order[:half])]
    detectors = []
    for f in shown:
        top = np.argsort(-values[:, f], kind="stable")[:k]
        grams: dict[str, list[int]] = {}
        for i in top:
            j = int(positions[i, f])
            ids = xte[i, j : j + params.width]
            # a window that runs past the review's end reads <pad> (zero vectors): show the
            # tokens only, so «명작» at the very end is not a different n-gram from «명작.»'s start
            gram = join_ngram(vocab.decode(ids[ids != 0]), params.tokenizer)
            grams.setdefault(gram, []).append(int(yte[i]))
        best = sorted(grams.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: params.top]
        detectors.append(
            Detector(
                filter=f,
                weight=float(dw[f]),
                purity=float(p_t[f]),
                purity_untrained=float(p_u[f]),
                ngrams=[g for g, _ in best],
                counts=[len(v) for _, v in best],
                positive=[float(np.mean(v)) for _, v in best],
            )
        )

    emit(progress, "stage", stage="slide")
    tokens = tok.tokenize(text)[:max_len]
    if len(tokens) < params.width:  # the model pads short sequences the same way
        tokens = tokens + ["<pad>"] * (params.width - len(tokens))
    sentence = torch.tensor([vocab.encode(tokens)])  # (1, L)
    with torch.no_grad():
        one = model.max_over_time(sentence)
        logits = model(sentence)[0].double()
        fmap = model.feature_maps(sentence)[0][0].double().numpy()  # (C, L - w + 1)
        emb = model.embedding(sentence)[0].double().numpy()  # (L, E)
    h = one.values[0].double().numpy()  # (F,)
    pos = one.positions[0].numpy()
    terms = dw * h  # (F,) each filter's share of the logit difference
    contributions = np.zeros(len(tokens))
    for f in range(len(h)):
        contributions[pos[f] : pos[f] + params.width] += terms[f] / params.width
    logit_diff = float(logits[1] - logits[0])
    db = float(model.fc.bias.detach()[1] - model.fc.bias.detach()[0])
    f_star = int(np.argmax(np.abs(terms)))
    conv: Any = model.convs[0]
    kernel = conv.weight.detach()[f_star].double().numpy()  # (E, w)
    bias = float(conv.bias.detach()[f_star])
    steps = len(tokens) - params.width + 1
    products = np.array(
        [[kernel[:, a] @ emb[j + a] for a in range(params.width)] for j in range(steps)]
    )  # (steps, w)
    responses = products.sum(1) + bias
    ref = F.conv1d(
        torch.from_numpy(emb.T[None]),
        torch.from_numpy(kernel[None]),
        torch.tensor([bias], dtype=torch.float64),
    )[0, 0].numpy()
    return TextConvNumbers(
        dataset=params.dataset,
        tokenizer=tok.name,
        classes=list(train_data.classes),
        n_train=len(xtr),
        n_test=len(xte),
        dropped_empty=int(train_data.dropped_empty + test_data.dropped_empty),
        vocab_size=len(vocab),
        max_len=max_len,
        truncated_share=float(truncated),
        epochs=params.epochs,
        width=params.width,
        channels=params.channels,
        embed_dim=params.embed_dim,
        params=n_params,
        train_seconds=seconds,
        accuracy=acc,
        accuracy_untrained=acc_untrained,
        accuracy_shuffled=acc_shuffled,
        majority=float(max(yte.mean(), 1 - yte.mean())),
        text=text,
        label=label,
        tokens=tokens,
        embedded=emb,
        filter=f_star,
        kernel=kernel,
        bias=bias,
        responses=responses,
        token_products=products,
        argmax=int(pos[f_star]),
        max_diff_torch=float(np.abs(responses - ref).max()),
        max_diff_model=float(np.abs(np.maximum(responses, 0) - fmap[f_star]).max()),
        top_reviews=k,
        detectors=detectors,
        purity_trained=p_t.tolist(),
        purity_untrained=p_u.tolist(),
        purity_p=sign_flip_test(p_t - p_u, seed=params.seed),
        probability=float(torch.softmax(logits, 0)[1]),
        logit_diff=logit_diff,
        contributions=contributions,
        identity_error=abs(float(contributions.sum()) + db - logit_diff),
    )


def _fmt(values: Any) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in np.asarray(values).ravel()) + "]"


def _shown(tokens: list[str], tokenizer: str) -> str:
    return join_ngram(tokens, tokenizer) if tokenizer == "syllable" else " ".join(tokens)


def class_word(n: TextConvNumbers) -> Any:
    """The review's label as a word: NSMC's two classes translated, other classes as named."""
    if n.label is None:
        return "-"
    name = n.classes[n.label]
    return Msg(f"lab.text_conv.class.{name}") if name in ("negative", "positive") else name


def explain(n: TextConvNumbers) -> list[Message]:
    msgs: list[Message] = [
        (
            "lab.text_conv.data",
            {
                "dataset": n.dataset,
                "n_train": n.n_train,
                "n_test": n.n_test,
                "dropped": n.dropped_empty,
                "tokenizer": Msg(f"lab.text_conv.tok.{n.tokenizer}"),
                "vocab": n.vocab_size,
                "max_len": n.max_len,
                "truncated": 100 * n.truncated_share,
            },
        ),
        (
            "lab.text_conv.matrix",
            {
                "text": n.text,
                "tokens": " | ".join(n.tokens),
                "length": len(n.tokens),
                "embed": n.embed_dim,
            },
        ),
        (
            "lab.text_conv.filter",
            {"filter": n.filter, "embed": n.embed_dim, "w": n.width, "bias": f"{n.bias:+.3f}"},
        ),
    ]
    for j in range(min(SHOWN_STEPS, len(n.responses))):
        msgs.append(
            (
                "lab.text_conv.step",
                {
                    "j": j,
                    "ngram": _shown(n.tokens[j : j + n.width], n.tokenizer),
                    "products": _fmt(n.token_products[j]),
                    "bias": f"{n.bias:+.3f}",
                    "value": f"{float(n.responses[j]):.3f}",
                },
            )
        )
    j = n.argmax
    msgs.append(
        (
            "lab.text_conv.max",
            {
                "steps": len(n.responses),
                "j": j,
                "ngram": _shown(n.tokens[j : j + n.width], n.tokenizer),
                "value": f"{max(float(n.responses[j]), 0.0):.3f}",
                "torch": f"{n.max_diff_torch:.1e}",
                "model": f"{n.max_diff_model:.1e}",
            },
        )
    )
    msgs.append(
        (
            "lab.text_conv.trained",
            {
                "channels": n.channels,
                "w": n.width,
                "embed": n.embed_dim,
                "params": n.params,
                "epochs": n.epochs,
                "seconds": n.train_seconds,
                "acc": 100 * n.accuracy,
                "untrained": 100 * n.accuracy_untrained,
                "majority": 100 * n.majority,
            },
        )
    )
    msgs.append(
        (
            "lab.text_conv.shuffled",
            {
                "acc": 100 * n.accuracy,
                "shuffled": 100 * n.accuracy_shuffled,
                "tokenizer": Msg(f"lab.text_conv.tok.{n.tokenizer}"),
            },
        )
    )
    for d in n.detectors:
        grams = ", ".join(f"«{g}» ×{c}" for g, c in zip(d.ngrams, d.counts, strict=True))
        key = "lab.text_conv.detector.pos" if d.weight > 0 else "lab.text_conv.detector.neg"
        msgs.append(
            (
                key,
                {
                    "filter": d.filter,
                    "weight": f"{d.weight:+.2f}",
                    "grams": grams,
                    "purity": 100 * d.purity,
                    "k": n.top_reviews,
                },
            )
        )
    pt, pu = float(np.mean(n.purity_trained)), float(np.mean(n.purity_untrained))
    msgs.append(
        (
            "lab.text_conv.control",
            {
                "k": n.top_reviews,
                "trained": 100 * pt,
                "untrained": 100 * pu,
                "diff": 100 * (pt - pu),
                "p": n.purity_p,
                "filters": len(n.purity_trained),
            },
        )
    )
    from cnnlab.lab.pattern import ALPHA

    verdict = "detectors" if n.purity_p < ALPHA and pt > pu else "none"
    msgs.append((f"lab.text_conv.verdict.{verdict}", {"p": n.purity_p}))
    order = np.argsort(n.contributions)
    msgs.append(
        (
            "lab.text_conv.review",
            {
                "prob": 100 * n.probability,
                "label": class_word(n),
                "pos": ", ".join(
                    f"{n.tokens[i]} {n.contributions[i]:+.2f}" for i in order[::-1][:3]
                ),
                "neg": ", ".join(f"{n.tokens[i]} {n.contributions[i]:+.2f}" for i in order[:3]),
                "error": f"{n.identity_error:.1e}",
            },
        )
    )
    return msgs


def draw(n: TextConvNumbers, lang: str) -> dict[str, Figure]:
    return {
        "slide": _slide_figure(n, lang),
        "detectors": _detectors_figure(n, lang),
        "review": _review_figure(n, lang),
    }


def _token_label(tok: str) -> str:
    from cnnlab.text import SPACE

    return "␣" if tok == SPACE else tok


def _slide_figure(n: TextConvNumbers, lang: str) -> Figure:
    """The sentence matrix (tokens × embedding) with the kept window framed, the filter, and the
    response at every position with the max marked."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from cnnlab.i18n import t

    L, E = n.embedded.shape
    fig = Figure(figsize=(max(7.0, 0.32 * L + 2.5), 7.2), layout="constrained")
    ax_x, ax_w, ax_y = fig.subplots(3, 1, gridspec_kw={"height_ratios": [3, 1.6, 2]})
    lim = float(np.abs(n.embedded).max()) or 1.0
    ax_x.imshow(n.embedded.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax_x.set_xticks(range(L), [_token_label(tk) for tk in n.tokens], fontsize=8)
    ax_x.set_ylabel(t("lab.text_conv.fig.embed_axis", lang, e=E), fontsize=8)
    ax_x.set_yticks([])
    j = n.argmax
    ax_x.add_patch(Rectangle((j - 0.5, -0.5), n.width, E, fill=False, ec="#ff7f0e", lw=2.5))
    ax_x.set_title(t("lab.text_conv.fig.matrix", lang, length=L, e=E), fontsize=9)
    klim = float(np.abs(n.kernel).max()) or 1.0
    ax_w.imshow(n.kernel, aspect="auto", cmap="RdBu_r", vmin=-klim, vmax=klim)
    ax_w.set_xticks(range(n.width))
    ax_w.set_yticks([])
    ax_w.set_title(
        t("lab.text_conv.fig.filter", lang, filter=n.filter, e=E, w=n.width, bias=n.bias),
        fontsize=9,
    )
    steps = len(n.responses)
    colors = [
        "#ff7f0e" if i == j else ("#2ca02c" if v > 0 else "#bbbbbb")
        for i, v in enumerate(n.responses)
    ]
    ax_y.bar(np.arange(steps), n.responses, color=colors)
    ax_y.axhline(0, color="black", lw=0.6)
    ax_y.set_xlim(-0.5, L - 0.5)  # aligned with the matrix: bar j sits under the window's start
    gram = _shown(n.tokens[j : j + n.width], n.tokenizer)
    ax_y.set_title(
        t(
            "lab.text_conv.fig.responses",
            lang,
            j=j,
            ngram=gram,
            value=max(float(n.responses[j]), 0.0),
        ),
        fontsize=9,
    )
    ax_y.set_xlabel(t("lab.text_conv.fig.position", lang), fontsize=8)
    return fig


def _detectors_figure(n: TextConvNumbers, lang: str) -> Figure:
    """Per shown filter its most frequent kept n-grams (bars: count among its top reviews, colour:
    share positive); last panel: label purity of every filter, trained vs untrained."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    count = len(n.detectors)
    cols = 3
    rows = -(-count // cols) + 1
    fig = Figure(figsize=(10.5, 2.3 * rows + 0.6), layout="constrained")
    grid = fig.add_gridspec(rows, cols)
    cmap = colormaps["RdBu_r"]
    for i, d in enumerate(n.detectors):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        y = np.arange(len(d.ngrams))[::-1]
        ax.barh(y, d.counts, color=[cmap(p) for p in d.positive])
        ax.set_yticks(y, d.ngrams, fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
        sign = "pos" if d.weight > 0 else "neg"
        ax.set_title(
            t(f"lab.text_conv.fig.detector_{sign}", lang, filter=d.filter, purity=100 * d.purity),
            fontsize=8,
        )
    ax = fig.add_subplot(grid[rows - 1, :])
    order = np.argsort(n.purity_trained)[::-1]
    x = np.arange(len(order))
    ax.plot(
        x,
        np.asarray(n.purity_trained)[order] * 100,
        "-o",
        ms=2.5,
        color="#d62728",
        label=t("lab.text_conv.fig.trained", lang),
    )
    ax.plot(
        x,
        np.asarray(n.purity_untrained)[order] * 100,
        "-o",
        ms=2.5,
        color="#7f7f7f",
        label=t("lab.text_conv.fig.untrained", lang),
    )
    ax.axhline(50, color="black", lw=0.6, ls=":")
    ax.set_ylabel(t("lab.text_conv.fig.purity_axis", lang, k=n.top_reviews), fontsize=8)
    ax.set_xlabel(t("lab.text_conv.fig.filters_axis", lang), fontsize=8)
    ax.legend(fontsize=8)
    fig.suptitle(
        t(
            "lab.text_conv.fig.detectors",
            lang,
            acc=100 * n.accuracy,
            trained=100 * float(np.mean(n.purity_trained)),
            untrained=100 * float(np.mean(n.purity_untrained)),
            p=n.purity_p,
        ),
        fontsize=9,
    )
    return fig


def _review_figure(n: TextConvNumbers, lang: str) -> Figure:
    """The review's tokens in boxes shaded by contribution (red: toward positive, blue: toward
    negative)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    from cnnlab.i18n import t

    per_line = 16 if n.tokenizer == "syllable" else 8
    lines = -(-len(n.tokens) // per_line)
    fig = Figure(figsize=(9.0, 0.7 * lines + 1.6), layout="constrained")
    ax = fig.subplots()
    lim = float(np.abs(n.contributions).max()) or 1.0
    norm = TwoSlopeNorm(0.0, -lim, lim)
    cmap = colormaps["RdBu_r"]
    for i, (tok, c) in enumerate(zip(n.tokens, n.contributions, strict=True)):
        row, col = divmod(i, per_line)
        ax.text(
            col + 0.5,
            -row,
            _token_label(tok),
            ha="center",
            va="center",
            fontsize=12 if n.tokenizer == "syllable" else 10,
            color="white" if abs(norm(c) - 0.5) > 0.35 else "black",  # readable on dark boxes
            bbox={"boxstyle": "round,pad=0.25", "fc": cmap(norm(c)), "ec": "none"},
        )
    ax.set_xlim(0, per_line)
    ax.set_ylim(-lines + 0.4, 0.6)
    ax.axis("off")
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        orientation="horizontal",
        fraction=0.08,
        label=t("lab.text_conv.fig.contribution", lang),
    )
    label = class_word(n)
    label = t(label.key, lang) if isinstance(label, Msg) else label
    ax.set_title(
        t("lab.text_conv.fig.review", lang, prob=100 * n.probability, label=label), fontsize=9
    )
    return fig


EXPERIMENT = register(
    "text-conv",
    TextConvParams,
    "lab.text_conv.title",
    numbers=TextConvNumbers,
    measure=measure,
    explain=explain,
    draw=draw,
    quick={"n_train": 5000, "n_test": 1000, "epochs": 2, "channels": 32, "embed_dim": 16},
)

__all__ = [
    "TextConvParams",
    "TextConvNumbers",
    "Detector",
    "join_ngram",
    "shuffle_tokens",
    "purity",
    "measure",
    "explain",
    "draw",
    "EXPERIMENT",
]
