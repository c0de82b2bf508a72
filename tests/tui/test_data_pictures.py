"""Data screen pictures (``v``): a scatter by class, feature histograms and class balance, a histogram of y, image grids."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from rich.text import Text

from engine.data.samples import DataSample, PictureKind
from tui.factory import make_app
from tui.widgets import picture_render as draw
from tui.widgets.data_pictures import DataPictures, render_pictures
from tui.widgets.data_preview import DataPreview

SIZES = [(80, 24), (120, 40)]
DATA_DIR = Path("/tmp/kwb-test-pictures")
"""The data files' folder: a fixed path, because the Data form shows the (resolved) path in every snapshot."""
MODEL = """
model:
  layers:
    - Dense: {units: 2, activation: softmax}
"""
SPIRALS = "name: pics\nseed: 3\ndata: {source: synthetic, name: spirals, samples: 400, noise: 0.1, validation_split: 0.2}\n"
TABLE = "name: pics\nseed: 3\ndata: {source: npz, path: {data}/table.npz, validation_split: 0.2}\n"
SINE = "name: pics\nseed: 3\ndata: {source: synthetic, name: sine, samples: 300, noise: 0.05, validation_split: 0.2}\n"
REGRESSION = "name: pics\nseed: 3\ndata: {source: npz, path: {data}/reg.npz, validation_split: 0.2}\n"
GRAY = "name: pics\nseed: 3\ndata: {source: npz, path: {data}/gray.npz, validation_split: 0.2, scale: pixels}\n"
RGB = "name: pics\nseed: 3\ndata: {source: npz, path: {data}/rgb.npz, validation_split: 0.2, scale: pixels}\n"


def _shapes(n: int, size: int, rgb: bool) -> tuple[np.ndarray, np.ndarray]:
    """Class 0 a ring, class 1 a cross, class 2 a filled square, on a dark ground; RGB: each class its own colour."""
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(yy, xx)
    masks = [
        np.abs(r - size / 3) < 1.2,
        (np.abs(yy) < 1.2) | (np.abs(xx) < 1.2),
        (np.abs(yy) < size / 4) & (np.abs(xx) < size / 4),
    ]
    labels = np.arange(n) % 3
    images = np.stack([masks[k] * 255 for k in labels]).astype("uint8")
    if rgb:
        tint = np.array([[255, 80, 80], [80, 255, 80], [90, 140, 255]], dtype="float64")
        images = (images[..., None] / 255.0 * tint[labels][:, None, None, :]).astype("uint8")
    return images, labels


def _save(name: str, **arrays: np.ndarray) -> None:
    """``DATA_DIR/name.npz``, written to a temp name and renamed (tests running at once write the same bytes)."""
    DATA_DIR.mkdir(exist_ok=True)
    temp = DATA_DIR / f".{name}.{os.getpid()}.npz"
    np.savez(temp, **arrays)
    os.replace(temp, DATA_DIR / f"{name}.npz")


