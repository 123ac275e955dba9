"""Statistics over the workers' raw timings, and the markdown, JSON and plot files."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.flops import training_flops

BASELINE = "keras"


def _rate(images: int, timings: dict) -> float:
    """Return images per second over the median steady step (or the first alone)."""
    seconds = timings["steady"] or [timings["first"]]
    return images / float(np.median(seconds))


def _spread(values: list[float]) -> dict:
    return {
        "median": float(np.median(values)),
        "min": float(np.min(values)),
        "max": float(np.max(values)),
        "n": len(values),
    }


def _key(spec: dict) -> tuple:
    return (spec["workload"], spec["image_size"], spec["batch_size"], spec["label"])


def _per_result(result: dict) -> dict:
    """Return the figures of one worker result, keyed by figure name."""
    spec = result["spec"]
    if spec["workload"] == "model":
        train_rate = _rate(result["train_images"], result["train"])
        return {
            "train": train_rate,
            "predict": _rate(result["predict_images"], result["predict"]),
            "first_step": result["train"]["first"],
            "peak_mb": result["peak_rss_train_mb"],
            "gflops": train_rate * training_flops(spec["image_size"]) / 1e9,
        }
    return {
        "epoch": _rate(result["epoch_images"], result["epoch"]),
        "first_epoch": result["epoch"]["first"],
    }


def summarise(results: list[dict], matmul: list[dict], compiles: list[dict]) -> dict:
    """Return medians, spreads and pairwise ratios against Keras.

    A ratio is computed within one repeat, between an engine and Keras on the same
    workload, and the ratios of all repeats are then summarised.
    """
    figures = defaultdict(lambda: defaultdict(list))
    by_repeat = {}
    errors = []
    for result in results:
        if "error" in result:
            errors.append({"spec": result["spec"], "error": result["error"]})
            continue
        spec = result["spec"]
        values = _per_result(result)
        by_repeat[(_key(spec), spec["engine"], result["repeat"])] = values
        for name, value in values.items():
            figures[(_key(spec), spec["engine"])][name].append(value)

    by_threads = defaultdict(list)
    for item in matmul:
        if "gflops" in item:
            by_threads[item["spec"]["threads"]].append(item["gflops"])
    medians = {threads: float(np.median(v)) for threads, v in by_threads.items()}
    matmul_rate = max(medians.values()) if medians else None
    rows = []
    for (key, engine), named in sorted(figures.items(), key=lambda item: item[0]):
        row = {
            "workload": key[0],
            "image_size": key[1],
            "batch_size": key[2],
            "label": key[3],
            "engine": engine,
        }
        for name, values in named.items():
            row[name] = _spread(values)
        for name in ("train", "predict", "epoch", "peak_mb"):
            ratios = _pair_ratios(by_repeat, key, engine, name)
            if ratios:
                row[f"{name}_vs_{BASELINE}"] = _spread(ratios)
        if matmul_rate and "gflops" in row:
            row["matmul_share"] = row["gflops"]["median"] / matmul_rate
        rows.append(row)
    return {
        "matmul_gflops": matmul_rate,
        "matmul_by_threads": {str(t): v for t, v in sorted(by_threads.items())},
        "compile": [
            {
                "cache": c["spec"]["label"],
                "first_step_seconds": c["train"]["first"],
                "import_seconds": c["import_seconds"],
            }
            for c in compiles
            if "error" not in c
        ],
        "rows": rows,
        "errors": errors,
    }


def _pair_ratios(by_repeat: dict, key: tuple, engine: str, name: str) -> list[float]:
    """Return ``engine / baseline`` of figure ``name`` for every repeat with both."""
    ratios = []
    for (other_key, other_engine, repeat), values in by_repeat.items():
        if other_key != key or other_engine != engine or name not in values:
            continue
        baseline = _baseline_for(by_repeat, key, repeat)
        if baseline is not None and baseline.get(name):
            ratios.append(values[name] / baseline[name])
    return ratios


def _baseline_for(by_repeat: dict, key: tuple, repeat: int) -> dict | None:
    # Keras's photo workloads carry no label; ours carry "cache" or "no cache".
    for (other_key, engine, other_repeat), values in by_repeat.items():
        if engine == BASELINE and other_repeat == repeat and other_key[:3] == key[:3]:
            return values
    return None


# Output files


def _cell(spread: dict | None, digits: int = 0) -> str:
    if not spread:
        return "–"
    fmt = f"{{:,.{digits}f}}"
    median, low, high = (fmt.format(spread[k]) for k in ("median", "min", "max"))
    return median if spread["n"] == 1 else f"{median} ({low}–{high})"


def markdown(info: dict, summary: dict) -> str:
    """Return the results as markdown tables, with the machine they ran on."""
    lines = _machine_lines(info, summary)
    lines += _model_lines(summary)
    lines += _photo_lines(summary)
    lines += _compile_and_error_lines(summary)
    return "\n".join(lines) + "\n"


def _machine_lines(info: dict, summary: dict) -> list[str]:
    lines = ["## Machine", ""]
    for name in (
        "cpu",
        "simd",
        "cores",
        "threads",
        "numba_blas_threads",
        "load_average_at_start",
        "numpy",
        "numba",
        "tensorflow",
        "keras",
        "python",
        "started",
        "seconds",
    ):
        if name in info:
            lines.append(f"- {name}: {info[name]}")
    if summary["matmul_gflops"]:
        runs = "; ".join(
            f"{threads} thread(s): " + ", ".join(f"{r:.0f}" for r in rates)
            for threads, rates in summary["matmul_by_threads"].items()
        )
        lines.append(
            "- float32 matrix product (2048 x 2048, NumPy's OpenBLAS), the faster "
            f"median: {summary['matmul_gflops']:.0f} GFLOP/s ({runs})"
        )
    return lines


def _model_lines(summary: dict) -> list[str]:
    lines = ["", "## Training and inference on in-memory arrays", ""]
    lines += [
        "Images per second: median over repeats (min–max). × Keras: the ratio to "
        "Keras within each repeat, median (min–max). First step: compile or trace "
        "and warm-up, in seconds. Peak: resident memory during training, MiB. "
        "GFLOP/s: training work at 3x the forward FLOPs per image, and its share of "
        "the matrix-product rate.",
        "",
        "| image | batch | engine | train img/s | × Keras | infer img/s | × Keras "
        "| first step s | peak MiB | × Keras | GFLOP/s | share |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        if row["workload"] != "model":
            continue
        share = row.get("matmul_share")
        lines.append(
            f"| {row['image_size']} | {row['batch_size']} | {row['engine']} "
            f"| {_cell(row['train'])} | {_cell(row.get('train_vs_keras'), 2)} "
            f"| {_cell(row['predict'])} | {_cell(row.get('predict_vs_keras'), 2)} "
            f"| {_cell(row['first_step'], 2)} | {_cell(row['peak_mb'])} "
            f"| {_cell(row.get('peak_mb_vs_keras'), 2)} "
            f"| {row['gflops']['median']:.1f} "
            f"| {'–' if share is None else f'{share:.0%}'} |"
        )
    return lines


def _photo_lines(summary: dict) -> list[str]:
    lines = ["", "## Photos from disk", ""]
    lines += [
        "pipeline: decode, resize and the blog's augmentation, no model. epoch: "
        "training epochs with augmentation. Images per second over the epochs after "
        "the first; the first epoch (building the iterator and model, compiling, "
        "filling the cache) in seconds.",
        "",
        "| workload | image | engine | variant | img/s | × Keras | first epoch s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary["rows"]:
        if row["workload"] == "model":
            continue
        lines.append(
            f"| {row['workload']} | {row['image_size']} | {row['engine']} "
            f"| {row['label'] or '–'} | {_cell(row['epoch'])} "
            f"| {_cell(row.get('epoch_vs_keras'), 2)} "
            f"| {_cell(row['first_epoch'], 1)} |"
        )
    return lines


def _compile_and_error_lines(summary: dict) -> list[str]:
    lines = []
    if summary["compile"]:
        lines += ["", "## Numba compile (first training step, 75x75, batch 32)", ""]
        lines += ["| cache | first step s | import s |", "|---|---|---|"]
        for item in summary["compile"]:
            lines.append(
                f"| {item['cache']} | {item['first_step_seconds']:.2f} "
                f"| {item['import_seconds']:.2f} |"
            )
    if summary["errors"]:
        lines += ["", "## Failed workers", ""]
        for item in summary["errors"]:
            spec = item["spec"]
            lines.append(
                f"- {spec['workload']} {spec['engine']} {spec['image_size']}px: "
                f"{item['error'].splitlines()[-1] if item['error'] else '?'}"
            )
    return lines


def plot(summary: dict, path: Path) -> None:
    """Plot training throughput against image size, one line per engine and batch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    lines = defaultdict(list)
    for row in summary["rows"]:
        if row["workload"] == "model":
            key = (row["engine"], row["batch_size"])
            lines[key].append((row["image_size"], row["train"]["median"]))
    for (engine, batch), points in sorted(lines.items()):
        points.sort()
        left.plot(
            *zip(*points, strict=True), marker="o", label=f"{engine}, batch {batch}"
        )
    left.set_xlabel("image side (pixels)")
    left.set_ylabel("training images per second")
    left.set_yscale("log")
    left.set_title("Training throughput (median)")
    left.legend(fontsize=7)

    labels, ratios = [], []
    for row in summary["rows"]:
        ratio = row.get("train_vs_keras") or row.get("epoch_vs_keras")
        if row["engine"] == BASELINE or not ratio:
            continue
        where = (
            f"{row['image_size']}/{row['batch_size']}"
            if row["workload"] == "model"
            else f"{row['workload']} {row['label']}".strip()
        )
        labels.append(f"{row['engine']} {where}")
        ratios.append(ratio["median"])
    right.barh(range(len(ratios)), ratios)
    right.set_yticks(range(len(ratios)), labels, fontsize=7)
    right.axvline(1.0, color="black", linewidth=0.8)
    right.set_xlabel("× Keras (median of per-repeat ratios)")
    right.set_title("Against Keras")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_outputs(out, info, summary, results, matmul, compiles) -> None:
    """Write benchmarks.md, benchmarks.json and benchmarks.png into ``out``."""
    out = Path(out)
    (out / "benchmarks.md").write_text(markdown(info, summary))
    document = {
        "machine": info,
        "summary": summary,
        "results": results,
        "matmul": matmul,
        "compile": compiles,
    }
    (out / "benchmarks.json").write_text(json.dumps(document, indent=1))
    plot(summary, out / "benchmarks.png")
