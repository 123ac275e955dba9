"""Teaching commands: ``explain``, ``trace`` and the picture commands.

`add_teaching_commands` registers them on the sub-parsers of
``python -m convnet_from_scratch``. Sizes, shapes and counts are parsed as text and
checked here rather than by argparse, so a bad value ends, like every other error of
the command line, with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .cli import non_negative_int, open_fraction, positive_int
from .explain import (
    explain_conv,
    explain_model,
    explain_pool,
    parse_dims,
    parse_padding,
    parse_pair,
)


def add_teaching_commands(subparsers) -> None:
    """Add ``explain``, ``trace`` and the picture commands to ``subparsers``."""
    _add_explain(subparsers)
    _add_trace(subparsers)
    _add_pictures(subparsers)


# explain


def _add_explain(subparsers) -> None:
    explain = subparsers.add_parser(
        "explain",
        help="work out output sizes and parameter counts step by step",
        description="Work out output sizes and parameter counts step by step, with "
        "the same arithmetic the layers use.",
    )
    kinds = explain.add_subparsers(dest="kind", required=True, metavar="KIND")

    conv = kinds.add_parser("conv", help="one convolution layer")
    conv.add_argument(
        "--input", required=True, help="input volume HxWxC in cells, e.g. 7x7x3"
    )
    conv.add_argument(
        "--kernel", default="3", help="filter size F or FhxFw in cells (default: 3)"
    )
    _add_window_options(conv)
    conv.add_argument(
        "--filters",
        default="1",
        help="number of filters, the output depth (default: 1)",
    )
    conv.set_defaults(run=run_explain_conv)

    pool = kinds.add_parser("pool", help="one max-pooling layer")
    pool.add_argument(
        "--input", required=True, help="input volume HxWxC in cells, e.g. 75x75x32"
    )
    pool.add_argument(
        "--pool", default="2", help="window size F or FhxFw in cells (default: 2)"
    )
    _add_window_options(pool, stride_default=None)
    pool.set_defaults(run=run_explain_pool)

    model = kinds.add_parser(
        "model", help="every layer of the default model or of a model file"
    )
    model.add_argument(
        "--image-size",
        default="75",
        help="input side S or HxW in pixels of the default model (default: 75)",
    )
    model.add_argument("--model", type=Path, help="explain this model file instead")
    model.set_defaults(run=run_explain_model)


def _add_window_options(parser, stride_default: str | None = "1") -> None:
    parser.add_argument(
        "--stride",
        default=stride_default,
        help="step S or ShxSw between windows, in cells (default: "
        + ("the window size" if stride_default is None else stride_default)
        + ")",
    )
    parser.add_argument(
        "--padding",
        default="valid",
        help="'valid', 'same', or zero rows and columns added on each side: P or "
        "PhxPw (default: valid)",
    )


def run_explain_conv(args: argparse.Namespace) -> int:
    print(
        explain_conv(
            parse_dims("--input", args.input, (3,)),
            parse_pair("--kernel", args.kernel),
            parse_pair("--stride", args.stride),
            parse_padding(args.padding),
            filters=parse_dims("--filters", args.filters, (1,))[0],
        )
    )
    return 0


def run_explain_pool(args: argparse.Namespace) -> int:
    strides = None if args.stride is None else parse_pair("--stride", args.stride)
    print(
        explain_pool(
            parse_dims("--input", args.input, (3,)),
            parse_pair("--pool", args.pool),
            strides,
            args.padding.strip().lower(),
        )
    )
    return 0


def run_explain_model(args: argparse.Namespace) -> int:
    if args.model is not None:
        from .model_file import load_model

        print(explain_model(load_model(args.model)))
        return 0
    from .cli import check_image_size
    from .explain import blog_model_template

    size = parse_pair("--image-size", args.image_size)
    template = blog_model_template()
    check_image_size(template.layers, size)
    print(explain_model(template, (*size, 3)))
    return 0


# trace


def _add_trace(subparsers) -> None:
    trace = subparsers.add_parser(
        "trace",
        help="convolve a 7x7x3 image with an edge filter, window by window",
        description="Convolve a 7x7x3 image with a vertical-edge filter that weighs "
        "only the red channel, and show every window: the cells under the filter, "
        "the products and their sum.",
    )
    _add_window_options(trace)
    trace.add_argument(
        "--out",
        type=Path,
        help="also write the windows as an animated GIF (a path ending in .gif) or "
        "as numbered PNG frames (a folder)",
    )
    trace.set_defaults(run=run_trace)


def run_trace(args: argparse.Namespace) -> int:
    from .trace import (
        check_frames_path,
        example_image,
        format_trace,
        trace_convolution,
        vertical_edge_filter,
        write_frames,
    )

    if args.out is not None:
        check_frames_path(args.out)
        check_out_path(args.out, folder=args.out.suffix == "")
    kernel, bias = vertical_edge_filter()
    trace = trace_convolution(
        example_image(),
        kernel,
        bias,
        parse_pair("--stride", args.stride),
        parse_padding(args.padding),
    )
    print(format_trace(trace))
    if args.out is not None:
        paths = write_frames(trace, args.out)
        where = paths[0] if len(paths) == 1 else f"{len(paths)} frames in {args.out}"
        print(f"\nWrote {where}")
    return 0


# Pictures


def _add_pictures(subparsers) -> None:
    preview = subparsers.add_parser(
        "augment-preview",
        help="draw a photo and random versions of it, per augmentation transform",
    )
    preview.add_argument("image", type=Path, help="a photo")
    preview.add_argument("--out", type=Path, required=True, help="folder for PNGs")
    preview.add_argument(
        "--image-size",
        default="150",
        help="resize the photo to side S or HxW in pixels first (default: 150)",
    )
    preview.add_argument(
        "--count",
        default="8",
        help="random versions per transform, 1 to 15 (default: 8)",
    )
    preview.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seed of the draws (default: 0)",
    )
    preview.set_defaults(run=run_augment_preview)

    filters = subparsers.add_parser(
        "filters", help="draw the first convolution layer's filters of a model file"
    )
    filters.add_argument("model", type=Path, help="model.npz written by train")
    filters.add_argument("--out", type=Path, required=True, help="PNG to write")
    filters.set_defaults(run=run_filters)

    maps = subparsers.add_parser(
        "feature-maps", help="draw each layer's output for one photo"
    )
    maps.add_argument("model", type=Path, help="model.npz written by train")
    maps.add_argument("image", type=Path, help="a photo")
    maps.add_argument("--out", type=Path, required=True, help="folder for PNGs")
    maps.add_argument(
        "--channels", default="16", help="channels drawn per layer (default: 16)"
    )
    maps.set_defaults(run=run_feature_maps)

    confusion = subparsers.add_parser(
        "confusion",
        help="draw the confusion matrix and the misclassified validation photos",
    )
    confusion.add_argument("model", type=Path, help="model.npz written by train")
    confusion.add_argument(
        "data",
        type=Path,
        help="the DATA folder given to train: train/ and validation/ class folders, "
        "or class folders to split",
    )
    confusion.add_argument("--out", type=Path, required=True, help="folder for PNGs")
    confusion.add_argument(
        "--seed",
        type=non_negative_int,
        help="seed of the split (default: the one in history.json beside the model, "
        "else 0)",
    )
    confusion.add_argument(
        "--validation-fraction",
        type=open_fraction,
        help="share of each class held out when DATA is split (default: the one in "
        "history.json beside the model, else 0.2)",
    )
    confusion.add_argument(
        "--batch-size",
        type=positive_int,
        default=32,
        help="images per prediction step (default: 32)",
    )
    confusion.set_defaults(run=run_confusion)

    curves = subparsers.add_parser(
        "curves", help="draw the learning curves of several runs in one plot"
    )
    curves.add_argument(
        "runs", type=Path, nargs="+", metavar="RUN", help="run folder or history.json"
    )
    curves.add_argument("--out", type=Path, required=True, help="PNG to write")
    curves.set_defaults(run=run_curves)


def _check_png_path(path: Path) -> None:
    if path.suffix.lower() != ".png":
        raise ValueError(
            f"Invalid value for --out. Expected a file ending in .png. Received "
            f"{str(path)!r}."
        )
    check_out_path(path, folder=False)


# Previews larger than this gain nothing: each tile of `figures.AUGMENT_SIZE` is
# drawn at most 250 pixels wide, and every transform of a larger photo is slower.
MAX_PREVIEW_SIZE = 1024


def check_out_path(path: Path, folder: bool) -> None:
    """Reject an --out that cannot be created, before any work is done.

    Parameters
    ----------
    path : Path
        The value of --out.
    folder : bool
        True if --out names a folder to write files into, False if it names a file.

    Raises
    ------
    ValueError
        If ``path`` is a file where a folder is expected or the reverse, or a
        file exists where one of its parent folders would be created.
    """
    expected = "a folder or a new path" if folder else "a new or existing file path"
    if folder and path.exists() and not path.is_dir():
        raise ValueError(
            f"Invalid value for --out. {path} is a file, but --out must be {expected}."
        )
    if not folder and path.is_dir():
        raise ValueError(
            f"Invalid value for --out. {path} is a folder, but --out must be "
            f"{expected}."
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"Invalid value for --out. {parent} is a file, so {path} cannot "
                    f"be created. --out must be {expected}."
                )
            break


def _load_model(path: Path):
    from .model_file import load_model

    return load_model(path)


def _model_image(model, path: Path):
    """Load a photo at the model's input size, rescaled as in training."""
    from .blog_model import BLOG_RESCALE
    from .data import load_image

    size = tuple(model.preprocessing.get("image_size", model.input_shape[:2]))
    rescale = model.preprocessing.get("rescale", BLOG_RESCALE)
    return load_image(path, size) * rescale


