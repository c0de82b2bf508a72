"""Keras and scikit-learn datasets as arrays: the names offered, class names, loading (after ``keras_cache``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from engine.data.bundle import _fix_arrays, _need_name
from engine.data.keras_cache import ensure_cached
from engine.errors import DataError

if TYPE_CHECKING:
    from engine.config import DataConfig

__all__ = ["KERAS_DATASETS", "SKLEARN_DATASETS", "DEFAULT_MAXLEN", "CLASS_NAMES"]

KERAS_DATASETS = ("mnist", "fashion_mnist", "cifar10", "cifar100", "boston_housing", "imdb", "reuters")
SKLEARN_DATASETS = ("digits", "iris", "wine", "breast_cancer")

DEFAULT_MAXLEN = 200
"""imdb/reuters: sequence length when ``data.maxlen`` is not given."""

CLASS_NAMES: dict[str, list[str]] = {
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
"""Class names per Keras dataset, in label order."""


def _keras_dataset(cfg: "DataConfig", seed: int | None):
    name = _need_name(cfg, KERAS_DATASETS)
    ensure_cached(name)
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
    return x, y, (xt, yt), CLASS_NAMES.get(name)


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
