"""What the papers claim, with the papers cited by title, authors and year.

CLAIMS: MNIST test error (%) of unsupervised clustering with K clusters. `method` is this
suite's adapter name where one exists; a claim whose method the suite does not implement
(yet) still appears in the table, marked "not run". NO_CLAIM: the suite's methods whose
paper claims no MNIST error, and why. The AAE's 16-cluster figure (9.55 ± 2.05) could not
be checked against the paper's text here; its 30-cluster figure is quoted alike by the
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
        ("infogan", 10, 5.0, None, INFOGAN),  # "5% error rate", no spread given
        ("aae", 16, 9.55, 2.05, AAE),
        ("aae", 30, 4.10, 1.13, AAE),
        ("catgan", 20, 4.27, None, CATGAN),
        ("pixelgan_ae", 30, 5.27, 1.81, PIXELGAN),
        ("latentgan_ae", 10, 2.38, 0.38, LATENTGAN),
        ("infoae", 10, 1.1, 0.1, INFOAE),
    ],
    columns=["method", "K", "claimed_mean", "claimed_std", "source"],
)

NO_CLAIM = {
    "learned_prior_aae": ("none: the paper reports no MNIST error (its ResNet autoencoder replaced and the "
                          "Q read-out for clustering are this suite's choices)"),
    "unrolled_infogan": "none: the report gives Q losses only",
    "ae_kmeans": "none: a baseline",
    "kmeans_pixels": "none: a baseline",
}

# Unrolled InfoGAN's final Q losses per unroll steps K (the table under the report's
# Fig. 12). Its code logs them as the last minibatch's CE and 0.1 x the Gaussian NLL with a
# learned std (see bench.methods.unrolled_infogan).
QLOSS_CLAIMS = pd.DataFrame(
    [(0, 0.14, 0.02), (5, 0.076, 0.006), (7, 0.072, 0.0015), (10, 0.012, 0.0006)],
    columns=["K", "continuous", "discrete"],
)
