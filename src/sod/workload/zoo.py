"""Built-in networks with exact layer shapes, parametrized by batch and sequence length.

Every network is lowered to GEMMs (see :mod:`sod.workload.gemm`). Only layers that do
multiply-accumulates are listed (pooling, normalization, softmax, element-wise ops and
embedding look-ups are not GEMMs). Layer names follow the usual papers so that published
per-layer pruning profiles (Han et al. 2015) attach by name.

Sources of the shapes:
- LeNet-300-100 and LeNet-5: the Caffe versions used by Han et al. (NIPS 2015), Table 2
  (LeNet-5 = Caffe's ``lenet``: 20 and 50 filters, fc 800-500-10; 431 K weights).
- AlexNet: Caffe's ``bvlc_alexnet`` (227×227 input; 96-256-384-384-256 channels;
  groups = 2 in conv2/4/5; 61 M weights), the network of Han et al.'s Table 4.
  Not torchvision's single-tower variant.
- VGG-16: Simonyan & Zisserman 2015, configuration D (138 M weights, 15.5 G MACs).
- ResNet-50: He et al. 2016 with the stride on the 3×3 conv (torchvision "v1.5";
  25.5 M weights, 4.1 G MACs).
- MobileNetV2: Sandler et al. 2018, width 1.0, 224×224 (3.5 M weights, 0.3 G MACs).
- BERT-base / BERT-large: Devlin et al. 2019 encoders (12×768, 24×1024), without
  embeddings (look-ups) and pooler.
- GPT-2 small: Radford et al. 2019 (12×768) plus the tied LM head (768 × 50257).
- LLaMA-2-7B: Touvron et al. 2023, one decoder block (d=4096, 32 heads, SwiGLU FFN 11008)
  repeated 32 times; no LM head, prefill of ``seq_len`` tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sod.errors import WorkloadError
from sod.workload.gemm import Activation, Gemm, Workload, attention_matmuls, conv2d, linear

RELU = Activation.RELU


@dataclass(frozen=True)
class ZooEntry:
    name: str
    description: str
    builder: Callable[[int, int], list[Gemm]]
    is_transformer: bool = False
    default_seq_len: int | None = None


def _lenet_300_100(batch: int, seq_len: int) -> list[Gemm]:
    return [
        linear("ip1", 784, 300, tokens=batch),
        linear("ip2", 300, 100, tokens=batch, input_activation=RELU),
        linear("ip3", 100, 10, tokens=batch, input_activation=RELU),
    ]


def _lenet5(batch: int, seq_len: int) -> list[Gemm]:
    return [
        conv2d("conv1", 28, 28, 1, 20, 5, batch=batch, input_activation=Activation.NONE),
        conv2d("conv2", 12, 12, 20, 50, 5, batch=batch, input_activation=Activation.OTHER),
        linear("ip1", 800, 500, tokens=batch, input_activation=Activation.OTHER),
        linear("ip2", 500, 10, tokens=batch, input_activation=RELU),
    ]


def _alexnet(batch: int, seq_len: int) -> list[Gemm]:
    # Caffe bvlc_alexnet; ReLU follows every conv/fc, LRN and max-pool after conv1/conv2.
    return [
        conv2d(
            "conv1", 227, 227, 3, 96, 11, stride=4, batch=batch, input_activation=Activation.NONE
        ),
        conv2d("conv2", 27, 27, 96, 256, 5, padding=2, groups=2, batch=batch),
        conv2d("conv3", 13, 13, 256, 384, 3, padding=1, batch=batch),
        conv2d("conv4", 13, 13, 384, 384, 3, padding=1, groups=2, batch=batch),
        conv2d("conv5", 13, 13, 384, 256, 3, padding=1, groups=2, batch=batch),
        linear("fc6", 9216, 4096, tokens=batch, input_activation=RELU),
        linear("fc7", 4096, 4096, tokens=batch, input_activation=RELU),
        linear("fc8", 4096, 1000, tokens=batch, input_activation=RELU),
    ]


def _vgg16(batch: int, seq_len: int) -> list[Gemm]:
    cfg = [
        ("conv1_1", 224, 3, 64),
        ("conv1_2", 224, 64, 64),
        ("conv2_1", 112, 64, 128),
        ("conv2_2", 112, 128, 128),
        ("conv3_1", 56, 128, 256),
        ("conv3_2", 56, 256, 256),
        ("conv3_3", 56, 256, 256),
        ("conv4_1", 28, 256, 512),
        ("conv4_2", 28, 512, 512),
        ("conv4_3", 28, 512, 512),
        ("conv5_1", 14, 512, 512),
        ("conv5_2", 14, 512, 512),
        ("conv5_3", 14, 512, 512),
    ]
    layers = [
        conv2d(
            name,
            size,
            size,
            cin,
            cout,
            3,
            padding=1,
            batch=batch,
            input_activation=Activation.NONE if name == "conv1_1" else RELU,
        )
        for name, size, cin, cout in cfg
    ]
    layers += [
        linear("fc6", 25088, 4096, tokens=batch, input_activation=RELU),
        linear("fc7", 4096, 4096, tokens=batch, input_activation=RELU),
        linear("fc8", 4096, 1000, tokens=batch, input_activation=RELU),
    ]
    return layers


def _resnet50(batch: int, seq_len: int) -> list[Gemm]:
    layers = [
        conv2d(
            "conv1",
            224,
            224,
            3,
            64,
            7,
            stride=2,
            padding=3,
            batch=batch,
            input_activation=Activation.NONE,
        )
    ]
    size, cin = 56, 64  # after the 3×3/2 max-pool
    for stage, (blocks, width, stride) in enumerate(
        [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)], start=2
    ):
        cout = width * 4
        for block in range(blocks):
            s = stride if block == 0 else 1
            pre = f"layer{stage - 1}.{block}"
            out = (size - 1) // s + 1
            layers.append(conv2d(f"{pre}.conv1", size, size, cin, width, 1, batch=batch))
            layers.append(
                conv2d(
                    f"{pre}.conv2", size, size, width, width, 3, stride=s, padding=1, batch=batch
                )
            )
            layers.append(conv2d(f"{pre}.conv3", out, out, width, cout, 1, batch=batch))
            if block == 0:
                layers.append(
                    conv2d(f"{pre}.downsample", size, size, cin, cout, 1, stride=s, batch=batch)
                )
            size, cin = out, cout
    layers.append(linear("fc", 2048, 1000, tokens=batch, input_activation=RELU))
    return layers


def _mobilenet_v2(batch: int, seq_len: int) -> list[Gemm]:
    # (expansion t, output channels c, repeats n, first stride s), Sandler et al. Table 2.
    settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    layers = [
        conv2d(
            "features.0",
            224,
            224,
            3,
            32,
            3,
            stride=2,
            padding=1,
            batch=batch,
            input_activation=Activation.NONE,
        )
    ]
    size, cin, idx = 112, 32, 1
    for t, c, n, s in settings:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            pre = f"features.{idx}"
            if t != 1:
                # Expansion 1×1: its input is the previous block's linear bottleneck (dense).
                layers.append(
                    conv2d(
                        f"{pre}.expand",
                        size,
                        size,
                        cin,
                        hidden,
                        1,
                        batch=batch,
                        input_activation=Activation.NONE,
                    )
                )
            layers.append(
                conv2d(
                    f"{pre}.dw",
                    size,
                    size,
                    hidden,
                    hidden,
                    3,
                    stride=stride,
                    padding=1,
                    groups=hidden,
                    batch=batch,
                    input_activation=RELU,
                )
            )
            size = (size - 1) // stride + 1
            layers.append(conv2d(f"{pre}.project", size, size, hidden, c, 1, batch=batch))
            cin, idx = c, idx + 1
    layers.append(
        conv2d(
            "features.18", size, size, cin, 1280, 1, batch=batch, input_activation=Activation.NONE
        )
    )
    layers.append(linear("classifier", 1280, 1000, tokens=batch, input_activation=RELU))
    return layers


def _encoder(
    prefix: str,
    layers_n: int,
    hidden: int,
    heads: int,
    ffn: int,
    batch: int,
    seq_len: int,
    ffn_act: Activation,
) -> list[Gemm]:
    tokens = batch * seq_len
    out: list[Gemm] = []
    for i in range(layers_n):
        pre = f"{prefix}{i}"
        out += [
            linear(f"{pre}.attn.q", hidden, hidden, tokens=tokens),
            linear(f"{pre}.attn.k", hidden, hidden, tokens=tokens),
            linear(f"{pre}.attn.v", hidden, hidden, tokens=tokens),
            *attention_matmuls(f"{pre}.attn", seq_len, seq_len, hidden // heads, heads, batch),
            linear(f"{pre}.attn.out", hidden, hidden, tokens=tokens),
            linear(f"{pre}.ffn.fc1", hidden, ffn, tokens=tokens),
            linear(f"{pre}.ffn.fc2", ffn, hidden, tokens=tokens, input_activation=ffn_act),
        ]
    return out


def _bert_base(batch: int, seq_len: int) -> list[Gemm]:
    return _encoder("layer", 12, 768, 12, 3072, batch, seq_len, Activation.GELU)


def _bert_large(batch: int, seq_len: int) -> list[Gemm]:
    return _encoder("layer", 24, 1024, 16, 4096, batch, seq_len, Activation.GELU)


def _gpt2(batch: int, seq_len: int) -> list[Gemm]:
    # GPT-2 fuses q/k/v into one c_attn projection (768 × 2304).
    tokens = batch * seq_len
    out: list[Gemm] = []
    for i in range(12):
        pre = f"h{i}"
        out += [
            linear(f"{pre}.attn.c_attn", 768, 3 * 768, tokens=tokens),
            *attention_matmuls(f"{pre}.attn", seq_len, seq_len, 64, 12, batch),
            linear(f"{pre}.attn.c_proj", 768, 768, tokens=tokens),
            linear(f"{pre}.mlp.c_fc", 768, 3072, tokens=tokens),
            linear(f"{pre}.mlp.c_proj", 3072, 768, tokens=tokens, input_activation=Activation.GELU),
        ]
    out.append(linear("lm_head", 768, 50257, tokens=tokens))
    return out


def _llama2_7b(batch: int, seq_len: int) -> list[Gemm]:
    tokens, d, ffn, blocks = batch * seq_len, 4096, 11008, 32
    return [
        linear("block.attn.q", d, d, tokens=tokens, repeat=blocks),
        linear("block.attn.k", d, d, tokens=tokens, repeat=blocks),
        linear("block.attn.v", d, d, tokens=tokens, repeat=blocks),
        *attention_matmuls("block.attn", seq_len, seq_len, d // 32, 32, batch, repeat=blocks),
        linear("block.attn.o", d, d, tokens=tokens, repeat=blocks),
        linear("block.mlp.gate", d, ffn, tokens=tokens, repeat=blocks),
        linear("block.mlp.up", d, ffn, tokens=tokens, repeat=blocks),
        linear(
            "block.mlp.down",
            ffn,
            d,
            tokens=tokens,
            repeat=blocks,
            input_activation=Activation.SWIGLU,
        ),
    ]


ZOO: dict[str, ZooEntry] = {
    e.name: e
    for e in [
        ZooEntry("lenet300", "LeNet-300-100 MLP (MNIST)", _lenet_300_100),
        ZooEntry("lenet5", "LeNet-5, Caffe version (MNIST)", _lenet5),
        ZooEntry("alexnet", "AlexNet, Caffe bvlc_alexnet (grouped conv2/4/5)", _alexnet),
        ZooEntry("vgg16", "VGG-16 (ImageNet, 224x224)", _vgg16),
        ZooEntry("resnet50", "ResNet-50 v1.5 (ImageNet, 224x224)", _resnet50),
        ZooEntry("mobilenetv2", "MobileNetV2 1.0 (ImageNet, 224x224)", _mobilenet_v2),
        ZooEntry("bert-base", "BERT-base encoder, 12 x 768", _bert_base, True, 128),
        ZooEntry("bert-large", "BERT-large encoder, 24 x 1024", _bert_large, True, 128),
        ZooEntry("gpt2", "GPT-2 small, 12 x 768 + LM head", _gpt2, True, 128),
        ZooEntry(
            "llama2-7b", "LLaMA-2-7B, one decoder block x 32 (prefill)", _llama2_7b, True, 128
        ),
    ]
}

_ALIASES = {
    "lenet-300-100": "lenet300",
    "lenet300100": "lenet300",
    "lenet-5": "lenet5",
    "vgg-16": "vgg16",
    "resnet-50": "resnet50",
    "mobilenet-v2": "mobilenetv2",
    "mobilenet_v2": "mobilenetv2",
    "bert": "bert-base",
    "bert_base": "bert-base",
    "bert_large": "bert-large",
    "gpt-2": "gpt2",
    "llama-2-7b": "llama2-7b",
    "llama2": "llama2-7b",
    "llama": "llama2-7b",
}


def zoo_names() -> list[str]:
    return list(ZOO)


def zoo_key(name: str) -> str | None:
    """The zoo network ``name`` means (aliases and case folded), or None."""
    key = _ALIASES.get(name.lower(), name.lower())
    return key if key in ZOO else None


def get_model(name: str, batch: int = 1, seq_len: int | None = None) -> Workload:
    """Build a zoo network lowered to GEMMs.

    ``seq_len`` applies to transformers only (default 128); ``batch`` to all.
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in ZOO:
        from sod.suggest import did_you_mean

        raise WorkloadError(
            f"unknown model {name!r}{did_you_mean(name, ZOO)}; choose from: {', '.join(ZOO)}"
        )
    if batch <= 0:
        raise WorkloadError(f"batch must be positive, got {batch}")
    entry = ZOO[key]
    if entry.is_transformer:
        seq = entry.default_seq_len if seq_len is None else seq_len
        if seq is None or seq <= 0:
            raise WorkloadError(f"seq-len must be positive, got {seq_len}")
    else:
        seq = None
    gemms = entry.builder(batch, seq or 1)
    return Workload(name=key, gemms=tuple(gemms), batch=batch, seq_len=seq)
