"""NesterovSGD: torch.optim.SGD's numbers and state bit for bit, without importing torch._dynamo."""

from __future__ import annotations

import copy
import subprocess
import sys

import torch
import torch.nn.functional as F

from cnnlab.train.optim import NesterovSGD, param_groups

from .helpers import tiny_data, tiny_model


def _pair(decay: float):
    model = tiny_model(0, dropout=0.0)  # no random draws: the two runs see the same numbers
    twin = copy.deepcopy(model)
    ours = NesterovSGD(param_groups(model, decay), lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD(param_groups(twin, decay), lr=0.1, momentum=0.9, nesterov=True)
    return (model, ours), (twin, theirs)


def test_steps_equal_torch_sgd_under_onecycle():
    (x, y), _ = tiny_data(64, 8)
    x = x.float().unsqueeze(1) / 255
    for decay in (0.0, 5e-4):
        pairs = _pair(decay)
        scheds = [
            torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=12) for _, o in pairs
        ]
        for step in range(12):
            for (model, opt), sched in zip(pairs, scheds):
                xb, yb = x[step * 5 : step * 5 + 16], y[step * 5 : step * 5 + 16]
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        (a, oa), (b, ob) = pairs
        for (name, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), (decay, name)
        sa, sb = oa.state_dict(), ob.state_dict()
        assert sa["param_groups"] == sb["param_groups"]
        assert sa["state"].keys() == sb["state"].keys()
        for k in sa["state"]:
            assert torch.equal(sa["state"][k]["momentum_buffer"], sb["state"][k]["momentum_buffer"])


def test_state_dict_loads_into_torch_sgd_and_back():
    (model, ours), (_, theirs) = _pair(5e-4)
    (x, y), _ = tiny_data(32, 8)
    loss = F.cross_entropy(model(x.float().unsqueeze(1) / 255), y)
    loss.backward()
    ours.step()
    theirs.load_state_dict(ours.state_dict())
    again = NesterovSGD(param_groups(model, 5e-4), lr=0.1, momentum=0.9)
    again.load_state_dict(theirs.state_dict())
    back, first = again.state_dict(), ours.state_dict()
    assert (
        back["param_groups"] == first["param_groups"]
        and back["state"].keys() == first["state"].keys()
    )
    for k, state in first["state"].items():
        assert torch.equal(back["state"][k]["momentum_buffer"], state["momentum_buffer"])


def test_zero_grad_keep_or_drop():
    (model, ours), _ = _pair(0.0)
    (x, y), _ = tiny_data(16, 8)
    F.cross_entropy(model(x.float().unsqueeze(1) / 255), y).backward()
    ours.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())
    ours.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_a_training_run_never_imports_the_compiler(tmp_path):
    code = (
        "import sys\n"
        "from cnnlab.train import TrainConfig, fit\n"
        "from tests.train.helpers import tiny_data, tiny_model\n"
        "fit(tiny_model(0), *tiny_data(128, 64),\n"
        f"    TrainConfig(epochs=1, batch_size=32, out={str(tmp_path)!r}))\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
