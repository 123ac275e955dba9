"""Teaching commands: ``explain``, ``trace`` and the picture commands.

`add_teaching_commands` registers them on the sub-parsers of
``python -m convnet_from_scratch``. Sizes, shapes and counts are parsed as text and
checked here rather than by argparse, so a bad value ends, like every other error of
the command line, with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

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

        model = load_model(args.model)
    else:
        from .blog_model import build_blog_model

        model = build_blog_model(parse_pair("--image-size", args.image_size))
    print(explain_model(model))
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
