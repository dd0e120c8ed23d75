"""ensemble.from_sweep: a real tiny sweep's top-k jobs (by val objective) averaged into a run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import make_text_frame, run_script, run_train, tiny_run_overrides

from lstmkit.inference.export import export_onnx
from lstmkit.models.spec import ModelSpec

SWEPT = "model.hidden_size=4,8,16"


def tiny(csv: Path, out: Path, *dropped: str) -> list[str]:
    """tiny_run_overrides without `hydra.run.dir` and the keys in `dropped` (given again)."""
    keys = {"hydra.run.dir", *dropped}
    return [o for o in tiny_run_overrides(csv, out) if o.split("=", 1)[0] not in keys]


def ensemble_overrides(csv: Path, out: Path, sweep: Path, *extra: str) -> list[str]:
    """The sweep's data settings again (it shares them), plus the sweep to average."""
    keys = {e.split("=", 1)[0] for e in extra}
    return [*tiny(csv, out, *keys), f"ensemble.from_sweep={sweep}", *extra]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Three finished jobs differing in hidden size; the CSV and the output folder."""
    tmp = tmp_path_factory.mktemp("from_sweep")
    csv = tmp / "texts.csv"
    make_text_frame(n_per_class=20).to_csv(csv, index=False)
    out, sweep_dir = tmp / "outputs", tmp / "outputs" / "multirun" / "hs"
    base = tiny(csv, out, "model.hidden_size", "model.embedding_dim")
    sweep = ("model.embedding_dim=8", "optimizer.lr=1e-2", f"hydra.sweep.dir={sweep_dir}", SWEPT)
    done = run_train("-m", *base, *sweep, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return csv, out, sweep_dir


@pytest.mark.slow
def test_the_top_k_jobs_by_val_objective_become_one_run_folder(sweep, tmp_path):
    csv, out, sweep_dir = sweep
    run = tmp_path / "ens"
    done = run_train(
        *ensemble_overrides(csv, out, sweep_dir, "ensemble.top_k=2"),
        f"hydra.run.dir={run}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((run / "metrics.json").read_text())
    jobs = {
        str(job): json.loads((job / "metrics.json").read_text())["objective"]["value"]
        for job in sweep_dir.iterdir()
        if (job / "metrics.json").is_file()
    }
    best_two = sorted(jobs, key=lambda j: -jobs[j])[:2]
    info = report["ensemble"]
    assert info["from_sweep"] == str(sweep_dir) and info["size"] == 2
    assert sorted(info["members"]) == sorted(best_two)  # ranked by the sweep's val objective
    assert info["member_objective"] == sorted(info["member_objective"], reverse=True)
    assert len(info["member_metrics"]) == 2
    assert all("val/acc" in m and "test/acc" in m for m in info["member_metrics"])
    assert 0.0 <= report["metrics"]["test/acc"] <= 1.0 and "val/acc" in report["metrics"]
    spec = ModelSpec.load(run)
    assert spec.kind == "ensemble"
    sizes = sorted(m["hidden_size"] for m in spec.params["members"])
    assert len(sizes) == 2 and set(sizes) <= {4, 8, 16}

    preds = tmp_path / "preds.csv"
    done = run_script("predict.py", f"run={run}", f"input={csv}", f"output={preds}", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    probs = pd.read_csv(preds).filter(like="prob_")
    assert len(probs) > 0 and probs.sum(axis=1).round(5).eq(1.0).all()
    assert export_onnx(run, tmp_path / "ensemble.onnx")["max_abs_diff"] < 1e-4


@pytest.mark.slow
def test_other_data_settings_than_the_sweeps_are_refused(sweep, tmp_path):
    csv, out, sweep_dir = sweep
    done = run_train(
        *ensemble_overrides(csv, out, sweep_dir, "data.tokenizer.min_frequency=2"),
        f"hydra.run.dir={tmp_path / 'ens'}",
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "data.tokenizer" in said and "Traceback" not in said
    assert "data.tokenizer.min_frequency=1" in said  # the sweep's own overrides, to repeat


@pytest.mark.slow
def test_a_sweep_with_no_finished_job_or_a_test_objective_is_refused(sweep, tmp_path):
    csv, out, sweep_dir = sweep
    done = run_train(
        *ensemble_overrides(csv, out, tmp_path / "nowhere"), f"hydra.run.dir={tmp_path / 'a'}"
    )
    assert done.returncode == 2 and "no such folder" in done.stdout + done.stderr
    tampered = tmp_path / "tampered"
    job = sweep_dir / "0"
    (tampered / "0").mkdir(parents=True)
    for name in (".hydra", "metrics.json"):
        source = job / name
        target = tampered / "0" / name
        if source.is_dir():
            target.mkdir()
            for f in source.iterdir():
                (target / f.name).write_bytes(f.read_bytes())
        else:
            report = json.loads(source.read_text())
            report["objective"]["metric"] = "test/acc"
            target.write_text(json.dumps(report))
    done = run_train(*ensemble_overrides(csv, out, tampered), f"hydra.run.dir={tmp_path / 'b'}")
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "chooses on the test split" in said and "val/acc" in said
