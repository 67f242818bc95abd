"""Method adapters, imported as `bench.methods` (the folder is the repository's top-level
`methods/`). Importing this package registers every built-in method."""

from bench.methods import (  # noqa: F401
    aae,
    ae_kmeans,
    annealed_vae,
    beta_tcvae,
    beta_vae,
    clustergan,
    dec,
    dip_vae,
    factor_vae,
    idec,
    infoae,
    infogan,
    kmeans_pixels,
    latentgan_ae,
    learned_prior_aae,
    unrolled_infogan,
    vade,
    vae_gan,
    vae_infogan,
)
