"""from_huggingface on tiny randomly initialised BERTs (no network): with transformers'
default SDPA attention nothing is lost — 8 distinct GEMMs per encoder layer, 17 for a
2-layer BertModel with its pooler, MACs equal to torch's FlopCounterMode."""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from sod.errors import WorkloadError  # noqa: E402
from sod.workload import from_huggingface  # noqa: E402
from sod.workload.gemm import Activation, LayerKind  # noqa: E402

SEQ, HID, HEADS, FFN = 16, 64, 4, 128
PER_LAYER = [  # (suffix, m, k, n, repeat, w_is_weight, input_activation)
    ("attention.self.query", SEQ, HID, HID, 1, True, Activation.OTHER),
    ("attention.self.key", SEQ, HID, HID, 1, True, Activation.OTHER),
    ("attention.self.value", SEQ, HID, HID, 1, True, Activation.OTHER),
    ("attention.self.qk", SEQ, HID // HEADS, SEQ, HEADS, False, Activation.OTHER),
    ("attention.self.pv", SEQ, SEQ, HID // HEADS, HEADS, False, Activation.SOFTMAX),
    ("attention.output.dense", SEQ, HID, HID, 1, True, Activation.OTHER),
    ("intermediate.dense", SEQ, HID, FFN, 1, True, Activation.OTHER),
    ("output.dense", SEQ, FFN, HID, 1, True, Activation.GELU),
]


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def tiny_config(**kw):
    return transformers.BertConfig(
        hidden_size=HID,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        vocab_size=100,
        max_position_embeddings=64,
        **kw,
    )


def flop_macs(model, ids) -> int:
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as fc, torch.no_grad():
        model(input_ids=ids)
    return fc.get_total_flops() // 2


def test_tiny_bert_sdpa_lowers_every_gemm():
    dropped = []
    w = from_huggingface(tiny_config(), seq_len=SEQ, unlowered=dropped)
    assert not dropped
    assert (w.batch, w.seq_len, len(w)) == (1, SEQ, 2 * 8 + 1)
    expected = [
        (f"encoder.layer.{i}.{s}", m, k, n, r, wt, act)
        for i in range(2)
        for s, m, k, n, r, wt, act in PER_LAYER
    ] + [("pooler.dense", 1, HID, HID, 1, True, Activation.OTHER)]
    got = [(g.name, g.m, g.k, g.n, g.repeat, g.w_is_weight, g.input_activation) for g in w]
    assert got == expected
    assert all(g.kind == LayerKind.ATTENTION for g in w if not g.w_is_weight)
    # MACs: what torch itself counts for the same model and inputs.
    torch.manual_seed(0)
    model = transformers.AutoModel.from_config(tiny_config()).eval()
    ids = torch.randint(0, 100, (1, SEQ), generator=torch.Generator().manual_seed(0))
    assert w.macs == flop_macs(model, ids)
    # Real weights: nn.Linear weight.T.
    np.testing.assert_array_equal(
        w.gemms[0].weights, model.encoder.layer[0].attention.self.query.weight.detach().numpy().T
    )


def test_eager_attention_same_gemms_and_batch():
    sdpa = from_huggingface(tiny_config(), seq_len=SEQ, batch=2)
    eager = from_huggingface(tiny_config(), seq_len=SEQ, batch=2, attn_implementation="eager")
    assert len(sdpa) == len(eager) == 17
    assert [(g.m, g.k, g.n, g.repeat) for g in sdpa] == [(g.m, g.k, g.n, g.repeat) for g in eager]
    assert sdpa.gemms[3].repeat == 2 * HEADS and sdpa.gemms[0].m == 2 * SEQ
    assert eager.gemms[3].name == "encoder.layer.0.attention.self.matmul"
    assert sdpa.macs == eager.macs


def test_local_folder_offline(tmp_path, monkeypatch):
    torch.manual_seed(1)
    model = transformers.BertModel(tiny_config())
    model.save_pretrained(tmp_path / "tiny-bert")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    w = from_huggingface(tmp_path / "tiny-bert", seq_len=8)
    assert w.name == "tiny-bert" and len(w) == 17
    np.testing.assert_array_equal(
        w.gemms[-2].weights, model.encoder.layer[1].output.dense.weight.detach().numpy().T
    )
    with pytest.raises(WorkloadError, match="cannot build HuggingFace model"):
        from_huggingface(tmp_path / "missing-folder-xyz", local_files_only=True)


def test_missing_extra_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(
        WorkloadError, match=r"^transformers is not installed: pip install 'sparse-on-dense\[hf\]'$"
    ):
        from_huggingface("bert-base-uncased")


def test_tiny_gpt2_conv1d_addmm_named_after_modules():
    cfg = transformers.GPT2Config(
        n_embd=64,
        n_layer=2,
        n_head=4,
        vocab_size=100,
        n_positions=32,
        bos_token_id=0,
        eos_token_id=0,
    )
    dropped = []
    w = from_huggingface(cfg, seq_len=8, unlowered=dropped)
    assert not dropped and len(w) == 2 * 6
    assert [(g.name, g.m, g.k, g.n, g.repeat) for g in w][:6] == [
        ("h.0.attn.c_attn", 8, 64, 192, 1),  # GPT-2's Conv1D: torch.addmm, fused QKV
        ("h.0.attn.qk", 8, 16, 8, 4),
        ("h.0.attn.pv", 8, 8, 16, 4),
        ("h.0.attn.c_proj", 8, 64, 64, 1),
        ("h.0.mlp.c_fc", 8, 64, 256, 1),
        ("h.0.mlp.c_proj", 8, 256, 64, 1),
    ]
    assert w.gemms[5].input_activation == Activation.GELU
