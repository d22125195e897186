#!/usr/bin/env python3
"""Converts raw little-endian f32 values with ggml's own code (libggml-base.so of node-llama-cpp's
prebuilt llama.cpp, through ctypes): q8_0 by ggml_quantize_chunk (ggml's reference quantiser),
f16 and bf16 by ggml_fp32_to_fp16_row / ggml_fp32_to_bf16_row_ref. The tests compare wick's GGUF
tensor bytes with the output, byte for byte.

usage: ggml_convert.py LIBGGML_BASE.so (q8_0|f16|bf16) N_PER_ROW IN.f32 OUT.bin
"""
import ctypes
import sys


def main():
    lib_path, kind, n_per_row, src_path, dst_path = sys.argv[1:6]
    n_per_row = int(n_per_row)
    lib = ctypes.CDLL(lib_path)
    data = open(src_path, "rb").read()
    n = len(data) // 4
    src = (ctypes.c_float * n).from_buffer_copy(data)
    if kind == "q8_0":
        rows = n // n_per_row
        dst = ctypes.create_string_buffer(n // 32 * 34)
        f = lib.ggml_quantize_chunk
        f.restype = ctypes.c_size_t
        f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                      ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
        written = f(8, src, dst, 0, rows, n_per_row, None)  # GGML_TYPE_Q8_0 = 8
        if written != len(dst.raw):
            sys.exit("ggml_quantize_chunk wrote %d bytes, expected %d" % (written, len(dst.raw)))
    elif kind in ("f16", "bf16"):
        dst = ctypes.create_string_buffer(2 * n)
        f = lib.ggml_fp32_to_fp16_row if kind == "f16" else lib.ggml_fp32_to_bf16_row_ref
        f.restype = None
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
        f(src, dst, n)
    else:
        sys.exit("unknown type " + kind)
    open(dst_path, "wb").write(dst.raw)


if __name__ == "__main__":
    main()
