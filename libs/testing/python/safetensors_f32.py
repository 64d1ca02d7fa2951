"""A tiny safetensors reader for the torch reference scripts (F32 only), so they need no package beyond torch.

Test scripts import it with this folder on PYTHONPATH (runPython in @memorize/testing puts it there).
"""
import json
import struct

import torch


def read_safetensors(path):
    """Returns ({name: float32 tensor}, the __metadata__ dict)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", f"{name}: {e['dtype']}"
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[b:end]), dtype=torch.float32)
        tensors[name] = t.reshape(e["shape"]) if e["shape"] else t.reshape(())
    return tensors, meta
