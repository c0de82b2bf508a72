"""The plain Keras script ``headless_overhead.py`` compares ``kwb train benchmarks/configs/mlp.yaml`` with.

What a user would write for the same run: load the npz, scale to [0, 1], shuffle and
hold out 10% for validation, build and compile the same MLP, ``fit(verbose=0)``, save.

    python benchmarks/configs/plain_mlp.py DATA.npz OUT.keras [EPOCHS]
"""

import sys
import time

t0 = time.time()
import keras  # noqa: E402
import numpy as np  # noqa: E402

t_import = time.time()
data_path, out_path = sys.argv[1], sys.argv[2]
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2

keras.utils.set_random_seed(42)
with np.load(data_path) as f:
    x, y = f["x"], f["y"]
order = np.random.default_rng(42).permutation(len(x))
x = x[order].astype("float32") / 255
y = y[order].astype("int32")
n_val = round(len(x) * 0.1)
x_train, y_train, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]

model = keras.Sequential([
    keras.Input((28, 28)),
    keras.layers.Flatten(),
    keras.layers.Dense(128, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax"),
])  # fmt: skip
model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
t_ready = time.time()
model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
t_fit = time.time()
model.save(out_path)
t_end = time.time()
# Clock stamps for the benchmark's breakdown (stdout is not a terminal there).
print(f"stamps start={t0:.3f} imported={t_import:.3f} ready={t_ready:.3f} fitted={t_fit:.3f} saved={t_end:.3f}")
