"""Settings and helpers shared by the test modules."""

#: The smallest network the tests train: two one-conv blocks, a 16-unit head.
TINY_NET = {
    "module__channels": (4, 8),
    "module__kernel_sizes": (5, 3),
    "module__convs_per_block": 1,
    "module__hidden": 16,
}

#: Classifier settings for a tiny, fast, deterministic fit on the synthetic data.
TINY_FIT = {
    **TINY_NET,
    "lr": 1e-2,
    "batch_size": 8,
    "random_state": 0,
    "n_threads": 1,  # tiny nets: one thread is fastest and robust to busy CPUs
}

#: The out-of-domain scores of the prediction table, before ``out_of_domain``.
OOD_SCORES = ["embedding_distance", "energy", "disagreement", "ood_score"]
