"""skorch callbacks of :class:`~raman_sk.classifier.RamanCNNClassifier`.

:class:`ValidAccuracy` and :class:`BestWeights` are among the classifier's
default callbacks; :class:`FinalWeights` and :class:`EpochProgress` are added
by the caller (e.g. :func:`raman_sk.pipeline.fit_with_validation`).
"""

from __future__ import annotations

import numpy as np
from skorch.callbacks import Callback

__all__ = ["MONITORS", "BestWeights", "EpochProgress", "FinalWeights", "ValidAccuracy"]

#: Scores that can define the best epoch, mapped to "lower is better".
MONITORS = {"valid_loss": True, "valid_acc": False}


def _copy_state(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


class ValidAccuracy(Callback):
    """Record ``valid_acc`` (accuracy on the validation part) each epoch.

    Computed from the logits of the validation batches that skorch already
    produces, so it costs no extra forward pass. Also records
    ``valid_acc_best``.
    """

    def initialize(self):
        """Reset the running counts."""
        self.correct_ = 0
        self.total_ = 0
        self.best_ = -np.inf
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Restore the best score from an earlier run (warm start)."""
        scores = [h["valid_acc"] for h in net.history if "valid_acc" in h]
        self.best_ = max(scores) if scores else -np.inf

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Reset the counts for a new epoch."""
        self.correct_ = 0
        self.total_ = 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        """Count correct predictions of a validation batch."""
        if training or kwargs.get("y_pred") is None:
            return
        y_true = batch[1]
        y_pred = kwargs["y_pred"]
        self.correct_ += int((y_pred.argmax(dim=1) == y_true).sum())
        self.total_ += int(y_true.shape[0])

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Record the epoch's validation accuracy."""
        if not self.total_:
            return
        acc = self.correct_ / self.total_
        is_best = acc > self.best_
        if is_best:
            self.best_ = acc
        net.history.record("valid_acc", acc)
        net.history.record("valid_acc_best", bool(is_best))


class BestWeights(Callback):
    """Keep the best weights in memory, restore them, stop early.

    Reads ``net.monitor`` (``"valid_loss"``: lowest; ``"valid_acc"``:
    highest; only a strict improvement counts, so the earliest epoch wins
    ties), ``net.restore_best`` and ``net.patience``. Does nothing without a
    validation part. The copy of the state dict lives in memory only (no
    files), so parallel fits never overwrite each other. Sets
    ``net.best_epoch_`` (1-based, or None).
    """

    def initialize(self):
        """Forget any earlier best state."""
        self.best_score_ = None
        self.best_epoch_ = None
        self.best_state_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Start a new search for the best epoch."""
        self.initialize()

    def _is_better(self, score, lower_is_better):
        if self.best_score_ is None:
            return True
        if lower_is_better:
            return score < self.best_score_
        return score > self.best_score_

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Store a copy of the weights when the monitored score improves."""
        if dataset_valid is None:
            return
        monitor = net.monitor
        score = net.history[-1].get(monitor)
        if score is None:
            return
        if self._is_better(score, MONITORS[monitor]):
            self.best_score_ = score
            self.best_epoch_ = len(net.history)
            if net.restore_best:
                self.best_state_ = _copy_state(net.module_)
        patience = net.patience
        if patience is not None and len(net.history) - self.best_epoch_ >= patience:
            # skorch's documented way to end training early (caught in partial_fit)
            raise KeyboardInterrupt

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Load the best weights back into the module."""
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        net.best_epoch_ = self.best_epoch_
        self.best_state_ = None  # do not keep a second copy of the weights


class FinalWeights(Callback):
    """Keep a copy of the weights of the last epoch (in memory).

    :class:`~raman_sk.classifier.RamanCNNClassifier` restores the best epoch's
    weights at the end of training; add this callback to also keep the final
    ones (``state_dict_``). User callbacks run after the default ones, so the
    copy taken in ``on_epoch_end`` of the last epoch is the final state.

    Attributes
    ----------
    state_dict_ : dict of str to torch.Tensor or None
        Detached copies of the module's state after the last epoch.
    epoch_ : int or None
        The epoch (1-based) the copy was taken after.
    """

    def initialize(self):
        """Forget an earlier copy."""
        self.state_dict_ = None
        self.epoch_ = None
        return self

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Copy the current weights."""
        self.state_dict_ = _copy_state(net.module_)
        self.epoch_ = len(net.history)


class EpochProgress(Callback):
    """One tqdm progress bar over the epochs, with the latest scores.

    Parameters
    ----------
    desc : str, default="training"
        Label of the bar.
    disable : bool, default=False
        No bar at all (e.g. ``--quiet``).
    """

    def __init__(self, desc="training", disable=False):
        self.desc = desc
        self.disable = disable

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Open the bar."""
        from tqdm.auto import tqdm

        self.bar_ = tqdm(
            total=int(net.max_epochs),
            desc=self.desc,
            unit="epoch",
            disable=bool(self.disable),
            leave=False,
        )

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Advance by one epoch and show the losses."""
        row = net.history[-1]
        post = {
            key: f"{row[key]:.3f}"
            for key in ("train_loss", "valid_loss", "valid_acc")
            if key in row
        }
        self.bar_.set_postfix(post, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Close the bar."""
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
        self.bar_ = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("bar_", None)
        return state
