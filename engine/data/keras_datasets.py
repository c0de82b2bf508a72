"""Keras and scikit-learn datasets: Keras' cache, a fail-fast download into it, and loading."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _fix_arrays, _need_name
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig


KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "boston_housing", "imdb", "reuters")
SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer")

DEFAULT_MAXLEN = 200
"""imdb/reuters: sequence length when ``data.maxlen`` is not given."""


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
    # Looked up on the package so ``engine.data._download`` stays the one place to stub it.
    from engine import data as data_pkg

    cache = os.path.join(_keras_home(), "datasets")
    missing = [(os.path.join(cache, rel), url) for rel, url in _KERAS_FILES[name] if not os.path.exists(os.path.join(cache, rel))]
    failure: BaseException | None = None
    still: list[tuple[str, str]] = []
    for target, url in missing:
        if failure is None:
            try:
                data_pkg._download(url, target)
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
    from engine.kerasapi import keras as keras_module

    keras = keras_module()

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
