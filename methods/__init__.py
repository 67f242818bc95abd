"""Method adapters. Importing this package registers every built-in method."""

from methods import (  # noqa: F401
    aae,
    ae_kmeans,
    infoae,
    infogan,
    kmeans_pixels,
    latentgan_ae,
    learned_prior_aae,
    unrolled_infogan,
)
