#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the IDX and CSV fixtures of tests/check-csv.c and tests/check-idx.c
into this folder.

Run it from anywhere: python3 tests/data/make_fixtures.py. Its outputs are
committed, so the tests do not need Python; the script documents how each
file was made (independently of the library: Python's struct and gzip).

The tiny IDX set: 6 images of 3x4 pixels. Pixel k (k = 12*i + 4*r + c, for
image i, row r, column c) is (37*k) % 256, except the very last one (k = 71),
which is 255, so that both ends of the byte range occur. Labels: 3 0 2 1 3 0.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

N, ROWS, COLS = 6, 3, 4
LABELS = [3, 0, 2, 1, 3, 0]


def pixel(k):
    return 255 if k == N * ROWS * COLS - 1 else (37 * k) % 256


PIXELS = bytes(pixel(k) for k in range(N * ROWS * COLS))


def images(n=N, rows=ROWS, cols=COLS, data=PIXELS, magic=0x00000803):
    return struct.pack(">IIII", magic, n, rows, cols) + data


def labels(values=LABELS, n=None):
    n = len(values) if n is None else n
    return struct.pack(">II", 0x00000801, n) + bytes(values)


def gz(data, level=9):
    # mtime=0 keeps the output the same from run to run.
    return gzip.compress(data, compresslevel=level, mtime=0)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def main():
    good_images, good_labels = images(), labels()
    write("tiny-images-idx3-ubyte", good_images)
    write("tiny-labels-idx1-ubyte", good_labels)
    write("tiny-images-idx3-ubyte.gz", gz(good_images))
    write("tiny-labels-idx1-ubyte.gz", gz(good_labels))

    # Malformed files; the expected offsets are in check-idx.c.
    write("bad-magic-idx3-ubyte", images(magic=0x12340803))
    write("float-images-idx3-ubyte", images(magic=0x00000D03))
    write("zero-images-idx3-ubyte", images(n=0, data=b""))
    write("short-header-idx3-ubyte", good_images[:10])
    write("empty-idx3-ubyte", b"")
    # 6 images declared, 50 of 72 pixel bytes present: ends at offset 66.
    write("truncated-images-idx3-ubyte", good_images[:16 + 50])
    # The same stream gzip'd, the .gz file cut in the middle.
    whole = gz(good_images)
    write("truncated-images-idx3-ubyte.gz", whole[:len(whole) // 2])
    # Stored (level 0) deflate blocks: 10 bytes of gzip header and 5 of block
    # header, then the data as it is, so cutting the file after 10 + 5 + 50
    # bytes leaves exactly 50 bytes of decompressed data (16 of header, 34 of
    # pixels).
    write("truncated-stored-idx3-ubyte.gz", gz(good_images, level=0)[:10 + 5 + 50])
    # A header declaring 4294967295 images of 255x255, followed by 12 bytes.
    absurd = images(n=0xFFFFFFFF, rows=255, cols=255, data=PIXELS[:12])
    write("absurd-images-idx3-ubyte", absurd)
    write("absurd-images-idx3-ubyte.gz", gz(absurd))
    write("absurd-labels-idx1-ubyte", labels(LABELS, n=0xFFFFFFFF))
    write("absurd-labels-idx1-ubyte.gz", gz(labels(LABELS, n=0xFFFFFFFF)))
    # Three bytes after the last image: at offset 16 + 72 = 88.
    write("trailing-images-idx3-ubyte", good_images + b"\x01\x02\x03")
    write("trailing-images-idx3-ubyte.gz", gz(good_images + b"\x01\x02\x03"))
    # The gzip trailer's CRC-32 (the last 8 bytes are CRC-32 and length) broken.
    bad = bytearray(gz(good_images))
    bad[-8] ^= 0xFF
    write("bad-crc-images-idx3-ubyte.gz", bytes(bad))
    # Five labels for six images; and three of six declared labels.
    write("five-labels-idx1-ubyte", labels(LABELS[:5]))
    write("truncated-labels-idx1-ubyte", labels(LABELS, n=6)[:8 + 3])

    # The CSV fixtures are plain text files, edited by hand, except these two
    # whose line ends matter: small.csv with CRLF line ends, a UTF-8
    # byte-order mark and no final line end; and a CRLF file with a bad field.
    with open(os.path.join(HERE, "small.csv"), newline="") as f:
        small = f.read()
    crlf = "\ufeff" + small.replace("\n", "\r\n").rstrip("\r\n")
    write("small-crlf.csv", crlf.encode("utf-8"))
    write("bad-crlf.csv", b"a,b,label\r\n1,2,0\r\n3,x,1\r\n")


if __name__ == "__main__":
    main()
