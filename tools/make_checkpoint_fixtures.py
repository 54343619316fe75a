#!/usr/bin/env python3
"""Writes the Checkpoint module's test fixtures into Tests/CheckpointTests/Fixtures/.

    python3 tools/make_checkpoint_fixtures.py

Pinned: torch 2.15.0 and the `safetensors` package. Deterministic (seeded), so rerunning
rewrites the same tensors (torch's zip files embed a random serialization id; that is all).

Good files (read by the Swift reader, compared exactly with expected.json):
  resnet_zip.pth / resnet_legacy.pth   state dict of a tiny paper-code ResnetGenerator
                                        (batch norm, running stats, int64 num_batches_tracked)
  resnet.safetensors                    the same, written by the python safetensors library,
                                        with a JSON architecture config in __metadata__
  resnet_module_zip.pth                 the same with DataParallel's `module.` prefix
  resnet_zip64.pth                      resnet_zip.pth re-packed with ZIP64 records (torch.load reads it)
  mixed_zip.pth / mixed_legacy.pth      every dtype, a transposed and a permuted tensor, slices
                                        sharing one storage, a stride-3 slice, a stride-0 expansion,
                                        a 0-d scalar, an empty tensor, an nn.Parameter
  mixed.safetensors                     mixed's tensors made contiguous, every safetensors dtype
  mixed_bigendian_zip.pth               float32 tensors with byteorder "big" (torch.load reads it)
  nested_zip.pth                        {'state_dict': {...}, 'epoch': 3, 'lr': 0.0002, 'name': 'G_A'}
Hostile files (code a normal torch.load(weights_only=False) would run):
  evil_*.pth
Broken files (must be refused with a clear error):
  broken_*.pth, broken_*.safetensors
"""
import io
import json
import os
import pickle
import pickletools
import struct
import subprocess
import zipfile
import zlib

import torch
from safetensors.torch import save_file

assert torch.__version__.startswith("2.15.0"), torch.__version__

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "CheckpointTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.remove(os.path.join(OUT, f))
PWNED = "/tmp/img2img_checkpoint_PWNED"  # what the hostile payloads would create


def path(name):
    return os.path.join(OUT, name)


# ---------------------------------------------------------------- the paper code's generator
class ResnetBlock(torch.nn.Module):
    def __init__(self, dim, norm_layer, use_bias):
        super().__init__()
        self.conv_block = torch.nn.Sequential(
            torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim), torch.nn.ReLU(True),
            torch.nn.ReflectionPad2d(1), torch.nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(torch.nn.Module):
    """models/networks.py ResnetGenerator, with norm_layer=BatchNorm2d (so use_bias=False)."""

    def __init__(self, input_nc=3, output_nc=3, ngf=2, n_blocks=2):
        super().__init__()
        norm, use_bias = torch.nn.BatchNorm2d, False
        model = [torch.nn.ReflectionPad2d(3), torch.nn.Conv2d(input_nc, ngf, 7, bias=use_bias), norm(ngf), torch.nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            model += [torch.nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias), norm(ngf * mult * 2), torch.nn.ReLU(True)]
        for _ in range(n_blocks):
            model += [ResnetBlock(ngf * 4, norm, use_bias)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [torch.nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias),
                      norm(ngf * mult // 2), torch.nn.ReLU(True)]
        model += [torch.nn.ReflectionPad2d(3), torch.nn.Conv2d(ngf, output_nc, 7, padding=0), torch.nn.Tanh()]
        self.model = torch.nn.Sequential(*model)

    def forward(self, x):
        return self.model(x)


torch.manual_seed(0)
net = ResnetGenerator()
net.train()
with torch.no_grad():
    for _ in range(3):  # non-trivial running stats, num_batches_tracked = 3
        net(torch.randn(2, 3, 8, 8))
resnet = net.state_dict()
assert "model.10.conv_block.1.weight" in resnet and resnet["model.2.num_batches_tracked"].item() == 3

torch.save(resnet, path("resnet_zip.pth"))
torch.save(resnet, path("resnet_legacy.pth"), _use_new_zipfile_serialization=False)
torch.save({"module." + k: v for k, v in resnet.items()}, path("resnet_module_zip.pth"))
config = {"model": "resnet_generator", "input_nc": 3, "output_nc": 3, "ngf": 2, "n_blocks": 2, "norm": "batch"}
save_file(dict(resnet), path("resnet.safetensors"), metadata={"format": "pt", "config": json.dumps(config)})

# ---------------------------------------------------------------- every dtype and view kind
g = torch.Generator().manual_seed(1)
base = torch.randn(12, generator=g)
mixed = {
    "f32": torch.randn(2, 3, generator=g),
    "f16": torch.randn(2, 3, generator=g).half(),
    "bf16": torch.randn(4, generator=g).bfloat16(),
    "f64": torch.randn(3, generator=g).double(),
    "i64": torch.tensor([1, -2, 2 ** 40], dtype=torch.int64),
    "i32": torch.tensor([7, -8], dtype=torch.int32),
    "i16": torch.tensor([300, -300], dtype=torch.int16),
    "i8": torch.tensor([-128, 127], dtype=torch.int8),
    "u8": torch.tensor([0, 255], dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "transposed": torch.randn(3, 4, generator=g).t(),
    "permuted": torch.randn(2, 3, 4, 5, generator=g).permute(0, 2, 3, 1),
    "shared_a": base[2:5],
    "shared_b": base[4:10].view(2, 3),
    "strided": base[::3],
    "expanded": torch.randn(1, 4, generator=g).expand(3, 4),
    "scalar": torch.tensor(3.5),
    "empty": torch.zeros(0, 3),
    "param": torch.nn.Parameter(torch.randn(2, generator=g)),
    "half_t": torch.randn(3, 2, generator=g).half().t(),
}
assert not mixed["transposed"].is_contiguous() and mixed["expanded"].stride() == (0, 1)
torch.save(mixed, path("mixed_zip.pth"))
torch.save(mixed, path("mixed_legacy.pth"), _use_new_zipfile_serialization=False)
save_file({k: v.detach().contiguous().clone() for k, v in mixed.items()}, path("mixed.safetensors"), metadata={"note": "ünïcode \"quoted\"\n"})

nested = {"state_dict": {k: resnet[k] for k in list(resnet)[:4]}, "epoch": 3, "lr": 0.0002, "name": "G_A", "flags": [True, None]}
torch.save(nested, path("nested_zip.pth"))


# ---------------------------------------------------------------- raw zip writing
def write_zip(name, entries, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path(name), "w", compression=method) as z:
        for n, data in entries:
            z.writestr(zipfile.ZipInfo(n), data, compress_type=method)


def zip_entries(name):
    with zipfile.ZipFile(path(name)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip64(name, entries):
    """A stored zip whose every entry and end record uses the ZIP64 forms."""
    out = bytearray()
    central = bytearray()
    for n, data in entries:
        nb = n.encode()
        crc = zlib.crc32(data)
        off = len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra)) + nb + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), off)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF) + nb + cextra
    cd_off = len(out)
    out += central
    z64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path(name), "wb") as f:
        f.write(out)


