"""Published pruning profiles and the profile-string grammar of ``--sparsity``.

Grammar (densities are the fraction of weights KEPT, in (0, 1]; numbers may also be
written as percentages, ``uniform:30%``, or said explicitly: ``uniform:keep=0.3`` or
``uniform:prune=0.7`` — ``prune`` is the fraction removed, torch's ``amount``)::

    PROFILE  := NAME [":" ARG]* ["," KEY "=" VALUE]*

    dense             nothing pruned; every operand dense (drops existing masks)
    keep              keep the weights as they are (an importer's real, maybe pruned,
                      weights); activations without a measured mask get synthetic ones
    keep:D            every weight layer magnitude-pruned to KEEP fraction D (= uniform:D)
    prune:F           every weight layer magnitude-pruned by fraction F (= uniform:1-F,
                      torch.nn.utils.prune's ``amount``)
    han2015           Han et al. 2015 per-layer weight AND activation densities
                      (lenet300, lenet5, alexnet, vgg16 only)
    uniform:D         every weight layer magnitude-pruned to density D
    global:D          one magnitude threshold over all weight layers, total density D
    rowbal:D          every output channel keeps the same count (Wanda/SparseGPT style)
    nm:N:M            N largest of every M consecutive reduction indices, all layers
    block:B:D         B×B blocks with the largest L1 norm, density D
    asp[:N:M]         NVIDIA ASP's CNN recipe, N:M default 2:4: every conv / linear
                      layer but the first conv, N of every M consecutive input channels
                      at each kernel position, in layers whose channels (per group) are
                      a multiple of M; the others stay dense. Activations: han2015's
                      per-layer densities for the networks Han measured, else act=
    bert[:D]          encoder linear layers, global magnitude (IMP), D default 0.1;
                      embeddings are not GEMMs; GELU activations dense
    llama[:D]         row-balanced D (default 0.5, Wanda); ``llama:N:M`` for N:M (2:4)
    resnet[:D]        global magnitude over all but the first conv, D default 0.2
    mobilenet[:D]     pointwise (1×1) convs and the classifier only, per layer, D default 0.4
    auto              the model's published default (see :data:`AUTO`)

    options:  weights=synthetic|iid   source of weights for layers without real ones
              act=D|dense             density of ReLU-produced inputs (default 0.5 for
                                      profiles without per-layer activation data)

Attention's activation × activation GEMMs are never pruned. Activations produced by
GELU, SwiGLU or softmax and network inputs stay dense.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from sod.errors import SparsityError
from sod.sparsity.prune import check_density

# Han, Pool, Tran, Dally, "Learning both Weights and Connections for Efficient Neural
# Networks", NIPS 2015 (arXiv 1506.02626), Tables 2-5: per-layer weight density (W%)
# and density of the layer's OUTPUT activations (Act%). Input density of layer L is the
# Act% of layer L-1; the first layer's input (the image) is dense.
HAN2015: dict[str, dict[str, tuple[float, float]]] = {
    # name: (W%, Act%)
    "lenet300": {"ip1": (8, 38), "ip2": (9, 65), "ip3": (26, 100)},
    "lenet5": {"conv1": (66, 82), "conv2": (12, 72), "ip1": (8, 55), "ip2": (19, 100)},
    "alexnet": {
        "conv1": (84, 88),
        "conv2": (38, 52),
        "conv3": (35, 37),
        "conv4": (37, 40),
        "conv5": (37, 34),
        "fc6": (9, 36),
        "fc7": (9, 40),
        "fc8": (25, 100),
    },
    "vgg16": {
        "conv1_1": (58, 53),
        "conv1_2": (22, 89),
        "conv2_1": (34, 80),
        "conv2_2": (36, 81),
        "conv3_1": (53, 68),
        "conv3_2": (24, 70),
        "conv3_3": (42, 64),
        "conv4_1": (32, 51),
        "conv4_2": (27, 45),
        "conv4_3": (34, 34),
        "conv5_1": (35, 32),
        "conv5_2": (29, 29),
        "conv5_3": (36, 19),
        "fc6": (4, 38),
        "fc7": (4, 42),
        "fc8": (23, 100),
    },
}

# Published default per zoo network for the ``auto`` profile. Sources: Han et al. 2015
# (LeNets, AlexNet, VGG-16); Gale, Elsen, Hooker 2019 "The State of Sparsity in Deep
# Neural Networks" (ResNet-50, 80 % magnitude pruning -> 75.6 % top-1); Zhu & Gupta 2017
# via Distiller (MobileNet, pointwise + FC ~60 % sparse); Chen et al. NeurIPS 2020 and
# Sanh et al. 2020 (BERT IMP 90 % on QQP, movement pruning 10 % remaining); Sun et al.
# 2023 "Wanda" (LLaMA-2 50 % per-row / 2:4).
AUTO: dict[str, str] = {
    "lenet300": "han2015",
    "lenet5": "han2015",
    "alexnet": "han2015",
    "vgg16": "han2015",
    "resnet50": "resnet:0.2",
    "mobilenetv2": "mobilenet:0.4",
    "bert-base": "bert:0.1",
    "bert-large": "bert:0.1",
    "gpt2": "llama:0.5",
    "llama2-7b": "llama:0.5",
}

DEFAULT_RELU_DENSITY = 0.5  # assumption; REFERENCES.md §7 measured 0.07-0.59 marginals

_NAMES = (
    "dense",
    "keep",
    "prune",
    "han2015",
    "uniform",
    "global",
    "rowbal",
    "nm",
    "block",
    "asp",
    "bert",
    "llama",
    "resnet",
    "mobilenet",
    "auto",
)


@dataclass(frozen=True)
class Profile:
    """A parsed profile string."""

    name: str
    method: str  # none | per_layer | global | rowbal | nm | block | han | keep
    density: float = 1.0
    n_keep: int = 0
    m_group: int = 0
    block: int = 0
    weights: str = "synthetic"
    relu_act_density: float = DEFAULT_RELU_DENSITY
    dense_acts: bool = False
    text: str = ""
    extra: dict[str, str] = field(default_factory=dict)


class _Options(TypedDict):
    """The Profile fields every profile takes from its options (typed for ``**`` use)."""

    weights: str
    relu_act_density: float
    dense_acts: bool
    text: str


def _number(text: str, what: str) -> float:
    """A density: the fraction KEPT (``0.2``, ``20%``), or said explicitly as ``keep=0.2``
    or ``prune=0.8`` (the fraction removed, torch's ``amount``)."""
    t = text.strip().lower()
    pruned = t.startswith("prune=")
    t = t.removeprefix("prune=").removeprefix("keep=")
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        raise SparsityError(f"{what} must be a number, got {text!r}") from None
    if pruned:
        if not 0 <= value < 1:
            raise SparsityError(f"{what}: prune fraction must be in [0, 1), got {value:g}")
        value = round(1.0 - value, 12)  # 1 - 0.8 is 0.19999999999999996
    return check_density(value, what)


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise SparsityError(f"{what} must be an integer, got {text!r}") from None


def parse_profile(text: str, model: str | None = None) -> Profile:
    """Parse a profile string (grammar in the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        raise SparsityError("empty sparsity profile; try 'han2015', 'uniform:0.3', 'nm:2:4'")
    head, *opts = [p.strip() for p in text.strip().split(",")]
    name, *args = [p.strip() for p in head.split(":")]
    name = name.lower()
    options: dict[str, str] = {}
    for opt in opts:
        if "=" not in opt:
            raise SparsityError(f"profile option {opt!r} must be KEY=VALUE")
        key, value = (s.strip().lower() for s in opt.split("=", 1))
        options[key] = value
    unknown = set(options) - {"weights", "act"}
    if unknown:
        raise SparsityError(f"unknown profile option {sorted(unknown)[0]!r}; use weights= or act=")
    weights = options.get("weights", "synthetic")
    if weights not in ("synthetic", "iid"):
        raise SparsityError(f"weights= must be 'synthetic' or 'iid', got {weights!r}")
    act = options.get("act")
    dense_acts = act == "dense"
    relu = DEFAULT_RELU_DENSITY if act in (None, "dense") else _number(act, "act density")
    common = _Options(weights=weights, relu_act_density=relu, dense_acts=dense_acts, text=text)

    def nargs(lo: int, hi: int) -> None:
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo}-{hi}"
            raise SparsityError(f"profile {name!r} takes {want} argument(s), got {len(args)}")

    if name == "auto":
        nargs(0, 0)
        if model is None or model not in AUTO:
            raise SparsityError(
                f"profile 'auto' has no default for model {model!r}; known: {', '.join(AUTO)}"
            )
        resolved = AUTO[model] + "".join("," + o for o in opts)
        return parse_profile(resolved, model)
    if name in ("keep", "prune") and args:
        # keep:D / prune:F — unambiguous spellings of uniform magnitude pruning.
        nargs(1, 1)
        spelled = f"{name}={args[0]}"
        return Profile("uniform", "per_layer", density=_number(spelled, "density"), **common)
    if name in ("dense", "keep"):
        nargs(0, 0)
        return Profile(name, "none" if name == "dense" else "keep", **common)
    if name == "han2015":
        nargs(0, 0)
        return Profile(name, "han", **common)
    if name in ("uniform", "global", "rowbal"):
        nargs(1, 1)
        method = {"uniform": "per_layer", "global": "global", "rowbal": "rowbal"}[name]
        return Profile(name, method, density=_number(args[0], f"{name} density"), **common)
    if name == "asp":
        nargs(0, 2)
        if len(args) == 1:
            raise SparsityError("profile 'asp' takes N:M (e.g. asp:2:4) or nothing (2:4)")
        n, m = (_int(args[0], "N"), _int(args[1], "M")) if args else (2, 4)
        if n <= 0 or m <= 0 or n > m:
            raise SparsityError(f"N:M needs 0 < N <= M, got {n}:{m}")
        extra = {"act": "given"} if act is not None else {}
        return Profile(name, "nm", density=n / m, n_keep=n, m_group=m, extra=extra, **common)
    if name == "nm" or (name == "llama" and len(args) == 2):
        nargs(2, 2)
        n, m = _int(args[0], "N"), _int(args[1], "M")
        if n <= 0 or m <= 0:
            raise SparsityError(f"N:M needs positive N and M, got {n}:{m}")
        if n > m:
            raise SparsityError(f"N:M needs N <= M, got {n}:{m}")
        return Profile(name, "nm", density=n / m, n_keep=n, m_group=m, **common)
    if name == "block":
        nargs(2, 2)
        b = _int(args[0], "block size")
        if b <= 0:
            raise SparsityError(f"block size must be positive, got {b}")
        return Profile(name, "block", density=_number(args[1], "block density"), block=b, **common)
    defaults = {
        "bert": ("global", 0.1),
        "llama": ("rowbal", 0.5),
        "resnet": ("global", 0.2),
        "mobilenet": ("per_layer", 0.4),
    }
    if name in defaults:
        nargs(0, 1)
        method, dflt = defaults[name]
        dens = _number(args[0], f"{name} density") if args else dflt
        if name == "bert":
            common["dense_acts"] = True  # GELU: activations dense
        return Profile(name, method, density=dens, **common)
    from sod.suggest import did_you_mean

    raise SparsityError(
        f"unknown sparsity profile {name!r}{did_you_mean(name, _NAMES)}; "
        f"choose from: {', '.join(_NAMES)}"
    )


def han_densities(model: str) -> dict[str, tuple[float, float]]:
    """Per-layer (weight density, input-activation density) of Han et al. 2015.

    Input-activation density of layer L is the published Act% of layer L-1 (the first
    layer's input is dense).
    """
    table = HAN2015.get(model)
    if table is None:
        raise SparsityError(f"profile 'han2015' covers {', '.join(HAN2015)}; not model {model!r}")
    out: dict[str, tuple[float, float]] = {}
    prev_act = 100.0
    for layer, (w_pct, act_pct) in table.items():
        out[layer] = (w_pct / 100.0, prev_act / 100.0)
        prev_act = act_pct
    return out
