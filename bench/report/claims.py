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
LEARNED_PRIOR = "Wang, Ko & Peng, \"Learning Priors for Adversarial Autoencoders\", National Chiao Tung University"
METZ = ("Metz, Poole, Pfau & Sohl-Dickstein 2016, \"Unrolled Generative Adversarial Networks\", arXiv:1611.02163 "
        "(its Fig. 1, as the unrolled-InfoGAN report's Fig. 3 shows it)")
# DEC, IDEC and VaDE cluster all 70,000 MNIST images (train + test) at once and score that
# clustering; the suite trains on the 60,000 training images and scores the 10,000 test ones
ALL_70K = ("accuracy on all 70,000 MNIST images (train + test) clustered together, no spread given; "
           "the suite trains on the 60,000 and scores the 10,000 test images")
CLUSTERGAN = ("Mukherjee, Asnani, Lin & Kannan 2019, \"ClusterGAN: Latent Space Clustering in Generative Adversarial "
              "Networks\", arXiv:1809.03627 (the authors' README, 10 runs, mean (std): ACC 0.9097 (0.0398), NMI "
              "0.8544 (0.0361), ARI 0.8290 (0.0621), test split; the paper's ACC 0.95, NMI 0.89, ARI 0.89 is its best of 5 models "
              "by validation purity; its ACC is purity, i.e. many-to-one)")
VADE = ("Jiang, Zheng, Tan, Tang & Zhou 2017, \"Variational Deep Embedding: An Unsupervised and Generative Approach to "
        "Clustering\", arXiv:1611.05148 (94.46 %, " + ALL_70K + ")")
DEC = ("Xie, Girshick & Farhadi 2016, \"Unsupervised Deep Embedding for Clustering Analysis\", arXiv:1511.06335 "
       "(84.30 %, " + ALL_70K + ")")
IDEC = ("Guo, Gao, Liu & Yin 2017, \"Improved Deep Embedded Clustering with Local Structure Preservation\", "
        "IJCAI 2017, no arXiv version (88.06 %, " + ALL_70K + ")")

CLAIMS = pd.DataFrame(
    [
        ("mnist", "infogan", 10, 5.0, None, INFOGAN),  # "5% error rate", no spread given
        ("mnist", "aae", 16, 9.55, 2.05, AAE),
        ("mnist", "aae", 30, 4.10, 1.13, AAE),
        ("mnist", "catgan", 20, 4.27, None, CATGAN),
        ("mnist", "pixelgan_ae", 30, 5.27, 1.81, PIXELGAN),
        ("mnist", "latentgan_ae", 10, 2.38, 0.38, LATENTGAN),
        ("mnist", "infoae", 10, 1.1, 0.1, INFOAE),
        ("mnist", "clustergan", 10, 9.03, 3.98, CLUSTERGAN),  # 100 - 90.97 ± 3.98 (README, 10 runs)
        ("mnist", "vade", 10, 5.54, None, VADE),  # 100 - 94.46
        ("mnist", "dec", 10, 15.70, None, DEC),  # 100 - 84.30
        ("mnist", "idec", 10, 11.94, None, IDEC),  # 100 - 88.06
    ],
    columns=["dataset", "method", "K", "claimed_mean", "claimed_std", "source"],
)

# claimed NMI and ARI, where a paper gives them (ClusterGAN's authors' README, 10 runs)
CLAIMS["claimed_nmi"] = CLAIMS["method"].map({"clustergan": 0.8544})
CLAIMS["claimed_ari"] = CLAIMS["method"].map({"clustergan": 0.8290})

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


# Claims about what generators draw, judged in the generation table: the method's default
# against a `baseline` setting of it, on a `measure` of bench.evaluation.generation. The
# learned-prior AAE paper's evidence is the inception score on CIFAR-10; on MNIST it says
# both priors "work well", so its claim is tested here with the MNIST classifier's score.
GENERATION_CLAIMS = pd.DataFrame(
    [("learned_prior_aae", "classifier_score", {"prior": "fixed"},
      "better samples than the fixed prior (the paper: higher inception score on CIFAR-10)", LEARNED_PRIOR)],
    columns=["method", "measure", "baseline", "text", "source"],
)

# The unrolled-InfoGAN report's Fig. 3 (Metz et al.'s Fig. 1): with K = 10 unrolling steps
# the generator covers every mode of the ring of 8 Gaussians; without unrolling it collapses.
# A claim is a value (`value` modes) or a comparison with another K (`versus`: that K
# covers more modes than this one).
MODE_CLAIMS = pd.DataFrame(
    [("ring2d", 10, 8.0, None, "all 8 modes covered", UNROLLED + "; after " + METZ),
     ("ring2d", 0, None, 10, "collapse without unrolling: K=10 covers more modes than K=0",
      UNROLLED + "; after " + METZ)],
    columns=["dataset", "K", "value", "versus", "text", "source"],
)
