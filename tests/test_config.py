import pytest

from bench import config
from bench.errors import BenchError
from bench.registry import METHODS, load_builtins

load_builtins()
INFOGAN, KMEANS = METHODS.get("infogan"), METHODS.get("kmeans_pixels")


def test_parse_overrides_types():
    assert config.parse_overrides(["a=3", "b=0.5", "c=true", "d=none", "e=hello", "f=1e-3"]) == {
        "a": 3, "b": 0.5, "c": True, "d": None, "e": "hello", "f": 0.001,
    }
    with pytest.raises(BenchError, match="key=value"):
        config.parse_overrides(["novalue"])


def test_preset_then_method_refinement_then_overrides():
    train, method = config.resolve(INFOGAN, "paper", {})
    assert (train.steps, train.batch_size) == (5000, 128)  # the method's paper preset
    train, method = config.resolve(INFOGAN, "smoke", {"steps": 7, "lambda_cont": 2})
    assert train.steps == 7 and train.train_size == config.PRESETS["smoke"]["train_size"]
    assert method.lambda_cont == 2.0 and isinstance(method.lambda_cont, float)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"stepz": 3}, "unknown setting stepz"),
        ({"steps": "many"}, "not a valid int"),
        ({"steps": 0}, "steps must be >= 1"),
        ({"train_size": -5}, "train_size must be >= 1"),
        ({"q_learn_std": 3}, "not a valid bool"),
    ],
)
def test_bad_values_fail_with_one_line(overrides, message):
    with pytest.raises(BenchError, match=message):
        config.resolve(INFOGAN, "smoke", overrides)


def test_unknown_preset():
    with pytest.raises(BenchError, match="unknown preset 'huge'"):
        config.resolve(INFOGAN, "huge", {})


def test_overrides_go_only_to_the_methods_that_have_them():
    infogan_own, kmeans_own = config.applicable([INFOGAN, KMEANS], {"lambda_cont": 0.5, "steps": 9})
    assert infogan_own == {"lambda_cont": 0.5, "steps": 9}
    assert kmeans_own == {"steps": 9}
