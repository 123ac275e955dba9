"""A convolution traced window by window on a small image, as text or frames.

The image is 7x7x3 with small whole numbers so a reader can check every product by
hand. Its red channel is dark on the left and bright on the right, and the filter is
a vertical-edge detector that weighs only the red channel, so the output is large
where a window straddles the edge and zero elsewhere. The sums are computed here one
window at a time, and the tests hold them to `reference.conv2d_forward`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import shapes
from .explain import AXES, axis_working

CHANNEL_NAMES = ("red", "green", "blue")


def example_image() -> np.ndarray:
    """Return the 7x7x3 example image, values 0..9.

    Returns
    -------
    ndarray of shape (7, 7, 3), float64
        Red: 1 or 2 in columns 0-2 and 8 or 9 in columns 3-6, a vertical edge.
        Green: horizontal stripes 0, 2, 4. Blue: 5 everywhere.
    """
    rows, cols = np.indices((7, 7))
    red = np.where(cols < 3, 1, 8) + (rows + cols) % 2
    green = 2 * (rows % 3)
    blue = np.full((7, 7), 5)
    return np.stack([red, green, blue], axis=-1).astype(np.float64)


def vertical_edge_filter() -> tuple[np.ndarray, np.ndarray]:
    """Return a 3x3x3 filter that responds to dark-to-bright steps in red.

    Returns
    -------
    kernel : ndarray of shape (3, 3, 3, 1)
        Red weights -1, 0, 1 in every row, green and blue weights 0.
    bias : ndarray of shape (1,)
        Zero.
    """
    kernel = np.zeros((3, 3, 3, 1))
    kernel[:, :, 0, 0] = [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
    return kernel, np.zeros(1)


@dataclass(frozen=True)
class Window:
    """One position of the filter and the arithmetic done there.

    Attributes
    ----------
    out_row, out_col : int
        The output cell this window computes.
    rows, cols : range
        Input rows and columns under the window. Negative ones, and ``H`` (``W``)
        and beyond, are padding.
    cells : ndarray of shape (f_h, f_w, C)
        Input values under the window, zeros where it covers padding.
    products : ndarray of shape (f_h, f_w, C)
        ``cells * kernel``, element by element.
    total : float
        Sum of the products plus the bias: the output value.
    """

    out_row: int
    out_col: int
    rows: range
    cols: range
    cells: np.ndarray
    products: np.ndarray
    total: float


@dataclass(frozen=True)
class Trace:
    """A convolution of one image with one filter, window by window.

    Attributes
    ----------
    image : ndarray of shape (H, W, C)
    kernel : ndarray of shape (f_h, f_w, C, 1)
    bias : float
    padded : ndarray of shape (H + top + bottom, W + left + right, C)
    geometry : (AxisGeometry, AxisGeometry)
        Height and width, from `shapes.conv_output_shape`.
    padding : {'valid', 'same'} or (p_h, p_w)
    windows : list of Window
        In the order the output is filled: row by row.
    output : ndarray of shape (H_out, W_out)
    """

    image: np.ndarray
    kernel: np.ndarray
    bias: float
    padded: np.ndarray
    geometry: tuple[shapes.AxisGeometry, shapes.AxisGeometry]
    padding: str | tuple[int, int]
    windows: list[Window]
    output: np.ndarray

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """Padding as ``(top, bottom, left, right)``, the kernels' convention."""
        rows, cols = self.geometry
        return (rows.pad_before, rows.pad_after, cols.pad_before, cols.pad_after)

    @property
    def strides(self) -> tuple[int, int]:
        return (self.geometry[0].stride, self.geometry[1].stride)


