"""Image folders (one subfolder per class) as ``tf.data`` datasets via Keras."""

from __future__ import annotations

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
    path = _need_path(cfg)
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
    import tensorflow as tf
    from engine.kerasapi import keras as keras_module

    keras = keras_module()

    split_seed = 0 if seed is None else seed
    opts = dict(
        image_size=tuple(cfg.image_size), color_mode=cfg.color_mode, batch_size=batch_size,
        label_mode="categorical" if cfg.one_hot else "int", class_names=classes,
    )

    def load(folder: str, key: str, **extra: Any):
        try:
            return keras.utils.image_dataset_from_directory(folder, **opts, **extra)
        except ValueError as exc:
            raise DataError(str(exc), source=folder, key=key) from None

    if cfg.validation is None and cfg.validation_split > 0:
        train, val = load(path, "data.path", validation_split=cfg.validation_split, subset="both",
                          seed=split_seed, shuffle=cfg.shuffle)
    else:
        train = load(path, "data.path", seed=split_seed, shuffle=cfg.shuffle)
        val = load(cfg.validation.path, "data.validation.path", shuffle=False) if cfg.validation else None
    test = load(cfg.test.path, "data.test.path", shuffle=False) if cfg.test else None

    channels = 1 if cfg.color_mode == "grayscale" else 3

    def labels_of(files: list[str], root: str) -> np.ndarray:
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[Path(f).relative_to(root).parts[0]] for f in files], dtype="int32")

    def first_files(files: list[str], labels: np.ndarray):
        # The first N files of the (seeded) split order, read the way Keras reads them,
        # so `limit` keeps the same N images every epoch.
        def read(file, label):
            img = tf.image.decode_image(tf.io.read_file(file), channels=channels, expand_animations=False)
            img = tf.image.resize(img, tuple(cfg.image_size))
            img.set_shape((*cfg.image_size, channels))
            return img, (tf.one_hot(label, len(classes)) if cfg.one_hot else label)

        ds = tf.data.Dataset.from_tensor_slices((files, labels))
        if cfg.shuffle:
            ds = ds.shuffle(len(files), seed=split_seed)
        return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size)

    def finish(ds, root: str, limit: int | None = None, shuffled: bool = False):
        if ds is None:
            return None, 0
        files = list(ds.file_paths)
        labels = labels_of(files, root)
        if limit is not None and limit < len(files):
            files, labels = files[:limit], labels[:limit]
            ds = first_files(files, labels)
        if cfg.scale == "pixels":
            ds = ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
        if cfg.cache and shuffled:
            # A cache after Keras' shuffle would replay the first epoch's order for ever:
            # cache the decoded images, then shuffle them again each epoch and batch.
            ds = ds.unbatch().cache().shuffle(len(files), seed=split_seed, reshuffle_each_iteration=True)
            ds = ds.batch(batch_size)
        elif cfg.cache:
            ds = ds.cache()
        if cfg.prefetch:
            ds = ds.prefetch(tf.data.AUTOTUNE)
        ds.file_paths = files
        ds.class_names = classes
        ds.labels = lambda: labels  # for preview's class balance, without decoding images
        return ds, len(files)

    train_ds, n_train = finish(train, path, cfg.limit, shuffled=cfg.shuffle)
    val_ds, n_val = finish(val, cfg.validation.path if cfg.validation else path)
    test_ds, n_test = finish(test, cfg.test.path if cfg.test else path)
    bundle = DataBundle(
        None, None, None, None, None, None, train_ds=train_ds, val_ds=val_ds, test_ds=test_ds,
        input_shape=(int(cfg.image_size[0]), int(cfg.image_size[1]), channels),
        num_classes=len(classes), class_names=classes, task="classification",
        train_samples=n_train, val_samples=n_val, test_samples=n_test,
    )
    bundle.description = _describe(f"directory {Path(path).name}", bundle)
    return bundle
