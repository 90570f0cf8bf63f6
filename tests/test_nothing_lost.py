"""Nothing lost: inputs are never modified, earlier runs are never damaged.

* Every public entry point leaves its inputs as they were: called with
  read-only arrays it works (an in-place write would raise), called with
  writable arrays they compare equal afterwards, and the transformers return
  new arrays rather than views of their input.
* The CLI refuses a non-empty output directory and leaves it byte for byte.
* An interrupted ``raman-sk reproduce`` (KeyboardInterrupt in the middle of
  training, or later while the staged outputs are being written) exits with
  status 130, leaves no half-written file under the final names, no staging
  directory beside them, and the earlier run intact.
"""

import hashlib
import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline

from raman_sk import RamanCNNClassifier
from raman_sk.cli import main
from raman_sk.explain import IGExplainer
from raman_sk.preprocessing import (
    BaselineRemover,
    SavitzkyGolay,
    SpectralAugmenter,
    SpectrumNormalizer,
    SpikeRemover,
    WavenumberCropper,
    WavenumberResampler,
    augment_spectra,
    crop_spectra,
    normalize_spectra,
    remove_baseline,
    remove_spikes,
    resample_spectra,
    savgol_smooth,
)
from tests._helpers import TINY_NET

SMALL = {
    **TINY_NET,
    "max_epochs": 1,
    "batch_size": 8,
    "random_state": 0,
    "n_threads": 1,
}
GRID = np.arange(610.0, 1100.0, 3.0)
FAST = ["--quick", "--threads", "1", "--quiet"]


def _readonly(a):
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


@pytest.fixture(scope="module")
def data():
    from tests.conftest import make_spectra

    b = make_spectra(n_per_class=4)
    return b.data, b.target, b.wavenumbers


@pytest.fixture(scope="module")
def fitted(data):
    X, y, w = data
    clf = RamanCNNClassifier(**SMALL).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # IG completeness, 4 steps
        ig = IGExplainer(clf, n_steps=4, n_per_class=1, wavenumbers=w).fit(X, y)
    return clf, ig


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pybaselines' early-stop warning etc.
        return fn()


# entry point: (X, y, w, fitted) -> output array(s)
ENTRY_POINTS = {
    "WavenumberResampler": lambda X, y, w, f: WavenumberResampler(
        wavenumbers=w, target_wavenumbers=GRID
    ).fit_transform(X),
    "WavenumberResampler[pairs]": lambda X, y, w, f: WavenumberResampler(
        target_wavenumbers=GRID
    ).fit_transform([(w, X[0]), (w[::-1], X[1][::-1])]),
    "resample_spectra": lambda X, y, w, f: resample_spectra(X, w, GRID),
    "BaselineRemover": lambda X, y, w, f: _quiet(
        lambda: BaselineRemover(wavenumbers=w).fit_transform(X)
    ),
    "BaselineRemover[modpoly]": lambda X, y, w, f: BaselineRemover(
        "modpoly", wavenumbers=w
    ).fit_transform(X),
    "remove_baseline": lambda X, y, w, f: _quiet(lambda: remove_baseline(X, w)),
    "SavitzkyGolay": lambda X, y, w, f: SavitzkyGolay().fit_transform(X),
    "savgol_smooth": lambda X, y, w, f: savgol_smooth(X),
    "SpectrumNormalizer": lambda X, y, w, f: SpectrumNormalizer().fit_transform(X),
    "SpectrumNormalizer[snv]": lambda X, y, w, f: SpectrumNormalizer(
        "snv"
    ).fit_transform(X),
    "normalize_spectra": lambda X, y, w, f: normalize_spectra(X),
    "WavenumberCropper": lambda X, y, w, f: WavenumberCropper(
        700, 1000, wavenumbers=w
    ).fit_transform(X),
    "WavenumberCropper[everything]": lambda X, y, w, f: WavenumberCropper(
        wavenumbers=w
    ).fit_transform(X),
    "crop_spectra": lambda X, y, w, f: crop_spectra(X, w, 700, 1000),
    "SpikeRemover": lambda X, y, w, f: SpikeRemover().fit_transform(X),
    "remove_spikes": lambda X, y, w, f: remove_spikes(X),
    "SpectralAugmenter": lambda X, y, w, f: SpectralAugmenter(
        n_copies=1, random_state=0
    ).fit_resample(X, y)[0],
    "SpectralAugmenter[no_copies]": lambda X, y, w, f: SpectralAugmenter(
        n_copies=0, random_state=0
    ).fit_resample(X, y)[0],
    "augment_spectra": lambda X, y, w, f: augment_spectra(
        X, y, n_copies=1, shift_max=2, random_state=0
    )[0],
    "RamanCNNClassifier.fit": lambda X, y, w, f: (
        RamanCNNClassifier(**SMALL, augmenter=SpectralAugmenter(n_copies=1))
        .fit(X, y)
        .predict_proba(X)
    ),
    "RamanCNNClassifier.predict_proba": lambda X, y, w, f: f[0].predict_proba(X),
    "RamanCNNClassifier.predict": lambda X, y, w, f: f[0].predict(X),
    "Pipeline.fit": lambda X, y, w, f: (
        make_pipeline(
            WavenumberResampler(wavenumbers=w, target_wavenumbers=GRID),
            SpectrumNormalizer(),
            RamanCNNClassifier(**SMALL),
        )
        .fit(X, y)
        .predict_proba(X)
    ),
    "IGExplainer.fit": lambda X, y, w, f: _quiet(
        lambda: (
            IGExplainer(f[0], n_steps=4, n_per_class=1, wavenumbers=w)
            .fit(X, y)
            .saliency_
        )
    ),
    "IGExplainer.explain": lambda X, y, w, f: _quiet(lambda: f[1].explain(X[:3])),
}

