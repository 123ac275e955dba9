"""One measurement in a process of its own: ``python -m benchmarks.worker SPEC``.

SPEC is a JSON object (see `benchmarks.runner.Spec`). The worker prints one JSON
line with raw timings, in seconds, and memory, in MiB; the runner computes the
statistics. Thread counts come from the environment the runner sets, before NumPy,
Numba or TensorFlow is imported.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict


def _synthetic_data(image_size: int, count: int):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((count, image_size, image_size, 3), dtype=np.float32)
    y = (rng.random((count, 1)) < 0.5).astype(np.float32)
    return x, y


def run_model(engine, spec: dict) -> dict:
    """Time training steps and inference passes on in-memory arrays."""
    from benchmarks import memory

    batch_size = spec["batch_size"]
    x, y = _synthetic_data(spec["image_size"], batch_size * spec["batches"])
    model = engine.build(spec["image_size"])
    before = memory.resident_mb()
    reset = memory.reset_peak()
    train = engine.train(
        model, x, y, batch_size, spec["min_seconds"], spec["max_steps"]
    )
    peak = memory.peak_mb()
    predict = engine.predict(
        model, x, batch_size, spec["min_seconds"], spec["max_steps"]
    )
    return {
        "train": asdict(train),
        "train_images": batch_size,
        "predict": asdict(predict),
        "predict_images": len(x),
        "rss_before_train_mb": before,
        "peak_rss_train_mb": peak,
        "peak_reset": reset,
    }


def run_directory(engine, spec: dict, workload: str) -> dict:
    """Time the data pipeline alone or whole training epochs from the photos."""
    method = engine.pipeline if workload == "pipeline" else engine.fit_directory
    timings, samples = method(
        spec["data"],
        spec["image_size"],
        spec["batch_size"],
        spec["epochs"],
        spec["cache"],
    )
    return {"epoch": asdict(timings), "epoch_images": samples}


def main(argv: list[str] | None = None) -> int:
    spec = json.loads((argv or sys.argv[1:])[0])
    started = time.perf_counter()
    if spec["workload"] == "matmul":
        from benchmarks.flops import matmul_gflops

        result = {"gflops": matmul_gflops()}
    else:
        from benchmarks.engines import make_engine

        engine = make_engine(spec["engine"], spec["threads"])
        result = {"import_seconds": time.perf_counter() - started}
        if spec["workload"] == "model":
            result.update(run_model(engine, spec))
        else:
            result.update(run_directory(engine, spec, spec["workload"]))
    result["spec"] = spec
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
