"""`bench report`: tables from the records' disentanglement / morphometrics / t-SNE fields,
the results index, and byte-identical output when run twice."""

import json
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
from PIL import Image

from bench.cli import main
from bench.report.builder import run_command
from bench.report.disentanglement import disentanglement_table
from bench.report.figures import tsne_figure
from bench.report.morphometrics import morphometric_table
from bench.report.speed import gradient_methods, speed_command
from bench.report.tables import text_view
from bench.runs.records import load_records, settings_of, variant_label, write_record

METRICS = ("beta_vae", "factor_vae", "mig", "dci_disentanglement", "dci_completeness", "dci_informativeness",
           "sap", "modularity", "explicitness")


def record(method, seed, dataset="mnist", status="completed", overrides=None, preset="paper", **fields):
    rec = {"run_id": f"{method}-{dataset}-{preset}-s{seed}" + ("-x" if overrides else "") + f"-{status}",
           "method": method, "dataset": dataset, "seed": seed, "preset": preset, "overrides": overrides or {},
           "status": status, "n_clusters": 10, "n_classes": 10}
    if status == "completed":
        rec["metrics"] = {"test": {"accuracy": 0.9, "accuracy_many_to_one": 0.9, "nmi": 0.5, "ari": 0.4}}
    rec.update(fields)
    return rec


def disentanglement(**metrics):
    return {"backend": "bench", "metrics": {k: metrics.get(k, 0.5) for k in METRICS}, "settings": {}, "seconds": 1.0}


def morphometrics(best: dict[str, int], abs_rho: dict[tuple[int, str], float], gap: dict[str, float]):
    scores = [{"code": c, "morphometric": m, "spearman": -r, "abs_spearman": r, "n_sweeps": 8}
              for (c, m), r in abs_rho.items()]
    gaps = [{"morphometric": m, "best_code": c, "best": abs_rho[(c, m)], "runner_up": 0.0, "gap": gap[m]}
            for m, c in best.items()]
    return {"scores": scores, "gaps": gaps}


def tsne(n=200, seed=0):
    rng = np.random.default_rng(seed)
    label = np.arange(n) % 10
    return {"x": (label + rng.normal(0, 0.3, n)).tolist(), "y": rng.normal(0, 1, n).tolist(),
            "label": label.tolist(), "n": n}


def records_in(tmp_path, recs):
    for rec in recs:
        write_record(rec, tmp_path)
    return load_records(tmp_path)


def test_disentanglement_table_is_mean_and_std_over_completed_seeds(tmp_path):
    records = records_in(tmp_path, [
        record("infogan", 0, "dsprites", disentanglement=disentanglement(beta_vae=0.8, mig=0.1)),
        record("infogan", 1, "dsprites", disentanglement=disentanglement(beta_vae=0.6, mig=0.3)),
        record("infogan", 2, "dsprites", status="failed"),
        record("infogan", 0, "dsprites", overrides={"lambda_cont": 0.5}, disentanglement=disentanglement(mig=0.25)),
        record("kmeans_pixels", 0, "dsprites"),  # completed without scores: no row
        record("infogan", 0, "mnist"),
    ])
    table = text_view(disentanglement_table(records, "dsprites")).set_index("method")
    assert list(table.index) == ["infogan", "infogan [lambda_cont=0.5]"]
    row = table.loc["infogan"]
    assert row["beta_vae"] == "0.700 ± 0.141 (best 0.800)" and row["mig"] == "0.200 ± 0.141 (best 0.300)"
    assert row["sap"] == "0.500 ± 0.000 (best 0.500)"
    assert row["seeds"] == "2" and row["backend"] == "bench" and row["not completed"] == "1 failed"
    assert table.loc["infogan [lambda_cont=0.5]", "mig"] == "0.250"  # one seed: no std
    empty = disentanglement_table(records, "mnist")
    assert empty.empty and list(empty.columns) == list(table.reset_index().columns)


def test_morphometric_table_names_the_code_most_seeds_pick_and_how_many_agree(tmp_path):
    rho = [{(0, "thickness"): 0.3, (1, "thickness"): 0.9, (0, "slant"): 0.8, (1, "slant"): 0.1},
           {(0, "thickness"): 0.1, (1, "thickness"): 0.7, (0, "slant"): 0.6, (1, "slant"): 0.2},
           {(0, "thickness"): 0.5, (1, "thickness"): 0.2, (0, "slant"): 0.9, (1, "slant"): 0.0}]
    best = [{"slant": 0, "thickness": 1}, {"slant": 0, "thickness": 1}, {"slant": 0, "thickness": 0}]
    gap = [{"slant": 0.7, "thickness": 0.6}, {"slant": 0.4, "thickness": 0.6}, {"slant": 0.9, "thickness": 0.3}]
    records = records_in(tmp_path, [record("infogan", s, morphometrics=morphometrics(best[s], rho[s], gap[s]))
                                    for s in range(3)] + [record("infogan", 3, status="diverged")])
    table = text_view(morphometric_table(records))
    assert list(table["morphometric"]) == ["thickness", "slant"]  # Morpho-MNIST's order, not the record's
    thickness, slant = table.iloc[0], table.iloc[1]
    assert thickness["best code"] == "c2 (2/3)"  # code 1, numbered from 1
    assert thickness["abs Spearman ρ"] == "0.600 ± 0.361"  # code 1 in every seed: 0.9, 0.7, 0.2
    assert thickness["gap"] == "0.500 ± 0.173"
    assert slant["best code"] == "c1 (3/3)" and slant["abs Spearman ρ"] == "0.767 ± 0.153"
    assert thickness["seeds"] == "3" and thickness["not completed"] == "1 diverged"


