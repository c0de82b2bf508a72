"""The Keras callbacks of a run, one per module (Keras' own layout).

- ``bridge``: ``Bridge``, events out of ``fit`` and commands into it, at batch boundaries.
- ``schedule``: ``EpochSchedule`` and ``LrWatch`` (the learning rate per epoch, and
  reporting what other callbacks did to it); ``get_lr`` / ``set_lr``.
- ``checkpoint``: ``BestCheckpoint`` and ``save_model_atomic``.
- ``nan``: ``QuietTerminateOnNaN``.
- ``monitor``: ``metric_direction`` (is a metric better high or low, asked of the
  model) and ``best_of``.
- ``factory``: ``make_callbacks``, the configured list around the bridge, and ``schedule_fn``.

``monitor`` and ``factory`` import no Keras until called; the others subclass
``keras.callbacks.Callback`` and so load Keras when imported. This package file imports
none of them, so naming one loads only what it needs.
"""