def run_augment_preview(args: argparse.Namespace) -> int:
    from .data import load_image
    from .figures import augmentation_preview

    size = parse_pair("--image-size", args.image_size)
    if max(size) > MAX_PREVIEW_SIZE:
        raise ValueError(
            f"Invalid value for --image-size. Expected at most {MAX_PREVIEW_SIZE} "
            "pixels a side, because each preview tile is drawn at most 250 pixels "
            f"wide. Received --image-size {args.image_size!r}."
        )
    count = parse_dims("--count", args.count, (1,))[0]
    check_out_path(args.out, folder=True)
    image = load_image(args.image, size)
    results = augmentation_preview(image, args.out, count=count, seed=args.seed)
    for name in results:
        print(args.out / f"augment_{name}.png")
    return 0


def run_filters(args: argparse.Namespace) -> int:
    from .figures import plot_filters

    _check_png_path(args.out)
    tiles = plot_filters(_load_model(args.model), args.out)
    print(f"Wrote {len(tiles)} filters to {args.out}")
    return 0


def run_feature_maps(args: argparse.Namespace) -> int:
    from .figures import feature_maps

    channels = parse_dims("--channels", args.channels, (1,))[0]
    check_out_path(args.out, folder=True)
    model = _load_model(args.model)
    outputs = feature_maps(model, _model_image(model, args.image), args.out, channels)
    for index, (name, output) in enumerate(outputs, start=1):
        shape = "x".join(map(str, output.shape[1:]))
        drawn = f"  {args.out / f'{index:02d}_{name}.png'}" if output.ndim == 4 else ""
        print(f"{name:<18} {shape:<12}{drawn}".rstrip())
    names = model.class_names or ["class 0", "class 1"]
    probability = float(outputs[-1][1].reshape(-1)[0])
    print(f"p({names[1]}) = {probability:.4f}")
    return 0


