"""Data sources: a ``DataConfig`` becomes train/val/test arrays or streaming datasets (``load_data``).

Sources: ``synthetic`` (pure numpy, seeded), ``keras`` (``keras.datasets``, from Keras'
cache), ``npz``, ``csv`` (csv module, no pandas), ``hdf5`` (h5py; in memory or streamed
batch by batch), ``directory`` (one subfolder of images per class, via
``keras.utils.image_dataset_from_directory``) and ``sklearn`` (optional extra).

Choices this module makes where the design is silent:

* Splits are fractions of the whole set: with ``validation_split: 0.2`` and
  ``test_split: 0.1`` a 1000-sample set gives 700 / 200 / 100. The data is shuffled
  first (``shuffle: true``, seeded), then test and validation are taken from the end.
  Keras datasets bring their own test split; ``test_split`` is then ignored.
* Explicit ``data.validation`` / ``data.test`` files replace the matching split. For
  sources without files of their own (synthetic, keras, sklearn) the file's kind is
  taken from its suffix (``.npz``, ``.csv``, ``.h5``/``.hdf5``).
* Targets: integer labels (≥ 0) mean classification with ``max + 1`` classes; float
  targets mean regression; a float 2-D target of 0/1 rows summing to 1 is taken as
  already one-hot. A CSV target column of words (``setosa``) becomes class labels in
  sorted order, with the words as class names.
* Scaling statistics come from the training split only, and are applied to every split.
* imdb/reuters sequences are padded or cut to ``maxlen`` (200 when not given), because a
  ragged array cannot be fed to a model.
* Streamed HDF5 cannot shuffle rows cheaply, so it shuffles the order of contiguous
  batches each epoch, and splits validation/test off the end by index range.

Heavy modules (keras, tensorflow, h5py) are imported inside the functions that need them.
"""

from __future__ import annotations

import csv
import io
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.config import suggest
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig, DataRef

__all__ = [
    "DataBundle",
    "load_data",
    "preview",
    "hdf5_tree",
    "SYNTHETIC",
    "KERAS_DATASETS",
    "SKLEARN_DATASETS",
]

SYNTHETIC = ("spirals", "moons", "circles", "xor", "blobs", "sine")
KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "boston_housing", "imdb", "reuters")
SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer")

DEFAULT_MAXLEN = 200
"""imdb/reuters: sequence length when ``data.maxlen`` is not given."""


@dataclass
class DataBundle:
    """What a data source produced: arrays, or ``*_ds`` streaming datasets in their place."""

    x_train: np.ndarray | None
    y_train: np.ndarray | None
    x_val: np.ndarray | None
    y_val: np.ndarray | None
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    train_ds: Any = None
    """A ``keras.utils.PyDataset`` or ``tf.data.Dataset`` of (x, y) batches; then x_train/y_train are None."""
    val_ds: Any = None
    test_ds: Any = None
    input_shape: tuple[int, ...] = ()
    """One sample, no batch dimension."""
    num_classes: int | None = None
    """None for regression."""
    class_names: list[str] | None = None
    task: str = "classification"
    """"classification" or "regression"."""
    description: str = ""
    """One line, e.g. "synthetic spirals: 1600 train / 400 val / 0 test, 2 classes"."""
    train_samples: int = 0
    val_samples: int = 0
    test_samples: int = 0


# ================================================================ public entry point
def load_data(cfg: "DataConfig", seed: int | None = None, batch_size: int = 32) -> DataBundle:
    """Load the data ``cfg`` describes. Raises ``DataError`` naming the file and key on bad input.

    Args:
        cfg: the ``data`` section of a run config (paths already absolute).
        seed: the run's seed, used when ``cfg.seed`` is None. Defaults to None (unseeded).
        batch_size: batch size of streaming datasets (hdf5 with ``stream``, directory).
            Defaults to 32.
    """
    seed = cfg.seed if cfg.seed is not None else seed
    if cfg.source == "hdf5" and cfg.stream:
        return _hdf5_stream(cfg, seed, batch_size)
    if cfg.source == "directory":
        return _directory(cfg, seed, batch_size)

    label_map: dict[str, int] | None = None
    given_test: tuple[np.ndarray, np.ndarray] | None = None
    class_names: list[str] | None = None
    if cfg.source == "synthetic":
        x, y = _synthetic(cfg, seed)
        label = f"synthetic {cfg.name}"
    elif cfg.source == "keras":
        x, y, given_test, class_names = _keras_dataset(cfg, seed)
        label = f"keras {cfg.name}"
    elif cfg.source == "sklearn":
        x, y, class_names = _sklearn(cfg)
        label = f"sklearn {cfg.name}"
    else:
        path = _need_path(cfg)
        x, y, label_map = _read_file(cfg.source, path, cfg.x, cfg.y, cfg.target, cfg, "data", None)
        label = f"{cfg.source} {Path(path).name}"
        if label_map:
            class_names = list(label_map)

    # Explicit files replace the matching split.
    val = _read_ref(cfg, cfg.validation, "data.validation", label_map) if cfg.validation else None
    test = _read_ref(cfg, cfg.test, "data.test", label_map) if cfg.test else None
    if test is None:
        test = given_test

    n = len(x)
    if cfg.shuffle:
        order = np.random.default_rng(seed).permutation(n)
        x, y = x[order], y[order]
    n_test = 0 if test is not None else int(round(n * cfg.test_split))
    n_val = 0 if val is not None else int(round(n * cfg.validation_split))
    n_train = n - n_test - n_val
    if n_train <= 0:
        raise DataError(
            f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
            key="data.validation_split",
        )
    if test is None:
        test = (x[n - n_test :], y[n - n_test :])
    if val is None:
        val = (x[n_train : n_train + n_val], y[n_train : n_train + n_val])
    x_train, y_train = x[:n_train], y[:n_train]
    if cfg.limit is not None:
        x_train, y_train = x_train[: cfg.limit], y_train[: cfg.limit]
    x_val, y_val = val
    x_test, y_test = test

    task, num_classes = _infer_task(y_train, *(a for a in (y_val, y_test) if len(a)))
    x_train, x_val, x_test = _scale(cfg.scale, x_train, x_val, x_test)
    if cfg.one_hot:
        y_train, y_val, y_test = (_one_hot(a, task, num_classes) for a in (y_train, y_val, y_test))
    if class_names is not None and num_classes is not None and len(class_names) != num_classes:
        class_names = None

    bundle = DataBundle(
        x_train, y_train, x_val, y_val, x_test, y_test,
        input_shape=tuple(int(d) for d in x_train.shape[1:]),
        num_classes=num_classes, class_names=class_names, task=task,
        train_samples=len(x_train), val_samples=len(x_val), test_samples=len(x_test),
    )
    bundle.description = _describe(label, bundle)
    return bundle


