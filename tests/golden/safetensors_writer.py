"""The safetensors writer shared by the fixture scripts, written by hand (8-byte little-endian
header length, JSON header padded with spaces to a multiple of 8, raw little-endian data in name
order) so the scripts need nothing but torch, and Ember's C++ reader is checked against an
independent writer."""
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata):
    if sys.byteorder != "little":
        sys.exit("this script writes little-endian data; run it on a little-endian machine")
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)
    print(f"wrote {len(tensors)} tensors to {os.path.normpath(path)}")
