"""Worker that times anomalib's GANomaly torch model for ``bench_ganomaly.py``.

Run by the benchmark with the Python of a separate virtual environment holding the same CPU
torch wheel and ``anomalib`` (installed ``--no-deps``). It imports only torch and the standard
library, reads one JSON command per line on stdin and answers one JSON line on stdout, so the
benchmark can interleave its rounds with our own in the same run.

How anomalib is loaded. ``import anomalib.models.image.ganomaly.torch_model`` runs the
package ``__init__`` files (``anomalib.models`` imports every model, Lightning, jsonargparse,
timm...), and ``torch_model.py`` itself imports ``anomalib.data``, whose dataclasses import
torchvision; torchvision's PyPI wheels link ``libtorch_cuda.so`` / ``libc10_cuda.so`` and do
not load beside the CPU torch wheel ("operator torchvision::nms does not exist"). So the
regular import is tried first and, when it fails, ``torch_model.py`` and ``loss.py`` are
loaded from their files, with a shim for the two names ``torch_model.py`` imports:
``anomalib.data.InferenceBatch`` and ``anomalib.data.utils.image.pad_nextpow2``. The shim
does not rewrite them: their definitions are read from anomalib's own installed source files
(``data/dataclasses/torch/base.py``, ``data/utils/image.py``) and executed on their own,
without the torchvision / OpenCV imports of the modules around them.

The training step follows ``anomalib.models.image.ganomaly.lightning_model.Ganomaly``'s
``training_step`` and ``configure_optimizers`` (Adam, lr 2e-4, betas (0.5, 0.999), manual
optimisation: generator step with ``retain_graph=True``, then discriminator step, ``.item()``
of both losses for logging) in a plain loop over pre-made batches: the Lightning trainer, its
DataLoader and its logging are not timed, which can only favour anomalib.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import sys
import time
import types
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


def _definitions(path, names, namespace):
    """Execute the top-level definitions ``names`` of the source file ``path`` in
    ``namespace`` (the file's own code, without the imports around it)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=str(path))
    nodes = [n for n in tree.body
             if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in names]
    missing = set(names) - {n.name for n in nodes}
    if missing:
        raise RuntimeError(f"{path} defines none of {sorted(missing)}")
    exec(compile(ast.Module(body=nodes, type_ignores=[]), str(path), "exec"), namespace)
    return {name: namespace[name] for name in names}


def _load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_anomalib():
    """``(torch_model module, loss module, how)``: anomalib's GANomaly network and losses."""
    spec = importlib.util.find_spec("anomalib")  # finds the package without importing it
    if spec is None:
        raise RuntimeError("anomalib is not installed in this environment")
    try:
        from anomalib.models.image.ganomaly import loss, torch_model

        return torch_model, loss, {"import": "regular"}
    except Exception as exc:  # noqa: BLE001 - any import failure leads to the file-path load
        regular_error = f"{type(exc).__name__}: {exc}"
    for name in [m for m in sys.modules if m == "anomalib" or m.startswith("anomalib.")]:
        del sys.modules[name]
    root = spec.submodule_search_locations[0]
    base = f"{root}/data/dataclasses/torch/base.py"
    image = f"{root}/data/utils/image.py"
    batch_ns = {"NamedTuple": NamedTuple, "torch": torch, "__name__": "anomalib.data"}
    image_ns = {"math": math, "torch": torch, "F": F, "__name__": "anomalib.data.utils.image"}
    shim = {
        "anomalib": types.ModuleType("anomalib"),
        "anomalib.data": types.ModuleType("anomalib.data"),
        "anomalib.data.utils": types.ModuleType("anomalib.data.utils"),
        "anomalib.data.utils.image": types.ModuleType("anomalib.data.utils.image"),
    }
    shim["anomalib"].__path__ = []  # a package that finds nothing else
    shim["anomalib.data"].__path__ = []
    shim["anomalib.data.utils"].__path__ = []
    vars(shim["anomalib.data"]).update(_definitions(base, ["InferenceBatch"], batch_ns))
    vars(shim["anomalib.data.utils.image"]).update(
        _definitions(image, ["pad_nextpow2"], image_ns))
    sys.modules.update(shim)
    gan = f"{root}/models/image/ganomaly"
    torch_model = _load_file("anomalib_ganomaly_torch_model", f"{gan}/torch_model.py")
    loss = _load_file("anomalib_ganomaly_loss", f"{gan}/loss.py")
    return torch_model, loss, {
        "import": "file path + shim",
        "regular_import_error": regular_error[:300],
        "shimmed": ["anomalib.data.InferenceBatch (exec of its class from "
                    "data/dataclasses/torch/base.py)",
                    "anomalib.data.utils.image.pad_nextpow2 (exec of its function from "
                    "data/utils/image.py)"],
        "loaded_by_path": ["models/image/ganomaly/torch_model.py",
                           "models/image/ganomaly/loss.py"],
    }


def _images(n, size, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, 3, size, size), generator=g) * 2 - 1


