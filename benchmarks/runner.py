"""Run the benchmark matrix, alternating engines, and write the table, JSON and plot.

Every measurement runs in a fresh worker process (`benchmarks.worker`), so no engine
inherits another's threads, caches or memory. Within one repeat each workload runs
on every engine back to back, and the order of the engines rotates from one repeat
to the next. A ratio against Keras is taken between the two measurements of the
same repeat, which were seconds apart, and the ratios are then summarised: on a
shared machine a load change moves both sides of a pair together.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.report import summarise, write_outputs

ENGINES = ("numpy", "numba", "keras", "torch")
WORKLOADS = ("model", "pipeline", "epoch")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "monarch_viceroy"
# Timed steps of the compile measurement, after the first one it is about.
MIN_STEPS_COMPILE = 3


@dataclass(frozen=True)
class Spec:
    """One measurement: what a worker process runs and reports."""

    engine: str
    workload: str
    image_size: int = 75
    batch_size: int = 32
    threads: int = 2
    min_seconds: float = 1.5
    max_steps: int = 200
    batches: int = 2
    data: str = ""
    epochs: int = 3
    cache: bool = True
    label: str = ""


def _child_env(spec: Spec, args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    threads = str(spec.threads)
    env.update(
        {
            "NUMBA_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }
    )
    if args.numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(args.numba_cache)
    if spec.engine == "numba":
        # Numba's threads and OpenBLAS's threads oversubscribe the cores when both
        # are busy; the Numba engine uses BLAS only in its dense layers.
        env["OPENBLAS_NUM_THREADS"] = str(args.numba_blas_threads)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return env


def run_worker(spec: Spec, args: argparse.Namespace) -> dict:
    """Run ``spec`` in a new process and return its JSON result.

    A failed worker gives ``{"error": ...}`` with the end of its standard error, so
    one broken engine does not stop the run.
    """
    python = args.torch_python if spec.engine == "torch" else sys.executable
    command = [python, "-m", "benchmarks.worker", json.dumps(asdict(spec))]
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        env=_child_env(spec, args),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=args.timeout,
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-5:]
        return {"spec": asdict(spec), "error": "\n".join(tail), "wall_seconds": wall}
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = wall
    return result


def torch_available(python: str) -> bool:
    """Return whether ``python`` can import torch."""
    probe = subprocess.run(
        [python, "-c", "import torch"], capture_output=True, timeout=120
    )
    return probe.returncode == 0


def model_specs(args: argparse.Namespace, engines: list[str]) -> list[list[Spec]]:
    """Return the model workloads, each a list of specs, one per engine."""
    groups = []
    for size in args.sizes:
        for batch in args.batch_sizes:
            group = []
            for engine in engines:
                if engine == "numpy" and (size, batch) not in args.numpy_configs:
                    continue
                slow = engine == "numpy"
                group.append(
                    Spec(
                        engine,
                        "model",
                        image_size=size,
                        batch_size=batch,
                        threads=args.threads,
                        min_seconds=0.0 if slow else args.min_seconds,
                        max_steps=args.numpy_steps if slow else 200,
                        batches=args.batches,
                    )
                )
            groups.append(group)
    return groups


def directory_specs(args: argparse.Namespace, engines: list[str]) -> list[list[Spec]]:
    """Return the pipeline and whole-epoch workloads on the photos."""
    ours = [e for e in engines if e == "numba"]
    keras = [e for e in engines if e == "keras"]
    groups = []
    for workload in ("pipeline", "epoch"):
        if workload not in args.workloads:
            continue
        group = []
        for engine in ours + keras:
            variants = [(True, "cache")] if engine == "numba" else [(False, "")]
            if engine == "numba" and workload == "pipeline" and not args.quick:
                variants.append((False, "no cache"))
            for cache, label in variants:
                group.append(
                    Spec(
                        engine,
                        workload,
                        image_size=args.pipeline_size,
                        batch_size=32,
                        threads=args.threads,
                        data=str(args.data),
                        epochs=args.epochs,
                        cache=cache,
                        label=label,
                    )
                )
        groups.append(group)
    return groups


def measure_compile(args: argparse.Namespace) -> list[dict]:
    """Time the Numba engine's first training step on a cold, then a warm cache.

    The cache folder is emptied first, so the first worker compiles every kernel
    and fills it, and the second loads them.
    """
    shutil.rmtree(args.numba_cache, ignore_errors=True)
    results = []
    for cache_state in ("cold", "warm"):
        spec = Spec(
            "numba",
            "model",
            image_size=75,
            batch_size=32,
            threads=args.threads,
            min_seconds=0.0,
            max_steps=MIN_STEPS_COMPILE,
            batches=1,
            label=cache_state,
        )
        result = run_worker(spec, args)
        results.append(result)
    return results


def machine_info(args: argparse.Namespace) -> dict:
    """Return what the run ran on: CPU, cores, load and library versions."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "numba_blas_threads": args.numba_blas_threads,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    try:
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                info["simd"] = [f for f in ("avx2", "fma", "avx512f") if f in flags]
                break
    except OSError:
        pass
    versions = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, numpy, numba, tensorflow, keras; print(json.dumps({"
            "'numpy': numpy.__version__, 'numba': numba.__version__, "
            "'tensorflow': tensorflow.__version__, 'keras': keras.__version__}))",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if versions.returncode == 0:
        info.update(json.loads(versions.stdout.strip().splitlines()[-1]))
    return info


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _names(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        names = [v for v in text.split(",") if v]
        unknown = sorted(set(names) - set(allowed))
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"expected names among {', '.join(allowed)}, got {text!r}"
            )
        return names

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the hand-written convnet against Keras (and PyTorch "
        "when it imports), alternating engines, each in its own process.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a check of about a minute, not a measurement to hold against the "
        "targets: 75x75, batch 32, one repeat (replacing --sizes, --batch-sizes and "
        "--repeats), short timings, the pipeline only with the cache, no compile "
        "measurement, and Numba's own cache, so the first --quick run also compiles "
        "(about 20 s more)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmark-results"),
        help="folder for benchmarks.md, .json and .png (default: benchmark-results)",
    )
    parser.add_argument(
        "--engines",
        type=_names(ENGINES),
        default=list(ENGINES),
        help="engines to run; torch is dropped when it does not import (default: all)",
    )
    parser.add_argument("--workloads", type=_names(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--sizes", type=_int_list, default=[75, 150, 300])
    parser.add_argument("--batch-sizes", type=_int_list, default=[16, 32, 64])
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        help="times every measurement runs, engines alternating (default: 3)",
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads of every engine (default: 2)"
    )
    parser.add_argument(
        "--numba-blas-threads",
        type=int,
        default=1,
        help="OpenBLAS threads in the Numba engine's process (default: 1)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.5,
        help="time each training or inference measurement for at least this many "
        "seconds (default: 1.5)",
    )
    parser.add_argument(
        "--batches", type=int, default=2, help="distinct batches of synthetic images"
    )
    parser.add_argument(
        "--numpy-steps",
        type=int,
        default=3,
        help="timed steps of the slow NumPy engine (default: 3)",
    )
    parser.add_argument(
        "--numpy-configs",
        default="75x32",
        help="image size x batch size pairs the NumPy engine runs, for example "
        "75x32,150x32 (default: 75x32)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("BUTTERFLY_DATA", DEFAULT_DATA)),
        help="folder of class folders of photos (default: $BUTTERFLY_DATA)",
    )
    parser.add_argument("--pipeline-size", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--torch-python",
        default=sys.executable,
        help="Python interpreter with torch installed, for the torch engine",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per worker"
    )
    parser.add_argument(
        "--no-compile",
        action="store_true",
        help="skip the cold and warm Numba compile measurement",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batch_sizes, args.repeats = [75], [32], 1
        args.min_seconds, args.epochs, args.pipeline_size = 0.3, 2, 75
        args.numpy_steps, args.no_compile = 1, True
    args.numpy_configs = {
        tuple(int(v) for v in pair.split("x"))
        for pair in args.numpy_configs.split(",")
        if pair
    }
    # A full run times compiling into an empty cache of its own. --quick uses the
    # cache that every other command uses, beside the package or in the user's cache.
    args.numba_cache = None if args.quick else args.out / "numba_cache"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SystemExit(
            f"Cannot use --out {args.out} as the output folder: {error.strerror}. "
            "Give a folder, or a path that does not exist yet."
        ) from None
    engines = list(args.engines)
    if "torch" in engines and not torch_available(args.torch_python):
        print(f"torch does not import in {args.torch_python}; skipping it.")
        engines.remove("torch")
    if {"pipeline", "epoch"} & set(args.workloads) and not args.data.is_dir():
        raise SystemExit(f"Photo folder not found: {args.data}. Set --data.")

    started = time.perf_counter()
    info = machine_info(args)
    compile_results = [] if args.no_compile else measure_compile(args)
    groups = model_specs(args, engines) if "model" in args.workloads else []
    groups += directory_specs(args, engines)

    results = []
    matmul = []
    for repeat in range(args.repeats):
        # On a loaded machine OpenBLAS can be faster on one thread than on two, so
        # both are measured and the faster one is the machine's rate.
        for threads in sorted({1, args.threads}):
            matmul_spec = Spec("numpy", "matmul", threads=threads, label="matmul")
            matmul.append(run_worker(matmul_spec, args))
        for group in groups:
            # Rotate which engine goes first, so none always follows the same one.
            shift = repeat % len(group)
            for spec in group[shift:] + group[:shift]:
                result = run_worker(spec, args)
                result["repeat"] = repeat
                results.append(result)
                _print_progress(result)

    info["seconds"] = time.perf_counter() - started
    summary = summarise(results, matmul, compile_results)
    write_outputs(args.out, info, summary, results, matmul, compile_results)
    print(f"Wrote {args.out}/benchmarks.md, .json and .png in {info['seconds']:.0f} s.")
    return 0


def _print_progress(result: dict) -> None:
    spec = result["spec"]
    where = f"{spec['workload']} {spec['engine']} {spec['label']}".strip()
    size = f"{spec['image_size']}px batch {spec['batch_size']}"
    if "error" in result:
        print(f"[{result['repeat']}] {where} {size}: FAILED\n{result['error']}")
    else:
        print(f"[{result['repeat']}] {where} {size}: {result['wall_seconds']:.1f} s")
    sys.stdout.flush()
