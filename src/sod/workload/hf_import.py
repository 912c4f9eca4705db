"""Import a HuggingFace ``transformers`` model: :func:`from_huggingface`.

The model is built offline — from a local folder (``config.json`` + weights, loaded with
``local_files_only=True``), from a ``PretrainedConfig`` (randomly initialised weights, no
download) or taken as an already built ``PreTrainedModel`` — put in eval mode and run
once on ``batch × seq_len`` token ids (or ``pixel_values`` for vision models) through
:func:`sod.workload.from_torch`, so it uses transformers' default attention (SDPA), whose
fused kernel is lowered to its ``Q·Kᵀ`` and ``P·V`` GEMMs. A hub id that is not a local
folder is resolved by transformers (its cache first; pass ``local_files_only=True`` to
forbid the network).

Needs the optional extra: ``pip install 'sparse-on-dense[hf]'``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from sod.errors import WorkloadError
from sod.workload.gemm import Workload

_EXTRA = "transformers is not installed: pip install 'sparse-on-dense[hf]'"


def _transformers() -> Any:
    try:
        import transformers
    except ImportError:
        raise WorkloadError(_EXTRA) from None
    try:
        import torch  # noqa: F401
    except ImportError:
        raise WorkloadError(
            "torch is not installed: pip install 'sparse-on-dense[torch]'"
        ) from None
    return transformers


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def from_huggingface(
    model: Any,
    seq_len: int = 128,
    batch: int = 1,
    *,
    auto_class: str = "AutoModel",
    attn_implementation: str | None = None,
    local_files_only: bool | None = None,
    name: str | None = None,
    unlowered: list[Any] | None = None,
    seed: int = 0,
) -> Workload:
    """The GEMMs of a transformers model run on ``batch × seq_len`` random token ids.

    ``model`` is a local folder or hub id (str/Path), a ``PretrainedConfig`` (random
    weights) or a ``PreTrainedModel``. ``auto_class`` picks the head (``AutoModel``: the
    bare encoder/decoder, e.g. ``BertModel`` with its pooler). ``attn_implementation``
    (``"sdpa"``, ``"eager"``) overrides transformers' default. ``unlowered`` collects the
    ops that do MACs but could not be lowered (see :func:`sod.workload.from_torch`).
    """
    tf = _transformers()
    import torch

    from sod.workload.torch_import import from_torch

    if seq_len <= 0 or batch <= 0:
        raise WorkloadError(f"seq_len and batch must be positive, got {seq_len} and {batch}")
    try:
        auto = getattr(tf, auto_class)
    except AttributeError:
        raise WorkloadError(f"transformers has no {auto_class!r}") from None
    extra = {} if attn_implementation is None else {"attn_implementation": attn_implementation}
    try:
        if isinstance(model, tf.PreTrainedModel):
            net = model
        elif isinstance(model, tf.PretrainedConfig):
            torch.manual_seed(seed)
            net = auto.from_config(model, **extra)
        elif isinstance(model, str | Path):
            path = Path(model)
            local = path.is_dir() if local_files_only is None else local_files_only
            if path.exists() and not path.is_dir():
                raise WorkloadError(f"HuggingFace model {str(model)!r} is not a folder")
            net = auto.from_pretrained(str(model), local_files_only=local, **extra)
            name = name or path.name
        else:
            raise WorkloadError(
                "from_huggingface needs a folder, hub id, PretrainedConfig or PreTrainedModel, "
                f"got {type(model).__name__}"
            )
    except WorkloadError:
        raise
    except Exception as err:
        raise WorkloadError(
            f"cannot build HuggingFace model {model!r}: {_first_line(err)}"
        ) from None
    net.eval()
    config = net.config
    name = name or f"{config.model_type}"
    gen = torch.Generator().manual_seed(seed)
    kwargs: dict[str, Any] = {}
    main = getattr(net, "main_input_name", "input_ids")
    if main == "pixel_values":
        size = getattr(config, "image_size", 224)
        size = size if isinstance(size, int) else size[0]
        channels = getattr(config, "num_channels", 3)
        kwargs[main] = torch.randn(batch, channels, size, size, generator=gen)
    else:
        vocab = int(getattr(config, "vocab_size", 2) or 2)
        ids = torch.randint(0, vocab, (batch, seq_len), generator=gen)
        kwargs[main] = ids
        if getattr(config, "is_encoder_decoder", False):
            kwargs["decoder_input_ids"] = ids
    workload = from_torch(net, (), name=name, example_kwargs=kwargs, unlowered=unlowered)
    seq = None if main == "pixel_values" else seq_len
    return replace(workload, batch=batch, seq_len=seq)
