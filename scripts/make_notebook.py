"""Regenerate examples/week4_cnn.ipynb (outputs cleared): python scripts/make_notebook.py"""

import nbformat as nbf

nb = nbf.v4.new_notebook()
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
    md("""# 4주차 — CNN, cnnlab으로 실행하기
*(Week 4 — CNN, run with cnnlab)*

강의 노트의 코드를 한 셀씩 그대로 따라가되, `torchvision` 대신 **cnnlab**의 데이터셋을 씁니다. \
인터넷 없이도 내장된 MNIST 숫자 5,000개로 실행됩니다.
*(The lecture note's code, cell by cell, with cnnlab's datasets instead of torchvision. Runs \
offline on the 5,000 embedded MNIST digits.)*"""),
    md("""## 1. 데이터 불러오기 *(Loading the data)*
노트의 `datasets.MNIST(root, train=True, transform=ToTensor(), download=True)` 자리에 \
`get_dataset`을 씁니다. `"auto"`는 로컬에 전체 MNIST가 있으면 그것을, 없으면 내장 샘플을 씁니다.
*(`get_dataset` replaces torchvision's MNIST; `"auto"` uses full MNIST when found locally, \
otherwise the embedded sample.)*"""),
    code("""%matplotlib inline
import torch
import torch.nn as nn
import matplotlib.pyplot as plt

from cnnlab.data import get_dataset, resolve
from cnnlab.viz.fonts import setup_fonts

setup_fonts()  # 한글 글꼴 설정 (Korean font for figure titles)
print(resolve("auto").describe("ko"))
train_dataset = get_dataset("auto", train=True)
image, label = train_dataset[0]
print(image.shape, image.dtype, float(image.min()), float(image.max()), label)"""),
    md("""`ToTensor`가 하는 일: 0–255 정수(uint8) → 0–1 실수(float32), \
모양은 `(C, H, W) = (1, 28, 28)`.
*(What ToTensor does: uint8 0–255 → float32 0–1, shape (C, H, W).)*"""),
    code("""raw = train_dataset.images[0]          # uint8 (28, 28), 0..255
print(raw.dtype, raw.max(), "→", image.dtype, float(image.max()))
assert torch.allclose(image[0] * 255, torch.from_numpy(raw).float())"""),
    md("""## 2. 모델 두 개: 패딩 없음 vs 패딩 1 *(Two one-layer models: padding 0 vs 1)*"""),
    code("""class CNN_NoPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, kernel_size=3, padding=0)

    def forward(self, x):
        return self.conv(x)


class CNN_WithPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, kernel_size=3, padding=1)

    def forward(self, x):
        return self.conv(x)


torch.manual_seed(0)
model_no_pad, model_pad = CNN_NoPadding(), CNN_WithPadding()"""),
    md("""## 3. 통과시키고 모양 출력 *(Forward pass and shapes)*
`unsqueeze(0)`으로 배치 축을 더해 `(N, C, H, W) = (1, 1, 28, 28)`로 만듭니다. \
크기 공식: `out = in + 2·padding − kernel + 1`.
*(unsqueeze(0) adds the batch axis; size formula out = in + 2p − k + 1.)*"""),
    code("""x = image.unsqueeze(0)                  # (1, 1, 28, 28)
with torch.no_grad():
    out_no_pad = model_no_pad(x)
    out_pad = model_pad(x)
print("input      :", x.shape)
print("no padding :", out_no_pad.shape, "  28 - 3 + 1 =", 28 - 3 + 1)
print("padding=1  :", out_pad.shape, "  28 + 2*1 - 3 + 1 =", 28 + 2 * 1 - 3 + 1)"""),
    md("""노트가 말하지 않은 사실: 최신 `Conv2d`는 배치 축이 없는 3차원 입력 `(C, H, W)`도 \
받습니다. `unsqueeze(0)`은 배치를 만들기 위한 것입니다.
*(Teaching truth: modern Conv2d also accepts unbatched 3-D input.)*"""),
    code("""with torch.no_grad():
    same = torch.allclose(model_pad(image), model_pad(x)[0])
    print("unbatched (1, 28, 28) →", tuple(model_pad(image).shape), "| same values:", same)"""),
    md("""## 4. 특징 맵 그리기 (2×3) *(Draw the 3 + 3 feature maps in a 2×3 grid)*"""),
    code("""fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for i in range(3):
    axes[0, i].imshow(out_no_pad[0, i], cmap="gray")
    axes[0, i].set_title(f"[No Pad] Map {i + 1}")
    axes[0, i].axis("off")
    axes[1, i].imshow(out_pad[0, i], cmap="gray")
    axes[1, i].set_title(f"[Pad] Map {i + 1}")
    axes[1, i].axis("off")
plt.tight_layout()
plt.show()"""),
    md("""## 5. 같은 실험을 cnnlab 한 줄로 *(The same experiment in one cnnlab call)*
`Result`는 수치(`numbers`), 그림(`figures`), 설명(`text`)을 함께 가지고 있고, 주피터에서 바로 \
보입니다.
*(A Result carries numbers, figures and text, and renders itself in Jupyter.)*"""),
    code("""from cnnlab import lab

result = lab.run("padding", index=0, lang="ko")
print(result.numbers["no_padding_shape"], result.numbers["padding_shape"])
result"""),
    md("""## 6. 나머지 개념들: 모든 실험 *(Every other idea of the note: all experiments)*
실험실에 등록된 모든 실험을 작은 예산(`quick`)으로 실행합니다. 전체 예산으로는 `cnnlab tour`를 \
쓰세요.
*(Every registered experiment on a tiny budget; use `cnnlab tour` for the full run.)*"""),
    code("""from cnnlab.i18n import t

for name, exp in lab.load_all().items():
    r = exp(exp.make_params(**exp.quick), lang="ko")
    print(f"■ {t(exp.title_key, 'ko')}")
    print(r.text("ko"))
    print()"""),
]
nb.cells = cells
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
nbf.write(nb, "examples/week4_cnn.ipynb")
