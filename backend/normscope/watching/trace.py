"""Which layers of any nn.Module can be watched, found by following tensors through its first forward.

A Linear or Conv gives `preact`; the norm module whose input is that very tensor gives `normed`; the
activation module whose input is the norm's output (or the linear's, without a norm) gives `act`. A tensor is
"that very tensor" when it is the same object at the same version: an in-place op in between (a residual
`out += x`) breaks the link. Activations applied as functions (F.relu) are invisible to module hooks; what
cannot be tapped is listed, so the page can say so."""

import fnmatch
from dataclasses import dataclass, field

import torch
from torch import nn

from normscope.engine.probe import ActKind
from normscope.schemas import Tap

LINEAR_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
NORM_TYPES = (
    nn.modules.batchnorm._BatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.modules.instancenorm._InstanceNorm,
)
# Looked up along the module's class hierarchy: ReLU6 is a Hardtanh, and is a ReLU to the probe.
ACT_KINDS: dict[type[nn.Module], ActKind] = {
    nn.ReLU: "relu",
    nn.ReLU6: "relu",
    nn.Sigmoid: "sigmoid",
    nn.Tanh: "tanh",
    nn.GELU: "signed",
    nn.SiLU: "signed",
    nn.Mish: "signed",
    nn.LeakyReLU: "signed",
    nn.PReLU: "signed",
    nn.RReLU: "signed",
    nn.ELU: "signed",
    nn.SELU: "signed",
    nn.CELU: "signed",
    nn.Softplus: "signed",
    nn.Hardswish: "signed",
    nn.Hardsigmoid: "signed",
    nn.Hardtanh: "signed",
    nn.Softsign: "signed",
}
MAX_LAYERS = 64


def act_kind(module: nn.Module) -> ActKind | None:
    for cls in type(module).__mro__:
        if cls in ACT_KINDS:
            return ACT_KINDS[cls]
    return None


@dataclass
class TappedLayer:
    """One watched layer of a user's model (the probe's TapPoints), with what the first forward showed."""

    linear: nn.Module
    norm: nn.Module | None = None
    act: nn.Module | None = None
    kind: ActKind = "signed"
    absmax: dict[Tap, float] = field(default_factory=dict)
    changed_later: set[Tap] = field(default_factory=set)  # taps an in-place op changed after they were made


class TappedModel:
    """A user's model as the probe sees it: its watched layers by module path."""

    def __init__(self, layers: dict[str, TappedLayer]) -> None:
        self._layers = layers

    def layers(self) -> dict[str, TappedLayer]:
        return self._layers


@dataclass
class _Seen:
    name: str
    tensor: torch.Tensor  # held so that its id is not reused during the forward
    version: int
    absmax: torch.Tensor


class Tracer:
    """Hooks on every linear, norm and activation module for one forward (and its backward, for grad)."""

    def __init__(self, model: nn.Module, grad: bool) -> None:
        self.model, self.grad = model, grad
        self.names = {m: n for n, m in model.named_modules()}
        self.order: list[str] = []  # linear modules in the order they were first called
        self.outputs: dict[int, _Seen] = {}  # by id of the output tensor
        self.seen: dict[tuple[str, Tap], _Seen] = {}
        self.links: dict[str, str] = {}  # norm or act module -> the module whose output it took
        self.grad_absmax: dict[str, torch.Tensor] = {}
        self.unlinked_acts: list[str] = []
        self.done = False
        self._handles = []
        for module in model.modules():
            if isinstance(module, LINEAR_TYPES + NORM_TYPES):
                self._handles.append(module.register_forward_hook(self._on_output))
            elif act_kind(module) is not None:
                self._handles.append(module.register_forward_pre_hook(self._on_act_input))
                self._handles.append(module.register_forward_hook(self._on_output))

    def _producer(self, x: object) -> str | None:
        seen = self.outputs.get(id(x)) if isinstance(x, torch.Tensor) else None
        return seen.name if seen is not None and seen.version == x._version else None

    def _on_act_input(self, module: nn.Module, inputs: tuple) -> None:
        name = self.names[module]
        if self.done or name in self.links or not inputs:
            return
        producer = self._producer(inputs[0])
        if producer is not None:
            self.links[name] = producer
        elif name not in self.unlinked_acts:
            self.unlinked_acts.append(name)

    def _on_output(self, module: nn.Module, inputs: tuple, output: object) -> None:
        name = self.names[module]
        if self.done or not isinstance(output, torch.Tensor):
            return
        if isinstance(module, LINEAR_TYPES):
            if name in self.order:
                return  # a module called twice: its first call
            self.order.append(name)
            tap: Tap = "preact"
            if self.grad and output.requires_grad:
                output.register_hook(self._grad_hook(name))
        elif isinstance(module, NORM_TYPES):
            if name in self.links or not inputs:
                return
            producer = self._producer(inputs[0])
            if producer is None:
                return
            self.links[name] = producer
            tap = "normed"
        else:
            tap = "act"
            if (name, tap) in self.seen:
                return
        x = output.detach()
        seen = _Seen(name, output, output._version, x.abs().amax().float())
        self.outputs[id(output)] = seen
        self.seen[(name, tap)] = seen

    def _grad_hook(self, name: str):
        def fn(g: torch.Tensor) -> None:
            self.grad_absmax.setdefault(name, g.detach().abs().amax().float())

        return fn

    def finish(self) -> None:
        """Called after the first step's backward: no more recording, and no hooks left behind."""
        self.done = True
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def result(self, select: list[str] | None, cap: int) -> tuple[dict[str, TappedLayer], list[str]]:
        """The watched layers in call order, and a line for each thing that could not be watched."""
        modules = dict(self.model.named_modules())
        consumers = {v: k for k, v in reversed(list(self.links.items()))}  # first consumer of each output
        notes: list[str] = []
        picked = [n for n in self.order if select is None or any(fnmatch.fnmatch(n, p) for p in select)]
        if len(picked) > cap:
            notes.append(
                f"{len(picked) - cap} layers past the cap of {cap} are not watched "
                f"(from {picked[cap]}); choose them with layers=[...] or raise max_layers"
            )
            picked = picked[:cap]
        layers: dict[str, TappedLayer] = {}
        last = self.order[-1] if self.order else None
        for name in picked:
            norm_name = consumers.get(name)
            norm = modules[norm_name] if norm_name and isinstance(modules[norm_name], NORM_TYPES) else None
            after = norm_name if norm is not None else name
            act_name = consumers.get(after) if after else None
            act = modules[act_name] if act_name and act_kind(modules[act_name]) is not None else None
            layer = TappedLayer(
                linear=modules[name], norm=norm, act=act, kind=act_kind(act) if act else "signed"
            )
            for tap, module_name in (("preact", name), ("normed", norm_name), ("act", act_name)):
                if (
                    tap == "preact"
                    or (tap == "normed" and norm is not None)
                    or (tap == "act" and act is not None)
                ):
                    seen = self.seen[(module_name, tap)]
                    layer.absmax[tap] = float(seen.absmax)
                    if seen.tensor._version != seen.version:
                        layer.changed_later.add(tap)
            if self.grad and name in self.grad_absmax:
                layer.absmax["grad"] = float(self.grad_absmax[name])
            if act is None and name != last:
                notes.append(f"{name}: no act tap (no activation module takes its output: F.relu, or a join)")
            layers[name] = layer
        for name in self.unlinked_acts:
            notes.append(f"{name}: not tapped (its input is not a linear, conv or norm output)")
        self.outputs.clear()
        self.seen.clear()
        return layers, notes
