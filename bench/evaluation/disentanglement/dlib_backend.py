"""The same record as `compute_all`, computed by disentanglement-lib's own public functions.

For cross-checks and for quoting numbers "as dlib computes them". disentanglement-lib is
imported only when called: it pulls in TensorFlow (<= 2.15, through gin.tf), which the
default install does not have.

dlib's settings come from gin: the histogram discretiser (20 bins) and FactorVAE's prune
threshold (0.05) are bound here for the duration of the call, and gin's config is cleared
afterwards. DCI's boosted trees (and SAP's LinearSVC) draw from numpy's global
RandomState; it is seeded with `gbt_random_state` (0) before each metric, which makes
dlib's DCI reproducible and equal to ours, and restored afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from bench.errors import BenchError
from bench.evaluation.disentanglement import KEYS, check_settings, fresh_random_state
from bench.evaluation.disentanglement.dci import GBT_SEED
from bench.evaluation.disentanglement.discretize import NUM_BINS
from bench.evaluation.disentanglement.factor_vae import PRUNE_THRESHOLD
from bench.evaluation.disentanglement.ground_truth import (
    GroundTruthData,
    RepresentationFunction,
    check_ground_truth,
)
from bench.files import sha256_of
from bench.tracking import progress

INSTALL_HINT = (
    "pip install numpy'<2' gin-config==0.4.0 tensorflow-cpu==2.15.1 six absl-py && "
    "pip install --no-deps disentanglement-lib==1.5 (or: tox -e dlib)"
)

# Our group -> (dlib module, its public function, {our key: dlib's key}); dlib's study defaults.
_DLIB = {
    "beta_vae": ("beta_vae", "compute_beta_vae_sklearn", {"beta_vae": "eval_accuracy"},
                 {"batch_size": 64, "num_train": 10000, "num_eval": 5000}),
    "factor_vae": ("factor_vae", "compute_factor_vae", {"factor_vae": "eval_accuracy"},
                   {"batch_size": 64, "num_train": 10000, "num_eval": 5000, "num_variance_estimate": 10000}),
    "mig": ("mig", "compute_mig", {"mig": "discrete_mig"}, {"num_train": 10000, "batch_size": 16}),
    "dci": ("dci", "compute_dci",
            {"dci_disentanglement": "disentanglement", "dci_completeness": "completeness",
             "dci_informativeness": "informativeness_test"},
            {"num_train": 10000, "num_test": 5000, "batch_size": 16}),
    "sap": ("sap_score", "compute_sap", {"sap": "SAP_score"},
            {"num_train": 10000, "num_test": 5000, "batch_size": 16, "continuous_factors": False}),
    "modularity_explicitness": ("modularity_explicitness", "compute_modularity_explicitness",
                                {"modularity": "modularity_score", "explicitness": "explicitness_score_test"},
                                {"num_train": 10000, "num_test": 5000, "batch_size": 16}),
    "irs": ("irs", "compute_irs", {"irs": "IRS"}, {"num_train": 10000, "batch_size": 16}),
}


def import_dlib():
    """disentanglement_lib's metrics package and gin, or a one-line BenchError saying how to get them."""
    try:
        import gin
        from disentanglement_lib.evaluation import metrics
        from disentanglement_lib.evaluation.metrics import (  # noqa: F401  registers the gin configurables
            beta_vae,
            dci,
            factor_vae,
            irs,
            mig,
            modularity_explicitness,
            sap_score,
            utils,
        )
    except Exception as exc:  # ImportError, or TensorFlow/gin failing to import
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise BenchError(
            f"metrics backend 'dlib' needs disentanglement-lib ({type(exc).__name__}: {first_line}); "
            f"install it with: {INSTALL_HINT}"
        ) from exc
    return metrics, gin


# disentanglement-lib's UDR (evaluation/udr/metrics/udr.py) is not in its 1.5 release on PyPI
# (the folder has no __init__.py, so setuptools left it out): it is read from the source at
# google-research/disentanglement_lib@86a644d (its last commit, 2020-08-26), a file named by
# $DLIB_UDR_SOURCE and checked by this digest
DLIB_UDR_COMMIT = "86a644d4ed35c771560dc3360756363d35477357"
DLIB_UDR_PATH = "disentanglement_lib/evaluation/udr/metrics/udr.py"
DLIB_UDR_SHA256 = "f49edd64b8e8bbcc4eec6a399bddb4f3a519278cdc60b6ebcaede0fd11467e57"
DLIB_UDR_URL = f"https://raw.githubusercontent.com/google-research/disentanglement_lib/{DLIB_UDR_COMMIT}/{DLIB_UDR_PATH}"


