"""`make scale`: the cost curve of 1M / 3M / 10M-row text CSVs, end to end, memory watched.

For each size: write the corpus once (`scripts/make_corpus.py`), then run each stage as its
own process, as a user would, while this process samples the child's memory every 0.1 s:

* prep: read, split, tokenise, encode and cache the CSV in chunks (the DataModule's setup);
* train: `train.py` on that cache (memory-mapped) for the first `--train-batches` batches of
  epoch 1, a small LSTM; tokens/s over the training steps;
* predict: `predict.py` over the whole CSV with the run trained on the smallest size.

Writes outputs/scale/results.json and prints a markdown table. Peak RSS is the child's
VmHWM; anon is its largest RssAnon (the part memory-mapped files and shared libraries do
not explain). Timings on a busy machine are rough; peak memory is what must stay bounded.
Usage: python -m benchmarks.scale [--rows 1e6,3e6,1e7] [--stages prep,train,predict]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("prep", "train", "predict")
MODEL = [
    "model=lstm",
    "model.embedding_dim=32",
    "model.hidden_size=32",
    "model.bidirectional=false",
    "data.batch_size=64",
]


def label(rows: int) -> str:
    return f"{rows / 1e6:g}M"


def _status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = (line.split() for line in lines if line.startswith(("VmHWM:", "RssAnon:")))
    return {f[0].rstrip(":"): int(f[1]) // 1024 for f in fields}


def watched(cmd: list[str], log: Path) -> dict[str, float]:
    """Run `cmd` from the repository root; its wall time and peak memory (MB)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    peak = {"VmHWM": 0, "RssAnon": 0}
    with log.open("w") as out:
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        while child.poll() is None:
            for key, mb in _status(child.pid).items():
                peak[key] = max(peak[key], mb)
            time.sleep(0.1)
    if child.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}); see {log}")
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 1), "peak_rss_mb": peak["VmHWM"], "anon_mb": peak["RssAnon"]}


def prep_child(csv: str, cache: str) -> None:
    """The DataModule's setup exactly as train.py configures it (so train hits this cache)."""
    from lstmkit.data.text import TextDataModule

    TextDataModule(csv, cache_dir=cache, stream_above_mb=0, use_cache=False).setup()


def run_size(rows: int, out: Path, stages: list[str], train_batches: int) -> dict:
    name = label(rows)
    csv = out / f"corpus-{name}.csv"
    cache, run = out / "cache", out / f"run-{name}"
    result: dict = {"rows": rows}
    py = sys.executable
    subprocess.run(
        [py, "scripts/make_corpus.py", f"rows={rows}", f"output={csv}"], cwd=ROOT, check=True
    )
    result["csv_mb"] = round(csv.stat().st_size / 2**20)
    if "prep" in stages:
        cmd = [py, "-m", "benchmarks.scale", "--prep-child", str(csv), str(cache)]
        result["prep"] = watched(cmd, out / f"prep-{name}.log")
    if "train" in stages:
        timings = run / "timings.json"
        cmd = [
            py,
            "train.py",
            "data=text_csv",
            f"data.path={csv}",
            f"data.cache_dir={cache}",
            "data.stream_above_mb=0",
            *MODEL,
            "trainer.max_epochs=1",
            f"+trainer.limit_train_batches={train_batches}",
            "+trainer.limit_val_batches=20",
            "+trainer.limit_test_batches=20",
            "trainer.enable_progress_bar=false",
            f"hydra.run.dir={run}",
            "+callbacks.bench_timer._target_=benchmarks.pipeline_run.TrainTimer",
            f"+callbacks.bench_timer.out={timings}",
        ]
        result["train"] = watched(cmd, out / f"train-{name}.log")
        timed = json.loads(timings.read_text())
        result["train"]["tokens_per_s"] = round(timed["tokens"][0] / timed["epoch_s"][0])
        result["train"]["batches"] = train_batches
    if "predict" in stages:
        model_run = sorted(out.glob("run-*"), key=lambda p: float(p.name[4:-1]))[0]
        cmd = [py, "predict.py", f"run={model_run}", f"input={csv}", "stream_above_mb=0"]
        cmd.append(f"output={out / f'predictions-{name}.csv'}")
        result["predict"] = watched(cmd, out / f"predict-{name}.log")
        result["predict"]["rows_per_s"] = round(rows / result["predict"]["seconds"])
    return result


def table(results: list[dict]) -> str:
    """The cost curve as a markdown table."""
    head = (
        "| rows | CSV MB | prep s | prep peak MB | train tokens/s | train peak MB "
        "| predict rows/s | predict peak MB |\n|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in results:
        p, t, q = (r.get(s, {}) for s in STAGES)
        lines.append(
            f"| {label(r['rows'])} | {r['csv_mb']} | {p.get('seconds', '-')} "
            f"| {p.get('peak_rss_mb', '-')} | {t.get('tokens_per_s', '-')} "
            f"| {t.get('peak_rss_mb', '-')} | {q.get('rows_per_s', '-')} "
            f"| {q.get('peak_rss_mb', '-')} |"
        )
    return head + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e6,3e6,1e7")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--train-batches", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "scale")
    parser.add_argument("--prep-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prep_child:
        prep_child(*args.prep_child)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    saved = args.out / "results.json"
    results = {r["rows"]: r for r in json.loads(saved.read_text())} if saved.exists() else {}
    for rows in sorted(int(float(r)) for r in args.rows.split(",")):
        fresh = run_size(rows, args.out, args.stages.split(","), args.train_batches)
        results[rows] = {**results.get(rows, {}), **fresh}
        saved.write_text(json.dumps(sorted(results.values(), key=lambda r: r["rows"]), indent=2))
        print(json.dumps(results[rows]), flush=True)
    print(table(sorted(results.values(), key=lambda r: r["rows"])))


if __name__ == "__main__":
    main()
