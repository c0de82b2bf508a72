"""``GraphView``: a compact text drawing of a model's graph, one line per input or layer, branches and merges as box-drawing lanes.

Like ``git log --graph``: each line is a node (``◆`` a model input, ``●`` a layer, ``◉`` an
output); a lane (``│``) carries a node's output down to the layers that take it, a fork
(``├─┐``) starts a branch, a join (``├─┘``) merges lanes into the next layer. An input is
drawn just above the first layer that takes it, so lanes stay short.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["GraphNode", "GraphView", "draw_graph"]

_BOX = {
    (1, 1, 0, 0): "│", (0, 0, 1, 1): "─", (1, 1, 1, 1): "┼", (1, 0, 1, 0): "┘", (1, 0, 0, 1): "└",
    (0, 1, 1, 0): "┐", (0, 1, 0, 1): "┌", (1, 1, 1, 0): "┤", (1, 1, 0, 1): "├", (1, 0, 1, 1): "┴",
    (0, 1, 1, 1): "┬", (1, 0, 0, 0): "╵", (0, 1, 0, 0): "╷", (0, 0, 1, 0): "─", (0, 0, 0, 1): "─",
    (0, 0, 0, 0): " ",
}  # fmt: skip
"""(line from above, line below, line to the left, line to the right) -> the box-drawing character."""


@dataclass(frozen=True)
class GraphNode:
    """One model input or layer: ``key`` is the name others refer to it by; ``sources`` the keys it takes."""

    key: str
    kind: str = ""
    """The layer's class, or "input"."""
    detail: str = ""
    """Its output shape (or the input's shape)."""
    sources: tuple[str, ...] = ()
    is_input: bool = False
    is_output: bool = False
    error: bool = False
    named: bool = True
    """False for a layer the config leaves unnamed (``key`` is then Keras' name or its place in the list)."""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _order(nodes: list[GraphNode]) -> list[GraphNode]:
    """Layers in their order, each input just above the first layer that takes it; inputs nothing takes come first."""
    inputs = {n.key: n for n in nodes if n.is_input}
    used = {s for n in nodes if not n.is_input for s in n.sources}
    out = [n for n in inputs.values() if n.key not in used]
    placed = {n.key for n in out}
    for node in nodes:
        if node.is_input:
            continue
        for source in node.sources:
            if source in inputs and source not in placed:
                out.append(inputs[source])
                placed.add(source)
        out.append(node)
    return out


def _connector(lanes: list[str | None], sources: list[int], target: int, ending: set[int]) -> str:
    """The line that forks or joins the ``sources`` lanes into the ``target`` lane."""
    low, high = min([*sources, target]), max([*sources, target])
    cells = []
    for c in range(max(len(lanes), target + 1)):
        active = c < len(lanes) and lanes[c] is not None
        up = active
        down = c == target or (active and c not in ending)
        key = (int(up), int(down), int(low < c <= high), int(low <= c < high))
        cells.append(_BOX[key] + ("─" if low <= c < high else " "))
    return "".join(cells).rstrip()


def _lanes_line(lanes: list[str | None], target: int, mark: str) -> str:
    return "".join((mark if c == target else "│" if key is not None else " ") + " " for c, key in enumerate(lanes)).rstrip()


def draw_graph(nodes: list[GraphNode]) -> list[Text]:
    """The drawing, one ``Text`` per line: lanes on the left, then each node's name, class and shape."""
    ordered = _order(nodes)
    keys = {n.key for n in ordered}
    remaining = {n.key: 0 for n in ordered}
    for node in ordered:
        for source in dict.fromkeys(node.sources):
            if source in keys:
                remaining[source] += 1
    lanes: list[str | None] = []
    drawn: list[tuple[str, GraphNode | None]] = []
    for node in ordered:
        sources = [lanes.index(s) for s in dict.fromkeys(node.sources) if s in lanes]
        for c in sources:
            remaining[lanes[c]] -= 1  # type: ignore[index]
        ending = {c for c in sources if remaining[lanes[c]] == 0}  # type: ignore[index]
        free = [c for c, key in enumerate(lanes) if key is None]
        target = min(ending) if ending else (free[0] if free else len(lanes))
        if sources and sources != [target]:
            drawn.append((_connector(lanes, sources, target, ending), None))
        for c in ending:
            lanes[c] = None
        if target == len(lanes):
            lanes.append(None)
        lanes[target] = node.key
        mark = "◆" if node.is_input else "◉" if node.is_output else "●"
        drawn.append((_lanes_line(lanes, target, mark), node))
        if remaining[node.key] == 0:
            lanes[target] = None
        while lanes and lanes[-1] is None:
            lanes.pop()
    width = max((len(g) for g, _ in drawn), default=0) + 1
    return [_line(graph, node, width) for graph, node in drawn]


def _line(graph: str, node: GraphNode | None, width: int) -> Text:
    text = Text()
    text.append(graph.ljust(width) if node is not None else graph, style="cyan")
    if node is None:
        return text
    name_style = "bold red" if node.error else "bold" if node.named else "dim"
    text.append(node.key, style=name_style)
    text.append(f"  {node.kind}", style="dim" if node.is_input else "")
    if node.detail:
        text.append(f"  {node.detail}", style="red" if node.error else "dim")
    if node.is_output:
        text.append("  → output", style="green")
    return text


class GraphView(Static):
    """The drawing of ``nodes``, redrawn when they change."""

    nodes: reactive[list[GraphNode]] = reactive(list, always_update=True)
    """The model's inputs and layers, in config order."""

    def watch_nodes(self, nodes: list[GraphNode]) -> None:
        lines = draw_graph(nodes)
        self.update(Text("\n").join(lines) if lines else Text("no layers yet: press a to add one", style="dim"))