def trace_convolution(
    image: np.ndarray,
    kernel: np.ndarray,
    bias: np.ndarray,
    strides: tuple[int, int],
    padding: str | tuple[int, int],
) -> Trace:
    """Slide one filter over one image and record every window.

    Parameters
    ----------
    image : ndarray of shape (H, W, C)
    kernel : ndarray of shape (f_h, f_w, C, 1)
    bias : ndarray of shape (1,)
    strides : (s_h, s_w)
    padding : {'valid', 'same'} or (p_h, p_w)
        As `shapes.normalize_padding` returns it.

    Raises
    ------
    ValueError
        If the filter does not fit the padded image.
    """
    padding = shapes.normalize_padding(padding)
    f_h, f_w = kernel.shape[:2]
    geometry = shapes.conv_output_shape(image.shape[:2], (f_h, f_w), strides, padding)
    rows, cols = geometry
    padded = np.pad(
        image,
        (
            (rows.pad_before, rows.pad_after),
            (cols.pad_before, cols.pad_after),
            (0, 0),
        ),
    )

    windows = []
    output = np.zeros((rows.output, cols.output))
    for i in range(rows.output):
        for j in range(cols.output):
            top, left = i * rows.stride, j * cols.stride
            cells = padded[top : top + f_h, left : left + f_w, :]
            products = cells * kernel[:, :, :, 0]
            total = float(products.sum() + bias[0])
            output[i, j] = total
            windows.append(
                Window(
                    out_row=i,
                    out_col=j,
                    rows=range(top - rows.pad_before, top - rows.pad_before + f_h),
                    cols=range(left - cols.pad_before, left - cols.pad_before + f_w),
                    cells=cells,
                    products=products,
                    total=total,
                )
            )
    return Trace(
        image, kernel, float(bias[0]), padded, geometry, padding, windows, output
    )


# Text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3g}"


def _grid(values: np.ndarray) -> list[str]:
    """Format a 2-D array as right-aligned rows."""
    texts = [[_number(v) for v in row] for row in values]
    width = max(len(text) for row in texts for text in row)
    return [" ".join(text.rjust(width) for text in row) for row in texts]


def _side_by_side(blocks: list[tuple[str, list[str]]], gap: str = "   ") -> list[str]:
    """Place titled blocks of lines next to each other."""
    widths = [
        max(len(title), *(len(line) for line in lines)) for title, lines in blocks
    ]
    height = max(len(lines) for _, lines in blocks)
    out = [gap.join(t.ljust(w) for (t, _), w in zip(blocks, widths, strict=True))]
    for index in range(height):
        cells = [
            (lines[index] if index < len(lines) else "").ljust(width)
            for (_, lines), width in zip(blocks, widths, strict=True)
        ]
        out.append(gap.join(cells).rstrip())
    return [line.rstrip() for line in out]


def _span(numbers: range, limit: int, noun: str) -> str:
    """Write ``rows 0 to 2``, naming the ones that are padding."""
    text = f"{noun}s {numbers.start} to {numbers.stop - 1}"
    outside = [str(n) for n in numbers if n < 0 or n >= limit]
    if len(outside) == 1:
        text += f" ({noun} {outside[0]} is padding)"
    elif outside:
        text += f" ({noun}s {' and '.join(outside)} are padding)"
    return text


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _sum_expression(terms: np.ndarray, bias: float) -> str:
    parts = [_number(terms[0])]
    for value in terms[1:]:
        sign = "-" if value < 0 else "+"
        parts.append(f"{sign} {_number(abs(value))}")
    return " ".join(parts) + f" + bias {_number(bias)}"


def _weighted_channels(trace: Trace) -> list[int]:
    """Channels with at least one nonzero weight: only they change the sum."""
    return [c for c in range(trace.kernel.shape[2]) if np.any(trace.kernel[:, :, c])]


