#!/usr/bin/python3
"""Writes the decoding fixtures: small image files in every mode PIL reads differently, and what
Pillow 9.4 makes of them, for vision/image_decode.cpp.

    /usr/bin/python3 tests/golden/make_decode_fixtures.py      (needs python3-pil, numpy, torch)

tests/data/decode/ holds the files:
  - png_*: every PNG colour type and bit depth (grey 1/2/4/8/16, grey+alpha 8/16, RGB 8/16, RGBA 8/16,
    palette 1/4/8), with and without tRNS transparency, and Adam7-interlaced ones, written by the
    small PNG writer below so that the exact colour type and bit depth are chosen;
  - jpeg_*: grey, RGB 4:4:4 and 4:2:0, progressive, CMYK (Adobe APP14), and one with an EXIF
    orientation of 6 ("rotate 90") that neither PIL nor Ember applies;
  - gif_*: opaque, with a transparent index, and a first frame smaller than the logical screen;
  - bmp_*, pnm_*: the BMP and binary PNM variants PIL writes;
  - unsupported_*: formats Ember's decoder refuses (WebP, TIFF, ICO, SVG, AVIF, HEIC, ASCII PGM,
    PBM, PGM with maxval 100, a CMYK JPEG without its Adobe marker);
  - bad_*: files that must fail (an HTML page, random bytes, "bombs" whose headers claim huge sizes).
tests/data/golden_decode.safetensors holds "decoded/<file>" = np.asarray(Image.open(f).convert("RGB"))
for every png_/jpeg_/gif_/bmp_/pnm_ file (uint8, H x W x 3).
tests/data/decode/truncation.csv lists, for PNG, JPEG, GIF, BMP and PNM files cut at many lengths, whether PIL
loads the cut file ("ok") or raises ("fail"); the C++ test cuts the same files at the same lengths.
The script checks that PIL fails on every bad_ file, so the expectations are PIL's.
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_writer import write_safetensors  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "..", "data")
OUT = os.path.join(DATA, "decode")
rng = np.random.default_rng(20261206)

# ---- a PNG writer that picks the colour type and bit depth ------------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """(H, W, C) integer samples -> filter-0 scanlines of `depth` bits per sample."""
    out = b""
    for row in samples.reshape(samples.shape[0], -1):
        if depth == 16:
            data = row.astype(">u2").tobytes()
        elif depth == 8:
            data = row.astype(np.uint8).tobytes()
        else:
            bits = "".join(format(int(v), "0%db" % depth) for v in row)
            bits += "0" * (-len(bits) % 8)
            data = int(bits, 2).to_bytes(len(bits) // 8, "big")
        out += b"\x00" + data
    return out


def png(samples, depth, colour_type, palette=None, trns=None, interlace=False, idat_chunks=1):
    h, w = samples.shape[:2]
    if interlace:
        raw = b"".join(pack_rows(samples[y0::dy, x0::dx], depth) for x0, y0, dx, dy in ADAM7
                       if samples[y0::dy, x0::dx].size)
    else:
        raw = pack_rows(samples, depth)
    data = zlib.compress(raw, 9)
    step = -(-len(data) // idat_chunks)
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, int(interlace)))
    if palette is not None:
        body += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).ravel()))
    if trns is not None:
        body += chunk(b"tRNS", trns)
    for i in range(0, len(data), step):
        body += chunk(b"IDAT", data[i:i + step])
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


def mixed16(shape):
    """16-bit samples: half of them under 256 (where PIL's clipping and the high byte differ)."""
    small = rng.integers(0, 300, size=shape)
    large = rng.integers(0, 65536, size=shape)
    return np.where(rng.random(shape) < 0.5, small, large)


def png_files():
    h, w = 7, 13
    grey8 = rng.integers(0, 256, (h, w, 1))
    palette = rng.integers(0, 256, (256, 3))
    files = {
        "png_grey1.png": png(rng.integers(0, 2, (h, w, 1)), 1, 0),
        "png_grey2.png": png(rng.integers(0, 4, (h, w, 1)), 2, 0),
        "png_grey4.png": png(rng.integers(0, 16, (h, w, 1)), 4, 0),
        "png_grey8.png": png(grey8, 8, 0),
        "png_grey8_trns.png": png(grey8, 8, 0, trns=struct.pack(">H", int(grey8[0, 0, 0]))),
        "png_grey16.png": png(mixed16((h, w, 1)), 16, 0),
        "png_grey16_trns.png": png(mixed16((h, w, 1)), 16, 0, trns=struct.pack(">H", 100)),
        "png_grey16_interlaced.png": png(mixed16((11, 10, 1)), 16, 0, interlace=True),
        "png_greyalpha8.png": png(rng.integers(0, 256, (h, w, 2)), 8, 4),
        "png_greyalpha16.png": png(mixed16((h, w, 2)), 16, 4),
        "png_rgb8.png": png(rng.integers(0, 256, (h, w, 3)), 8, 2),
        "png_rgb8_trns.png": png(rng.integers(0, 4, (h, w, 3)), 8, 2, trns=struct.pack(">HHH", 1, 2, 3)),
        "png_rgb8_interlaced.png": png(rng.integers(0, 256, (11, 10, 3)), 8, 2, interlace=True),
        "png_rgb16.png": png(mixed16((h, w, 3)), 16, 2),
        "png_rgba8.png": png(rng.integers(0, 256, (h, w, 4)), 8, 6),
        "png_rgba16.png": png(mixed16((h, w, 4)), 16, 6),
        "png_palette1.png": png(rng.integers(0, 2, (h, w, 1)), 1, 3, palette=palette[:2]),
        "png_palette4.png": png(rng.integers(0, 16, (h, w, 1)), 4, 3, palette=palette[:16]),
        "png_palette8.png": png(rng.integers(0, 200, (h, w, 1)), 8, 3, palette=palette[:200]),
        "png_palette8_trns.png": png(rng.integers(0, 200, (h, w, 1)), 8, 3, palette=palette[:200],
                                     trns=bytes(rng.integers(0, 256, 50, dtype=np.uint8))),
        "png_palette4_interlaced.png": png(rng.integers(0, 16, (11, 10, 1)), 4, 3, palette=palette[:16],
                                           interlace=True),
    }
    return files


# ---- files written by PIL -----------------------------------------------------------------------

def picture(h, w):
    """A smooth picture with some detail (JPEG-friendly), (h, w, 3) uint8."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = 128 + 90 * np.cos((x + y) / 9.0)
    b = 255 * (x / max(w - 1, 1))
    return np.clip(np.stack([r, g, b], -1).round(), 0, 255).astype(np.uint8)


def saved(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def without_adobe_marker(jpeg):
    i = jpeg.index(b"\xff\xee")
    length = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
    return jpeg[:i] + jpeg[i + 2 + length:]


def gif_with_larger_screen(gif, width, height, background):
    """The same GIF, its logical screen enlarged: frame 0 then covers only the top-left corner."""
    gif = bytearray(gif)
    gif[6:10] = struct.pack("<HH", width, height)
    gif[11] = background
    return bytes(gif)


def pil_files():
    photo = Image.fromarray(picture(24, 40), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    quantized = Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)).quantize(8)
    gif_transparent = saved(quantized, "GIF", transparency=3)
    second_frame = Image.fromarray(rng.integers(0, 256, (9, 12, 3), dtype=np.uint8)).quantize(8)
    return {
        "jpeg_grey.jpg": saved(photo.convert("L"), "JPEG", quality=90),
        "jpeg_rgb444.jpg": saved(photo, "JPEG", quality=90, subsampling=0),
        "jpeg_rgb420.jpg": saved(photo, "JPEG", quality=90, subsampling=2),
        "jpeg_progressive.jpg": saved(photo, "JPEG", quality=90, subsampling=0, progressive=True),
        "jpeg_cmyk.jpg": saved(photo.convert("CMYK"), "JPEG", quality=95),
        "jpeg_exif_rotate90.jpg": saved(photo, "JPEG", quality=90, subsampling=0, exif=exif.tobytes()),
        "gif_opaque.gif": saved(quantized, "GIF"),
        "gif_transparent.gif": gif_transparent,
        "gif_small_frame.gif": gif_with_larger_screen(saved(quantized, "GIF"), 17, 13, 5),
        "gif_small_frame_transparent.gif": gif_with_larger_screen(gif_transparent, 17, 13, 5),
        "gif_animated.gif": saved(quantized, "GIF", save_all=True, append_images=[second_frame]),
        "bmp_rgb24.bmp": saved(photo, "BMP"),
        "bmp_rgba32.bmp": saved(photo.convert("RGBA"), "BMP"),
        "bmp_palette8.bmp": saved(quantized, "BMP"),
        "bmp_grey8.bmp": saved(photo.convert("L"), "BMP"),
        "bmp_1bit.bmp": saved(photo.convert("1"), "BMP"),
        "pnm_rgb.ppm": saved(photo, "PPM"),
        "pnm_grey.pgm": saved(photo.convert("L"), "PPM"),
    }


def unsupported_files():
    photo = Image.fromarray(picture(12, 16), "RGB")
    cmyk = saved(photo.convert("CMYK"), "JPEG", quality=95)
    return {
        "unsupported_webp.webp": saved(photo, "WEBP"),
        "unsupported_tiff.tif": saved(photo, "TIFF"),
        "unsupported_ico.ico": saved(photo.resize((16, 16)), "ICO", sizes=[(16, 16)]),
        "unsupported_svg.svg": b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>\n',
        "unsupported_avif.avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64,
        "unsupported_heic.heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
        "unsupported_ascii.pgm": b"P2\n2 2\n255\n0 64\n128 255\n",
        "unsupported_pbm.pbm": saved(photo.convert("1"), "PPM"),
        "unsupported_maxval100.pgm": b"P5\n3 1\n100\n" + bytes([0, 50, 100]),
        "unsupported_cmyk_no_adobe.jpg": without_adobe_marker(cmyk),
    }


def bad_files(png_rgb8, jpeg, gif):
    """Files PIL cannot load either."""
    def png_claiming(width, height):
        ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return png_rgb8[:8] + chunk(b"IHDR", ihdr) + png_rgb8[33:]

    def jpeg_claiming(width, height):
        i = next(i for i in range(2, len(jpeg)) if jpeg[i] == 0xFF and jpeg[i + 1] in (0xC0, 0xC2))
        return jpeg[:i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9:]

    return {
        "bad_html.jpg": b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>no</body></html>\n",
        "bad_random.jpg": bytes(rng.integers(0, 256, 2000, dtype=np.uint8)),
        "bad_bomb.png": png_claiming(100000, 100000),
        "bad_bomb.jpg": jpeg_claiming(60000, 60000),
        "bad_bomb.gif": gif[:6] + struct.pack("<HH", 65535, 65535) + gif[10:],
    }


def pil_loads(data):
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        image.convert("RGB")
        return True
    except Exception:  # noqa: BLE001 -- fastai's verify_image catches everything too
        return False


def cut_lengths(size):
    """Every length for a small file; otherwise every 5% and the last few bytes."""
    if size <= 300:
        return list(range(1, size))
    lengths = {size * k // 20 for k in range(1, 20)} | {size - d for d in (1, 2, 3, 4, 8, 12, 13, 16, 20, 40)}
    return sorted(n for n in lengths if 0 < n < size)


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {**png_files(), **pil_files(), **unsupported_files()}
    # Sources for the truncation table: multi-chunk PNG, baseline and progressive JPEG with noise.
    noise = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    files["trunc_source.png"] = png(noise, 8, 2, idat_chunks=3)
    files["trunc_source.jpg"] = saved(Image.fromarray(noise), "JPEG", quality=90)
    files["trunc_source_progressive.jpg"] = saved(Image.fromarray(noise), "JPEG", quality=90, progressive=True)
    files.update(bad_files(files["png_rgb8.png"], files["jpeg_rgb444.jpg"], files["gif_opaque.gif"]))
    tensors = {}
    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        if name.startswith("bad_"):
            assert not pil_loads(data), f"PIL loads {name}, expected it to fail"
        if name.split("_")[0] in ("png", "jpeg", "gif", "bmp", "pnm"):
            rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
            tensors[f"decoded/{name}"] = torch.from_numpy(rgb.copy())
    rows = ["file,length,pil"]
    for name in ("trunc_source.png", "trunc_source.jpg", "trunc_source_progressive.jpg", "gif_opaque.gif",
                 "gif_transparent.gif", "gif_animated.gif", "bmp_1bit.bmp", "bmp_rgb24.bmp", "bmp_palette8.bmp",
                 "pnm_rgb.ppm", "pnm_grey.pgm"):
        for n in cut_lengths(len(files[name])):
            rows.append(f"{name},{n},{'ok' if pil_loads(files[name][:n]) else 'fail'}")
    with open(os.path.join(OUT, "truncation.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    write_safetensors(os.path.join(DATA, "golden_decode.safetensors"), tensors, {"pillow_version": Image.__version__})
    total = sum(len(d) for d in files.values())
    print(f"{len(files)} files ({total} bytes), {len(tensors)} decoded, {len(rows) - 1} cuts")


if __name__ == "__main__":
    main()