def _describe(label: str, b: DataBundle) -> str:
    kind = f"{b.num_classes} classes" if b.task == "classification" else "regression"
    return f"{label}: {b.train_samples} train / {b.val_samples} val / {b.test_samples} test, {kind}"


# ================================================================ targets, scaling
def _is_one_hot(y: np.ndarray) -> bool:
    if y.ndim != 2 or y.shape[1] < 2 or not np.issubdtype(y.dtype, np.number) or not len(y):
        return False
    return bool(np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all())


def _infer_task(y: np.ndarray, *others: np.ndarray) -> tuple[str, int | None]:
    if _is_one_hot(y):
        return "classification", int(y.shape[1])
    if np.issubdtype(y.dtype, np.integer) and y.ndim == 1 and (not len(y) or y.min() >= 0):
        top = max(int(a.max()) for a in (y, *others) if len(a)) if len(y) else 0
        return "classification", top + 1
    return "regression", None


def _one_hot(y: np.ndarray, task: str, num_classes: int | None) -> np.ndarray:
    if _is_one_hot(y):
        return y.astype("float32")
    if task != "classification" or num_classes is None:
        raise DataError("needs integer class labels, but the targets are not (regression data?)", key="data.one_hot")
    return np.eye(num_classes, dtype="float32")[y]


