"""The Integrated Gradients core: captum on an eval-mode copy, and completeness."""

from __future__ import annotations

import copy
import warnings
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from raman_sk.models import fuse_conv_bn
from raman_sk.utils._torch import forward_rows, module_device

#: Score functions ``IGExplainer(output=...)`` explains.
OUTPUTS = ("logits", "proba")
#: captum's integration rules.
METHODS = (
    "gausslegendre",
    "riemann_trapezoid",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
)


def frozen_copy(module: nn.Module) -> nn.Module:
    """Return an eval-mode copy of ``module`` without gradients."""
    module = copy.deepcopy(module).eval()
    module.requires_grad_(False)
    return module


def prepare_modules(module: nn.Module, probe: torch.Tensor):
    """Return (reference, fast) eval-mode copies of ``module``.

    ``fast`` has BatchNorm folded into the convolutions when that gives the same
    outputs on ``probe``; otherwise it is the reference itself.
    """
    ref = frozen_copy(module)
    try:
        fast = fuse_conv_bn(ref)
        with torch.no_grad():
            a, b = ref(probe), fast(probe)
        if a.shape != b.shape or not torch.allclose(
            a, b, rtol=1e-4, atol=1e-4 * (1 + float(a.abs().max()))
        ):
            fast = ref
    except Exception:  # any module the fusion does not understand
        fast = ref
    return ref, fast


class ClassScore(nn.Module):
    """Class scores explained: logits or probabilities, optionally contrastive."""

    def __init__(self, net: nn.Module, output: str, contrastive: bool):
        super().__init__()
        self.net = net
        self.output = output
        self.contrastive = contrastive

    def forward(self, x):  # noqa: D102
        s = self.net(x).float()
        if self.output == "proba":
            s = torch.softmax(s, dim=1)
        if self.contrastive:
            n = s.shape[1]
            s = (n * s - s.sum(dim=1, keepdim=True)) / (n - 1)
        return s


def predicted_classes(module, Xt) -> np.ndarray:
    """Predicted class index of each row of ``Xt`` (eval mode, batched).

    ``module`` is a network (largest logit) or a list of networks (largest
    mean softmax probability, as a committee predicts).
    """
    modules = module if isinstance(module, (list, tuple)) else [module]
    if len(modules) == 1:
        logits = forward_rows(frozen_copy(modules[0]), Xt, module_device(modules[0]))
        return logits.argmax(dim=1).cpu().numpy().astype(np.int64)
    proba = sum(
        torch.softmax(forward_rows(frozen_copy(m), Xt, module_device(m)).double(), 1)
        .cpu()
        .numpy()
        for m in modules
    )
    return proba.argmax(axis=1).astype(np.int64)


