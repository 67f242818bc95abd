"""bench: one harness to train and evaluate GAN/autoencoder hybrids the same way.

Importing the package registers the built-in datasets and methods, once. `bench.run` and
`bench.load_records` (`bench.api`) are the Python API: a sweep and its records.
"""

__version__ = "0.1.0"

from bench import datasets, methods  # noqa: E402,F401  (they register themselves)
from bench.api import load_records, run  # noqa: E402
from bench.factory import create_method, list_methods  # noqa: E402

__all__ = ["create_method", "list_methods", "load_records", "run"]