# outputs that have the same shape as X and must not share its memory
ONE_TO_ONE = {
    "BaselineRemover",
    "BaselineRemover[modpoly]",
    "remove_baseline",
    "SavitzkyGolay",
    "savgol_smooth",
    "SpectrumNormalizer",
    "SpectrumNormalizer[snv]",
    "normalize_spectra",
    "WavenumberCropper[everything]",
    "SpikeRemover",
    "remove_spikes",
    "SpectralAugmenter[no_copies]",
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_inputs_are_never_modified(name, data, fitted):
    X, y, w = data
    call = ENTRY_POINTS[name]
    # read-only inputs: an in-place write would raise
    Xr, yr, wr = _readonly(X), _readonly(y), _readonly(w)
    out = call(Xr, yr, wr, fitted)
    np.testing.assert_array_equal(Xr, X)
    # writable inputs: unchanged afterwards, and the output is a new array
    Xw, yw, ww = X.copy(), y.copy(), w.copy()
    out = call(Xw, yw, ww, fitted)
    np.testing.assert_array_equal(Xw, X)
    np.testing.assert_array_equal(yw, y)
    np.testing.assert_array_equal(ww, w)
    if name in ONE_TO_ONE:
        assert out.shape == X.shape
        assert not np.shares_memory(out, Xw)


def test_dataframe_input_is_never_modified(data):
    X, _, w = data
    frame = pd.DataFrame(X, columns=[f"{v:g}" for v in w])
    before = frame.copy()
    pipe = make_pipeline(
        WavenumberResampler(target_wavenumbers=GRID),
        SpikeRemover(),
        SpectrumNormalizer(),
    ).set_output(transform="pandas")
    out = pipe.fit_transform(frame)
    pd.testing.assert_frame_equal(frame, before)
    out.iloc[:, :] = 0.0  # writing into the output leaves the input alone
    pd.testing.assert_frame_equal(frame, before)


def _snapshot(root: Path) -> dict:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _earlier_run(parent: Path) -> Path:
    """A stand-in for an earlier ``reproduce`` output directory."""
    out = parent / "outputs"
    (out / "model" / "best_model").mkdir(parents=True)
    (out / "figures").mkdir()
    (out / "REPORT.md").write_text("earlier run\n")
    (out / "evaluation.json").write_text('{"accuracy": 0.5}\n')
    (out / "model" / "best_model" / "pipeline.json").write_text("{}\n")
    (out / "figures" / "confusion_matrix.png").write_bytes(b"\x89PNG earlier")
    return out


def _user_files(root: Path):
    axis = np.arange(440.0, 1812.0, 2.0)
    rng = np.random.default_rng(0)
    files, rows = [], ["file,label"]
    for k, (label, centre) in enumerate([("a", 700.0), ("b", 1000.0)] * 3):
        values = np.exp(-(((axis - centre) / 8.0) ** 2)) + 0.05 * rng.random(axis.size)
        path = root / f"s{k}.txt"
        path.write_text(
            "".join(f"{a:g}\t{v:.6f}\n" for a, v in zip(axis, values, strict=True))
        )
        files.append(path)
        rows.append(f"{path.name},{label}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return files, root / "labels.csv"


@pytest.mark.parametrize("command", ["reproduce", "train", "explain"])
def test_cli_refuses_a_non_empty_output(command, tmp_path, capsys):
    if command == "explain":
        pytest.importorskip(
            "raman_sk.plotting",
            reason="cli.py's explain imports raman_sk.plotting before its checks",
        )
    out = _earlier_run(tmp_path)
    (tmp_path / "in").mkdir()
    files, labels = _user_files(tmp_path / "in")
    argv = {
        "reproduce": ["reproduce", "--out", out, *FAST],
        "train": ["train", *files, "--labels", labels, "--out", out, *FAST],
        "explain": ["explain", tmp_path / "no_model", files[0], "--out", out],
    }[command]
    before = _snapshot(tmp_path)
    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("raman-sk: error: ") and err.count("\n") == 1
    assert "is not empty; refusing to overwrite" in err and "--overwrite" in err
    assert _snapshot(tmp_path) == before


def test_cli_leaves_its_input_files_alone(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    files, labels = _user_files(tmp_path / "in")
    before = _snapshot(tmp_path / "in")
    model = tmp_path / "model"
    argv = ["train", *files, "--labels", labels, "--out", model, "--epochs", "1"]
    assert main([str(a) for a in [*argv, *FAST]]) == 0
    assert main(["predict", str(model), *map(str, files)]) == 0
    capsys.readouterr()
    assert _snapshot(tmp_path / "in") == before


# ------------------------------------------------------------ interrupts
class _Stop(KeyboardInterrupt):
    """The KeyboardInterrupt of a user pressing Ctrl-C."""


#: The step of each recipe that runs after the models were saved.
AFTER_SAVING = {"cv-committee": "fold_predictions", "seed": "baseline_comparison"}


def _reproduce_interrupted(
    tmp_path, capsys, *, overwrite=True, epochs=2, recipe="cv-committee"
):
    pytest.importorskip("ramanbiolib")
    argv = ["reproduce", "--recipe", recipe, "--out", str(tmp_path / "outputs")]
    argv += [*FAST, "--epochs", str(epochs)]
    if overwrite:
        argv.append("--overwrite")
    code = main(argv)
    _, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("recipe", ["cv-committee", "seed"])
def test_interrupt_while_writing_outputs_keeps_the_earlier_run(
    tmp_path, monkeypatch, capsys, recipe
):
    """Ctrl-C after the models were saved into the staging directory."""
    import raman_sk.evaluation

    out = _earlier_run(tmp_path)
    before = _snapshot(tmp_path)
    seen = {}

    def interrupt(*args, **kwargs):
        staged = [p for p in tmp_path.iterdir() if p.name != "outputs"]
        seen["staged"] = sorted(
            q.relative_to(s).as_posix() for s in staged for q in s.rglob("*.json")
        )
        raise _Stop

    monkeypatch.setattr(raman_sk.evaluation, AFTER_SAVING[recipe], interrupt)
    code, err = _reproduce_interrupted(tmp_path, capsys, recipe=recipe)
    # the run had written model files, but only into its staging directory
    for name in ("best_model", "final_model"):
        assert f"model/{name}/pipeline.json" in seen["staged"]
    assert code == 130 and "interrupted" in err
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


@pytest.mark.parametrize("epoch", [1, 2], ids=["in_epoch_1", "in_epoch_2"])
def test_interrupt_during_training_keeps_the_earlier_run(
    tmp_path, monkeypatch, capsys, epoch, python_sigint
):
    import raman_sk.domain
    from raman_sk.classifier import EpochProgress

    out = _earlier_run(tmp_path)
    before = _snapshot(tmp_path)

    def interrupt(self, net, **kwargs):
        if len(net.history) == epoch:
            # a real Ctrl-C: skorch swallows KeyboardInterrupt raised by
            # callbacks (its early-stopping signal); the classifier tells
            # SIGINT apart and raises it again
            os.kill(os.getpid(), signal.SIGINT)

    def went_on(*args, **kwargs):
        raise AssertionError("reproduce went on after the KeyboardInterrupt")

    # in epoch 1 or 2 of the first committee member
    monkeypatch.setattr(EpochProgress, "on_epoch_end", interrupt)
    # the first step after training: reaching it means the interrupt was lost
    monkeypatch.setattr(raman_sk.domain.NearestSpectrumChecker, "fit", went_on)
    code, err = _reproduce_interrupted(tmp_path, capsys, epochs=3)
    assert code == 130 and "interrupted" in err
    assert _snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_interrupt_of_a_first_run_leaves_nothing(tmp_path, monkeypatch, capsys):
    import raman_sk.evaluation

    def interrupt(*args, **kwargs):
        raise _Stop

    monkeypatch.setattr(raman_sk.evaluation, "fold_predictions", interrupt)
    code, err = _reproduce_interrupted(tmp_path, capsys, overwrite=False)
    assert code == 130 and "interrupted" in err
    assert list(tmp_path.iterdir()) == []