def import_dlib_udr():
    """disentanglement-lib's UDR module: importable (a source checkout on the path), else the
    file $DLIB_UDR_SOURCE if it is that commit's; otherwise a one-line BenchError."""
    import_dlib()
    try:
        from disentanglement_lib.evaluation.udr.metrics import udr

        return udr
    except ImportError:
        pass
    source = os.environ.get("DLIB_UDR_SOURCE", "")
    hint = (f"disentanglement-lib 1.5 does not ship its UDR; set DLIB_UDR_SOURCE to {DLIB_UDR_PATH} of "
            f"google-research/disentanglement_lib at {DLIB_UDR_COMMIT[:7]} ({DLIB_UDR_URL}; `tox -e dlib` fetches it "
            "where GitHub is reachable)")
    if not source or not Path(source).is_file():
        raise BenchError(f"{hint}; {'no file at ' + source if source else 'DLIB_UDR_SOURCE is not set'}")
    digest = sha256_of(Path(source))
    if digest != DLIB_UDR_SHA256:
        raise BenchError(f"{source} is not dlib's UDR at {DLIB_UDR_COMMIT[:7]} (SHA-256 {digest[:16]}..., expected "
                         f"{DLIB_UDR_SHA256[:16]}...); {hint}")
    spec = importlib.util.spec_from_file_location("dlib_udr", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fetch_dlib_udr(target: Path) -> str:
    """Download dlib's UDR source to `target` (for `tox -e dlib`), checked by its digest; a
    line saying what happened (no network is not an error: the UDR tests then skip)."""
    import urllib.request

    target = Path(target)
    if target.is_file() and sha256_of(target) == DLIB_UDR_SHA256:
        return f"dlib's UDR source: {target}"
    try:
        with urllib.request.urlopen(DLIB_UDR_URL, timeout=20) as response:
            data = response.read()
    except OSError as exc:
        return f"dlib's UDR source not fetched ({exc}); the UDR reference tests skip (see DLIB_UDR_SOURCE)"
    if hashlib.sha256(data).hexdigest() != DLIB_UDR_SHA256:
        return f"dlib's UDR source from {DLIB_UDR_URL} has another digest; not used"
    target.write_bytes(data)
    return f"dlib's UDR source: {target}"


@contextlib.contextmanager
def dlib_gin(num_bins: int = NUM_BINS, prune_threshold: float = PRUNE_THRESHOLD) -> Iterator[None]:
    """dlib's study gin bindings for the discretiser and FactorVAE's pruning, cleared on exit."""
    _, gin = import_dlib()
    gin.clear_config()
    gin.parse_config(
        [
            "discretizer.discretizer_fn = @histogram_discretizer",
            f"discretizer.num_bins = {int(num_bins)}",
            f"prune_dims.threshold = {float(prune_threshold)!r}",
        ]
    )
    try:
        yield
    finally:
        gin.clear_config()


@contextlib.contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """numpy's global RandomState seeded for the block, then put back as it was."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def compute_all_dlib(
    ground_truth_data: GroundTruthData,
    representation_function: RepresentationFunction,
    random_state: int | np.random.RandomState,
    *,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, float]:
    """`compute_all`'s record (same keys, same per-metric random streams), by dlib."""
    metrics, _ = import_dlib()
    check_ground_truth(ground_truth_data)
    settings = check_settings(settings)
    out: dict[str, float] = {}
    with progress.bar("disentanglement metrics (disentanglement-lib)", total=len(_DLIB), unit="metric") as bar:
        for name, (module, function, keys, defaults) in _DLIB.items():
            bar.set_postfix_str(name, refresh=False)
            kwargs = {**defaults, **settings.get(name, {})}
            num_bins = kwargs.pop("num_bins", NUM_BINS)
            prune_threshold = kwargs.pop("prune_threshold", PRUNE_THRESHOLD)
            seed = kwargs.pop("gbt_random_state", GBT_SEED)
            compute = getattr(getattr(metrics, module), function)
            with dlib_gin(num_bins, prune_threshold), seeded_global_numpy(seed):
                scores = compute(ground_truth_data, representation_function, fresh_random_state(random_state),
                                 **kwargs)
            out.update({ours: float(scores[theirs]) for ours, theirs in keys.items()})
            bar.update(1)
    assert tuple(out) == KEYS
    return out
