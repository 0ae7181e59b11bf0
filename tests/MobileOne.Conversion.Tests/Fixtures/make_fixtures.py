#!/usr/bin/env python3
"""Writes the PyTorch-format fixtures of MobileOne.Conversion.Tests with CPython's own pickle and zipfile modules.

PyTorch itself is not installable here, so this script reproduces what torch.save (PyTorch >= 1.6, the zip format)
writes, following torch/serialization.py `_save` and `Tensor.__reduce_ex__`:

* a zip archive (entries stored, not compressed) with a single top folder ARCHIVE (torch uses the file's base name):
  ARCHIVE/data.pkl, ARCHIVE/byteorder ("little"), ARCHIVE/data/<key> (raw little-endian storage bytes),
  ARCHIVE/version ("3\n"), ARCHIVE/.data/serialization_id;
* data.pkl: pickle protocol 2; each tensor reduces to torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
  stride, requires_grad, collections.OrderedDict()); parameters to torch._utils._rebuild_parameter(tensor, requires_grad,
  OrderedDict()); a storage is written as the persistent id ('storage', torch.FloatStorage, key, 'cpu', numel);
  a state dict is an OrderedDict with a `_metadata` attribute (pickled as BUILD state).

The `torch` module seen by the pickler is a stand-in made here, with the same qualified names, so the GLOBAL opcodes are
byte-for-byte those of a real checkpoint. Every fixture also gets a safetensors twin (written with struct, no library)
holding the same tensors, which the tests compare with what the C# reader returns.

Malicious fixtures are hand-assembled pickles (as real exploits are): they must be refused by name and never run.

Run: python3 make_fixtures.py   (deterministic; writes into this folder)
"""
import collections
import io
import json
import math
import os
import pickle
import random
import struct
import sys
import types
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------------------------------
# A stand-in `torch` with the names torch.save pickles.
torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils

DTYPES = {  # storage class name -> (safetensors dtype, struct format, bytes)
    "FloatStorage": ("F32", "<f", 4),
    "HalfStorage": ("F16", "<e", 2),
    "DoubleStorage": ("F64", "<d", 8),
    "LongStorage": ("I64", "<q", 8),
}


def _make_storage_class(name):
    cls = type(name, (), {})
    cls.__module__ = "torch"
    cls.__qualname__ = name
    setattr(torch, name, cls)
    return cls


STORAGE_CLASSES = {name: _make_storage_class(name) for name in DTYPES}


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    raise RuntimeError("never called when pickling")


def _rebuild_parameter(data, requires_grad, backward_hooks):
    raise RuntimeError("never called when pickling")


for f in (_rebuild_tensor_v2, _rebuild_parameter):
    f.__module__ = "torch._utils"
    setattr(torch_utils, f.__name__, f)


class Storage:
    def __init__(self, kind, values):
        self.kind = kind
        self.values = list(values)

    def data(self):
        _, fmt, _ = DTYPES[self.kind]
        return b"".join(struct.pack(fmt, v) for v in self.values)


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def __reduce_ex__(self, protocol):
        return (_rebuild_tensor_v2, (self.storage, self.offset, self.size, self.stride, False, collections.OrderedDict()))

    def dense(self):
        """Row-major values of the (possibly strided) view."""
        n = 1
        for d in self.size:
            n *= d
        out = []
        idx = [0] * len(self.size)
        for _ in range(n):
            at = self.offset + sum(i * s for i, s in zip(idx, self.stride))
            out.append(self.storage.values[at])
            for d in reversed(range(len(self.size))):
                idx[d] += 1
                if idx[d] < self.size[d]:
                    break
                idx[d] = 0
        return out


class FakeParameter:
    def __init__(self, tensor):
        self.tensor = tensor

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.tensor, True, collections.OrderedDict()))


def contiguous_stride(size):
    stride, acc = [], 1
    for d in reversed(size):
        stride.insert(0, acc)
        acc *= d
    return stride


def tensor(kind, values, size):
    return FakeTensor(Storage(kind, values), 0, size, contiguous_stride(size))


def torch_save(obj, path, archive):
    """torch.save(obj, path) as PyTorch >= 1.6 writes it."""
    storages = {}
    ids = {}

    class Pickler(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, Storage):
                key = ids.setdefault(id(o), str(len(ids)))
                storages[key] = o
                return ("storage", STORAGE_CLASSES[o.kind], key, "cpu", len(o.values))
            return None

    buf = io.BytesIO()
    Pickler(buf, protocol=2).dump(obj)
    write_zip(path, archive, buf.getvalue(), storages)