def format_window(trace: Trace, index: int) -> list[str]:
    """Return the lines that show one window: cells, products and their sum."""
    window = trace.windows[index]
    height, width = trace.image.shape[:2]
    channels = _weighted_channels(trace)
    lines = [
        f"Window {index + 1} of {len(trace.windows)}: "
        f"output[{window.out_row}, {window.out_col}] from "
        f"{_span(window.rows, height, 'row')}, {_span(window.cols, width, 'column')}"
    ]
    for channel in channels:
        name = CHANNEL_NAMES[channel] if channel < 3 else f"channel {channel}"
        blocks = [
            (f"{name} cells", _grid(window.cells[:, :, channel])),
            ("x weights", _grid(trace.kernel[:, :, channel, 0])),
            ("= products", _grid(window.products[:, :, channel])),
        ]
        lines.extend("  " + line for line in _side_by_side(blocks))
    zero_channels = trace.kernel.shape[2] - len(channels)
    if zero_channels:
        names = [CHANNEL_NAMES[c] for c in range(3) if c not in channels]
        count = zero_channels * window.cells.shape[0] * window.cells.shape[1]
        lines.append(
            f"  {' and '.join(names)}: weights all 0, so their {count} products are 0"
        )
    terms = np.concatenate([window.products[:, :, c].ravel() for c in channels])
    lines.append(
        f"  sum = {_sum_expression(terms, trace.bias)} = {_number(window.total)}"
    )
    return lines


def format_trace(trace: Trace) -> str:
    """Return the whole trace: image, filter, output size, every window, output."""
    image = trace.image
    f_h, f_w, depth, _ = trace.kernel.shape
    lines = [
        f"Image {image.shape[0]}x{image.shape[1]}x{image.shape[2]}, one grid per "
        "channel (small whole numbers stand in for pixel values):",
        *_side_by_side(
            [(CHANNEL_NAMES[c], _grid(image[:, :, c])) for c in range(depth)]
        ),
        "",
        f"Filter {f_h}x{f_w}x{depth}, bias {_number(trace.bias)}: the red weights "
        "find a dark-to-bright step from left to right",
        *_side_by_side(
            [(CHANNEL_NAMES[c], _grid(trace.kernel[:, :, c, 0])) for c in range(depth)]
        ),
        "",
    ]

    mode = trace.padding if isinstance(trace.padding, str) else None
    lines.append(f"Stride {trace.strides[0]}x{trace.strides[1]}, output size:")
    for axis, geometry in zip(AXES, trace.geometry, strict=True):
        lines.extend("  " + line for line in axis_working(axis, geometry, mode))
    top, bottom, left, right = trace.pads
    if top or bottom or left or right:
        lines.append(
            f"Zero padding: {_plural(top, 'row')} on top and {bottom} at the bottom, "
            f"{_plural(left, 'column')} on the left and {right} on the right"
        )

    for index in range(len(trace.windows)):
        lines += ["", *format_window(trace, index)]

    rows, cols = trace.output.shape
    lines += ["", f"Output {rows}x{cols}x1, each sum at its window's position:"]
    lines += ["  " + line for line in _grid(trace.output)]
    return "\n".join(lines)


# Frames


def _draw_frame(trace: Trace, index: int, figure) -> None:
    """Draw window ``index`` on ``figure``: padded red input, products, output."""
    window = trace.windows[index]
    channel = _weighted_channels(trace)[0]
    top, _, left, _ = trace.pads
    figure.clear()
    input_axes, product_axes, output_axes = figure.subplots(1, 3)

    padded = trace.padded[:, :, channel]
    picture = input_axes.imshow(padded, cmap="Reds", vmin=0, vmax=max(padded.max(), 1))
    _annotate(input_axes, picture, padded)
    row0, col0 = window.rows.start + top, window.cols.start + left
    input_axes.add_patch(
        _rectangle(col0 - 0.5, row0 - 0.5, len(window.cols), len(window.rows))
    )
    if top or left or trace.pads[1] or trace.pads[3]:
        height, width = trace.image.shape[:2]
        input_axes.add_patch(
            _rectangle(left - 0.5, top - 0.5, width, height, "grey", "--")
        )
    input_axes.set_title(f"{CHANNEL_NAMES[channel]} channel (padded)")

    products = window.products[:, :, channel]
    limit = max(np.abs(trace.kernel).max() * max(np.abs(padded).max(), 1), 1)
    picture = product_axes.imshow(products, cmap="coolwarm", vmin=-limit, vmax=limit)
    _annotate(product_axes, picture, products)
    product_axes.set_title(f"products, sum = {_number(window.total)}")

    done = np.full(trace.output.shape, np.nan)
    flat = done.reshape(-1)
    flat[: index + 1] = trace.output.reshape(-1)[: index + 1]
    scale = max(np.abs(trace.output).max(), 1)
    picture = output_axes.imshow(done, cmap="coolwarm", vmin=-scale, vmax=scale)
    _annotate(output_axes, picture, done)
    output_axes.add_patch(_rectangle(window.out_col - 0.5, window.out_row - 0.5, 1, 1))
    output_axes.set_title(f"output[{window.out_row}, {window.out_col}]")

    for axes in (input_axes, product_axes, output_axes):
        axes.set_xticks([])
        axes.set_yticks([])
    figure.suptitle(
        f"Window {index + 1} of {len(trace.windows)}, stride "
        f"{trace.strides[0]}x{trace.strides[1]}"
    )


