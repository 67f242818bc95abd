import pytest

from bench import create_method, list_methods
from bench.errors import BenchError
from bench.registry import METHODS, Registry


def make_registry():
    reg = Registry("widget")
    for name in ("infogan", "infoae", "aae"):
        reg.register(name)(lambda name=name: name)
    return reg


def test_resolve_all_glob_and_comma_list():
    reg = make_registry()
    assert reg.resolve("all") == ["aae", "infoae", "infogan"]
    assert reg.resolve("info*") == ["infoae", "infogan"]
    assert reg.resolve("infogan, aae,infogan") == ["infogan", "aae"]


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(BenchError, match=r"unknown widget 'nope'; available: aae, infoae, infogan"):
        make_registry().resolve("nope")


def test_glob_matching_nothing_is_an_error():
    with pytest.raises(BenchError, match="no widget matches 'x\\*'"):
        make_registry().resolve("x*")


def test_registering_a_name_twice_is_an_error():
    reg = make_registry()
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("aae")(lambda: None)


def test_builtin_methods_are_registered_and_created_with_overrides():
    assert {"infogan", "kmeans_pixels"} <= set(list_methods())
    assert list_methods("info*") == [n for n in METHODS.names() if n.startswith("info")]
    model = create_method("infogan", n_continuous=3)
    assert model.config.n_continuous == 3
    with pytest.raises(BenchError, match="not a valid int"):
        create_method("infogan", n_continuous="three")
