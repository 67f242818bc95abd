"""`--set` grids, config files and the plan they expand into."""

import pytest

from bench.cli import build_parser
from bench.config import parse_grid
from bench.errors import BenchError
from bench.runs.config_file import config_arguments, expand_config
from bench.runs.plan import plan


def test_a_comma_list_is_a_grid_and_several_keys_their_product():
    assert parse_grid(["k=0,5,7,10"]) == [{"k": 0}, {"k": 5}, {"k": 7}, {"k": 10}]
    assert parse_grid(["k=0,5", "prior=fixed,learned"]) == [
        {"k": 0, "prior": "fixed"}, {"k": 0, "prior": "learned"}, {"k": 5, "prior": "fixed"},
        {"k": 5, "prior": "learned"}]
    assert parse_grid([]) == [{}]


def test_single_values_none_and_tuples_still_parse():
    assert parse_grid(["train_size=none", "lr=1e-3", "amp=false"]) == [{"train_size": None, "lr": 1e-3, "amp": False}]
    assert parse_grid(["betas=(0.5,0.9)"]) == [{"betas": (0.5, 0.9)}]
    assert parse_grid(["betas=(0.5,0.9),(0.9,0.99)"]) == [{"betas": (0.5, 0.9)}, {"betas": (0.9, 0.99)}]
    assert parse_grid(["k=1", "k=0,5"]) == [{"k": 0}, {"k": 5}]  # a later --set of a key replaces it
    with pytest.raises(BenchError, match="empty value"):
        parse_grid(["k=0,"])
    with pytest.raises(BenchError, match="key=value"):
        parse_grid(["k"])


def test_a_grid_plans_one_job_per_method_variant_and_seed_without_repeats():
    jobs = plan(["unrolled_infogan", "infogan"], [0, 1], "mnist", "smoke", parse_grid(["k=0,5"]))
    assert [(j.method, j.variant, j.seed) for j in jobs] == [
        ("unrolled_infogan", "k=0", 0), ("unrolled_infogan", "k=0", 1),
        ("unrolled_infogan", "k=5", 0), ("unrolled_infogan", "k=5", 1),
        ("infogan", "", 0), ("infogan", "", 1)]  # infogan has no k: once, not once per k
    assert jobs[0].run_id == "unrolled_infogan-mnist-smoke-s0-0992ed56"  # the committed k=0 record's id


def test_run_ids_name_a_gpu_and_keep_the_cpu_ids():
    (cpu,) = plan(["infogan"], [0], "mnist", "smoke", {})
    (cuda,) = plan(["infogan"], [0], "mnist", "smoke", {}, device_kind="cuda")
    assert cpu.run_id == "infogan-mnist-smoke-s0" and cuda.run_id == "infogan-mnist-smoke-s0-cuda"


def test_a_config_file_stands_for_the_same_command_line(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('methods = ["unrolled_infogan", "infogan"]\nseeds = [3]\npreset = "smoke"\nresume = true\n'
                    'dry-run = true\n[set]\nk = [0, 5]\ntrain_size = "none"\nbetas = [[0.5, 0.9]]\n')
    run_parser = build_parser().run_parser
    assert config_arguments(path, run_parser) == [
        "--methods", "unrolled_infogan,infogan", "--seeds", "3,", "--preset", "smoke", "--resume", "--dry-run",
        "--set", "k=0,5", "--set", "train_size=none", "--set", "betas=(0.5,0.9)"]
    argv = expand_config(["run", "--config", str(path), "--preset", "quick"], run_parser)
    args = build_parser().parse_args(argv)
    assert args.preset == "quick" and args.seeds == [3] and args.dry_run  # typed options win
    assert parse_grid(args.overrides) == [{"k": 0, "train_size": None, "betas": (0.5, 0.9)},
                                          {"k": 5, "train_size": None, "betas": (0.5, 0.9)}]


def test_a_config_file_with_an_unknown_option_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('methodz = "infogan"\n')
    with pytest.raises(BenchError, match="methodz: not a bench run option; valid: .*methods"):
        config_arguments(path, build_parser().run_parser)
    path.write_text('methods = \n')
    with pytest.raises(BenchError, match="not valid TOML"):
        config_arguments(path, build_parser().run_parser)