def run_confusion(args: argparse.Namespace) -> int:
    from .cli import CommandError, make_iterators
    from .figures import (
        evaluate_images,
        format_confusion,
        plot_confusion,
        plot_misclassified,
    )

    check_out_path(args.out, folder=True)
    model = _load_model(args.model)
    height, width = model.input_shape[:2]
    if height != width:
        # NOTE: cli.make_iterators resizes to squares only.
        raise CommandError(
            f"The model reads {height}x{width} images; confusion supports square "
            "inputs only."
        )
    meta = _training_meta(args.model)
    split = argparse.Namespace(
        data=args.data,
        image_size=height,
        batch_size=args.batch_size,
        seed=args.seed if args.seed is not None else meta.get("seed", 0),
        validation_fraction=(
            args.validation_fraction
            if args.validation_fraction is not None
            else meta.get("validation_fraction", 0.2)
        ),
        # A k-fold run validates on its own fold; an explicit fraction means hold-out.
        folds=meta.get("folds") if args.validation_fraction is None else None,
        fold=meta.get("fold"),
    )
    _, validation = make_iterators(split, augment=False)
    evaluation = evaluate_images(model, validation)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_confusion(evaluation, args.out / "confusion.png")
    shown = plot_misclassified(evaluation, args.out / "misclassified.png")

    print(format_confusion(evaluation))
    print(f"{len(shown)} misclassified photos drawn")
    print(f"Wrote {args.out / 'confusion.png'}, {args.out / 'misclassified.png'}")
    return 0


def _training_meta(model_path: Path) -> dict:
    """Return the ``meta`` entry of the history.json beside a model, or {}."""
    import json

    history = model_path.parent / "history.json"
    if not history.is_file():
        return {}
    try:
        return json.loads(history.read_text()).get("meta", {})
    except (OSError, json.JSONDecodeError):
        return {}


def run_curves(args: argparse.Namespace) -> int:
    from .figures import HISTORY_METRICS, compare_learning_curves

    _check_png_path(args.out)
    histories = compare_learning_curves(args.runs, args.out)
    for label, history in histories.items():
        epochs = max(len(history.get(key, [])) for key in HISTORY_METRICS)
        if history.get("val_accuracy"):
            final = f"final val_accuracy {history['val_accuracy'][-1]:.4f}"
        else:
            final = "no val_accuracy recorded, so no validation accuracy curve"
        print(f"{label}: {epochs} epochs, {final}")
    print(f"Wrote {args.out}")
    return 0