def _rectangle(x, y, width, height, colour="black", style="-"):
    from matplotlib.patches import Rectangle

    return Rectangle(
        (x, y),
        width,
        height,
        fill=False,
        edgecolor=colour,
        linewidth=2,
        linestyle=style,
    )


def _annotate(axes, picture, values: np.ndarray) -> None:
    """Write each value on its cell, in white where the colour is dark."""
    for (row, col), value in np.ndenumerate(values):
        if np.isnan(value):
            continue
        shade = picture.norm(value)
        if picture.get_cmap().name == "Reds":
            dark = shade > 0.6
        else:
            dark = shade < 0.15 or shade > 0.85
        colour = "white" if dark else "black"
        axes.text(
            col,
            row,
            _number(value),
            ha="center",
            va="center",
            fontsize=8,
            color=colour,
        )


FRAME_SIZE = (9.0, 3.4)
FRAME_DPI = 80


def render_frames(trace: Trace):
    """Yield one RGB Pillow image per window, ``FRAME_SIZE * FRAME_DPI`` pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    figure = plt.figure(figsize=FRAME_SIZE, dpi=FRAME_DPI)
    try:
        for index in range(len(trace.windows)):
            _draw_frame(trace, index, figure)
            figure.canvas.draw()
            rgba = np.asarray(figure.canvas.buffer_rgba())
            yield Image.fromarray(rgba[:, :, :3].copy())
    finally:
        plt.close(figure)


def check_frames_path(out: str | os.PathLike) -> Path:
    """Return ``out`` as a Path if it names a .gif file or a folder (no suffix).

    Raises
    ------
    ValueError
        If ``out`` has another suffix.
    """
    out = Path(out)
    if out.suffix and out.suffix.lower() != ".gif":
        raise ValueError(
            "Invalid value for --out. Expected a file ending in .gif or a folder for "
            f"PNG frames. Received {str(out)!r}."
        )
    return out


def write_frames(trace: Trace, out: str | os.PathLike) -> list[Path]:
    """Write the trace as an animated GIF (``out`` ends in .gif) or numbered PNGs.

    Every file is written under a temporary name and renamed when complete, so a
    reader never sees half a file.

    Returns
    -------
    list of Path
        The GIF, or the PNG frames in order.

    Raises
    ------
    ValueError
        If ``out`` has a suffix other than ``.gif`` (a folder has none).
    """
    from .figures import write_atomically

    out = check_frames_path(out)
    if out.suffix.lower() == ".gif":
        frames = list(render_frames(trace))
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(
            out,
            lambda path: frames[0].save(
                path,
                format="GIF",
                save_all=True,
                append_images=frames[1:],
                duration=700,
                loop=0,
            ),
        )
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    digits = len(str(len(trace.windows)))
    paths = []
    for index, frame in enumerate(render_frames(trace)):
        path = out / f"window_{index + 1:0{digits}d}.png"
        write_atomically(path, _png_writer(frame))
        paths.append(path)
    return paths


def _png_writer(frame):
    return lambda target: frame.save(target, format="PNG")
