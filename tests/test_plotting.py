"""Figures: each renders to PNG, draws what it is given, and rejects bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402

from raman_sk import plotting  # noqa: E402
from raman_sk.classifier import RamanCNNClassifier  # noqa: E402
from raman_sk.explain import IGExplainer  # noqa: E402

W = np.arange(600.0, 1100.0, 2.0)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png(obj, path):
    fig = obj if isinstance(obj, matplotlib.figure.Figure) else obj.figure
    fig.savefig(path, dpi=60)
    assert path.stat().st_size > 2_000
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def _regions():
    return pd.DataFrame({
        "class": ["alpha", "alpha", "beta"],
        "start": [694.0, 990.0, 810.0], "end": [706.0, 1010.0, 830.0],
        "peak": [700.0, 1000.0, 820.0], "score": [0.7, 0.2, 0.9],
        "assignment": ["db peak ~702 cm⁻¹: 19 database spectra (e.g. a, b, …)",
                       "Phenylalanine ring breathing [Proteins]", "x"],
        "map": ["contrastive_ig"] * 3,
    })


def test_class_distribution(tmp_path):
    ax = plotting.plot_class_distribution(["b", "a", "b", "c", "b", "a"])
    _png(ax, tmp_path / "dist.png")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    assert dict(zip(labels, widths, strict=True)) == {"c": 1, "a": 2, "b": 3}
    assert labels[-1] == "b"  # largest class on top
    assert ax.get_title() == "Spectra per class (n = 6)"
    with pytest.raises(ValueError, match="y is empty"):
        plotting.plot_class_distribution([])


def test_training_curves(tmp_path):
    history = [
        {"epoch": 1, "train_loss": 1.0, "valid_loss": 0.9, "valid_acc": 0.5},
        {"epoch": 2, "train_loss": 0.6, "valid_loss": 0.4, "valid_acc": 0.75},
        {"epoch": 3, "train_loss": 0.3, "valid_loss": 0.5, "valid_acc": 0.8},
    ]
    fig = plotting.plot_training_curves(history)
    _png(fig, tmp_path / "curves.png")
    loss_ax, acc_ax = fig.axes
    lines = {ln.get_label(): ln for ln in loss_ax.get_lines()}
    np.testing.assert_array_equal(lines["train"].get_ydata(), [1.0, 0.6, 0.3])
    np.testing.assert_array_equal(lines["validation"].get_ydata(), [0.9, 0.4, 0.5])
    assert "lowest validation loss (epoch 2)" in lines
    np.testing.assert_array_equal(
        [ln.get_ydata() for ln in acc_ax.get_lines() if ln.get_label() == "validation"
         ][0], [0.5, 0.75, 0.8])
    # a DataFrame without epoch or accuracy; drawn on given Axes
    fig2, axes = plt.subplots(1, 2)
    out = plotting.plot_training_curves(pd.DataFrame({"train_loss": [2.0, 1.0]}),
                                        ax=axes)
    assert out is fig2
    np.testing.assert_array_equal(axes[0].get_lines()[0].get_xdata(), [1, 2])
    assert "no accuracy recorded" in axes[1].texts[0].get_text()
    with pytest.raises(ValueError, match="'train_loss'"):
        plotting.plot_training_curves([{"epoch": 1, "loss": 1.0}])
    with pytest.raises(ValueError, match="two Axes"):
        plotting.plot_training_curves(history, ax=axes[0])
    with pytest.raises(TypeError, match="skorch History"):
        plotting.plot_training_curves(3)


def test_training_curves_from_skorch_history(synthetic):
    from skorch.dataset import ValidSplit

    clf = RamanCNNClassifier(max_epochs=2, batch_size=12, random_state=0, n_threads=1,
                             train_split=ValidSplit(3, stratified=True),
                             module__channels=(2,), module__kernel_sizes=(3,),
                             module__convs_per_block=1, module__hidden=4)
    clf.fit(synthetic.data, synthetic.target)
    fig = plotting.plot_training_curves(clf.history)
    assert len(fig.axes[0].get_lines()[0].get_ydata()) == 2


def test_confusion_matrix(tmp_path):
    ax = plotting.plot_confusion_matrix(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    _png(ax, tmp_path / "cm.png")
    assert [t.get_text() for t in ax.texts] == ["1", "1", "0", "2"]
    assert ax.get_title() == "Confusion matrix (accuracy 75.0%, n = 4)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    ax = plotting.plot_confusion_matrix(["a", "a", "b", "b"], ["a", "b", "b", "b"],
                                        labels=["b", "a"], normalize="true")
    assert [t.get_text() for t in ax.texts] == [
        "1.00\n(2)", "0.00\n(0)", "0.50\n(1)", "0.50\n(1)"]
    # a precomputed matrix, as the CLI has it
    ax = plotting.plot_confusion_matrix(np.array([[3, 1], [0, 4]]),
                                        labels=["x", "y"], normalize="pred")
    assert [t.get_text() for t in ax.texts][:2] == ["1.00\n(3)", "0.20\n(1)"]
    with pytest.raises(ValueError, match="normalize must be one of"):
        plotting.plot_confusion_matrix(["a"], ["a"], normalize="rows")
    with pytest.raises(ValueError, match="square confusion matrix"):
        plotting.plot_confusion_matrix(np.ones((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        plotting.plot_confusion_matrix(["a", "b"], ["a"])


def test_class_saliency(tmp_path):
    spectrum = np.exp(-0.5 * ((W - 700) / 6) ** 2)
    saliency = spectrum - 0.5 * np.exp(-0.5 * ((W - 820) / 6) ** 2)
    ax = plotting.plot_class_saliency(W, spectrum, saliency, regions=_regions(),
                                      class_name="alpha")
    _png(ax, tmp_path / "saliency.png")
    twin = ax.figure.axes[1]
    assert ax.get_xlabel() == "Raman shift (cm⁻¹)"
    assert twin.get_ylabel() == "class-contrastive IG"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), spectrum)
    fills = [c for c in twin.collections if isinstance(c, PolyCollection)]
    assert len(fills) == 2  # signed: positive and negative parts
    spans = list(ax.patches)
    assert len(spans) == 2  # only alpha's regions
    assert [a.get_text() for a in ax.texts if a.get_text().startswith("#")] == [
        "#1", "#2"]
    listing = [t.get_text() for t in ax.texts if t.get_text().startswith("Top")][0]
    assert "#1  694–706 cm⁻¹ (peak 700): db: 19 database spectra  [70%" in listing
    assert "#2  990–1010 cm⁻¹ (peak 1000): Phenylalanine ring breathing" in listing
    # unsigned map: one fill; no regions: no listing
    ax = plotting.plot_class_saliency(W, spectrum, np.abs(saliency))
    assert len([c for c in ax.figure.axes[1].collections
                if isinstance(c, PolyCollection)]) == 1
    assert len(ax.texts) == 0
    with pytest.raises(ValueError, match="saliency has 10 values but wavenumbers"):
        plotting.plot_class_saliency(W, spectrum, np.ones(10))
    with pytest.raises(ValueError, match="columns start, end, peak"):
        plotting.plot_class_saliency(W, spectrum, saliency,
                                     regions=pd.DataFrame({"start": [1.0]}))


def test_saliency_heatmap(tmp_path):
    maps = np.vstack([np.linspace(0, 2, len(W)), np.linspace(-1, 0.5, len(W))])
    ax = plotting.plot_saliency_heatmap(W, maps, ["a", "b"])
    _png(ax, tmp_path / "heat.png")
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    shown = np.asarray(mesh.get_array()).reshape(2, len(W))
    np.testing.assert_allclose(shown[0, -1], 1.0)  # each row / its max |value|
    np.testing.assert_allclose(shown[1, 0], -1.0)
    np.testing.assert_allclose(shown[1, -1], 0.5)
    assert mesh.get_cmap().name == "RdBu_r"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    ax = plotting.plot_saliency_heatmap(W[::-1], np.abs(maps), ["a", "b"])
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    assert mesh.get_cmap().name == "magma_r"
    with pytest.raises(ValueError, match=r"expected \(3, 250\)"):
        plotting.plot_saliency_heatmap(W, maps, ["a", "b", "c"])


def test_attribution(tmp_path):
    attr = np.sin(W / 30)
    ax = plotting.plot_attribution(W, np.ones_like(W), attr)
    _png(ax, tmp_path / "attr.png")
    assert ax.get_title() == f"Integrated Gradients (sum = {attr.sum():.3g})"
    assert ax.figure.axes[1].get_ylabel() == "IG"
    fig, own = plt.subplots()
    assert plotting.plot_attribution(W, np.ones_like(W), attr, title="t", ax=own) is own
    with pytest.raises(ValueError, match="spectrum must be 1-D"):
        plotting.plot_attribution(W, np.ones((2, len(W))), attr)


def test_explainer_figures(synthetic, tmp_path):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clf = RamanCNNClassifier(max_epochs=8, lr=1e-2, batch_size=8, random_state=0,
                                 n_threads=1, module__channels=(4, 8),
                                 module__kernel_sizes=(5, 3),
                                 module__convs_per_block=1, module__hidden=16)
        clf.fit(synthetic.data, synthetic.target)
        ig = IGExplainer(clf, n_steps=16, n_per_class=3, random_state=0,
                         tolerance=10.0, wavenumbers=synthetic.wavenumbers).fit(
            synthetic.data, synthetic.target)
    finally:
        torch.set_num_threads(old)
    ax = plotting.plot_explainer_saliency(ig, "beta", synthetic.data,
                                          synthetic.target, n_regions=2)
    _png(ax, tmp_path / "saliency_beta.png")
    n_beta = min(2, int((ig.regions_["class"] == "beta").sum()))
    assert len(ax.patches) == n_beta
    assert ax.figure.axes[1].get_ylabel() == "class-contrastive IG"
    mean = synthetic.data[synthetic.target == "beta"].mean(axis=0)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), mean)
    ax = plotting.plot_explainer_saliency(ig, "beta", synthetic.data,
                                          synthetic.target, map="abs_ig")
    assert len(ax.patches) == 0 and ax.figure.axes[1].get_ylabel() == "mean |IG|"
    ax = plotting.plot_explainer_heatmap(ig)
    _png(ax, tmp_path / "heat.png")
    assert ax.get_title() == "Saliency per class: class-contrastive IG"
    with pytest.raises(ValueError, match="class_name 'delta' is not a class"):
        plotting.plot_explainer_saliency(ig, "delta", synthetic.data,
                                         synthetic.target)
    with pytest.raises(ValueError, match="map must be one of"):
        plotting.plot_explainer_heatmap(ig, map="gradcam")
    with pytest.raises(ValueError, match="one column per wavenumber"):
        plotting.plot_explainer_saliency(ig, "beta", synthetic.data[:, :10],
                                         synthetic.target)


def test_training_losses_of_several_networks(tmp_path):
    from raman_sk.plotting import plot_training_losses

    frame = pd.DataFrame(
        {
            "model": ["member 0"] * 3 + ["final_model"] * 3,
            "epoch": [1, 2, 3] * 2,
            "train_loss": [1.8, 0.9, 0.5, 1.7, 0.6, 0.01],
        }
    )
    ax = plot_training_losses(frame, by="model")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "member 0",
        "final_model",
    ]
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"  # spans decades
    assert ax.get_xlabel() == "Epoch" and "log scale" in ax.get_ylabel()
    _png(ax, tmp_path / "losses.png")
    flat = plot_training_losses({"a": [{"train_loss": 1.0}, {"train_loss": 0.8}]})
    assert flat.get_yscale() == "linear"
    assert flat.get_lines()[0].get_xdata().tolist() == [1, 2]
