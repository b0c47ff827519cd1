"""Keras (2.x, channels-last) HDF5 CNNs rebuilt as torch modules, and the layer semantics they need.

The mini-Xception weights (Arriaga et al. 2017, MIT) ship as a Keras 2.0.5 HDF5 file.  Rather than
hand-writing one architecture, :class:`KerasGraphNet` interprets the file's ``model_config`` graph
(a list of layers with inbound names, in topological order) so mini- and big-Xception both load.

Keras semantics matched here:

* ``Conv2D`` kernel (kh, kw, in, out) → torch (out, in, kh, kw); ``SeparableConv2D`` = depthwise
  (kh, kw, in, mult) then pointwise 1×1 (1, 1, in·mult, out); depthwise output channel ``c·mult + m``.
* ``padding="same"`` is TensorFlow's: total pad ``max((ceil(n/s)-1)·s + k - n, 0)``, the odd pixel
  on the bottom/right (torch's symmetric padding differs for stride 2 on even sizes).  Max-pool pads
  with -inf so padded cells never win.
* ``BatchNormalization``: eps from the config (Keras default 1e-3), Keras momentum 0.99 is torch
  momentum 0.01.
* The final ``Activation("softmax")`` is dropped: the module returns logits.

Tensors are NCHW float32 in [-1, 1] (the repo's ``preprocess_input(v2=True)``).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = (
    "InputLayer", "Conv2D", "SeparableConv2D", "BatchNormalization", "Activation", "Add",
    "MaxPooling2D", "GlobalAveragePooling2D", "Dropout",
)
_ACTIVATIONS = ("linear", "relu", "softmax")


class KerasConversionError(ValueError):
    """The HDF5 file is not a Keras model this converter understands."""


def tf_same_pad(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
                value: float = 0.0) -> torch.Tensor:
    """Pad NCHW ``x`` the way TensorFlow's ``padding="same"`` does (extra pixel bottom/right)."""
    pads: list[int] = []
    for size, k, s in ((x.shape[-1], kernel[1], stride[1]), (x.shape[-2], kernel[0], stride[0])):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


def _pair(v: Any) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    return (int(v[0]), int(v[1]))


def _key(name: str) -> str:
    # ModuleDict keys may not contain '.'; Keras names may.
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


