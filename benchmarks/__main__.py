"""`make bench`: how fast is the toolkit, measured against the obvious alternatives.

Prints a table and writes JSON to outputs/bench/. Sections:
  1. the full pipeline at its defaults (DataModule + LightningModule + Trainer, as train.py runs
     it: adaptive threads, automatic precision) against the kernel-only yardstick (a stock
     bidirectional nn.LSTM forward+backward, fp32 and bf16) and a minimal PyTorch loop,
     with the threads chosen and accuracy per epoch;
  2. naive pad-to-max vs bucketed exact padded vs packed, at max length 400 and 1024;
  3. preprocessing a 1,000,000-row CSV of short texts vs a pure-Python baseline (time, memory);
  4. inference rows/s;
  5. the batching variants on CUDA (and bf16 autocast) when a GPU is present;
  6. runtime.threads=auto against each fixed thread count, idle;
  7. the same beside busy-loop neighbour processes that the bench starts and stops.
Medians of repeated runs. Usage: python -m benchmarks [--quick] [--sections 1,2,3,4,5,6,7]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch

from benchmarks import preprocessing, training
from benchmarks.kernel import epoch_shapes, kernel_tokens_per_s
from benchmarks.machine import machine_info
from lstmkit.atomic import write_json
from lstmkit.runtime import configure_torch

KERAS_TOKENS_PER_S = 57_200  # issue 13, same machine: scripts/bench_keras.py reproduces it
KERAS_REFERENCE = (
    "Keras 3.15 / TF 2.21 BiLSTM-128, mask_zero, 2 threads: 9.98 s/epoch, 57.2k non-pad "
    "tokens/s (issue 13); 0.91-0.93 test acc after 8 epochs"
)


def section_training(args: argparse.Namespace) -> dict:
    # the kernel is timed before and after the pipeline: load that changes meanwhile is shared
    shapes = epoch_shapes()
    before = {
        "fixed": kernel_tokens_per_s(args.repeats + 2),
        "same_shapes": kernel_tokens_per_s(args.repeats, shapes=shapes),
    }
    pipeline = training.pipeline_run(args.epochs, 42, kernel_shapes=shapes)
    after = {
        "fixed": kernel_tokens_per_s(args.repeats + 2),
        "same_shapes": kernel_tokens_per_s(args.repeats, shapes=shapes),
    }
    kernel = {
        kind: {k: (before[kind][k] + after[kind][k]) / 2 for k in before[kind]} for kind in before
    }
    setting = f"{'bf16' if pipeline['precision'].startswith('bf16') else 'fp32'}_"
    setting += f"{pipeline['threads']}t"
    yardstick = kernel["same_shapes"][setting]
    return {
        "kernel_tokens_per_s": kernel["fixed"],
        "kernel_same_shapes_tokens_per_s": kernel["same_shapes"],
        "kernel_shapes": shapes,
        "kernel_before_after": [before, after],
        "pipeline": pipeline,
        "raw_loop": training.raw_loop(
            args.raw_epochs, bf16=setting.startswith("bf16"), threads=pipeline["threads"]
        ),
        "kernel_same_setting_tokens_per_s": yardstick,
        "pipeline_over_kernel": pipeline["tokens_per_s"] / yardstick,
        "pipeline_over_kernel_paired": pipeline["paired_over_kernel"],
        "pipeline_over_fixed_kernel": pipeline["tokens_per_s"] / kernel["fixed"][setting],
        "pipeline_over_keras": pipeline["tokens_per_s"] / KERAS_TOKENS_PER_S,
    }


def section_threads(args: argparse.Namespace) -> dict:
    return training.default_vs_fixed(args.fixed_epochs)


def section_threads_busy(args: argparse.Namespace) -> dict:
    return training.default_vs_fixed(args.fixed_epochs, neighbours=args.neighbours)


def section_variants(args: argparse.Namespace) -> dict:
    return {
        str(n): training.batching_variants(n, args.docs, args.repeats, packed_docs=args.packed_docs)
        for n in (400, 1024)
    }


def section_preprocessing(args: argparse.Namespace) -> dict:
    path = preprocessing.make_corpus(Path(args.cache) / f"corpus-{args.rows}.csv", args.rows)
    sides = {}
    for side in ("ours", "baseline"):
        runs = [preprocessing.measure(side, path) for _ in range(args.prep_repeats)]
        runs.sort(key=lambda r: r["seconds"])
        best = runs[len(runs) // 2]
        sides[side] = {
            **best,
            "rows_per_s": best["rows"] / best["seconds"],
            "samples_s": [r["seconds"] for r in runs],
        }
    sides["speedup"] = sides["baseline"]["seconds"] / sides["ours"]["seconds"]
    sides["memory_ratio"] = sides["ours"]["peak_rss_mb"] / sides["baseline"]["peak_rss_mb"]
    return sides


def section_inference(args: argparse.Namespace) -> dict:
    return training.inference(args.repeats)


def section_gpu(args: argparse.Namespace) -> dict:
    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device"}
    out: dict = {"kernel_tokens_per_s": kernel_tokens_per_s(args.repeats + 2, device="cuda")}
    for bf16 in (False, True):
        precision = "bf16" if bf16 else "fp32"
        out[precision] = {
            str(n): training.batching_variants(n, args.docs, args.repeats, device="cuda", bf16=bf16)
            for n in (400, 1024)
        }
        kernel = next(v for k, v in out["kernel_tokens_per_s"].items() if k.startswith(precision))
        packed = out[precision]["400"]["bucketed_packed"]["tokens_per_s"]
        out[f"packed_over_kernel_{precision}"] = packed / kernel
    return out


SECTIONS = {
    "1": section_training,
    "2": section_variants,
    "3": section_preprocessing,
    "4": section_inference,
    "5": section_gpu,
    "6": section_threads,
    "7": section_threads_busy,
}


def threads_story(events: list[dict]) -> str:
    """`step: threads` for each decision AdaptiveThreads made, or why there were none."""
    return ", ".join(f"{e['step']}: {e['threads']}" for e in events) or "none (fixed or 1 core)"


def table(results: dict) -> str:
    """The numbers that matter, one line each."""
    lines = [f"{'measure':<58} value", "-" * 75]

    def row(name: str, value: str) -> None:
        lines.append(f"{name:<58} {value}")

    if "1" in results:
        r, p = results["1"], results["1"]["pipeline"]
        for name, value in r["kernel_tokens_per_s"].items():
            row(f"kernel-only stock BiLSTM fwd+bwd tokens/s, 32x344, {name}", f"{value:,.0f}")
        for name, value in r["kernel_same_shapes_tokens_per_s"].items():
            row(f"kernel-only, the pipeline's batch shapes, {name}", f"{value:,.0f}")
        row(
            f"pipeline default tokens/s ({p['precision']}, {p['threads']} threads at the end)",
            f"{p['tokens_per_s']:,.0f} ({p['s_per_epoch']:.2f} s/epoch)",
        )
        row(
            "pipeline / kernel, same shapes, precision, threads (target >= 0.85)",
            f"{r['pipeline_over_kernel']:.3f}",
        )
        paired = " ".join(f"{x:.3f}" for x in p["paired_ratios"])
        row(
            "the same, kernel timed after each epoch: median (per epoch)",
            f"{r['pipeline_over_kernel_paired']:.3f} ({paired})",
        )
        row("pipeline / kernel at the fixed 32x344 shape", f"{r['pipeline_over_fixed_kernel']:.3f}")
        row("pipeline / Keras 57.2k tokens/s (target >= 3)", f"{r['pipeline_over_keras']:.2f}x")
        raw = r["raw_loop"]["tokens_per_s"]
        row("minimal loop tokens/s, same precision and threads", f"{raw:,.0f}")
        row("pipeline / minimal loop (Lightning's share)", f"{p['tokens_per_s'] / raw:.3f}")
        row("threads decisions (step: threads)", threads_story(p["threads_events"]))
        row(
            f"val acc per epoch ({len(p['val_acc'])} epochs)",
            " ".join(f"{a:.3f}" for a in p["val_acc"]),
        )
        row("test acc after those epochs (Keras ref 0.91-0.93)", f"{p['test_acc']:.4f}")
    for key, label in (("6", "idle"), ("7", "busy neighbour")):
        if key not in results:
            continue
        r = results[key]
        speeds = ", ".join(f"{k}: {v['tokens_per_s']:,.0f}" for k, v in r["runs"].items())
        row(f"threads {label}: tokens/s by runtime.threads", speeds)
        row(
            f"threads {label}: auto / best fixed ({r['best_fixed']}) (target >= 0.9)",
            f"{r['auto_over_best_fixed']:.3f}",
        )
        row(
            f"threads {label}: auto's decisions", threads_story(r["runs"]["auto"]["threads_events"])
        )

    def variant_rows(device: str, per_length: dict) -> None:
        for n, v in per_length.items():
            for name in ("naive_pad_to_max", "bucketed_exact_padded", "bucketed_packed"):
                row(
                    f"{device}len {n}: {name} s/epoch (x vs naive)",
                    f"{v[name]['s_per_epoch']:.2f} ({v[name]['speedup_vs_naive']:.2f}x)",
                )
            diff = v["max_abs_diff_padded_vs_packed"]
            row(f"{device}len {n}: max |exact padded - packed|", f"{diff:.2e}")

    variant_rows("", results.get("2", {}))
    if "3" in results:
        r = results["3"]
        row(
            "preprocess 1M rows: ours s | baseline s",
            f"{r['ours']['seconds']:.2f} | {r['baseline']['seconds']:.2f}",
        )
        row("preprocess speedup (target >= 5)", f"{r['speedup']:.2f}x")
        row(
            "preprocess peak MB: ours | baseline",
            f"{r['ours']['peak_rss_mb']:.0f} | {r['baseline']['peak_rss_mb']:.0f}",
        )
    if "4" in results:
        row("inference rows/s (BBC test split)", f"{results['4']['rows_per_s']:,.0f}")
    if "5" in results and "skipped" not in results["5"]:
        r = results["5"]
        for precision in ("fp32", "bf16"):
            variant_rows(f"cuda {precision} ", r[precision])
            kernel = next(v for k, v in r["kernel_tokens_per_s"].items() if k.startswith(precision))
            row(f"cuda {precision}: kernel-only cuDNN BiLSTM tokens/s", f"{kernel:,.0f}")
            row(
                f"cuda {precision}: packed len 400 / kernel",
                f"{r[f'packed_over_kernel_{precision}']:.3f}",
            )
    elif "5" in results:
        row("cuda", results["5"]["skipped"])
    lines.append(f"reference: {KERAS_REFERENCE}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sections", default="1,6,7,2,3,4,5")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, to check the script runs"
    )
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--raw-epochs", type=int, default=3)
    parser.add_argument(
        "--fixed-epochs", type=int, default=3, help="epochs per run when comparing threads"
    )
    parser.add_argument("--neighbours", type=int, default=1, help="busy processes in section 7")
    parser.add_argument("--docs", type=int, default=500, help="documents per variant epoch")
    parser.add_argument(
        "--packed-docs",
        type=int,
        default=96,
        help="documents for the (slow on CPU) packed variant, one repeat",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--prep-repeats", type=int, default=3)
    parser.add_argument("--cache", default="outputs/bench")
    parser.add_argument("--out", default="outputs/bench")
    args = parser.parse_args()
    if args.quick:
        args.epochs, args.raw_epochs, args.docs, args.repeats, args.packed_docs = 1, 1, 64, 1, 32
        args.fixed_epochs = 1
        args.rows, args.prep_repeats = 20_000, 1
    logging.basicConfig(level=logging.WARNING)
    runtime = configure_torch("auto", True)
    results: dict = {"machine": {**machine_info(), **runtime}, "args": vars(args)}
    for key in args.sections.split(","):
        start = time.perf_counter()
        results[key] = SECTIONS[key](args)
        torch.set_num_threads(runtime["threads"])  # a section's thread choice ends with it
        print(f"section {key} done in {time.perf_counter() - start:.0f}s", flush=True)
    print(json.dumps(results["machine"]))
    print(table(results))
    out = Path(args.out) / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_json(out, results)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