def _scale(mode: str, train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    if mode == "none":
        return [train, *others]
    if mode == "pixels":
        return [a.astype("float32") / np.float32(255) for a in (train, *others)]
    if not np.issubdtype(train.dtype, np.number):
        raise DataError(f"cannot scale non-numeric inputs ({train.dtype})", key="data.scale")
    ref = train.astype("float64")
    if mode == "minmax":
        lo, hi = ref.min(axis=0), ref.max(axis=0)
        shift, span = lo, np.where(hi - lo == 0, 1.0, hi - lo)
    else:  # standard
        shift, std = ref.mean(axis=0), ref.std(axis=0)
        span = np.where(std == 0, 1.0, std)
    return [((a.astype("float64") - shift) / span).astype("float32") for a in (train, *others)]


def _as_float(x: np.ndarray) -> np.ndarray:
    return x.astype("float32") if x.dtype == np.float64 else x


def _fix_arrays(x: np.ndarray, y: np.ndarray, source: str, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Common checks: sample counts match, 1-D inputs become one feature, (n, 1) labels flatten."""
    if x.ndim == 0 or y.ndim == 0:
        raise DataError("x and y must be arrays with one row per sample, got a scalar", source=source, key=key)
    if len(x) != len(y):
        raise DataError(f"x has {len(x)} samples but y has {len(y)}; they must match", source=source, key=key)
    if not len(x):
        raise DataError("holds no samples", source=source, key=key)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if np.issubdtype(y.dtype, np.integer) and y.dtype != np.int32 and y.ndim == 1:
        y = y.astype("int32")
    return _as_float(x), _as_float(y)


# ================================================================ synthetic
def _synthetic(cfg: "DataConfig", seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    name = _need_name(cfg, SYNTHETIC)
    rng = np.random.default_rng(seed)
    n, noise = cfg.samples, cfg.noise
    if name == "sine":
        x = rng.uniform(-2 * np.pi, 2 * np.pi, size=(n, 1))
        y = np.sin(x[:, 0]) + noise * rng.standard_normal(n)
        return x.astype("float32"), y.astype("float32")
    k = cfg.classes if name in ("spirals", "blobs") else 2
    y = np.repeat(np.arange(k), [n // k + (i < n % k) for i in range(k)])
    m = len(y)
    if name == "spirals":
        # Arms wind 1.75 turns; radius grows with angle to 1. Noise is relative to the
        # radial gap between neighbouring arms, so 0.1-0.2 stays learnable for any count.
        turns = 1.75
        t = np.sqrt(rng.uniform(0.02, 1, m)) * turns * 2 * np.pi
        angle = t + 2 * np.pi * y / k
        r = t / (turns * 2 * np.pi)
        x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
        gap = 1 / (k * turns)
        x += rng.standard_normal((m, 2)) * noise * gap
    elif name == "moons":
        t = rng.uniform(0, np.pi, m)
        x = np.where(
            (y == 0)[:, None],
            np.stack([np.cos(t), np.sin(t)], 1),
            np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1),
        )
        x += noise * rng.standard_normal((m, 2))
    elif name == "circles":
        t = rng.uniform(0, 2 * np.pi, m)
        r = np.where(y == 0, 1.0, 0.5)
        x = np.stack([r * np.cos(t), r * np.sin(t)], 1) + noise * rng.standard_normal((m, 2))
    elif name == "xor":
        # Quadrants kept 0.1 away from the axes (as in TensorFlow Playground), so the
        # labels are exact and a two-layer network can reach ~100% while one line cannot.
        u = rng.uniform(-1, 1, (m, 2))
        x = np.sign(u) * (0.1 + 0.9 * np.abs(u))
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
        x += noise * rng.standard_normal((m, 2))
    else:  # blobs: centres in a 10-unit box; noise 0.1 is a cluster std of 1 (sklearn's default)
        centres = rng.uniform(-10, 10, (k, cfg.features_count))
        x = centres[y] + 10 * noise * rng.standard_normal((m, cfg.features_count))
    order = rng.permutation(m)
    return x[order].astype("float32"), y[order].astype("int32")


def _need_name(cfg: "DataConfig", choices: tuple[str, ...]) -> str:
    if not cfg.name:
        raise DataError(f"is required for source {cfg.source!r}; choose one of: {', '.join(choices)}", key="data.name")
    if cfg.name not in choices:
        raise DataError(
            f"unknown {cfg.source} dataset {cfg.name!r}{suggest(cfg.name, choices)}; "
            f"choose one of: {', '.join(choices)}",
            key="data.name",
        )
    return cfg.name


# ================================================================ keras datasets
_TFK = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FASHION = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
_KERAS_FILES: dict[str, list[tuple[str, str]]] = {
    # name: [(path under <keras home>/datasets, where Keras downloads it from)], as Keras' loaders expect them.
    "mnist": [("mnist.npz", _TFK + "mnist.npz")],
    "fashion_mnist": [(f"fashion-mnist/{f}", _TFK + f) for f in _FASHION],
    "cifar10": [("cifar-10-batches-py-target_archive", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")],
    "cifar100": [("cifar-100-python-target_archive", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz")],
    "boston_housing": [("boston_housing.npz", _TFK + "boston_housing.npz")],
    "imdb": [("imdb.npz", _TFK + "imdb.npz")],
    "reuters": [("reuters.npz", _TFK + "reuters.npz")],
}
_CLASS_NAMES: dict[str, list[str]] = {
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    "cifar100": (
        "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly "
        "camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup "
        "dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower "
        "leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid "
        "otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road "
        "rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower "
        "sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale "
        "willow_tree wolf woman worm"
    ).split(),
    "imdb": ["negative", "positive"],
}
_RESOLVE_TIMEOUT_S = 5.0
_DOWNLOAD_TIMEOUT_S = 15.0


def _keras_home() -> str:
    """Keras' cache folder, computed as Keras does: ``$KERAS_HOME`` or ``~/.keras``.

    Read at call time (Keras reads it once at import); the two agree unless the
    environment changes after Keras is imported.
    """
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    if os.path.exists(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return base


def _resolve_host(url: str) -> None:
    """Resolve the URL's host in a daemon thread so a dead resolver cannot hang us."""
    import socket
    import urllib.parse

    host = urllib.parse.urlsplit(url).hostname or ""
    result: list[BaseException | None] = []

    def work() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(None)
        except BaseException as exc:  # reported to the caller below
            result.append(exc)

    thread = threading.Thread(target=work, daemon=True, name="kwb-resolve")
    thread.start()
    thread.join(_RESOLVE_TIMEOUT_S)
    if not result:
        raise OSError(f"could not resolve {host} within {_RESOLVE_TIMEOUT_S:g} s")
    if result[0] is not None:
        raise OSError(f"could not resolve {host}: {result[0]}")


def _download(url: str, target: str) -> None:
    """Fetch ``url`` into ``target`` (temp name, then rename); fails fast when offline."""
    import urllib.request

    _resolve_host(url)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.kwb-partial"
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as resp, open(tmp, "wb") as out:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _ensure_cached(name: str) -> None:
    cache = os.path.join(_keras_home(), "datasets")
    missing = [(os.path.join(cache, rel), url) for rel, url in _KERAS_FILES[name] if not os.path.exists(os.path.join(cache, rel))]
    failure: BaseException | None = None
    still: list[tuple[str, str]] = []
    for target, url in missing:
        if failure is None:
            try:
                _download(url, target)
                continue
            except Exception as exc:  # offline, refused, timed out: explained below
                failure = exc
        still.append((target, url))
    if still:
        where = "; ".join(f"put {url.rsplit('/', 1)[-1]} (from {url}) at {target}" for target, url in still)
        raise DataError(
            f"{name} is not in Keras' cache and could not be downloaded; {where} (download error: {failure})",
            key="data.name",
        )


def _keras_dataset(cfg: "DataConfig", seed: int | None):
    name = _need_name(cfg, KERAS_DATASETS)
    _ensure_cached(name)
    import keras

    module = getattr(keras.datasets, name)
    kwargs: dict[str, Any] = {}
    if name in ("imdb", "reuters"):
        kwargs = {"num_words": cfg.num_words, "seed": 113 if seed is None else seed}
    try:
        (x, y), (xt, yt) = module.load_data(**kwargs)
    except Exception as exc:
        raise DataError(f"Keras could not load {name} from its cache: {exc}", key="data.name") from exc
    if name in ("imdb", "reuters"):
        maxlen = cfg.maxlen or DEFAULT_MAXLEN
        pad = keras.utils.pad_sequences
        x = pad(x, maxlen=maxlen, padding="pre", truncating="pre").astype("int32")
        xt = pad(xt, maxlen=maxlen, padding="pre", truncating="pre").astype("int32")
    x, y = _fix_arrays(np.asarray(x), np.asarray(y), name, "data.name")
    xt, yt = _fix_arrays(np.asarray(xt), np.asarray(yt), name, "data.name")
    return x, y, (xt, yt), _CLASS_NAMES.get(name)


# ================================================================ sklearn
def _sklearn(cfg: "DataConfig"):
    name = _need_name(cfg, SKLEARN_DATASETS)
    try:
        from sklearn import datasets as skd
    except ImportError:
        raise DataError(
            "scikit-learn is not installed; install the sklearn extra: pip install -e '.[sklearn]'",
            key="data.source",
        ) from None
    bunch = getattr(skd, f"load_{name}")()
    x, y = _fix_arrays(np.asarray(bunch.data), np.asarray(bunch.target), name, "data.name")
    names = [str(n) for n in getattr(bunch, "target_names", [])] or None
    return x, y, names


# ================================================================ files: npz, csv, hdf5
def _need_path(cfg: "DataConfig") -> str:
    if not cfg.path:
        raise DataError(f"is required for source {cfg.source!r}", key="data.path")
    return cfg.path


def _check_file(path: str, key: str | None, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", source=path, key=key)
    if p.is_dir():
        raise DataError(f"is a folder, expected {what}", source=path, key=key)
    if p.stat().st_size == 0:
        raise DataError(f"file is empty, expected {what}", source=path, key=key)


_REF_KINDS = {".npz": "npz", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".h5": "hdf5", ".hdf5": "hdf5", ".he5": "hdf5"}


def _read_ref(cfg: "DataConfig", ref: "DataRef", prefix: str, label_map: dict[str, int] | None):
    kind = cfg.source if cfg.source in ("npz", "csv", "hdf5") else _REF_KINDS.get(Path(ref.path).suffix.lower())
    if kind is None:
        raise DataError(
            f"cannot tell the file kind of {Path(ref.path).name!r}; use a .npz, .csv, .h5 or .hdf5 file",
            source=ref.path, key=f"{prefix}.path",
        )
    x_key = ref.x if ref.x is not None else cfg.x
    y_key = ref.y if ref.y is not None else cfg.y
    target = ref.target if ref.target is not None else cfg.target
    x, y, _ = _read_file(kind, ref.path, x_key, y_key, target, cfg, prefix, label_map)
    return x, y


def _read_file(kind, path, x_key, y_key, target, cfg, prefix, label_map):
    """(x, y, label map or None) from an npz, csv or hdf5 file; errors keyed under ``prefix``."""
    if kind == "npz":
        x, y = _read_npz(path, x_key or "x", y_key or "y", prefix)
        label_map = None
    elif kind == "csv":
        x, y, label_map = _read_csv(path, target, cfg, prefix, label_map)
    else:
        x, y = _read_hdf5(path, x_key or "x", y_key or "y", prefix)
        label_map = None
    x, y = _fix_arrays(x, y, path, f"{prefix}.y" if kind != "csv" else f"{prefix}.path")
    return x, y, label_map


def _closest(name: str, choices: list[str]) -> str:
    """' (did you mean X?)': a close spelling, else a key that starts with or contains ``name``."""
    hint = suggest(name, choices)
    if hint:
        return hint
    stem = name.strip("/").lower()
    for test in (lambda c: c.lower().startswith(stem), lambda c: stem in c.lower()):
        hits = [c for c in choices if test(c)]
        if hits:
            return f" (did you mean {hits[0]!r}?)"
    return ""


def _read_npz(path: str, x_key: str, y_key: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    import zipfile

    _check_file(path, f"{prefix}.path", "a .npz file")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"is not a readable .npz file ({exc})", source=path, key=f"{prefix}.path") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError("is a single .npy array, expected a .npz file holding x and y", source=path, key=f"{prefix}.path")
    out = []
    with archive:
        names = list(archive.files)
        for key, field in ((x_key, "x"), (y_key, "y")):
            if key not in names:
                raise DataError(
                    f"no array {key!r} in this file{_closest(key, names)}; it holds: {', '.join(names) or 'nothing'}",
                    source=path, key=f"{prefix}.{field}",
                )
            try:
                out.append(archive[key])
            except ValueError as exc:
                raise DataError(
                    f"array {key!r} holds Python objects, which kwb never unpickles ({exc})",
                    source=path, key=f"{prefix}.{field}",
                ) from None
            except Exception as exc:
                raise DataError(f"array {key!r} cannot be read ({exc})", source=path, key=f"{prefix}.{field}") from None
    return out[0], out[1]


def _read_text(path: str, key: str) -> str:
    _check_file(path, key, "CSV text")
    raw = Path(path).read_bytes()
    head = raw[:8192]
    controls = sum(b < 32 and b not in (9, 10, 12, 13) for b in head)
    if b"\x00" in head or controls > len(head) // 100 + 1:
        raise DataError("is a binary file, expected CSV text", source=path, key=key)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise DataError("file is empty, expected CSV text", source=path, key=key)
    return text


def _column_index(spec: str | int, names: list[str], path: str, key: str) -> int:
    if isinstance(spec, int) or (isinstance(spec, str) and spec.lstrip("-").isdigit() and spec not in names):
        i = int(spec)
        if not -len(names) <= i < len(names):
            raise DataError(f"column index {i} is out of range; the file has {len(names)} columns", source=path, key=key)
        return i % len(names)
    if spec not in names:
        raise DataError(
            f"no column {spec!r}{suggest(spec, names)}; columns: {', '.join(names)}", source=path, key=key
        )
    return names.index(spec)


def _read_csv(path, target, cfg, prefix, label_map):
    key = f"{prefix}.path"
    text = _read_text(path, key)
    try:
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=cfg.delimiter)]
    except csv.Error as exc:
        raise DataError(f"is not valid CSV: {exc}", source=path, key=key) from None
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if cfg.header:
        names = [c.strip() for c in numbered[0][1]]
        numbered = numbered[1:]
    else:
        names = [str(i) for i in range(len(numbered[0][1]))]
    if not numbered:
        raise DataError("has a header but no data rows", source=path, key=key)
    width = len(names)
    for line, r in numbered:
        if len(r) != width:
            raise DataError(
                f"line {line} has {len(r)} fields but the {'header' if cfg.header else 'first row'} has {width}"
                + (f" (is data.delimiter {cfg.delimiter!r} right?)" if width == 1 or len(r) == 1 else ""),
                source=path, key=key,
            )
    if width < 2:
        raise DataError(
            f"has a single column; need features and a target (is data.delimiter {cfg.delimiter!r} right?)",
            source=path, key=f"{prefix}.path",
        )
    target_key = "data.target" if prefix == "data" or target is None else f"{prefix}.target"
    t = _column_index(target if target is not None else -1, names, path, target_key)
    if cfg.features:
        f_idx = [_column_index(f, names, path, "data.features") for f in cfg.features]
    else:
        f_idx = [i for i in range(width) if i != t]
    cells = [r for _, r in numbered]
    lines = [line for line, _ in numbered]
    x = np.empty((len(cells), len(f_idx)), dtype="float32")
    for j, c in enumerate(f_idx):
        col = [r[c].strip() for r in cells]
        for row, v in enumerate(col):
            try:
                x[row, j] = float(v)
            except ValueError:
                what = "is empty" if not v else f"holds {v!r}"
                raise DataError(
                    f"column {names[c]!r} is not numeric: line {lines[row]} {what}",
                    source=path, key="data.features",
                ) from None
    col = [r[t].strip() for r in cells]
    if "" in col:
        raise DataError(
            f"target column {names[t]!r} is empty on line {lines[col.index('')]}", source=path, key=target_key
        )
    y: np.ndarray
    try:
        y = np.array([int(v) for v in col], dtype="int64")
        y = y.astype("int32") if y.min() >= 0 else y.astype("float32")
    except ValueError:
        try:
            y = np.array([float(v) for v in col], dtype="float32")
        except ValueError:
            if label_map is None:
                label_map = {name: i for i, name in enumerate(sorted(set(col)))}
            unknown = sorted(set(col) - set(label_map))
            if unknown:
                raise DataError(
                    f"target column {names[t]!r} has labels not in the training data: {', '.join(map(repr, unknown[:5]))}",
                    source=path, key=target_key,
                ) from None
            y = np.array([label_map[v] for v in col], dtype="int32")
    return x, y, label_map


def _open_hdf5(path: str, key: str | None):
    import h5py

    _check_file(path, key, "an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"is not a readable HDF5 file ({exc})", source=path, key=key) from None


def _dataset_paths(f) -> list[str]:
    import h5py

    found: list[str] = []
    f.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return found


def _hdf5_dataset(f, name: str, path: str, key: str):
    import h5py

    obj = f.get(name.strip("/"))
    if isinstance(obj, h5py.Dataset):
        if obj.shape is None or len(obj.shape) == 0:
            raise DataError(f"dataset {name!r} is a scalar, expected one row per sample", source=path, key=key)
        return obj
    found = _dataset_paths(f)
    if obj is not None:
        inside = [d for d in found if d.startswith(name.strip("/") + "/")]
        raise DataError(
            f"{name!r} is a group, not a dataset; datasets inside it: {', '.join(inside) or 'none'}",
            source=path, key=key,
        )
    raise DataError(
        f"no dataset {name!r} in this file{_closest(name, found)}; datasets: {', '.join(found) or 'none'}",
        source=path, key=key,
    )


def _read_hdf5(path: str, x_key: str, y_key: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    with _open_hdf5(path, f"{prefix}.path") as f:
        xd = _hdf5_dataset(f, x_key, path, f"{prefix}.x")
        yd = _hdf5_dataset(f, y_key, path, f"{prefix}.y")
        return xd[()], yd[()]


def hdf5_tree(path: str) -> list[tuple[str, tuple[int, ...] | None, str | None]]:
    """Every group and dataset in an HDF5 file: ``(path, shape, dtype)``, None shape/dtype for groups."""
    import h5py

    out: list[tuple[str, tuple[int, ...] | None, str | None]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            out.append((name, tuple(int(d) for d in (obj.shape or ())), str(obj.dtype)))
        else:
            out.append((name, None, None))

    with _open_hdf5(path, None) as f:
        f.visititems(visit)
    return out


# ================================================================ streamed HDF5
_HDF5_SEQUENCE: type | None = None


def _hdf5_sequence_class() -> type:
    """Define the PyDataset subclass on first use, so importing this module stays light."""
    global _HDF5_SEQUENCE
    if _HDF5_SEQUENCE is not None:
        return _HDF5_SEQUENCE
    import keras

    class HDF5Sequence(keras.utils.PyDataset):
        """Contiguous ``[start, stop)`` rows of two HDF5 datasets, read one batch at a time.

        Shuffling permutes the order of batches (each epoch), never the rows within a
        batch, so every read is one contiguous slice. The file is opened on first read
        (and again in each worker process) and never loaded whole.
        """

        def __init__(self, path, x_key, y_key, start, stop, batch_size, *, shuffle=False, seed=None,
                     shift=None, span=None, pixels=False, num_classes=None, **kwargs):
            super().__init__(**kwargs)
            self.path, self.x_key, self.y_key = path, x_key, y_key
            self.start, self.stop, self.batch_size = start, stop, batch_size
            self.shuffle, self.shift, self.span, self.pixels = shuffle, shift, span, pixels
            self.num_classes = num_classes
            self._rng = np.random.default_rng(seed)
            self._order = np.arange(len(self))
            self._file = None
            self._lock = threading.Lock()
            if shuffle:
                self._rng.shuffle(self._order)

        def __len__(self) -> int:
            return math.ceil((self.stop - self.start) / self.batch_size)

        def _handle(self):
            if self._file is None:
                import h5py

                self._file = h5py.File(self.path, "r")
            return self._file

        def rows(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
            """Raw rows ``[lo, hi)`` relative to this split, unscaled."""
            with self._lock:
                f = self._handle()
                return f[self.x_key][self.start + lo : self.start + hi], f[self.y_key][self.start + lo : self.start + hi]

        def __getitem__(self, idx: int) -> tuple[np.ndarray, np.ndarray]:
            if not 0 <= idx < len(self):
                raise IndexError(idx)
            b = int(self._order[idx])
            lo = b * self.batch_size
            x, y = self.rows(lo, min(lo + self.batch_size, self.stop - self.start))
            x = _as_float(x)
            if self.pixels:
                x = x.astype("float32") / np.float32(255)
            elif self.shift is not None:
                x = ((x.astype("float64") - self.shift) / self.span).astype("float32")
            if x.ndim == 1:
                x = x[:, None]
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if np.issubdtype(y.dtype, np.integer):
                y = y.astype("int32")
            if self.num_classes is not None:
                y = np.eye(self.num_classes, dtype="float32")[y]
            return x, y

        def labels(self) -> np.ndarray:
            """Every target of this split (small next to the inputs), for class balance."""
            return self.rows(0, self.stop - self.start)[1]

        def on_epoch_end(self) -> None:
            if self.shuffle:
                self._rng.shuffle(self._order)

        def close(self) -> None:
            with self._lock:
                if self._file is not None:
                    self._file.close()
                    self._file = None

        def __getstate__(self) -> dict[str, Any]:
            state = self.__dict__.copy()
            state["_file"] = None
            state.pop("_lock", None)
            return state

        def __setstate__(self, state: dict[str, Any]) -> None:
            self.__dict__.update(state)
            self._lock = threading.Lock()

    # Importable as engine.data.HDF5Sequence (see __getattr__), so worker processes can unpickle it.
    HDF5Sequence.__module__, HDF5Sequence.__qualname__ = __name__, "HDF5Sequence"
    _HDF5_SEQUENCE = HDF5Sequence
    return HDF5Sequence


def __getattr__(name: str) -> Any:
    # ``engine.data.HDF5Sequence`` exists on first use only: defining it imports Keras.
    if name == "HDF5Sequence":
        return _hdf5_sequence_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _hdf5_meta(path: str, x_key: str, y_key: str, prefix: str):
    """(n, sample shape, target kind, class count) without reading x.

    The target kind is "int" (labels; count is max + 1), "onehot" or "regression".
    Labels are small next to the inputs, so they are read whole; a 2-D float target is
    judged one-hot from its first 10,000 rows.
    """
    with _open_hdf5(path, f"{prefix}.path") as f:
        xd = _hdf5_dataset(f, x_key, path, f"{prefix}.x")
        yd = _hdf5_dataset(f, y_key, path, f"{prefix}.y")
        if xd.shape[0] != yd.shape[0]:
            raise DataError(
                f"x has {xd.shape[0]} samples but y has {yd.shape[0]}; they must match", source=path, key=f"{prefix}.y"
            )
        if xd.shape[0] == 0:
            raise DataError("holds no samples", source=path, key=f"{prefix}.x")
        kind, count = "regression", None
        if np.issubdtype(yd.dtype, np.integer) and (len(yd.shape) == 1 or yd.shape[1:] == (1,)):
            labels = yd[()]
            if labels.min() >= 0:
                kind, count = "int", int(labels.max()) + 1
        elif _is_one_hot(yd[: min(10_000, yd.shape[0])]):
            kind, count = "onehot", int(yd.shape[1])
        shape = tuple(int(d) for d in xd.shape[1:]) or (1,)
        return int(xd.shape[0]), shape, kind, count


def _chunked_stats(path: str, x_key: str, start: int, stop: int, mode: str):
    """Per-feature (shift, span) for minmax/standard scaling, read in bounded chunks."""
    import h5py

    with h5py.File(path, "r") as f:
        xd = f[x_key]
        step = max(1, (32 << 20) // max(1, xd.dtype.itemsize * int(np.prod(xd.shape[1:]) or 1)))
        lo = hi = total = total_sq = None
        count = 0
        for a in range(start, stop, step):
            chunk = xd[a : min(a + step, stop)].astype("float64")
            if chunk.ndim == 1:
                chunk = chunk[:, None]
            if mode == "minmax":
                lo = chunk.min(0) if lo is None else np.minimum(lo, chunk.min(0))
                hi = chunk.max(0) if hi is None else np.maximum(hi, chunk.max(0))
            else:
                total = chunk.sum(0) if total is None else total + chunk.sum(0)
                total_sq = (chunk**2).sum(0) if total_sq is None else total_sq + (chunk**2).sum(0)
            count += len(chunk)
    if mode == "minmax":
        return lo, np.where(hi - lo == 0, 1.0, hi - lo)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0))
    return mean, np.where(std == 0, 1.0, std)


def _hdf5_stream(cfg: "DataConfig", seed: int | None, batch_size: int) -> DataBundle:
    path = _need_path(cfg)
    x_key, y_key = (cfg.x or "x").strip("/"), (cfg.y or "y").strip("/")
    n, shape, y_kind, num_classes = _hdf5_meta(path, x_key, y_key, "data")
    refs: dict[str, tuple[str, str, str, int, int | None]] = {}
    for split, ref in (("val", cfg.validation), ("test", cfg.test)):
        if ref is not None:
            rx, ry = (ref.x or x_key).strip("/"), (ref.y or y_key).strip("/")
            rn, rshape, _, rcount = _hdf5_meta(ref.path, rx, ry, f"data.{'validation' if split == 'val' else split}")
            if rshape != shape:
                raise DataError(f"samples have shape {rshape} but the training data's are {shape}", source=ref.path,
                                key=f"data.{'validation' if split == 'val' else split}.x")
            refs[split] = (ref.path, rx, ry, rn, rcount)
    n_test = 0 if "test" in refs else int(round(n * cfg.test_split))
    n_val = 0 if "val" in refs else int(round(n * cfg.validation_split))
    n_train = n - n_val - n_test
    if n_train <= 0:
        raise DataError(f"no training samples left: {n} samples, {n_val} for validation, {n_test} for test",
                        key="data.validation_split")
    train_stop = n_train if cfg.limit is None else min(n_train, cfg.limit)

    integer_y = y_kind == "int"
    if integer_y:
        num_classes = max([num_classes] + [r[4] for r in refs.values() if r[4] is not None])
    task = "classification" if num_classes is not None else "regression"
    if cfg.one_hot and task != "classification":
        raise DataError("needs integer class labels, but the targets are not (regression data?)", key="data.one_hot")

    shift = span = None
    if cfg.scale in ("minmax", "standard"):
        shift, span = _chunked_stats(path, x_key, 0, train_stop, cfg.scale)
    Seq = _hdf5_sequence_class()
    common = dict(batch_size=batch_size, shift=shift, span=span, pixels=cfg.scale == "pixels",
                  num_classes=num_classes if cfg.one_hot and integer_y else None)
    train_ds = Seq(path, x_key, y_key, 0, train_stop, shuffle=cfg.shuffle, seed=seed, **common)

    def split_ds(split: str, lo: int, hi: int):
        if split in refs:
            rpath, rx, ry, rn, _ = refs[split]
            return Seq(rpath, rx, ry, 0, rn, **common), rn
        return (Seq(path, x_key, y_key, lo, hi, **common) if hi > lo else None), hi - lo

    val_ds, n_val_out = split_ds("val", n_train, n_train + n_val)
    test_ds, n_test_out = split_ds("test", n_train + n_val, n)
    bundle = DataBundle(
        None, None, None, None, None, None, train_ds=train_ds, val_ds=val_ds, test_ds=test_ds,
        input_shape=shape, num_classes=num_classes, task=task,
        train_samples=train_stop, val_samples=n_val_out, test_samples=n_test_out,
    )
    bundle.description = _describe(f"hdf5 {Path(path).name} (streamed)", bundle)
    return bundle


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
    import keras

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

    def finish(ds, root: str, limit: int | None = None):
        if ds is None:
            return None, 0
        files = list(ds.file_paths)
        labels = labels_of(files, root)
        if limit is not None and limit < len(files):
            files, labels = files[:limit], labels[:limit]
            ds = first_files(files, labels)
        if cfg.scale == "pixels":
            ds = ds.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
        if cfg.cache:
            ds = ds.cache()
        if cfg.prefetch:
            ds = ds.prefetch(tf.data.AUTOTUNE)
        ds.file_paths = files
        ds.class_names = classes
        ds.labels = lambda: labels  # for preview's class balance, without decoding images
        return ds, len(files)

    train_ds, n_train = finish(train, path, cfg.limit)
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


# ================================================================ preview
def _flat(a: Any, limit: int) -> tuple[list[Any], bool]:
    v = np.asarray(a).reshape(-1)
    return [x.item() for x in v[:limit]], v.size > limit


def preview(bundle: DataBundle, n: int = 5) -> dict:
    """A plain-python summary for the Data screen: splits, shapes, class balance, samples, ranges.

    In-memory data is summarised exactly; streamed data from its first batch (value
    range, samples) and its labels or file names (class balance).
    """
    names = bundle.class_names

    def label_of(y: Any) -> Any:
        if bundle.task != "classification":
            return None
        arr = np.asarray(y)
        idx = int(arr.argmax()) if arr.ndim >= 1 and arr.size > 1 else int(arr.reshape(-1)[0])
        return names[idx] if names and idx < len(names) else str(idx)

    streaming = bundle.x_train is None
    splits: dict[str, dict[str, Any]] = {}
    x_sample = y_sample = None
    for split, count, x, y, ds in (
        ("train", bundle.train_samples, bundle.x_train, bundle.y_train, bundle.train_ds),
        ("val", bundle.val_samples, bundle.x_val, bundle.y_val, bundle.val_ds),
        ("test", bundle.test_samples, bundle.x_test, bundle.y_test, bundle.test_ds),
    ):
        info: dict[str, Any] = {"samples": int(count)}
        if x is None and ds is not None and split == "train":
            x, y = _first_batch(ds)
            info["from_first_batch"] = True
        if x is not None and y is not None:
            info.update(
                x_shape=list(x.shape) if not info.get("from_first_batch") else [int(count), *x.shape[1:]],
                x_dtype=str(x.dtype),
                y_shape=list(y.shape) if not info.get("from_first_batch") else [int(count), *y.shape[1:]],
                y_dtype=str(y.dtype),
            )
        if split == "train":
            x_sample, y_sample = x, y
        splits[split] = info

    balance: dict[str, int] = {}
    if bundle.task == "classification":
        labels = _train_labels(bundle)
        if labels is not None and len(labels):
            labels = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)
            counts = np.bincount(labels.astype("int64"), minlength=bundle.num_classes or 0)
            balance = {label_of(i): int(c) for i, c in enumerate(counts)}

    samples: list[dict[str, Any]] = []
    x_range = y_range = None
    if x_sample is not None and len(x_sample):
        for i in range(min(n, len(x_sample))):
            values, cut = _flat(x_sample[i], 8)
            target, _ = _flat(y_sample[i], 8)
            samples.append({"x": values, "truncated": cut, "y": target[0] if len(target) == 1 else target,
                            "label": label_of(y_sample[i])})
        if np.issubdtype(np.asarray(x_sample).dtype, np.number):
            x_range = [float(np.min(x_sample)), float(np.max(x_sample))]
        if bundle.task == "regression":
            y_range = [float(np.min(y_sample)), float(np.max(y_sample))]
    return {
        "description": bundle.description,
        "task": bundle.task,
        "streaming": streaming,
        "input_shape": list(bundle.input_shape),
        "num_classes": bundle.num_classes,
        "class_names": list(names) if names else None,
        "splits": splits,
        "class_balance": balance,
        "samples": samples,
        "x_range": x_range,
        "y_range": y_range,
    }


def _first_batch(ds: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    try:
        if hasattr(ds, "__getitem__") and hasattr(ds, "__len__"):
            x, y = ds[0]
        else:
            x, y = next(iter(ds.take(1)))
        return np.asarray(x), np.asarray(y)
    except Exception:  # an unreadable stream shows as "no samples"; load_data reports real errors
        return None, None


def _train_labels(bundle: DataBundle) -> np.ndarray | None:
    if bundle.y_train is not None:
        return np.asarray(bundle.y_train)
    labels = getattr(bundle.train_ds, "labels", None)
    return np.asarray(labels()) if callable(labels) else None
