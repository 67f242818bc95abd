"""bench: one harness to train and evaluate GAN/autoencoder hybrids the same way."""

__version__ = "0.1.0"