def test_a_tie_between_codes_goes_to_the_stronger_one(tmp_path):
    rho = [{(0, "area"): 0.6, (1, "area"): 0.5}, {(0, "area"): 0.1, (1, "area"): 0.55}]
    records = records_in(tmp_path, [
        record("infogan", 0, morphometrics=morphometrics({"area": 0}, rho[0], {"area": 0.1})),
        record("infogan", 1, morphometrics=morphometrics({"area": 1}, rho[1], {"area": 0.45})),
    ])
    assert morphometric_table(records).iloc[0]["best code"] == "c2 (1/2)"  # mean |ρ| 0.525 beats 0.35


def test_tsne_figure_is_a_png_and_the_same_bytes_every_time(tmp_path):
    rec = record("infogan", 0, tsne=tsne())
    first = tsne_figure(rec, tmp_path / "a")
    second = tsne_figure(rec, tmp_path / "b")
    assert first.name == "tsne-infogan-mnist-paper-s0-completed.png"
    with Image.open(first) as image:
        image.verify()
        assert image.format == "PNG"
    assert first.read_bytes() == second.read_bytes()


def test_speed_and_run_commands():
    settings = {"methods": ["kmeans_pixels", *gradient_methods()], "dataset": "mnist", "preset": "paper",
                "overrides": {}, "warmup": 5, "steps": 20, "repeats": 5}
    assert speed_command(settings) == "bench speed --preset paper --warmup 5 --steps 20 --repeats 5"
    settings.update(methods=["unrolled_infogan"], overrides={"k": 0})
    assert speed_command(settings) == ("bench speed --methods unrolled_infogan --preset paper --set k=0 "
                                       "--warmup 5 --steps 20 --repeats 5")
    overrides = {"prior": "fixed", "lambda_cont": 0.5, "train_size": None, "tag": "a b"}
    assert settings_of(variant_label(overrides)) == overrides
    assert run_command("aae", "mnist", [0, 1, 2], "smoke", {"n_categories": 30}) == \
        "bench run --methods aae --dataset mnist --seeds 3 --preset smoke --set n_categories=30"
    assert "--seeds 3," in run_command("aae", "mnist", [3], "smoke", {})
    assert "--seeds 3,7 " in run_command("aae", "mnist", [7, 3], "smoke", {})
    assert "--set 'tag=a b' --set train_size=none" in run_command("aae", "mnist", [0], "smoke", overrides)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_bench_report_writes_an_index_whose_links_resolve_and_is_deterministic(tmp_path, capsys):
    results = tmp_path / "results"
    rho = {(0, "thickness"): 0.8, (1, "thickness"): 0.1}
    records_in(results, [
        record("infogan", 0, tsne=tsne(seed=0), morphometrics=morphometrics({"thickness": 0}, rho, {"thickness": 0.7}),
               steps=100, evaluations=[{"step": 50, "test": {"accuracy": 0.4}}]),
        record("infogan", 1, tsne=tsne(seed=1), morphometrics=morphometrics({"thickness": 0}, rho, {"thickness": 0.7})),
        record("infogan", 2, status="interrupted"),
        record("unrolled_infogan", 0, overrides={"k": 0}, config={"method": {"k": 0}},
               losses=[{"step": 10, "q_cont": 0.5, "q_disc": 1.0}, {"step": 20, "q_cont": 0.3, "q_disc": 0.5}]),
        record("infogan", 0, "dsprites", disentanglement=disentanglement()),
        record("vae_infogan", 0, "dsprites", disentanglement=disentanglement(mig=0.25), latent_kl={
            "per_latent": [0.1, 0.2, 1.5, 2.5], "groups": {"incompressible": [0, 1], "info": [2, 3]},
            "group_mean": {"incompressible": 0.15, "info": 2.0}, "n": 10000},
            losses=[{"step": s, "kl_info": 1.0 + s, "kl_incompressible": 0.5} for s in (1, 2)]),
    ])
    (results / "speed").mkdir()
    (results / "speed" / "speed-cuda-paper-k=0.json").write_text(json.dumps({
        "device": "Some GPU", "torch_version": "2.x", "git_commit": "abc", "measured_at": "2026-01-01T00:00:00+00:00",
        "settings": {"methods": ["unrolled_infogan"], "dataset": "mnist", "preset": "paper", "overrides": {"k": 0},
                     "warmup": 5, "steps": 20, "repeats": 5},
        "summary": [{"method": "unrolled_infogan", "batch": 128, "ours ms/step": 2.5, "speedup": 5.3}], "rows": []}))
    (results / "figures").mkdir()
    plotted = results / "figures" / "infogan-mnist-paper-s0-completed_continuous1.png"
    plotted.write_bytes(b"not really a png")
    (results / "figures" / "vae_infogan-dsprites-paper-s0-completed_fromreal.png").write_bytes(b"not a png either")
    (results / "figures" / "tsne-gone-mnist-paper-s0.png").write_bytes(b"from a record since removed")

    assert main(["report", "--results-dir", str(results)]) == 0
    printed = capsys.readouterr().out.split()
    readme = (results / "README.md").read_text()
    assert str(results / "README.md") in printed
    links = [unquote(target) for target in re.findall(r"\]\(([^)]+)\)", readme)]
    assert links and all((results / target).exists() for target in links), links
    for name in ("tables/clustering_mnist.md", "tables/clustering_dsprites.csv", "tables/qloss_mnist.tex",
                 "tables/disentanglement_dsprites.md", "tables/morphometrics_mnist.md", "tables/speed-cuda-paper-k=0.md",
                 "figures/tsne-infogan-mnist-paper-s0-completed.png", "figures/tsne-infogan-mnist-paper-s1-completed.png",
                 "figures/infogan-mnist-paper-s0-completed_continuous1.png", "runs",
                 "figures/kl-vae_infogan-dsprites-paper-s0-completed.png", "figures/qloss-mnist-paper.png",
                 "figures/vae_infogan-dsprites-paper-s0-completed_fromreal.png"):
        assert name in links, name
    assert ("`bench plot traversals --from-real --method vae_infogan --run-id vae_infogan-dsprites-paper-s0-completed`"
            in readme)
    dsprites = (results / "tables" / "disentanglement_dsprites.md").read_text()
    assert "| infogan " in dsprites and "| vae_infogan " in dsprites and "0.250" in dsprites  # side by side
    assert "`bench speed --methods unrolled_infogan --preset paper --set k=0 --warmup 5 --steps 20 --repeats 5`" in readme
    assert ("`bench plot traversals --method infogan --run-id infogan-mnist-paper-s0-completed`" in readme)
    assert "| 2 completed, 1 interrupted | `bench run --methods infogan --dataset mnist --seeds 3 --preset paper` |" in readme
    assert "`bench run --methods unrolled_infogan --dataset mnist --seeds 1 --preset paper --set k=0`" in readme
    assert "not run" not in (results / "tables" / "clustering_dsprites.md").read_text()  # MNIST's claims stay there
    assert plotted.read_bytes() == b"not really a png"  # bench plot's figures are listed, not touched
    assert "| gone-mnist-paper-s0 | `— (stale: no completed record" in readme

    page = (results / "index.html").read_text()  # the same report as one page
    assert "figures/accuracy-mnist-paper.png" in links or (results / "figures" / "accuracy-mnist-paper.png").exists()
    sources = [unquote(t) for t in re.findall(r'(?:src|href)="([^"#:]+)"', page)]
    assert all((results / target).exists() for target in sources), sources
    for name in ("figures/accuracy-mnist-paper.png", "figures/tsne-infogan-mnist-paper-s0-completed.png",
                 "tables/clustering_mnist.csv", "figures/infogan-mnist-paper-s0-completed_continuous1.png",
                 "figures/qloss-mnist-paper.png"):
        assert name in sources, name
    assert "http" not in "".join(re.findall(r'src="([^"]+)"', page))  # nothing loaded from the network
    header = re.search(r'id="clustering-mnist">.*?<thead><tr>(.*?)</tr></thead>', page, re.S).group(1)
    assert re.search(r'test error %</th><th class="claim[^"]*">claimed error %', header)  # the claim beside
    header = re.search(r'id="qloss-mnist">.*?<thead><tr>(.*?)</tr></thead>', page, re.S).group(1)
    assert re.search(r'continuous, last batch</th><th class="claim[^"]*">claimed continuous', header)

    before = snapshot(results)
    assert main(["report", "--results-dir", str(results)]) == 0
    assert snapshot(results) == before


def test_bench_report_on_a_missing_directory_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", "--results-dir", str(tmp_path / "nope")]) == 2
    assert "no results directory" in capsys.readouterr().err


def test_report_refreshes_the_tables_a_readme_shows(tmp_path):
    from bench.report.builder import sync_blocks

    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "clustering_mnist.md").write_text("| new |\n")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results table: generated by `bench report` (results/tables/clustering_mnist.md) -->\n"
                      "| old |\n<!-- end results table -->\noutro\n")
    assert sync_blocks(readme, tmp_path)
    assert readme.read_text().splitlines()[2] == "| new |" and readme.read_text().endswith("outro\n")
    assert not sync_blocks(readme, tmp_path)  # already current