def write_zip(path, archive, data_pkl, storages):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        def record(name, data):
            info = zipfile.ZipInfo(f"{archive}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
        record("data.pkl", data_pkl)
        record("byteorder", b"little")
        for key in sorted(storages):
            record(f"data/{key}", storages[key].data())
        record("version", b"3\n")
        record(".data/serialization_id", b"1234567890123456789012345678901234567890")


def write_safetensors(path, named):
    """named: list of (name, FakeTensor). Writes dense copies with the storage's dtype."""
    header, blobs, offset = {}, [], 0
    for name, t in named:
        dtype, fmt, size = DTYPES[t.storage.kind]
        data = b"".join(struct.pack(fmt, v) for v in t.dense())
        header[name] = {"dtype": dtype, "shape": list(t.size), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------------------------------
# A small train-time MobileOne (docs/mobileone.md, "Fusion" and "Tensor names"): stem 3->8, stages [8, 16, 16, 24], blocks [1, 2, 1, 1],
# SE on the last block of stages 3 and 4, 5 classes; k = 2 conv branches in the stages, 1 in the stem.
ARCH = dict(inputChannels=3, stemChannels=8, stageChannels=[8, 16, 16, 24], stageBlocks=[1, 2, 1, 1], seBlocks=[0, 0, 1, 1], numClasses=5, k=2)


def layers(arch):
    out = [("stage0", arch["inputChannels"], arch["stemChannels"], 3, 2, 1, False)]
    c = arch["stemChannels"]
    for s in range(4):
        n = arch["stageBlocks"][s]
        for ix in range(n):
            se = ix >= n - arch["seBlocks"][s]
            stride = 2 if ix == 0 else 1
            out.append((f"stage{s + 1}.{2 * ix}", c, c, 3, stride, c, se))
            planes = arch["stageChannels"][s]
            out.append((f"stage{s + 1}.{2 * ix + 1}", c, planes, 1, 1, 1, se))
            c = planes
    return out


def train_time_state(arch, rng, kind="FloatStorage", fused=False):
    sd = []

    def gauss(n, std):
        return [rng.gauss(0.0, std) for _ in range(n)]

    def add(name, values, size):
        sd.append((name, tensor(kind, values, size)))

    def bn(prefix, c):
        add(prefix + "weight", [rng.uniform(0.5, 1.5) for _ in range(c)], [c])
        add(prefix + "bias", [rng.uniform(-0.3, 0.3) for _ in range(c)], [c])
        add(prefix + "running_mean", [rng.uniform(-0.5, 0.5) for _ in range(c)], [c])
        add(prefix + "running_var", [rng.uniform(0.3, 3.0) for _ in range(c)], [c])
        sd.append((prefix + "num_batches_tracked", tensor("LongStorage", [1234], [])))

    for name, cin, cout, k, stride, groups, se in layers(arch):
        cpg = cin // groups
        fan = cpg * k * k
        if fused:
            add(f"{name}.reparam_conv.weight", gauss(cout * fan, math.sqrt(2.0 / fan)), [cout, cpg, k, k])
            add(f"{name}.reparam_conv.bias", gauss(cout, 0.1), [cout])
        else:
            branches = 1 if name == "stage0" else arch["k"]
            for j in range(branches):
                add(f"{name}.rbr_conv.{j}.conv.weight", gauss(cout * fan, math.sqrt(1.0 / fan)), [cout, cpg, k, k])
                bn(f"{name}.rbr_conv.{j}.bn.", cout)
            if k > 1:
                add(f"{name}.rbr_scale.conv.weight", gauss(cout * cpg, math.sqrt(1.0 / cpg)), [cout, cpg, 1, 1])
                bn(f"{name}.rbr_scale.bn.", cout)
            if cin == cout and stride == 1:
                bn(f"{name}.rbr_skip.", cin)
        if se:
            r = max(1, cout // 16)
            add(f"{name}.se.reduce.weight", gauss(r * cout, math.sqrt(2.0 / cout)), [r, cout, 1, 1])
            add(f"{name}.se.reduce.bias", gauss(r, 0.1), [r])
            add(f"{name}.se.expand.weight", gauss(cout * r, math.sqrt(1.0 / r)), [cout, r, 1, 1])
            add(f"{name}.se.expand.bias", gauss(cout, 0.1), [cout])
    c4 = arch["stageChannels"][3]
    add("linear.weight", gauss(arch["numClasses"] * c4, math.sqrt(1.0 / c4)), [arch["numClasses"], c4])
    add("linear.bias", gauss(arch["numClasses"], 0.1), [arch["numClasses"]])
    return sd


TIMM = [("stage0.", "stem."), ("linear.", "head.fc."), ("rbr_conv.", "conv_kxk."), ("rbr_scale.", "conv_scale."),
        ("rbr_skip.", "identity."), ("se.reduce.", "attn.fc1."), ("se.expand.", "attn.fc2.")]


def timm_name(name):
    if name.startswith("stage") and not name.startswith("stage0."):
        dot = name.index(".")
        name = f"stages.{int(name[5:dot]) - 1}{name[dot:]}"
    for a, b in TIMM:
        name = name.replace(a, b)
    return name


def state_dict(named, prefix="", parameters=False):
    d = collections.OrderedDict()
    for name, t in named:
        d[prefix + name] = FakeParameter(t) if parameters else t
    d._metadata = collections.OrderedDict([("", {"version": 1})])  # what nn.Module.state_dict() attaches
    return d


def fixture(name, obj, named, archive=None):
    torch_save(obj, os.path.join(HERE, name), archive or name.split(".")[0])
    write_safetensors(os.path.join(HERE, name.split(".")[0] + ".twin.safetensors"), named)


def main():
    rng = random.Random(20240601)
    apple = train_time_state(ARCH, rng)
    # 1. A bare state dict, Apple names (as Apple's mobileone_sX_unfused.pth.tar).
    fixture("tiny_unfused.pth.tar", state_dict(apple), apple, archive="tiny_unfused.pth")
    # 2. Wrapped in a training checkpoint dict under 'state_dict', DataParallel 'module.' prefix, parameters.
    wrapped = {"epoch": 42, "arch": "mobileone_tiny", "best_acc1": 71.25, "state_dict": state_dict(apple, "module.", parameters=True),
               "optimizer": {"state": {}, "param_groups": [{"lr": 0.1, "momentum": 0.9, "params": [0, 1, 2]}]}}
    fixture("tiny_wrapped.pth", wrapped, apple)
    # 3. timm names, F16 storages, under 'model'.
    timm = [(timm_name(n), tensor("HalfStorage", t.dense(), t.size) if t.storage.kind == "FloatStorage" else t) for n, t in apple]
    fixture("tiny_timm_f16.pt", {"model": state_dict(timm), "epoch": 3}, timm)
    # 4. A fused checkpoint (reparam_conv), where two tensors share one storage and one is a transposed view.
    fused = train_time_state(ARCH, random.Random(7), fused=True)
    w = next(t for n, t in fused if n == "linear.weight")
    b = next(t for n, t in fused if n == "linear.bias")
    n_cls, c4 = w.size
    shared = Storage("FloatStorage", b.dense() + [0.0] * 3 + w.dense())  # bias, padding, then the weight
    transposed = [w.dense()[o * c4 + i] for i in range(c4) for o in range(n_cls)]  # W^T stored row-major
    shared_fused = []
    for n, t in fused:
        if n == "linear.bias":
            t = FakeTensor(shared, 0, [n_cls], [1])
        elif n == "linear.weight":
            t = FakeTensor(Storage("FloatStorage", transposed), 0, [n_cls, c4], [1, n_cls])  # a .t() view
        elif n == "stage0.reparam_conv.bias":
            t = FakeTensor(shared, n_cls + 3, [8], [1])  # offset into the shared storage
            shared.values[n_cls + 3:n_cls + 3 + 8] = fused_stem_bias = [0.01 * i for i in range(8)]
        shared_fused.append((n, t))
    fixture("tiny_fused.pth", state_dict(shared_fused), shared_fused)
    # 5. Not a MobileOne: a ResNet-like state dict.
    resnet = [("conv1.weight", tensor("FloatStorage", [0.1] * 27, [1, 3, 3, 3])), ("fc.weight", tensor("FloatStorage", [0.2] * 4, [2, 2]))]
    fixture("resnet_like.pth", state_dict(resnet), resnet)

    # 6. Malicious pickles (hand-assembled; the command would create the marker file if ever run).
    marker = b"touch /tmp/mobileone-fixture-pwned"

    def binunicode(s):
        return b"X" + struct.pack("<I", len(s)) + s

    evil = {
        "evil_os_system.pth": b"\x80\x02cos\nsystem\nq\x00" + binunicode(marker) + b"\x85q\x01Rq\x02.",
        "evil_builtins_eval.pth": b"\x80\x02cbuiltins\neval\nq\x00" + binunicode(b"__import__('os').system('" + marker + b"')") + b"\x85Rq\x01.",
        # protocol 4: the global's name comes from the stack (STACK_GLOBAL), memoized and fetched back
        "evil_stack_global.pth": b"\x80\x04\x8c\x02os\x94\x8c\x06system\x94h\x00h\x01\x93\x94\x8c" + bytes([len(marker)]) + marker + b"\x85R.",
        # a whole pickled model object, as torch.save(model) writes: a class of the training code
        "unknown_global.pth": b"\x80\x02cmobileone\nMobileOne\nq\x00)\x81q\x01}q\x02X\x08\x00\x00\x00trainingq\x03\x89sb.",
    }
    for name, pkl in evil.items():
        write_zip(os.path.join(HERE, name), name.split(".")[0], pkl, {})


if __name__ == "__main__":
    main()