write_zip64("resnet_zip64.pth", [(n.replace("resnet_zip/", "resnet_zip64/"), d) for n, d in zip_entries("resnet_zip.pth")])
with zipfile.ZipFile(path("resnet_zip64.pth")) as z:
    assert z.testzip() is None

# float32-only dict, re-packed big-endian
be = {"a": torch.randn(2, 3, generator=g), "b": torch.randn(5, generator=g)[1:4]}
torch.save(be, path("mixed_bigendian_zip.pth"))
swapped = []
for n, d in zip_entries("mixed_bigendian_zip.pth"):
    if "/data/" in n and not n.endswith("serialization_id"):
        d = b"".join(d[i:i + 4][::-1] for i in range(0, len(d), 4))
    if n.endswith("/byteorder"):
        d = b"big"
    swapped.append((n, d))
write_zip("mixed_bigendian_zip.pth", swapped)

# ---------------------------------------------------------------- every good file loads in torch as we expect
def dump(t):
    t = t.detach()
    entry = {"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", "")}
    if t.dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        entry["values"] = [float(x) for x in t.float().reshape(-1).tolist()]
    else:
        entry["ints"] = [int(x) for x in t.reshape(-1).tolist()]
    return entry


def expected_of(sd):
    return [dict(name=k, **dump(v)) for k, v in sd.items()]


expected = {"sets": {}, "fixtures": {}}
expected["sets"]["resnet"] = expected_of(resnet)
expected["sets"]["resnet_module"] = expected_of({"module." + k: v for k, v in resnet.items()})
expected["sets"]["mixed"] = expected_of(mixed)
expected["sets"]["bigendian"] = expected_of(be)
expected["sets"]["nested"] = expected_of({"state_dict." + k: v for k, v in nested["state_dict"].items()})
expected["metadata"] = {
    "resnet.safetensors": {"format": "pt", "config": json.dumps(config)},
    "mixed.safetensors": {"note": "ünïcode \"quoted\"\n"},
    "nested_zip.pth": {"epoch": "3", "lr": "0.0002", "name": "G_A", "flags.0": "True", "flags.1": "None"},
}
expected["fixtures"] = {
    "resnet_zip.pth": "resnet", "resnet_legacy.pth": "resnet", "resnet.safetensors": "resnet",
    "resnet_zip64.pth": "resnet", "resnet_module_zip.pth": "resnet_module",
    "mixed_zip.pth": "mixed", "mixed_legacy.pth": "mixed", "mixed.safetensors": "mixed",
    "mixed_bigendian_zip.pth": "bigendian", "nested_zip.pth": "nested",
}
from safetensors.torch import load_file
for fname, set_name in expected["fixtures"].items():
    if fname.endswith(".safetensors"):
        loaded = load_file(path(fname))
    else:
        loaded = torch.load(path(fname), weights_only=True)
        if set_name == "nested":
            loaded = {"state_dict." + k: v for k, v in loaded["state_dict"].items()}
    want = {e["name"]: e for e in expected["sets"][set_name]}
    assert set(loaded) == set(want), fname
    for k, v in loaded.items():
        assert dump(v) == {kk: vv for kk, vv in want[k].items() if kk != "name"}, (fname, k)
