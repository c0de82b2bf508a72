"""Image folders (one subfolder per class) as ``tf.data`` datasets: the folder scan, then Keras' loader and the pipeline."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import DataBundle, _describe, _need_path
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig


# ================================================================ image folders
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _check_folder(path: str, key: str) -> list[str]:
    p = Path(path)
    if not p.exists():
        raise DataError("folder not found", source=path, key=key)
    if not p.is_dir():
        raise DataError("is a file, expected a folder with one subfolder of images per class", source=path, key=key)
    classes = sorted(d.name for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError("has no subfolders; expected one subfolder of images per class", source=path, key=key)
    if not any(f.suffix.lower() in _IMAGE_EXT for c in classes for f in (p / c).rglob("*")):
        raise DataError(
            f"has no images ({', '.join(_IMAGE_EXT)}) in its class folders: {', '.join(classes)}", source=path, key=key
        )
    return classes


def _directory(cfg: "DataConfig", seed: int | None, batch_size: int) -> DataBundle:
    """A bundle of ``tf.data`` datasets read from image folders (one subfolder per class)."""
    path = _need_path(cfg)
    classes = _scan(cfg, path)
    pipe = _ImagePipeline(cfg, classes, batch_size, 0 if seed is None else seed)
    if cfg.validation is None and cfg.validation_split > 0:
        train, val = pipe.load(path, "data.path", validation_split=cfg.validation_split, subset="both",
                               seed=pipe.seed, shuffle=cfg.shuffle)  # fmt: skip
    else:
        train = pipe.load(path, "data.path", seed=pipe.seed, shuffle=cfg.shuffle)
        val = pipe.load(cfg.validation.path, "data.validation.path", shuffle=False) if cfg.validation else None
    test = pipe.load(cfg.test.path, "data.test.path", shuffle=False) if cfg.test else None
    train_ds, n_train = pipe.finish(train, path, cfg.limit, shuffled=cfg.shuffle)
    val_ds, n_val = pipe.finish(val, cfg.validation.path if cfg.validation else path)
    test_ds, n_test = pipe.finish(test, cfg.test.path if cfg.test else path)
    bundle = DataBundle(
        None, None, None, None, None, None, train_ds=train_ds, val_ds=val_ds, test_ds=test_ds,
        input_shape=(int(cfg.image_size[0]), int(cfg.image_size[1]), pipe.channels),
        num_classes=len(classes), class_names=classes, task="classification",
        train_samples=n_train, val_samples=n_val, test_samples=n_test,
    )  # fmt: skip
    if cfg.scale == "pixels":
        from engine.preprocessing import Scaling

        bundle.scaling = {"": Scaling("pixels")}
    bundle.description = _describe(f"directory {Path(path).name}", bundle)
    return bundle


def _scan(cfg: "DataConfig", path: str) -> list[str]:
    """Check the options and every folder before TensorFlow loads; the class names, sorted."""
    for field in ("x", "y"):
        if isinstance(getattr(cfg, field), dict):
            raise DataError(
                "image folders give one image input and one label; a mapping by name needs an npz, HDF5 or CSV file",
                key=f"data.{field}",
            )
    if cfg.scale in ("minmax", "standard"):
        raise DataError(
            f"{cfg.scale!r} is not available for image folders; use 'pixels' (÷255) or a Normalization layer",
            key="data.scale",
        )
    if cfg.test_split and cfg.test is None:
        raise DataError(
            "image folders cannot split off a test set; put the test images in their own folder and set data.test.path",
            key="data.test_split",
        )
    classes = _check_folder(path, "data.path")
    for prefix, ref in (("data.validation", cfg.validation), ("data.test", cfg.test)):
        if ref is not None:
            _check_folder(ref.path, f"{prefix}.path")
    return classes


class _ImagePipeline:
    """One image-folder config's ``tf.data`` pipeline: Keras' loader, then limit, scale, cache, prefetch."""

    def __init__(self, cfg: "DataConfig", classes: list[str], batch_size: int, seed: int) -> None:
        self.cfg, self.classes, self.batch_size, self.seed = cfg, classes, batch_size, seed
        self.channels = 1 if cfg.color_mode == "grayscale" else 3

    def load(self, folder: str, key: str, **extra: Any) -> Any:
        """``keras.utils.image_dataset_from_directory`` with this config's options; ``DataError`` naming ``key``."""
        from engine.kerasapi import keras as keras_module

        cfg = self.cfg
        utils = keras_module().utils
        load = utils.image_dataset_from_directory
        if "verbose" in inspect.signature(load).parameters:
            extra["verbose"] = False  # "Found 80 files belonging to 2 classes." would land on stdout (--json)
        # "Using 16 files for training." is printed whatever verbose says; without interactive
        # logging (a per-thread setting) Keras sends it to its logger instead of stdout.
        was_interactive = utils.is_interactive_logging_enabled()
        utils.disable_interactive_logging()
        try:
            return load(
                folder, image_size=tuple(cfg.image_size), color_mode=cfg.color_mode, batch_size=self.batch_size,
                label_mode="categorical" if cfg.one_hot else "int", class_names=self.classes, **extra,
            )  # fmt: skip
        except ValueError as exc:
            raise DataError(str(exc), source=folder, key=key) from None
        finally:
            if was_interactive:
                utils.enable_interactive_logging()

    def labels_of(self, files: list[str], root: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index[Path(f).relative_to(root).parts[0]] for f in files], dtype="int32")

    def first_files(self, files: list[str], labels: np.ndarray) -> Any:
        """The first N files of the (seeded) split order, read the way Keras reads them,
        so ``limit`` keeps the same N images every epoch."""
        import tensorflow as tf

        cfg, channels = self.cfg, self.channels

        def read(file: Any, label: Any) -> Any:
            img = tf.image.decode_image(tf.io.read_file(file), channels=channels, expand_animations=False)
            img = tf.image.resize(img, tuple(cfg.image_size))
            img.set_shape((*cfg.image_size, channels))
            return img, (tf.one_hot(label, len(self.classes)) if cfg.one_hot else label)

        ds = tf.data.Dataset.from_tensor_slices((files, labels))
        if cfg.shuffle:
            ds = ds.shuffle(len(files), seed=self.seed)
        return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE).batch(self.batch_size)

    def finish(self, ds: Any, root: str, limit: int | None = None, shuffled: bool = False) -> tuple[Any, int]:
        """Limit, scale, cache and prefetch one split; the dataset and its sample count."""
        import tensorflow as tf

        if ds is None:
            return None, 0
        cfg = self.cfg
        files = list(ds.file_paths)
        labels = self.labels_of(files, root)
        if limit is not None and limit < len(files):
            files, labels = files[:limit], labels[:limit]
            ds = self.first_files(files, labels)
        # data.scale pixels is the model's first layer (engine.preprocessing): the images stay raw here.
        if cfg.cache and shuffled:
            # A cache after Keras' shuffle would replay the first epoch's order for ever:
            # cache the decoded images, then shuffle them again each epoch and batch.
            ds = ds.unbatch().cache().shuffle(len(files), seed=self.seed, reshuffle_each_iteration=True)
            ds = ds.batch(self.batch_size)
        elif cfg.cache:
            ds = ds.cache()
        if cfg.prefetch:
            ds = ds.prefetch(tf.data.AUTOTUNE)
        ds.file_paths = files
        ds.class_names = self.classes
        ds.labels = lambda: labels  # for preview's class balance, without decoding images
        return ds, len(files)