class Peer:
    """anomalib's GanomalyModel, its losses and its two Adam optimizers, one per variant."""

    def __init__(self, torch_model, loss, *, size, nz, width, lr=2e-4):
        self.torch_model, self.loss = torch_model, loss
        self.size, self.nz, self.width, self.lr = size, nz, width, lr
        self.models = {}

    def model(self, variant):
        if variant["name"] not in self.models:
            torch.manual_seed(0)  # anomalib initialises from the global RNG
            model = self.torch_model.GanomalyModel(
                input_size=(self.size, self.size), num_input_channels=3,
                n_features=self.width, latent_vec_size=self.nz, extra_layers=0,
                add_final_conv_layer=True)
            if variant["channels_last"]:
                model = model.to(memory_format=torch.channels_last)
            opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=self.lr,
                                     betas=(0.5, 0.999))
            opt_g = torch.optim.Adam(model.generator.parameters(), lr=self.lr,
                                     betas=(0.5, 0.999))
            self.models[variant["name"]] = (model, opt_d, opt_g, self.loss.GeneratorLoss(),
                                            self.loss.DiscriminatorLoss())
        return self.models[variant["name"]]

    def _x(self, n, variant):
        x = _images(n, self.size, 0)
        return x.contiguous(memory_format=torch.channels_last) if variant["channels_last"] else x

    def train(self, variant, n, batch_size):
        """Seconds (wall, CPU) of ``n // batch_size`` training steps."""
        model, opt_d, opt_g, g_loss_fn, d_loss_fn = self.model(variant)
        x = self._x(n, variant)
        model.train()
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant["bf16"])
        t0, c0 = time.perf_counter(), time.process_time()
        for start in range(0, n - batch_size + 1, batch_size):
            batch = x[start:start + batch_size]
            with autocast:  # as Lightning's precision="bf16-mixed" wraps the step
                padded, fake, latent_i, latent_o = model(batch)
                pred_real, _ = model.discriminator(padded)
                pred_fake, _ = model.discriminator(fake)
                g_loss = g_loss_fn(latent_i, latent_o, padded, fake, pred_real, pred_fake)
            opt_g.zero_grad()
            g_loss.backward(retain_graph=True)
            opt_g.step()
            with autocast:
                pred_fake, _ = model.discriminator(fake.detach())
                d_loss = d_loss_fn(pred_real.float(), pred_fake.float())
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            losses = (g_loss.item(), d_loss.item())  # the step's log_dict
        if not all(math.isfinite(v) for v in losses):
            raise RuntimeError(f"anomalib GANomaly losses are not finite: {losses}")
        return time.perf_counter() - t0, time.process_time() - c0

    def score(self, variant, n, batch_size):
        """Seconds (wall, CPU) of scoring ``n`` images in eval mode under inference_mode."""
        model = self.model(variant)[0]
        x = self._x(n, variant)
        model.eval()
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant["bf16"])
        outs = []
        t0, c0 = time.perf_counter(), time.process_time()
        with torch.inference_mode(), autocast:
            for start in range(0, n, batch_size):
                outs.append(model(x[start:start + batch_size]).pred_score.float())
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert torch.cat(outs).shape == (n,)
        return wall, cpu

    def flops(self, variant, batch_size):
        """Counted FLOPs per image of one training step and of scoring (FlopCounterMode)."""
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            self.train(variant, batch_size, batch_size)
        train = counter.get_total_flops() / batch_size
        counter = FlopCounterMode(display=False)
        with counter:
            self.score(variant, batch_size, batch_size)
        return {"train": train, "score": counter.get_total_flops() / batch_size}


def conv_peak(channels_last, repeats=3):
    """Best FLOP/s of a large 3x3 convolution (64 x 128 x 32 x 32, 128 -> 128 channels)."""
    x = torch.randn(64, 128, 32, 32)
    w = torch.randn(128, 128, 3, 3)
    if channels_last:
        x, w = (t.contiguous(memory_format=torch.channels_last) for t in (x, w))
    flops = 2 * 64 * 128 * 128 * 9 * 32 * 32
    torch.conv2d(x, w, padding=1)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.conv2d(x, w, padding=1)
        best = min(best, time.perf_counter() - t0)
    return flops / best


def main():
    torch_model, loss, how = load_anomalib()
    peer = None
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "quit":
            break
        if op == "setup":
            torch.set_num_threads(int(cmd["threads"]))
            peer = Peer(torch_model, loss, size=cmd["size"], nz=cmd["nz"], width=cmd["width"])
            from importlib.metadata import version

            model = peer.model({"name": "info", "channels_last": False, "bf16": False})[0]
            out = {**how, "anomalib": version("anomalib"), "torch": torch.__version__,
                   "threads": torch.get_num_threads(),
                   "generator_params": sum(p.numel() for p in model.generator.parameters()),
                   "discriminator_params": sum(p.numel()
                                               for p in model.discriminator.parameters()),
                   "encoder_maps": _encoder_maps(model, cmd["size"])}
        elif op == "train":
            out = dict(zip(("wall", "cpu"),
                           peer.train(cmd["variant"], cmd["n"], cmd["batch_size"]), strict=True))
        elif op == "score":
            out = dict(zip(("wall", "cpu"),
                           peer.score(cmd["variant"], cmd["n"], cmd["batch_size"]), strict=True))
        elif op == "flops":
            out = peer.flops(cmd["variant"], cmd["batch_size"])
        elif op == "peak":
            out = {"nchw": conv_peak(False), "channels_last": conv_peak(True)}
        else:
            out = {"error": f"unknown op {op!r}"}
        print(json.dumps(out), flush=True)


def _encoder_maps(model, size):
    """Side of every feature map the first encoder's convolutions produce [px]."""
    sides, hooks = [], []
    for m in model.generator.encoder1.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(lambda _m, _i, out: sides.append(out.shape[-1])))
    with torch.no_grad():
        model.generator.encoder1(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return sides


if __name__ == "__main__":
    main()