with open(path("expected.json"), "w") as f:
    json.dump(expected, f, indent=0, ensure_ascii=False)
    f.write("\n")


# ---------------------------------------------------------------- hand-made pickles
def s(x):
    b = x.encode()
    return b"X" + len(b).to_bytes(4, "little") + b


def i(n):
    return b"\x8a\x08" + n.to_bytes(8, "little", signed=True)


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def rebuild(key, storage_type, numel, offset, size, stride):
    pid = tup(s("storage"), b"ctorch\n" + storage_type.encode() + b"\n", s(key), s("cpu"), i(numel)) + b"Q"
    args = tup(pid, i(offset), tup(*map(i, size)), tup(*map(i, stride)), b"\x89", b"ccollections\nOrderedDict\n)R")
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R"


def dict_pickle(items):
    return b"\x80\x02}(" + b"".join(s(k) + v for k, v in items) + b"u."


def call(module, name, arg):
    return b"c" + f"{module}\n{name}\n".encode() + s(arg) + b"\x85R"


def torch_zip(name, pkl, storages):
    prefix = name.rsplit(".", 1)[0]
    entries = [(f"{prefix}/data.pkl", pkl), (f"{prefix}/byteorder", b"little")]
    entries += [(f"{prefix}/data/{k}", d) for k, d in storages.items()]
    entries += [(f"{prefix}/version", b"3\n")]
    write_zip(name, entries)


def legacy_header():
    return (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
            + pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=2))


six = struct.pack("<6f", *range(6))
# the builder agrees with torch
torch_zip("builder_check_zip.pth", dict_pickle([("w", rebuild("0", "FloatStorage", 6, 1, (2, 2), (1, 2)))]), {"0": six})
assert torch.load(path("builder_check_zip.pth"), weights_only=True)["w"].tolist() == [[1.0, 3.0], [2.0, 4.0]]
os.remove(path("builder_check_zip.pth"))


class Payload:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


# ---------------------------------------------------------------- hostile files
ok_tensor = rebuild("0", "FloatStorage", 6, 0, (6,), (1,))
torch_zip("evil_os_system_zip.pth", dict_pickle([("model.1.weight", ok_tensor), ("x", call("os", "system", f"touch {PWNED}"))]), {"0": six})
torch_zip("evil_posix_system_zip.pth", b"\x80\x02" + call("posix", "system", f"touch {PWNED}") + b".", {})
# Protocol 2 (torch's default) writes Python 2 names (`__builtin__.eval`); protocol 3 the Python 3 ones.
torch.save({"model.1.weight": torch.ones(2), "payload": Payload(eval, (f"open('{PWNED}', 'w')",))}, path("evil_builtins_eval_zip.pth"), pickle_protocol=3)
torch.save({"model.1.weight": torch.ones(2), "payload": Payload(eval, (f"open('{PWNED}', 'w')",))}, path("evil_py2_builtin_eval_zip.pth"))
torch.save({"payload": Payload(subprocess.Popen, (["touch", PWNED],))}, path("evil_subprocess_popen_legacy.pth"), _use_new_zipfile_serialization=False, pickle_protocol=3)
torch.save({"payload": Payload(getattr, (Payload(__import__, ("os",)), "system"))}, path("evil_getattr_stack_global_zip.pth"), pickle_protocol=4)
with open(path("evil_os_system_legacy.pth"), "wb") as f:
    f.write(legacy_header() + b"\x80\x02" + call("os", "system", f"touch {PWNED}") + b".")
with open(path("evil_inst_legacy.pth"), "wb") as f:
    f.write(legacy_header() + b"\x80\x02(" + s(f"touch {PWNED}") + b"ios\nsystem\n.")
with zipfile.ZipFile(path("evil_getattr_stack_global_zip.pth")) as z:
    assert b"\x93" in z.read("evil_getattr_stack_global_zip/data.pkl")  # STACK_GLOBAL is used