def _write(tmp_path: Path, text: str) -> Path:
    """A config in ``tmp_path``; its data files in ``DATA_DIR``."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6)).astype("float32") * [1, 2, 0.5, 1, 3, 1] + [0, 5, -2, 0, 0, 1]
    _save("table", x=x, y=(x[:, 0] > 0.3).astype("int64") + (x[:, 1] > 6))
    _save("reg", x=x[:, :3], y=(x[:, 0] * 2 + x[:, 2] ** 2).astype("float32"))
    for name, rgb, size in (("gray", False, 14), ("rgb", True, 12)):
        images, labels = _shapes(30, size, rgb)
        _save(name, x=images, y=labels)
    path = tmp_path / "pics.yaml"
    path.write_text(text.replace("{data}", str(DATA_DIR)) + MODEL, encoding="utf-8")
    return path


async def _show(pilot) -> None:
    """Press v (from the Preview button, so no field takes the key) and wait for the worker."""
    pilot.app.screen.query_one("#preview-btn").focus()
    await pilot.press("v")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def _picture(app) -> str:
    return str(app.screen.query_one(DataPictures).render())


def _colors(app) -> set[int]:
    """The palette colours drawn in the picture (plotext's braille dots, the class bars)."""
    text = app.screen.query_one(DataPictures).render()
    assert isinstance(text, Text)
    return {s.style.color.number for s in text.spans if not isinstance(s.style, str) and s.style.color
            and s.style.color.number is not None}  # fmt: skip


async def _csv_picture(tmp_path: Path, header: str, row) -> str:
    """The Data screen's picture (120×40) of a 60-row CSV: ``header``, then ``row(i)``; its last column the target."""
    (tmp_path / "t.csv").write_text(header + "\n" + "".join(f"{row(i)}\n" for i in range(60)))
    config = tmp_path / "c.yaml"
    target = header.split(",")[-1]
    config.write_text(f"name: pics\nseed: 3\ndata: {{source: csv, path: {tmp_path}/t.csv, target: {target}}}\n")
    app = make_app(config, warm_up=False, cursor_blink=False, start_mode="data")
    async with app.run_test(size=(120, 40)) as pilot:
        await _show(pilot)
        return _picture(app)


class TestPicturesInTheApp:
    """v on the Data screen draws the picture that suits the data, inside the pane, at 80×24 and 120×40."""

    @pytest.mark.parametrize("size", SIZES)
    async def test_spirals_scatter_by_class(self, tmp_path, size) -> None:
        app = make_app(_write(tmp_path, SPIRALS), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            assert not app.screen.query_one(DataPictures).display  # nothing drawn before v
            await _show(pilot)
            pictures = app.screen.query_one(DataPictures)
            assert pictures.display and pictures.sample.kind is PictureKind.POINTS
            text = _picture(app)
            assert "x1 against x0 by class (320)" in text and "● 0" in text and "● 1" in text
            assert sum(ch in text for ch in "⠁⠂⠄⡀⢀⣿") >= 3  # braille dots
            assert {draw.CLASS_COLORS[0], draw.CLASS_COLORS[1]} <= _colors(app)  # each class in its colour
            # The whole picture is inside the visible pane: no line wider, no more lines than it has.
            scroll = app.screen.query_one("#preview-scroll")
            assert pictures.region.height <= scroll.scrollable_content_region.height
            assert max(len(line) for line in text.split("\n")) <= pictures.content_size.width
            # The config changes: the picture of other data goes.
            app.workspace.set("data.noise", 0.3)
            await pilot.pause()
            assert pictures.sample is None and not pictures.display

    async def test_feature_histograms_and_balance(self, tmp_path) -> None:
        app = make_app(_write(tmp_path, TABLE), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=(120, 40)) as pilot:
            await _show(pilot)
            text = _picture(app)
            assert "features (120 samples)" in text and "x0" in text and "x5" in text
            assert "class balance (train)" in text and "█" in text
            sample = app.screen.query_one(DataPictures).sample
            for name, count in sample.balance.items():
                assert f"{name} " in text and f" {count}" in text
            summary = app.screen.query_one(DataPreview).render().plain
            assert "120 samples" in summary and "class balance" not in summary  # drawn once, in the picture
            with_points = make_app(_write(tmp_path, SPIRALS), warm_up=False, cursor_blink=False, start_mode="data")
        async with with_points.run_test(size=(120, 40)) as pilot:
            await _show(pilot)  # a scatter draws no bars: the summary keeps them
            assert "class balance (train)" in with_points.screen.query_one(DataPreview).render().plain

    async def test_csv_features_are_named_by_their_columns(self, tmp_path) -> None:
        text = await _csv_picture(tmp_path, "petal_len,petal_wid,stem,kind", lambda i: f"{i % 7},{i % 5 * 0.5},{i},{'ab'[i % 2]}")
        assert "petal_len" in text and "stem" in text and "x0" not in text

    async def test_a_csv_target_is_called_by_its_column(self, tmp_path) -> None:
        text = await _csv_picture(tmp_path, "area,rooms,age,price", lambda i: f"{i % 7},{i % 5},{i % 3},{i * 1.5}")
        assert "histogram of price" in text and "histogram of y" not in text, text

    async def test_six_features_fit_80_by_24(self, tmp_path) -> None:
        app = make_app(_write(tmp_path, TABLE), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=(80, 24)) as pilot:
            await _show(pilot)
            text = _picture(app)
            assert "x5" in text and "features shown" not in text and "class balance (train)" in text
            assert text.count("\n") + 1 <= app.screen.query_one(DataPictures).content_size.height

    def test_more_features_than_fit_are_counted(self) -> None:
        x = np.random.default_rng(0).normal(size=(50, 40))
        sample = DataSample(PictureKind.FEATURES, x, np.arange(50) % 2, "classification", ["a", "b"],
                            {"a": 25, "b": 25}, total=50)  # fmt: skip
        text = str(render_pictures(sample, 36, 20))
        assert "6 of 40 features shown" in text and "a ███" in text and "b ███" in text

    async def test_regression_histogram_of_y(self, tmp_path) -> None:
        app = make_app(_write(tmp_path, REGRESSION), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=(80, 24)) as pilot:
            await _show(pilot)
            text = _picture(app)
            sample = app.screen.query_one(DataPictures).sample
            assert sample.task == "regression" and "histogram of y (120 samples)" in text
            assert f"{float(sample.y.min()):.3g}" in text and f"{float(sample.y.max()):.3g}" in text
            assert "class balance" not in text

    @pytest.mark.parametrize("size", SIZES)
    async def test_one_feature_regression_draws_the_curve(self, tmp_path, size) -> None:
        app = make_app(_write(tmp_path, SINE), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=size) as pilot:
            await _show(pilot)
            text = _picture(app)
            assert "y against x0 (240)" in text and "histogram of y (240 samples)" in text
            assert sum(ch in text for ch in "⠁⠂⠄⡀⢀⣿⠛") >= 3 and "features (" not in text

    @pytest.mark.parametrize("config", [GRAY, RGB], ids=["gray", "rgb"])
    async def test_image_grid_with_labels(self, tmp_path, config) -> None:
        app = make_app(_write(tmp_path, config), warm_up=False, cursor_blink=False, start_mode="data")
        async with app.run_test(size=(80, 24)) as pilot:
            await _show(pilot)
            sample = app.screen.query_one(DataPictures).sample
            assert sample.kind is PictureKind.IMAGES
            text = _picture(app)
            assert "of 24 training images" in text and text.count("▀") >= 6 * 16
            lines = text.split("\n")
            label_line = next(line for line in lines[1:] if line.strip() and "▀" not in line)
            assert label_line.split()[:3] == [sample.label(i) for i in range(3)]


class TestDrawing:
    """The drawing functions on their own: half blocks, tile sizes, histograms."""

    def test_half_block_colours_top_and_bottom(self) -> None:
        image = np.zeros((4, 2, 3))
        image[0:2, :, 0] = 1.0  # the top half red
        image[2:4, :, 2] = 1.0  # the bottom half blue
        lines = draw.half_block(image, 2, 2)
        first = lines[0].spans[0].style
        second = lines[1].spans[0].style
        assert str(lines[0]) == "▀▀" and first.color.triplet == (255, 0, 0) and first.bgcolor.triplet == (255, 0, 0)
        assert second.color.triplet == (0, 0, 255) and second.bgcolor.triplet == (0, 0, 255)
        gray = draw.half_block(np.array([[0.0], [1.0]]), 1, 1)[0].spans[0].style
        assert gray.color.triplet == (0, 0, 0) and gray.bgcolor.triplet == (255, 255, 255)

    def test_axis_ends_fit_whole(self) -> None:
        from tui.widgets.picture_render import axis_line

        for cols in (30, 16, 12, 9):
            text = axis_line(-3220.5, 3090.1, cols).plain
            assert len(text) <= cols and len(text.split()) == 2, text
        assert axis_line(-3220.5, 3090.1, 16).plain.split() == ["-3.2e+03", "3.1e+03"]
        assert axis_line(-3220.5, 3090.1, 12).plain.split() == ["-3.2k", "3.1k"]

    def test_to_unit(self) -> None:
        assert np.allclose(draw.to_unit(np.array([0, 128, 255], dtype="uint8")), [0, 128 / 255, 1])
        assert np.allclose(draw.to_unit(np.array([0.0, 0.5])), [0, 0.5])
        assert np.allclose(draw.to_unit(np.array([-1.0, 0.0, 3.0])), [0, 0.25, 1])

    def test_tiles_fit_and_show_enough(self) -> None:
        cols, lines, across, down = draw.fit_tiles(48, (28, 28), 36, 19)
        assert across * (cols + 1) - 1 <= 36 and down * (lines + 1) <= 19 and across * down >= 8
        assert draw.fit_tiles(48, (28, 28), 200, 200)[0] == 56  # never more than twice the image

    def test_histogram_tallest_bin_full(self) -> None:
        lines = draw.histogram(np.array([0.0] * 30 + [1.0] * 15), 2, 2)
        assert [str(line) for line in lines] == ["█ ", "██"]

    def test_every_kind_stays_inside_its_cells(self) -> None:
        rng = np.random.default_rng(0)
        samples = [
            DataSample(PictureKind.POINTS, rng.normal(size=(50, 2)), rng.normal(size=50), "regression", total=50),
            DataSample(PictureKind.FEATURES, rng.normal(size=(50, 40)), np.arange(50) % 12, "classification",
                       [str(i) for i in range(12)], {str(i): 4 for i in range(12)}, total=50),
            DataSample(PictureKind.IMAGES, rng.random(size=(9, 20, 20, 3)), np.arange(9) % 3, "classification",
                       ["a", "b", "c"], total=9),
        ]  # fmt: skip
        for sample in samples:
            for width, height in ((36, 20), (76, 37), (14, 5)):
                text = render_pictures(sample, width, height)
                lines = str(text).split("\n")
                assert len(lines) <= height and max(len(line) for line in lines) <= width, (sample.kind, width)


class TestPictureSnapshots:
    """Each picture at 80×24 and 120×40, reached by pressing v."""

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize("config", [SPIRALS, TABLE, REGRESSION, SINE, GRAY, RGB],
                             ids=["spirals", "table", "regression", "sine", "gray", "rgb"])  # fmt: skip
    def test_picture(self, snap_compare, tmp_path, size, config) -> None:
        app = make_app(_write(tmp_path, config), warm_up=False, cursor_blink=False, start_mode="data")
        assert snap_compare(app, terminal_size=size, run_before=_show)
