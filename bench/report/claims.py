"""What the papers claim, with the papers cited by title, authors and year.

CLAIMS: test error (%) of unsupervised clustering with K clusters on a dataset (every claim
so far is MNIST's). `method` is this suite's adapter name where one exists; a claim whose
method the suite does not implement (yet) still appears in its dataset's table, marked "not
run". NO_CLAIM: per dataset, the suite's methods whose paper claims no error there, and
why. The AAE's 16-cluster figure (9.55 ± 2.05) could not be checked against the paper's text here; its 30-cluster figure is quoted alike by the
LatentGAN-AE and InfoAE papers (the latter prints ± 1.12).
"""

from __future__ import annotations

import pandas as pd

INFOGAN = ("Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, \"InfoGAN: Interpretable Representation "
           "Learning by Information Maximizing Generative Adversarial Nets\", arXiv:1606.03657")
AAE = "Makhzani, Shlens, Jaitly, Goodfellow & Frey 2015, \"Adversarial Autoencoders\", arXiv:1511.05644"
CATGAN = ("Springenberg 2015, \"Unsupervised and Semi-supervised Learning with Categorical Generative "
          "Adversarial Networks\", arXiv:1511.06390")
PIXELGAN = "Makhzani & Frey 2017, \"PixelGAN Autoencoders\", arXiv:1706.00531"
LATENTGAN = ("Kalwar, Aich & Dixit 2022, \"LatentGAN Autoencoder: Learning Disentangled Latent Distribution\", "
             "arXiv:2204.02010")
INFOAE = ("Haque, Latif & Rana 2019, \"Disentangled Representation Learning with Information Maximizing "
          "Autoencoder\", arXiv:1904.08613")
UNROLLED = "Khandait, \"Unsupervised Disentangled Representation Learning\", IIT Bombay project report"

CLAIMS = pd.DataFrame(
    [
        ("mnist", "infogan", 10, 5.0, None, INFOGAN),  # "5% error rate", no spread given
        ("mnist", "aae", 16, 9.55, 2.05, AAE),
        ("mnist", "aae", 30, 4.10, 1.13, AAE),
        ("mnist", "catgan", 20, 4.27, None, CATGAN),
        ("mnist", "pixelgan_ae", 30, 5.27, 1.81, PIXELGAN),
        ("mnist", "latentgan_ae", 10, 2.38, 0.38, LATENTGAN),
        ("mnist", "infoae", 10, 1.1, 0.1, INFOAE),
    ],
    columns=["dataset", "method", "K", "claimed_mean", "claimed_std", "source"],
)

NO_CLAIM = {
    "mnist": {
        "learned_prior_aae": ("none: the paper reports no MNIST error (its ResNet autoencoder replaced and the "
                              "Q read-out for clustering are this suite's choices)"),
        "unrolled_infogan": "none: the report gives Q losses only",
        "ae_kmeans": "none: a baseline",
        "kmeans_pixels": "none: a baseline",
    },
}

# Unrolled InfoGAN's final Q losses per unroll steps K (the table under the report's
# Fig. 12). Its code logs them as the last minibatch's CE and 0.1 x the Gaussian NLL with a
# learned std (see bench.methods.unrolled_infogan); `procedure` is the `unroll_rule` that
# runs the code that produced each: K = 0 its train.py, the others its look-ahead.
QLOSS_CLAIMS = pd.DataFrame(
    [("mnist", 0, "folded_q", 0.14, 0.02), ("mnist", 5, "lookahead", 0.076, 0.006),
     ("mnist", 7, "lookahead", 0.072, 0.0015), ("mnist", 10, "lookahead", 0.012, 0.0006)],
    columns=["dataset", "K", "procedure", "continuous", "discrete"],
)


def claimed_datasets() -> set[str]:
    """The datasets some paper claims a clustering error on: their tables carry claim columns."""
    return set(CLAIMS["dataset"])
