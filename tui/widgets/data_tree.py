"""``DatasetTree``: the groups and datasets of an HDF5 file; ``x`` / ``y`` pick the inputs and targets."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree

__all__ = ["DatasetTree"]


class DatasetTree(Tree[str]):
    """An HDF5 file as a tree; each dataset node's data is its path inside the file."""

    BINDINGS = [Binding("x", "pick('x')", "Use as x"), Binding("y", "pick('y')", "Use as y")]
    """x / y set ``data.x`` / ``data.y`` to the highlighted dataset."""

    class Picked(Message):
        """``role`` (x or y) should read the dataset at ``path``."""

        def __init__(self, role: str, path: str) -> None:
            super().__init__()
            self.role = role
            self.path = path

    def show(self, entries: list[tuple[str, tuple[int, ...] | None, str | None]]) -> None:
        """Fill the tree from ``engine.data.hdf5_tree`` output (parents come before children)."""
        self.clear()
        self.root.expand()
        nodes = {"": self.root}
        for path, shape, dtype in entries:
            parent = nodes.get(path.rpartition("/")[0], self.root)
            name = path.rpartition("/")[2]
            if shape is None:
                nodes[path] = parent.add(name, expand=True)
            else:
                parent.add_leaf(f"{name}  {shape} {dtype}", data=path)

    def action_pick(self, role: str) -> None:
        node = self.cursor_node
        if node is None or node.data is None:
            self.notify("highlight a dataset (not a group) first", severity="warning")
            return
        self.post_message(self.Picked(role, node.data))