for f in sorted(os.listdir(OUT)):
    if f.startswith("evil_"):
        try:
            torch.load(path(f), weights_only=True)
            raise AssertionError(f + " loads in torch's weights_only mode")
        except pickle.UnpicklingError:
            pass
assert not os.path.exists(PWNED)

# ---------------------------------------------------------------- broken .pth files
torch_zip("broken_storage_too_large_zip.pth", dict_pickle([("w", rebuild("0", "FloatStorage", 10 ** 12, 0, (6,), (1,)))]), {"0": six})
torch_zip("broken_view_out_of_bounds_zip.pth", dict_pickle([("w", rebuild("0", "FloatStorage", 6, 2, (2, 3), (3, 1)))]), {"0": six})
torch_zip("broken_missing_storage_zip.pth", dict_pickle([("w", rebuild("7", "FloatStorage", 6, 0, (6,), (1,)))]), {"0": six})
torch_zip("broken_expansion_bomb_zip.pth", dict_pickle([("w", rebuild("0", "FloatStorage", 1, 0, (1 << 20, 1 << 20), (0, 0)))]), {"0": six[:4]})
torch_zip("broken_negative_stride_zip.pth", dict_pickle([("w", rebuild("0", "FloatStorage", 6, 5, (6,), (-1,)))]), {"0": six})
torch_zip("broken_unknown_storage_zip.pth", dict_pickle([("w", rebuild("0", "ComplexFloatStorage", 3, 0, (3,), (1,)))]), {"0": six})
torch_zip("broken_deep_nesting_zip.pth", b"\x80\x02)" + b"\x85" * 10000 + b".", {})
torch_zip("broken_memo_zip.pth", b"\x80\x02h\x05.", {})
# a 64 KiB key shared by a dict of dicts that doubles 20 times: 2^20 leaves with megabyte names
bomb = b"\x80\x02" + s("k" * 65536) + b"q\x000}" + s("v") + b"K\x01sq\x010"
for level in range(20):
    bomb += b"}(h\x00h" + bytes([1 + level]) + b"h\x00h" + bytes([1 + level]) + b"uq" + bytes([2 + level]) + b"0"
torch_zip("broken_name_bomb_zip.pth", bomb + b"h" + bytes([21]) + b".", {})
write_zip("broken_compressed_zip.pth", zip_entries("resnet_zip.pth"), method=zipfile.ZIP_DEFLATED)
legacy = open(path("mixed_legacy.pth"), "rb").read()
bio = io.BytesIO(legacy)
for _ in range(5):  # magic, protocol, sys_info, object, storage keys: walk them without loading
    for _op in pickletools.genops(bio):
        pass
at = bio.tell()
with open(path("broken_storage_count_legacy.pth"), "wb") as f:
    f.write(legacy[:at] + (1 << 40).to_bytes(8, "little") + legacy[at + 8:])


# ---------------------------------------------------------------- broken safetensors
def st(name, header, data=b"", length=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    with open(path(name), "wb") as f:
        f.write((len(h) if length is None else length).to_bytes(8, "little") + h + data)


F = lambda shape, b, e, dtype="F32": {"dtype": dtype, "shape": shape, "data_offsets": [b, e]}
st("broken_overlap.safetensors", {"a": F([4], 0, 16), "b": F([4], 8, 24)}, bytes(24))
st("broken_out_of_range.safetensors", {"a": F([250], 0, 1000)}, bytes(16))
st("broken_header_longer_than_file.safetensors", b'{"a":{}}', bytes(16), length=1000)
st("broken_huge_header.safetensors", b'{"a":{}}', bytes(16), length=1 << 62)
st("broken_unknown_dtype.safetensors", {"a": F([4], 0, 16, "Q7")}, bytes(16))
st("broken_shape_mismatch.safetensors", {"a": F([3, 3], 0, 16)}, bytes(16))
st("broken_negative_dim.safetensors", {"a": F([-1, 4], 0, 16)}, bytes(16))
st("broken_invalid_json.safetensors", b'{"a": {"dtype": "F32", "sha', bytes(16))
st("broken_gap.safetensors", {"a": F([2], 0, 8), "b": F([2], 16, 24)}, bytes(24))
st("broken_trailing_bytes.safetensors", {"a": F([2], 0, 8)}, bytes(12))
st("broken_deep_json.safetensors", b"{\"a\":" + b"[" * 10000 + b"]" * 10000 + b"}", b"")
st("broken_duplicate_name.safetensors", b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', bytes(8))
st("broken_metadata_not_string.safetensors", {"__metadata__": {"epoch": 3}, "a": F([1], 0, 4)}, bytes(4))
st("broken_offset_overflow.safetensors", {"a": F([4], 0, 2 ** 64 + 16)}, bytes(16))

print("wrote", len(os.listdir(OUT)), "files,", sum(os.path.getsize(path(f)) for f in os.listdir(OUT)), "bytes")
