"""Method adapters. Importing this package registers every built-in method."""

from methods import infogan, kmeans_pixels  # noqa: F401
