import re

import pytest

from bench import config
from bench.errors import BenchError
from bench.registry import METHODS

INFOGAN, KMEANS = METHODS.get("infogan"), METHODS.get("kmeans_pixels")


def test_integral_floats_are_integers_and_lists_tuples():
    train, method = config.resolve(INFOGAN, "smoke", {"steps": 1e3, "lr_d": 1})
    assert train.steps == 1000 and isinstance(train.steps, int) and method.lr_d == 1.0
    assert config.parse_value("{[]: 1}") == "{[]: 1}" and config.parse_value("inf") == float("inf")


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
    "method, overrides, message",
    [
        (INFOGAN, {"stepz": 3}, "unknown setting stepz"),
        (INFOGAN, {"steps": "many"}, "not a valid int"),
        (INFOGAN, {"steps": 0}, "steps=0: must be >= 1"),
        (INFOGAN, {"train_size": -5}, "train_size=-5: must be >= 1"),
        (INFOGAN, {"q_learn_std": 3}, "not a valid bool"),
        # what a probe of bad input found failing only during or after training
        (INFOGAN, {"log_every": 0}, "log_every=0: must be >= 1"),
        (INFOGAN, {"eval_batch_size": 0}, "eval_batch_size=0: must be >= 1"),
        (INFOGAN, {"batch_size": 5000}, "batch_size=5000 exceeds the 4096 training images"),
        (INFOGAN, {"lr_d": -1e-4}, "lr_d=-0.0001: must be > 0"),
        (INFOGAN, {"n_categories": 0}, "n_categories=0: must be >= 1"),
        (INFOGAN, {"beta1": 1.0}, "beta1=1.0: must be < 1"),
        (INFOGAN, {"steps": None}, "steps=none is not allowed"),
        (INFOGAN, {"lambda_cont": float("nan")}, "lambda_cont=nan is not a valid float"),
        # the probe of issue 24: only NaN was refused, an infinite rate trained; 2^70 steps passed the parser
        (INFOGAN, {"lr_d": float("inf")}, "lr_d=inf is not a valid float: it must be finite"),
        (INFOGAN, {"lr_g": config.parse_value("-inf")}, "lr_g=-inf is not a valid float: it must be finite"),
        (INFOGAN, {"steps": 2**70}, "steps=1180591620717411303424: must be <= 9223372036854775807"),
        (INFOGAN, {"steps": True}, "steps=True is not a valid int"),
        (INFOGAN, {"beta1": "0.5"}, "beta1='0.5' is not a valid float"),
        (INFOGAN, {"metrics_backend": "other"}, "metrics_backend='other' is not one of 'bench', 'dlib'"),
        (METHODS.get("latentgan_ae"), {"architecture": "resnet"}, "architecture='resnet' is not one of"),
        (METHODS.get("unrolled_infogan"), {"k": -1}, "k=-1: must be >= 0"),
        (METHODS.get("learned_prior_aae"), {"prior": "gaussian"}, "prior='gaussian' is not one of 'learned', 'fixed'"),
    ],
)
def test_bad_values_fail_with_one_line(method, overrides, message):
    with pytest.raises(BenchError, match=re.escape(message)):
        config.resolve(method, "smoke", overrides)


def test_a_batch_must_fit_the_loaded_dataset():
    train, _ = config.resolve(INFOGAN, "smoke", {"train_size": None, "batch_size": 64})
    config.check_batch(train, 64)
    with pytest.raises(BenchError, match="batch_size=64 exceeds the 63 training images"):
        config.check_batch(train, 63)


def test_unknown_preset():
    with pytest.raises(BenchError, match="unknown preset 'huge'"):
        config.resolve(INFOGAN, "huge", {})


def test_overrides_go_only_to_the_methods_that_have_them():
    infogan_own, kmeans_own = config.applicable([INFOGAN, KMEANS], {"lambda_cont": 0.5, "steps": 9})
    assert infogan_own == {"lambda_cont": 0.5, "steps": 9}
    assert kmeans_own == {"steps": 9}
