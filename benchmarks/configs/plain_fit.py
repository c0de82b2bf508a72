"""The plain Keras scripts ``steps_per_execution.py`` and ``peers.py`` compare kwb with, one per model kind.

What a user would write: load the npz, scale images to [0, 1], shuffle and hold out 10%
for validation, build and compile the model, ``fit(verbose=0)``, save; it prints the
final validation accuracy and clock stamps for the benchmark's breakdown.

    python benchmarks/configs/plain_fit.py KIND DATA.npz OUT.keras EPOCHS BATCH

KIND: ``mlp`` (784-128-10, the classic MNIST MLP), ``cnn`` (one 3x3 conv, pooling,
a softmax) or ``tiny`` (8 features, 16 hidden units, 4 classes).
"""

import sys
import time

t0 = time.time()
import keras  # noqa: E402
import numpy as np  # noqa: E402

LAYERS = {
    "mlp": lambda: [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"),
                    keras.layers.Dropout(0.2), keras.layers.Dense(10, activation="softmax")],
    "cnn": lambda: [keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
                    keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")],
    "tiny": lambda: [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4, activation="softmax")],
}  # fmt: skip


def main() -> None:
    kind, data_path, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    epochs, batch = int(sys.argv[4]), int(sys.argv[5])
    t_import = time.time()
    keras.utils.set_random_seed(42)
    with np.load(data_path) as f:
        x, y = f["x"], f["y"]
    order = np.random.default_rng(42).permutation(len(x))
    x = x[order].astype("float32")
    if kind != "tiny":
        x /= 255
    y = y[order].astype("int32")
    n_val = round(len(x) * 0.1)
    x_train, y_train, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    model = keras.Sequential(LAYERS[kind]())
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    t_ready = time.time()
    history = model.fit(x_train, y_train, batch_size=batch, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
    t_fit = time.time()
    model.save(out_path)
    t_end = time.time()
    print(f"val_accuracy {history.history['val_accuracy'][-1]:.4f}")
    print(f"stamps start={t0:.3f} imported={t_import:.3f} ready={t_ready:.3f} fitted={t_fit:.3f} saved={t_end:.3f}")


if __name__ == "__main__":
    main()
