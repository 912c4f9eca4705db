"""from_torch on a real network: trained on scikit-learn digits, pruned 90 % with
torch.nn.utils.prune, imported; every layer's shape, density, weights and activation mask
is checked against torch's own."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch not installed (pip install 'sparse-on-dense[torch]')"
)
nn = torch.nn
prune = pytest.importorskip("torch.nn.utils.prune")
datasets = pytest.importorskip("sklearn.datasets")

from sod.errors import SodError, WorkloadError  # noqa: E402
from sod.sparsity import apply_sparsity  # noqa: E402
from sod.workload import from_torch  # noqa: E402
from sod.workload.gemm import Activation, LayerKind  # noqa: E402


class DigitNet(nn.Module):
    """LeNet-style CNN for 8×8 digits (one grouped conv to exercise groups)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, groups=2)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    digits = datasets.load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(digits.target)
    train, test = slice(0, 1400), slice(1400, None)
    net = DigitNet()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(12):
        for idx in torch.randperm(1400).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[train][idx]), y[train][idx]).backward()
            opt.step()
    with torch.no_grad():
        acc = (net(x[test]).argmax(1) == y[test]).float().mean().item()
    params = [(m, "weight") for m in (net.conv1, net.conv2, net.fc1, net.fc2)]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.9)
    return net, x[test][:8], acc


def test_training_is_real(trained):
    _, _, acc = trained
    assert acc > 0.9


def test_import_matches_torch(trained):
    net, xb, _ = trained
    captured = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, n=n: captured.__setitem__(n, i[0]))
        for n, m in net.named_children()
    ]
    with torch.no_grad():
        net(xb)
    for h in hooks:
        h.remove()
    w = from_torch(net, xb)
    assert [g.name for g in w] == ["conv1", "conv2", "fc1", "fc2"]
    total_kept = sum(int(m.weight_mask.sum()) for m in net.children())
    total = sum(m.weight.numel() for m in net.children())
    assert total_kept == round(0.1 * total)  # torch's global 90 %
    for g in w:
        mod = getattr(net, g.name)
        torch_density = mod.weight_mask.sum().item() / mod.weight_mask.numel()
        assert g.weight_density == torch_density  # exact, not approximate
        assert g.weight_mask.nnz == int((mod.weight != 0).sum())
        x = captured[g.name]
        if isinstance(mod, nn.Conv2d):
            groups = mod.groups
            out_h = x.shape[2]  # stride 1, same padding
            assert (g.m, g.k, g.n, g.repeat) == (
                xb.shape[0] * out_h * x.shape[3],
                mod.in_channels // groups * 9,
                mod.out_channels // groups,
                groups,
            )
            # Weights: torch (O, C/g, 3, 3) -> per group W = w_g.reshape(n, -1).T
            wt = mod.weight.detach().numpy().reshape(groups, g.n, -1).transpose(0, 2, 1)
            np.testing.assert_array_equal(g.weights.reshape(groups, g.k, g.n), wt)
            # Activations: torch's own im2col (unfold) in (c, kh, kw) order, per group.
            cols = nn.functional.unfold(x, 3, padding=1)  # (B, C*9, L)
            a = cols.transpose(1, 2).reshape(-1, mod.in_channels * 9)
            a = a.reshape(-1, groups, g.k).transpose(0, 1).reshape(groups * g.m, g.k)
            np.testing.assert_array_equal(g.act_mask.to_bool(), (a != 0).numpy())
            assert g.kind == LayerKind.CONV
        else:
            assert (g.m, g.k, g.n) == (xb.shape[0], mod.in_features, mod.out_features)
            np.testing.assert_array_equal(g.weights, mod.weight.detach().numpy().T)
            np.testing.assert_array_equal(
                g.act_mask.to_bool(), (x.reshape(x.shape[0], -1) != 0).numpy()
            )
        assert g.act_density == pytest.approx(g.act_mask.density)
    acts = {g.name: g.input_activation for g in w}
    assert acts == {
        "conv1": Activation.NONE,
        "conv2": Activation.RELU,
        "fc1": Activation.RELU,
        "fc2": Activation.RELU,
    }


