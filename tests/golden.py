"""Golden trajectories: what each method computes, pinned exactly on any CPU.

Every built-in method (and the variants below) trains 12 steps through the real
`Trainer` in float64, at batch 16, on the procedural toy images (`tests.plugin`), seed 0;
a method's protocol on another dataset (unrolled InfoGAN's on the 2-D mixtures) trains on
that dataset, at its smoke preset there.
The record of a case is each step's losses, a digest of the final weights (per top-level
module: the L2 norm and a fixed random projection of its parameters and buffers) and how
many toy test images fall in each cluster. Float64 on one thread over a dozen steps leaves the
differences between CPUs (vector widths, BLAS and oneDNN kernels) near 1e-15, far below
the rtol of 1e-6 these are compared at, while any change to a loss, a network, a default,
an optimizer setting or the data path moves them by far more.

`python -m tests.golden --record` re-records tests/golden_trajectories.json: only for a
change that is meant to alter what a method computes, and the commit says so.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from bench import config as config_lib
from bench import list_methods
from bench.datasets.base import load_dataset
from bench.evaluation.harness import predict_clusters
from bench.registry import METHODS
from bench.rng import seed_everything
from tests.helpers import train_alone
from tests.plugin import TEST_METHODS, load_toy

GOLDEN = Path(__file__).with_name("golden_trajectories.json")
RTOL, ATOL = 1e-6, 1e-9
STEPS, BATCH = 12, 16
TRAINING = {"steps": STEPS, "batch_size": BATCH, "log_every": 1, "checkpoint_every": 0, "eval_every": 0,
            "train_size": None}
# the authors' InfoGAN as it ran before the authors' details became the defaults (issue 14);
# its trajectory equals the one recorded for "infogan" before that change
INFOGAN_BEFORE = {"eval_bn": "running", "init": "pytorch", "leaky_slope": 0.2, "mi_cont": "mean",
                  "native_input": False, "noise": "uniform"}
# settings that take a code path of their own, beyond each method's smoke-preset defaults
VARIANTS = {
    "unrolled_infogan": [{"k": 2}, {"k": 2, "unroll_rule": "adam"}, {"k": 2, "unroll_rule": "sgd"}, {"k": 0},
                         {"k": 0, "unroll_rule": "folded_q"}],
    "learned_prior_aae": [{"prior": "fixed"}, {"n_continuous": 2, "pixel_weight": 0.5}],
    "infoae": [{"d_on_recon": False, "class_e_through_decoder": False, "generator_vs_critic": True},
               {"weighting": "gamma_recon", "recon_loss": "l1"}, {"recon_weight": 10.0},
               {"recon_reduction": "mean"}, {"recon_reduction": "sum"}],  # "mean": the default before issue 23
    "infogan": [{"q_learn_std": True}, INFOGAN_BEFORE],
    "aae": [{"d_input_noise": 0.0}, {"optimizer": "sgd", "lr_decay_step": 6}],
    # before issue 23 (f(x) after D's update, the differentiable unroll): the old defaults'
    # trajectories, recorded before as "vae_gan", "vae_gan[k=1]" and "vae_infogan"
    "vae_gan": [{"k": 1}, {"real_features": "after_d"}, {"k": 1, "unroll_rule": "adam", "real_features": "after_d"}],
    "vae_infogan": [{"k": 0, "n_categories": 3}, {"k": 1, "unroll_rule": "adam"}],
    # dlib's beta-VAE (Bernoulli decoder, log-variance posterior); the capacity past its ramp
    "beta_vae": [{"reconstruction": "bernoulli", "posterior": "log_var"}],
    "annealed_vae": [{"iteration_threshold": 6}],
    # a dlib model with the author's decoder and posterior
    "beta_tcvae": [{"reconstruction": "squared_error", "posterior": "softplus"}],
}
# a method's own protocol on another dataset (its "smoke@DATASET" preset): case "method@dataset[...]"
ON_DATASETS = {
    ("unrolled_infogan", "ring2d"): [{"k": 2}, {"k": 0}, {"k": 2, "unroll_rule": "lookahead"}],
}


# methods trained in stages: stages short enough that the 12 steps pass through each of them
STAGES = {
    "dec": {"pretrain_steps": 5, "update_interval": 3},
    "idec": {"pretrain_steps": 5, "update_interval": 3},
    "vade": {"pretrain_steps": 5},
}
VARIANTS.update({
    "dec": [{"pretrain": "layerwise", "layer_steps": 2, "finetune_steps": 2, "update_interval": 2}, {"tol": 0.0}],
    "vade": [{"pi": "softmax"}],
    "clustergan": [{"cluster_by": "argmax"}],
})


def _label(variant: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(variant.items()))


def cases() -> dict[str, tuple[str, dict, str]]:
    """Case name -> (method, --set overrides, dataset), for every built-in method and variant."""
    out = {}
    for name in list_methods():
        if name in TEST_METHODS:
            continue
        stages = STAGES.get(name, {})
        out[name] = (name, stages, "toy")
        for variant in VARIANTS.get(name, []):
            out[f"{name}[{_label(variant)}]"] = (name, {**stages, **variant}, "toy")
    for (name, dataset), variants in ON_DATASETS.items():
        for variant in variants:
            out[f"{name}@{dataset}[{_label(variant)}]"] = (name, variant, dataset)
    return out


def _projection(n: int) -> torch.Tensor:
    return torch.rand(n, generator=torch.Generator().manual_seed(n), dtype=torch.float64) * 2 - 1


def weight_digest(method) -> dict[str, list[float]]:
    """Per top-level module: [L2 norm, fixed random projection] of its floating-point state."""
    out = {}
    for child, module in method.named_children():
        values = [t.detach().double().flatten() for t in module.state_dict().values() if t.is_floating_point()]
        if values:
            flat = torch.cat(values)
            out[child] = [float(flat.norm()), float(flat @ _projection(len(flat)))]
    return out


def trajectory(name: str, overrides: dict, dataset: str = "toy") -> dict:
    """Train one case in float64 and return what the golden file holds for it."""
    previous, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    # one thread: a reduction split over threads sums in another order, and a few Adam steps
    # (the look-ahead discriminator's) can lift that last-bit difference past the tolerance
    torch.set_num_threads(1)
    try:
        cls = METHODS.get(name)
        (own,) = config_lib.applicable([cls], {**TRAINING, **overrides})
        train, method_config = config_lib.resolve(cls, "smoke", own, dataset)
        seed_everything(0)
        data = load_toy(None) if dataset == "toy" else load_dataset(dataset, Path("unused"))
        method = cls(method_config, image_shape=data.image_shape)
        outcome = train_alone(method, data, train)
        assert outcome.status == "completed", outcome.message
        clusters = predict_clusters(method, data.test_x, 100)
        return {
            "losses": [{k: v for k, v in row.items() if k != "step"} for row in outcome.losses],
            "weights": weight_digest(method),
            "cluster_sizes": torch.bincount(clusters, minlength=method.n_clusters).tolist(),
        }
    finally:
        torch.set_default_dtype(previous)
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true", help=f"write {GOLDEN.name}")
    parser.add_argument("cases", nargs="*", help="only these cases (default: all)")
    args = parser.parse_args()
    import tests.plugin  # noqa: F401  (registers the toy dataset)

    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    for case, (name, overrides, dataset) in cases().items():
        if args.cases and case not in args.cases:
            continue
        golden[case] = trajectory(name, overrides, dataset)
        print(case, golden[case]["losses"][-1:], golden[case]["cluster_sizes"])
    if args.record:
        known = cases()
        GOLDEN.write_text(json.dumps({k: golden[k] for k in sorted(golden) if k in known}, indent=1) + "\n")
        print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
