"""The MNIST test errors (%) the papers claim for unsupervised clustering (DESIGN.md).

`method` is this suite's adapter name when one exists; rows whose method the suite
does not implement (yet) still appear in the table, marked "not run".
"""

from __future__ import annotations

import pandas as pd

CLAIMS = pd.DataFrame(
    [
        ("infogan", 10, 5.0, 0.01, "Chen et al. 2016 (via LatentGAN/InfoAE Table 1)"),
        ("aae", 16, 9.55, 2.05, "Makhzani et al. 2016"),
        ("aae", 30, 4.10, 1.13, "Makhzani et al. 2016"),
        ("catgan", 20, 4.27, None, "Springenberg 2015"),
        ("pixelgan_ae", 30, 5.27, 1.81, "Makhzani & Frey 2017"),
        ("latentgan_ae", 10, 2.38, 0.38, "papers/latentgan-autoencoder.txt"),
        ("infoae", 10, 1.1, 0.1, "papers/infoae.txt"),
    ],
    columns=["method", "K", "claimed_mean", "claimed_std", "source"],
)

# Unrolled InfoGAN's final Q losses per unroll steps K (Khandait's report, the
# table under Fig. 12). The paper does not define the losses' exact form or scale.
QLOSS_CLAIMS = pd.DataFrame(
    [(0, 0.14, 0.02), (5, 0.076, 0.006), (7, 0.072, 0.0015), (10, 0.012, 0.0006)],
    columns=["K", "continuous", "discrete"],
)