def test_keep_profile_preserves_import_and_uniform_reprunes(trained):
    net, xb, _ = trained
    w = from_torch(net, xb)
    kept = apply_sparsity(w, "keep")
    for a, b in zip(w, kept, strict=True):
        assert a.weight_density == b.weight_density and a.act_mask is b.act_mask
    again = apply_sparsity(w, "uniform:0.05")
    for a, g in zip(w, again, strict=True):
        # Pruning real weights harder: a subset of the imported non-zeros, values kept.
        assert g.weight_mask.nnz == round(0.05 * a.weight_mask.size)
        assert not (g.weight_mask.to_bool() & ~a.weight_mask.to_bool()).any()
        nz = g.weights.reshape(-1)[g.weights.reshape(-1) != 0]
        assert nz.size == g.weight_mask.nnz


def test_attention_matmul_and_functional_linear():
    torch.set_num_threads(1)

    class Attn(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.q = nn.Linear(8, 8)
            self.k = nn.Linear(8, 8)
            self.proj = nn.Parameter(torch.randn(8, 4))

        def forward(self, x):
            q, k = self.q(x).view(2, 5, 2, 4).transpose(1, 2), self.k(x).view(2, 5, 2, 4)
            s = torch.softmax(q @ k.permute(0, 2, 3, 1), dim=-1)  # (2, 2, 5, 5)
            v = s @ q  # (2, 2, 5, 4)
            return v.transpose(1, 2).reshape(2, 5, 8) @ self.proj @ torch.zeros(4, 8)

    w = from_torch(Attn(), torch.randn(2, 5, 8))
    names = [g.name for g in w]
    assert names[:2] == ["q", "k"]
    qk, pv = w.gemms[2], w.gemms[3]
    assert (qk.m, qk.k, qk.n, qk.repeat, qk.w_is_weight) == (5, 4, 5, 4, False)
    assert pv.input_activation == Activation.SOFTMAX and pv.kind == LayerKind.ATTENTION
    # Batched matmul: the first batch element's masks represent all repeats.
    assert qk.act_mask.shape == (5, 4) and qk.weight_mask.shape == (4, 5)
    proj, zero = w.gemms[4], w.gemms[5]
    assert (proj.m, proj.k, proj.n, proj.repeat) == (10, 8, 4, 1)
    assert proj.w_is_weight and proj.weights.shape == (8, 4)  # an nn.Parameter operand
    assert not zero.w_is_weight and zero.weight_density == 0.0  # measured all-zero operand


def test_failing_model_is_one_line_error():
    class Bad(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom\nsecond line")

    with pytest.raises(WorkloadError, match=r"failed on the example inputs: RuntimeError: boom$"):
        from_torch(Bad(), torch.zeros(1))
    with pytest.raises(WorkloadError, match="no Conv2d, Linear or matmul"):
        from_torch(nn.ReLU(), torch.zeros(3))


def test_module_callable_spec(tmp_path):
    src = tmp_path / "mymodel.py"
    src.write_text(
        textwrap.dedent("""
        import torch
        def build():
            torch.manual_seed(0)
            return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(),
                                       torch.nn.Linear(4, 2)), (torch.ones(3, 6),)
        def broken():
            raise ValueError("no weights here")
    """)
    )
    w = from_torch(f"{src}:build")
    assert [(g.name, g.m, g.k, g.n) for g in w] == [("0", 3, 6, 4), ("2", 3, 4, 2)]
    assert w.gemms[1].input_activation == Activation.RELU
    with pytest.raises(SodError, match="failed: ValueError: no weights here"):
        from_torch(f"{src}:broken")
    with pytest.raises(SodError, match="MODULE:CALLABLE"):
        from_torch("nocolon")
    with pytest.raises(SodError, match="cannot load"):
        from_torch("sod_no_such_module_xyz:build")
