#!/usr/bin/env python3
"""Makes emulator copies of Ember's real CUDA source (see README.md).

    rewrite.py SRC_DIR OUT_DIR    e.g. rewrite.py cuda build-emulate/emulator/gen/cuda

Every cuda/*.cu and cuda/*.cuh is copied to OUT_DIR with each launch
    kernel<T><<<grid, block, smem, stream>>>(args);
turned into
    ::emu::launch(dim3(grid), dim3(block), [&]() { kernel<T>(args); });
(::emu::launch_threaded when the file uses __syncthreads or warp shuffles). The copies keep the
original line numbers (a #line directive, and the lines a launch spanned stay as blank lines), so
compiler errors and sanitizer reports point at the real file. Regenerated on every run (never stale);
a copy is only rewritten when its text changes, so unchanged kernels are not recompiled.
"""
import pathlib
import re
import sys


def split_top_level(text):
    """Splits `text` at the commas outside brackets."""
    parts, depth, current = [], 0, ""
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    return parts


def rewrite(src, launcher):
    out, i = [], 0
    while True:
        j = src.find("<<<", i)
        if j < 0:
            out.append(src[i:])
            return "".join(out)
        # The kernel name runs from the start of the line to `<<<` (or is alone on the line before).
        line_start = src.rfind("\n", 0, j) + 1
        if not src[line_start:j].strip():
            line_start = src.rfind("\n", 0, line_start - 1) + 1
        head = src[line_start:j]
        indent = head[: len(head) - len(head.lstrip())]
        callee = " ".join(head.split())
        k = src.find(">>>", j)
        config = split_top_level(src[j + 3 : k])
        if src[k + 3] != "(":
            sys.exit(f"rewrite.py: expected '(' after '>>>' near: {src[line_start:k + 10]!r}")
        depth, m = 0, k + 3
        while True:
            if src[m] == "(":
                depth += 1
            elif src[m] == ")":
                depth -= 1
                if depth == 0:
                    break
            m += 1
        if src[m + 1] != ";":
            sys.exit(f"rewrite.py: expected ';' after the launch near: {src[line_start:m + 10]!r}")
        args = src[k + 4 : m]
        call = (
            f"{indent}::emu::{launcher}(dim3({config[0].strip()}), dim3({config[1].strip()}), "
            f"[&]() {{ {callee}({' '.join(args.split())}); }});"
        )
        out.append(src[i:line_start])
        out.append(call + "\n" * src.count("\n", line_start, m + 2))
        i = m + 2


def main():
    src_dir, out_dir = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    written = set()
    for path in sorted(list(src_dir.glob("*.cu")) + list(src_dir.glob("*.cuh"))):
        src = path.read_text()
        launcher = "launch_threaded" if re.search(r"__syncthreads|__shfl_", src) else "launch"
        text = f'#line 1 "{path.resolve()}"\n' + rewrite(src, launcher)
        target = out_dir / path.name
        written.add(target.name)
        if not target.exists() or target.read_text() != text:  # unchanged: keep the timestamp
            target.write_text(text)
    for old in out_dir.iterdir():  # copies of files that are gone
        if old.name not in written:
            old.unlink()


if __name__ == "__main__":
    main()