class _Conv(nn.Module):
    """Conv2D or SeparableConv2D with Keras padding and an optional fused activation."""

    def __init__(self, spec: dict[str, Any], in_ch: int) -> None:
        super().__init__()
        self.kernel = _pair(spec["kernel_size"])
        self.stride = _pair(spec.get("strides", 1))
        self.padding = spec.get("padding", "valid")
        if self.padding not in ("same", "valid"):
            raise KerasConversionError(f"{spec['name']}: padding {self.padding!r} not supported")
        if _pair(spec.get("dilation_rate", 1)) != (1, 1):
            raise KerasConversionError(f"{spec['name']}: dilated convolutions not supported")
        self.activation = spec.get("activation", "linear")
        if self.activation not in ("linear", "relu"):
            raise KerasConversionError(f"{spec['name']}: activation {self.activation!r} not supported")
        out_ch, bias = int(spec["filters"]), bool(spec.get("use_bias", True))
        self.separable = spec["class_name"] == "SeparableConv2D"
        self.depthwise: nn.Conv2d | None = None
        if self.separable:
            mult = int(spec.get("depth_multiplier", 1))
            self.depthwise = nn.Conv2d(in_ch, in_ch * mult, self.kernel, self.stride, groups=in_ch, bias=False)
            self.conv = nn.Conv2d(in_ch * mult, out_ch, 1, bias=bias)
        else:
            self.conv = nn.Conv2d(in_ch, out_ch, self.kernel, self.stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            x = tf_same_pad(x, self.kernel, self.stride)
        x = self.conv(self.depthwise(x)) if self.depthwise is not None else self.conv(x)
        return F.relu(x) if self.activation == "relu" else x


class _MaxPool(nn.Module):
    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.kernel = _pair(spec.get("pool_size", 2))
        strides = spec.get("strides")
        self.stride = _pair(strides) if strides is not None else self.kernel
        self.padding = spec.get("padding", "valid")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "same":
            x = tf_same_pad(x, self.kernel, self.stride, value=float("-inf"))
        return F.max_pool2d(x, self.kernel, self.stride)


class _Act(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # softmax is left to the caller so the module yields logits.
        return F.relu(x) if self.name == "relu" else x


class _Gap(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def parse_layers(model_config: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten a Keras functional/sequential ``model_config`` into layer specs.

    Each spec: ``{"class_name", "name", "inbound": [names], **layer config}``; JSON-safe so it can
    travel inside a checkpoint's ``config``.
    """
    cls = model_config.get("class_name")
    cfg: Any = model_config.get("config")
    if cls == "Sequential":
        layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        specs: list[dict[str, Any]] = []
        prev: str | None = None
        for layer in layers:
            spec = {**layer["config"], "class_name": layer["class_name"], "inbound": [prev] if prev else []}
            specs.append(spec)
            prev = spec["name"]
        return specs
    if cls not in ("Model", "Functional"):
        raise KerasConversionError(f"model class {cls!r} not supported (Model or Sequential)")
    specs = []
    for layer in cfg["layers"]:
        nodes = layer.get("inbound_nodes") or []
        if len(nodes) > 1:
            raise KerasConversionError(f"{layer['name']}: shared layers are not supported")
        inbound = [entry[0] for entry in nodes[0]] if nodes else []
        specs.append({**layer["config"], "class_name": layer["class_name"], "name": layer["name"],
                      "inbound": inbound})
    return specs


class KerasGraphNet(nn.Module):
    """A Keras layer graph run in torch; ``forward`` returns (logits (n, k), embedding (n, d)).

    ``config``: ``{"layers": [layer specs], "input_size": int}``.  The embedding is the global
    average of the feature map feeding the last convolution (the one before global pooling).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.layers_spec: list[dict[str, Any]] = list(config["layers"])
        self.blocks = nn.ModuleDict()
        channels: dict[str, int] = {}
        self.input_name = ""
        self.output_name = self.layers_spec[-1]["name"]
        for spec in self.layers_spec:
            cls, name, inbound = spec["class_name"], spec["name"], spec["inbound"]
            if cls not in SUPPORTED:
                raise KerasConversionError(f"layer {name}: {cls} not supported (have {', '.join(SUPPORTED)})")
            in_ch = channels[inbound[0]] if inbound else 0
            module: nn.Module
            if cls == "InputLayer":
                shape = spec.get("batch_input_shape") or spec.get("batch_shape")
                channels[name] = int(shape[-1]) if shape else 1
                self.input_name = name
                continue
            if cls in ("Conv2D", "SeparableConv2D"):
                module = _Conv(spec, in_ch)
                channels[name] = int(spec["filters"])
            elif cls == "BatchNormalization":
                axis = spec.get("axis", -1)
                if axis not in (-1, 3, [3], [-1]):
                    raise KerasConversionError(f"{name}: BatchNormalization over axis {axis} not supported")
                module = nn.BatchNorm2d(in_ch, eps=float(spec.get("epsilon", 1e-3)),
                                        momentum=1.0 - float(spec.get("momentum", 0.99)))
                channels[name] = in_ch
            elif cls == "Activation":
                if spec["activation"] not in _ACTIVATIONS:
                    raise KerasConversionError(f"{name}: activation {spec['activation']!r} not supported")
                if spec["activation"] == "softmax" and name != self.output_name:
                    raise KerasConversionError(f"{name}: softmax is only supported as the output layer")
                module = _Act(spec["activation"])
                channels[name] = in_ch
            elif cls == "MaxPooling2D":
                module = _MaxPool(spec)
                channels[name] = in_ch
            elif cls == "GlobalAveragePooling2D":
                module = _Gap()
                channels[name] = in_ch
            elif cls == "Dropout":
                module = nn.Dropout(float(spec.get("rate", 0.0)))
                channels[name] = in_ch
            else:  # Add
                widths = {channels[i] for i in inbound}
                if len(widths) != 1:
                    raise KerasConversionError(f"{name}: Add over different widths {sorted(widths)}")
                module = nn.Identity()
                channels[name] = in_ch
            self.blocks[_key(name)] = module
        if not self.input_name:
            raise KerasConversionError("model has no InputLayer")
        self.embedding_from = self._embedding_source()
        self.embedding_dim = channels[self.embedding_from]
        self.num_classes = channels[self.output_name]

    def _embedding_source(self) -> str:
        convs = [s for s in self.layers_spec if s["class_name"] in ("Conv2D", "SeparableConv2D")]
        if not convs:
            raise KerasConversionError("model has no convolution")
        return str(convs[-1]["inbound"][0])

    @property
    def input_size(self) -> int:
        return int(self.config.get("input_size", 64))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` (n, 1, h, w) in [-1, 1] → logits (n, classes), embedding (n, d)."""
        values: dict[str, torch.Tensor] = {self.input_name: x}
        for spec in self.layers_spec:
            name = spec["name"]
            if name == self.input_name:
                continue
            if spec["class_name"] == "Add":
                out = values[spec["inbound"][0]]
                for other in spec["inbound"][1:]:
                    out = out + values[other]
                values[name] = out
            else:
                values[name] = self.blocks[_key(name)](values[spec["inbound"][0]])
        embedding = values[self.embedding_from].mean(dim=(2, 3))
        return values[self.output_name], embedding


def _layer_weights(root: Any, name: str) -> list[np.ndarray]:
    if name not in root:
        return []
    group = root[name]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
    return [np.asarray(group[n]) for n in names]


def _assign(param: torch.Tensor, array: np.ndarray, where: str) -> None:
    tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    if tuple(tensor.shape) != tuple(param.shape):
        raise KerasConversionError(f"{where}: weight shape {tuple(tensor.shape)} != expected {tuple(param.shape)}")
    with torch.no_grad():
        param.copy_(tensor)


def _load_layer(module: nn.Module, spec: dict[str, Any], arrays: list[np.ndarray]) -> None:
    name, cls = spec["name"], spec["class_name"]
    if cls in ("Conv2D", "SeparableConv2D"):
        assert isinstance(module, _Conv)
        expected = (3 if module.separable else 2) + (1 if module.conv.bias is not None else 0) - 1
        if len(arrays) != expected:
            raise KerasConversionError(f"{name}: expected {expected} weight arrays, file has {len(arrays)}")
        if module.depthwise is not None:
            dw = arrays[0]  # (kh, kw, in, mult) -> (in*mult, 1, kh, kw), channel c*mult+m
            kh, kw, cin, mult = dw.shape
            _assign(module.depthwise.weight, dw.reshape(kh, kw, cin * mult).transpose(2, 0, 1)[:, None],
                    f"{name}/depthwise_kernel")
            arrays = arrays[1:]
        _assign(module.conv.weight, arrays[0].transpose(3, 2, 0, 1), f"{name}/kernel")
        if module.conv.bias is not None:
            _assign(module.conv.bias, arrays[1], f"{name}/bias")
    elif cls == "BatchNormalization":
        assert isinstance(module, nn.BatchNorm2d)
        arrays = list(arrays)
        n = module.num_features
        gamma = arrays.pop(0) if spec.get("scale", True) else np.ones(n, np.float32)
        beta = arrays.pop(0) if spec.get("center", True) else np.zeros(n, np.float32)
        if len(arrays) != 2:
            raise KerasConversionError(f"{name}: BatchNormalization lacks moving mean/variance")
        _assign(module.weight, gamma, f"{name}/gamma")
        _assign(module.bias, beta, f"{name}/beta")
        assert module.running_mean is not None and module.running_var is not None
        _assign(module.running_mean, arrays[0], f"{name}/moving_mean")
        _assign(module.running_var, arrays[1], f"{name}/moving_variance")
    elif arrays:
        raise KerasConversionError(f"{name}: {cls} should carry no weights, file has {len(arrays)}")


def convert_keras_h5(path: str | Path) -> tuple[KerasGraphNet, dict[str, Any]]:
    """Read a Keras HDF5 model (``model_config`` + ``model_weights``) into an eval-mode torch net.

    Returns ``(net, config)`` where ``config`` rebuilds the same net with ``KerasGraphNet(config)``.
    Raises :class:`KerasConversionError` for files it cannot convert faithfully.
    """
    import h5py

    path = Path(path)
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise KerasConversionError(f"{path}: not an HDF5 file ({exc})") from exc
    with fh:
        raw = fh.attrs.get("model_config")
        if raw is None:
            raise KerasConversionError(f"{path}: no model_config attribute (weights-only file?)")
        model_config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        layers = parse_layers(model_config)
        shape = next((s.get("batch_input_shape") or s.get("batch_shape") for s in layers
                      if s["class_name"] == "InputLayer"), None)
        if not shape or len(shape) != 4 or shape[1] != shape[2]:
            raise KerasConversionError(f"{path}: need a square (None, h, w, c) input, got {shape}")
        config = {"layers": layers, "input_size": int(shape[1]), "source": path.name}
        net = KerasGraphNet(config)
        root = fh.get("model_weights", fh)
        for spec in layers:
            key = _key(spec["name"])
            module = net.blocks[key] if key in net.blocks else None  # noqa: SIM401 (ModuleDict has no get)
            arrays = _layer_weights(root, spec["name"])
            if module is None:
                if arrays:
                    raise KerasConversionError(f"{spec['name']}: unexpected weights")
                continue
            _load_layer(module, spec, arrays)
    return net.eval(), config
