"""Keras' dataset cache: where it is, the files each dataset needs there, and a fail-fast download into it.

``ensure_cached`` is what ``engine.data.keras_datasets`` calls before Keras' own loader,
so that an offline machine gets an error naming the file to fetch instead of a long hang.
Tests stub ``download`` here to take the offline path without a network.
"""

from __future__ import annotations

import os
import threading

from engine.errors import DataError

__all__ = ["KERAS_FILES", "RESOLVE_TIMEOUT_S", "keras_home", "download", "ensure_cached"]

_TFK = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FASHION = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")
KERAS_FILES: dict[str, list[tuple[str, str]]] = {
    # name: [(path under <keras home>/datasets, where Keras downloads it from)], as Keras' loaders expect them.
    "mnist": [("mnist.npz", _TFK + "mnist.npz")],
    "fashion_mnist": [(f"fashion-mnist/{f}", _TFK + f) for f in _FASHION],
    "cifar10": [("cifar-10-batches-py-target_archive", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")],
    "cifar100": [("cifar-100-python-target_archive", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz")],
    "boston_housing": [("boston_housing.npz", _TFK + "boston_housing.npz")],
    "imdb": [("imdb.npz", _TFK + "imdb.npz")],
    "reuters": [("reuters.npz", _TFK + "reuters.npz")],
}

RESOLVE_TIMEOUT_S = 5.0
"""How long a host name may take to resolve before the download is given up (offline)."""
_DOWNLOAD_TIMEOUT_S = 15.0


def keras_home() -> str:
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
    thread.join(RESOLVE_TIMEOUT_S)
    if not result:
        raise OSError(f"could not resolve {host} within {RESOLVE_TIMEOUT_S:g} s")
    if result[0] is not None:
        raise OSError(f"could not resolve {host}: {result[0]}")


def download(url: str, target: str) -> None:
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


def ensure_cached(name: str) -> None:
    """Download any of ``name``'s files missing from Keras' cache; raise ``DataError`` naming each file still missing."""
    cache = os.path.join(keras_home(), "datasets")
    missing = [(os.path.join(cache, rel), url) for rel, url in KERAS_FILES[name] if not os.path.exists(os.path.join(cache, rel))]
    failure: BaseException | None = None
    still: list[tuple[str, str]] = []
    for target, url in missing:
        if failure is None:
            try:
                download(url, target)
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