def integrated_gradients(
    module,
    Xt,
    B,
    targets,
    *,
    output="logits",
    contrastive=False,
    n_steps=50,
    method="gausslegendre",
    internal_batch_size=None,
    nt_samples=None,
    nt_stdev=0.0,
    precision="float32",
    seed=0,
    verbose=0,
):
    """Integrated Gradients of rows ``Xt`` against baselines ``B`` for ``targets``.

    Parameters
    ----------
    module : torch.nn.Module
        The network; attributed on an eval-mode copy, left unchanged.
    Xt, B : ndarray of shape (n, n_features), float32
        Inputs and their baselines.
    targets : ndarray of shape (n,), int
        Class index explained for each row.
    output, contrastive
        The score explained (see :class:`ClassScore`).
    n_steps, method, internal_batch_size
        As captum's ``IntegratedGradients.attribute``; ``internal_batch_size``
        None is ``n_steps`` on a CPU and 1024 on a GPU.
    nt_samples : int or None
        SmoothGrad (captum's ``NoiseTunnel``) with this many noisy copies;
        None: plain IG.
    nt_stdev : float
        Absolute noise standard deviation for SmoothGrad.
    precision : {"float32", "bfloat16"}
        Arithmetic of the attribution passes (bf16 under ``torch.autocast``).
    seed : int
        Seeds SmoothGrad's noise in a forked torch generator.
    verbose : int
        Show a tqdm progress bar when > 0.

    Returns
    -------
    attributions : ndarray of shape (n, n_features), float64
    delta : ndarray of shape (n,)
        Absolute completeness error ``|sum(IG) - (F(x) - F(b))|``, computed on
        the float32 reference network.
    dF : ndarray of shape (n,)
        ``F(x) - F(b)``.
    """
    from captum.attr import IntegratedGradients, NoiseTunnel

    device = module_device(module)
    probe = torch.as_tensor(Xt[: min(len(Xt), 4)], device=device)
    ref, fast = prepare_modules(module, probe)
    ig = IntegratedGradients(ClassScore(fast, output, contrastive))
    smoothgrad = nt_samples is not None
    n_steps = int(n_steps)
    ibs = internal_batch_size or (1024 if device.type == "cuda" else n_steps)
    chunk = max(1, ibs // (n_steps * (int(nt_samples) if smoothgrad else 1)))
    n = len(Xt)
    starts = range(0, n, chunk)
    if verbose:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="Integrated Gradients", unit="batch")
    # preallocated: small arrays kept between large transient tensors fragment the heap
    A = np.empty(Xt.shape, dtype=np.float64)
    nt_delta = np.empty(n, dtype=np.float64)
    rng_ctx = (
        torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
        if smoothgrad
        else nullcontext()
    )
    autocast = (
        (lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16))
        if precision == "bfloat16"
        else nullcontext
    )
    kwargs = {"n_steps": n_steps, "method": method, "internal_batch_size": ibs}
    with rng_ctx:
        if smoothgrad:
            torch.manual_seed(int(seed))
        for start in starts:
            sl = slice(start, start + chunk)
            x = torch.as_tensor(Xt[sl], device=device)
            b = torch.as_tensor(B[sl], device=device)
            t = torch.as_tensor(targets[sl], dtype=torch.long, device=device)
            with autocast():
                if smoothgrad:
                    a, d = NoiseTunnel(ig).attribute(
                        x,
                        nt_type="smoothgrad",
                        nt_samples=int(nt_samples),
                        stdevs=float(nt_stdev),
                        baselines=b,
                        target=t,
                        return_convergence_delta=True,
                        **kwargs,
                    )
                    nt_delta[sl] = (
                        d.detach()
                        .float()
                        .abs()
                        .reshape(len(x), -1)
                        .mean(1)
                        .cpu()
                        .numpy()
                    )
                else:
                    a = ig.attribute(x, baselines=b, target=t, **kwargs)
            A[sl] = a.detach().float().cpu().numpy().reshape(len(x), -1)
    score_ref = ClassScore(ref, output, contrastive)
    t = torch.as_tensor(targets, dtype=torch.long, device=device)
    rows = torch.arange(n, device=device)
    fx = forward_rows(score_ref, Xt, device)[rows, t]
    fb = forward_rows(score_ref, B, device)[rows, t]
    dF = (fx - fb).double().cpu().numpy()
    delta = nt_delta if smoothgrad else np.abs(A.sum(axis=1) - dF)
    return A, delta, dF


def relative_error(delta, dF) -> np.ndarray:
    """``delta / |dF|``, the relative completeness error."""
    return np.abs(delta) / np.maximum(np.abs(dF), np.finfo(np.float64).tiny)


def warn_incomplete(delta, dF, what, *, tolerance, n_steps, stacklevel=3):
    """Warn when a relative completeness error exceeds ``tolerance``."""
    rel = relative_error(delta, dF)
    bad = rel > tolerance
    if np.any(bad):
        warnings.warn(
            f"Integrated Gradients completeness ({what}): {int(bad.sum())} of "
            f"{len(rel)} attributions have a relative error |sum(IG) - "
            f"(F(x) - F(baseline))| / |F(x) - F(baseline)| above tolerance="
            f"{tolerance:g} (largest {float(rel.max()):.3g}). Raise n_steps "
            f"(now {n_steps}) for a more accurate integral.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return rel
