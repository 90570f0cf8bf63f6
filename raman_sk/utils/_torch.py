"""torch helpers shared by the classifier, the explainer and the main job.

Imported only by modules that already need torch (``raman_sk.utils`` itself
stays torch-free, so that ``raman_sk.preprocessing`` does too).
"""

from __future__ import annotations

import contextlib
from numbers import Integral

import torch

#: Floating-point precisions the network can train and predict in.
PRECISIONS = ("float32", "bfloat16")

#: Rows per gradient-free forward pass: bounds activation memory for any n.
FORWARD_BATCH = 64


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
    """Use ``n_threads`` torch intra-op threads inside the block.

    None leaves torch's setting alone. The previous count is restored on exit,
    also after an exception.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    if n_threads is None:
        yield
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, Integral):
        raise TypeError(
            f"n_threads must be an int or None, got {type(n_threads).__name__}."
        )
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1 or None, got {n_threads}.")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def module_device(module: torch.nn.Module) -> torch.device:
    """Return the device of ``module``'s first parameter (CPU if it has none)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def forward_rows(fn, X, device, batch: int | None = None) -> torch.Tensor:
    """Apply ``fn`` to the rows of ``X`` in batches, without gradients; stack outputs.

    Examples
    --------
    >>> import numpy as np
    >>> forward_rows(lambda t: t.sum(1), np.ones((5, 3)), "cpu", batch=2).tolist()
    [3.0, 3.0, 3.0, 3.0, 3.0]
    """
    batch = FORWARD_BATCH if batch is None else batch
    out = []
    with torch.no_grad():
        for start in range(0, len(X), batch):
            out.append(fn(torch.as_tensor(X[start : start + batch], device=device)))
    return torch.cat(out)


def auto_precision(device="cpu") -> str:
    """Return the precision that ``precision="auto"`` picks on ``device``.

    ``"bfloat16"`` on a CPU with native bf16 arithmetic (AMX tiles or
    AVX512-BF16); ``"float32"`` on other CPUs, where bf16 is emulated and slow,
    and on GPUs. See benchmarks/README.md for the measurements behind it.

    Examples
    --------
    >>> auto_precision("cuda")
    'float32'
    >>> auto_precision("cpu") in ("float32", "bfloat16")
    True
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device {device!r} is not a torch device: {exc}") from exc
    if dev.type != "cpu":
        return "float32"
    # private torch probes; absent on old torch versions (then: float32)
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    native = any(getattr(torch.cpu, p, lambda: False)() for p in probes)
    return "bfloat16" if native else "float32"
