"""Which Keras the engine trains with: Keras 3, or tf-keras for ``multi_worker`` runs.

Keras 3's ``fit`` does not work under ``tf.distribute.MultiWorkerMirroredStrategy``
(keras-team/keras#20585: "Attempt to convert a value (PerReplica…)", reproduced with
TF 2.21 / Keras 3.15; patching that first failure only reaches the next one, in the
metric reduction). The legacy ``tf-keras`` package, TensorFlow's own Keras 2, runs it.

So the route is TensorFlow's documented switch, ``TF_USE_LEGACY_KERAS=1``, set for the
whole process before TensorFlow is imported (``kwb train`` does this when the config
asks for ``multi_worker``). Every engine module gets Keras from :func:`keras`, so there
is one code path; the few API differences are handled here and in the callers that
name them (``BackupAndRestore(double_checkpoint=)``, ``PyDataset``). Models saved in
``.keras`` format by either load in the other with ``compile=False``, which is how kwb
loads models.
"""

from __future__ import annotations

import os
import threading
from types import ModuleType

__all__ = ["legacy", "keras", "LEGACY_ENV"]

LEGACY_ENV = "TF_USE_LEGACY_KERAS"


def legacy() -> bool:
    """True when this process trains with tf-keras (``TF_USE_LEGACY_KERAS`` is set to a true value)."""
    return os.environ.get(LEGACY_ENV, "").strip().lower() in ("1", "true", "yes")


_FIRST_IMPORT = threading.RLock()
"""Held while a thread imports Keras (and so TensorFlow): two threads importing TensorFlow's modules at
once can each wait for a module the other is importing, and Python then raises ``_DeadlockError`` in
one of them (the app's model summary and ``t`` pressed right after start did)."""


def keras() -> ModuleType:
    """The Keras module for this process: ``tf_keras`` in legacy mode, else Keras 3.

    The first import happens in one thread at a time; a thread that is about to import
    TensorFlow directly calls this first.
    """
    with _FIRST_IMPORT:
        if legacy():
            import tf_keras

            return tf_keras
        import keras as keras3

        return keras3
