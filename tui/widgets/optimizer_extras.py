"""``OptimizerExtras``: the chosen optimizer's own arguments (SGD momentum, nesterov …) as form fields.

Which arguments an optimizer has comes from its Keras class (``engine.optimizer_args``),
read in a thread worker because it imports Keras. Each edit is validated like any other
field (``ConfigForm``); an emptied field drops the key, so Keras' default applies. When
the optimizer changes, arguments the new one does not take are dropped from the config,
and the app says which.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.message import Message
from textual.widgets import Input

from engine.layers import ArgSpec, canonical_optimizer
from tui.widgets.settings_form import ConfigForm, FormField, field_id

__all__ = ["OptimizerExtras"]

_OPTIMIZER = "compile.optimizer"


class OptimizerExtras(ConfigForm):
    """Fields for ``compile.optimizer.<argument>``, one per argument of the optimizer's class."""

    DEFAULT_CSS = """
    OptimizerExtras { height: auto; overflow: hidden hidden; }
    """

    class Ready(Message):
        """The arguments (``specs``) of optimizer ``name``, read from Keras."""

        def __init__(self, name: str, specs: tuple[ArgSpec, ...]) -> None:
            super().__init__()
            self.name = name
            self.specs = specs

    def on_mount(self) -> None:
        self._optimizer: str | None = None
        """The optimizer whose arguments are asked for or shown."""
        super().on_mount()

    def load(self, *args: Any) -> None:
        optimizer = self.workspace.get(_OPTIMIZER)
        name = optimizer if isinstance(optimizer, str) else (optimizer or {}).get("name")
        name = canonical_optimizer(str(name or "adam"))
        if name != self._optimizer:
            self._optimizer = name
            self._read_arguments(name)
        super().load(*args)

    @work(thread=True, exclusive=True, group="optimizer-arguments", exit_on_error=False)
    def _read_arguments(self, name: str) -> None:
        from engine.optimizer_args import optimizer_arguments

        self.post_message(self.Ready(name, optimizer_arguments(name)))

    async def on_optimizer_extras_ready(self, message: Ready) -> None:
        message.stop()
        if message.name != self._optimizer:
            return  # the optimizer changed again meanwhile
        self._drop_foreign({spec.name for spec in message.specs})
        self.FIELDS = tuple(
            FormField(f"{_OPTIMIZER}.{spec.name}", f"  {spec.name}", kind="switch" if spec.kind == "bool" else "value")
            for spec in message.specs
        )
        await self.recompose()
        self._by_id = {f"f-{field_id(f.path)}": f for f in self.FIELDS}
        for spec in message.specs:
            if spec.kind != "bool":
                self.query_one(f"#f-{field_id(f'{_OPTIMIZER}.{spec.name}')}", Input).placeholder = (
                    f"Keras' default: {spec.default}"
                )
        self.load()

    def _drop_foreign(self, accepted: set[str]) -> None:
        """Remove arguments the optimizer does not take (left from the one before), saying so."""
        optimizer = self.workspace.get(_OPTIMIZER)
        if not isinstance(optimizer, dict):
            return
        foreign = [k for k in optimizer if k not in ("name", "learning_rate") and k not in accepted]
        if foreign:
            self.workspace.set(_OPTIMIZER, {k: v for k, v in optimizer.items() if k not in foreign})
            self.notify(f"{', '.join(foreign)} dropped: {optimizer.get('name')} does not take "
                        f"{'it' if len(foreign) == 1 else 'them'}", title="optimizer", timeout=6)  # fmt: skip

    def _edit(self, field: FormField, value: Any) -> None:
        optimizer = self.workspace.get(_OPTIMIZER)
        if isinstance(optimizer, str):  # ``optimizer: sgd``: a section from now on, to hold the argument
            self.workspace.set(_OPTIMIZER, {"name": optimizer})
            optimizer = {"name": optimizer}
        if value is None:  # an emptied field: no such key, Keras' default applies
            key = field.path.rpartition(".")[2]
            self._show(field, None)
            if isinstance(optimizer, dict) and key in optimizer:
                self.workspace.set(_OPTIMIZER, {k: v for k, v in optimizer.items() if k != key})
                self.post_message(self.Edited(field.path, None))
            return
        super()._edit(field, value)
