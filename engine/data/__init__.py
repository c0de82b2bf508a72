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
* Several inputs or outputs: ``data.x`` / ``data.y`` (and a validation/test file's) may
  map input / output names to keys (npz keys, HDF5 dataset paths, CSV column lists); the
  bundle's arrays are then dicts keyed by those names, their rows aligned through every
  step. ``scale`` applies per input array, ``one_hot`` to class outputs only, and the task
  is inferred per output (``DataBundle.targets``). Synthetic ``two_inputs`` has named
  arrays of its own, which a mapping may rename.
* Streamed HDF5 cannot shuffle rows cheaply, so it shuffles the order of contiguous
  batches each epoch, and splits validation/test off the end by index range. ``fit``
  gets it as a tf.data pipeline (``fit_input``), which moves eight batches per Python call.

Heavy modules (keras, tensorflow, h5py) are imported inside the functions that need them.
Modules (this package only re-exports; no submodule imports it): ``bundle`` (DataBundle,
shared preprocessing), ``named`` (dicts of arrays kept row-aligned), ``loader``
(``load_data``), ``synthetic``, ``keras_datasets`` (and sklearn) with ``keras_cache``
(Keras' cache, fail-fast download), ``files`` (npz/hdf5 in memory, explicit files) with
``csv_file`` (CSV tables), ``streaming`` (streamed HDF5) with ``hdf5_sequence`` (``HDF5Sequence``, the
one module here that imports Keras), ``images`` (image folders), ``summary`` (``preview``).
"""

from __future__ import annotations

from engine.data.bundle import DataBundle
from engine.data.files import hdf5_tree
from engine.data.keras_datasets import DEFAULT_MAXLEN, KERAS_DATASETS, SKLEARN_DATASETS
from engine.data.loader import load_data
from engine.data.streaming import fit_input
from engine.data.summary import preview
from engine.data.synthetic import SYNTHETIC

__all__ = [
    "DataBundle",
    "fit_input",
    "load_data",
    "preview",
    "hdf5_tree",
    "SYNTHETIC",
    "KERAS_DATASETS",
    "SKLEARN_DATASETS",
    "DEFAULT_MAXLEN",
]
