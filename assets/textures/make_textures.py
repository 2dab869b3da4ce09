"""Writes the GUI's ground textures (tileable 128x128 PNGs): asphalt.png and
grass.png. Deterministic (seeded); run it to regenerate them:
python3 assets/textures/make_textures.py"""

import os
import random
import struct
import zlib

SIZE = 128


def png(path, rows):
    def chunk(tag, data):
        c = tag + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in rows)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    with open(path, "wb") as f:
        f.write(data)


def noise(seed, blur):
    rnd = random.Random(seed)
    g = [[rnd.uniform(-1, 1) for _ in range(SIZE)] for _ in range(SIZE)]
    for _ in range(blur):  # wrap-around box blur keeps it tileable
        g = [
            [
                sum(g[(y + dy) % SIZE][(x + dx) % SIZE] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
                for x in range(SIZE)
            ]
            for y in range(SIZE)
        ]
    m = max(abs(v) for row in g for v in row)
    return [[v / m for v in row] for row in g]


def texture(path, base, fine_amp, coarse_amp, seed):
    fine, coarse = noise(seed, 0), noise(seed + 1, 4)
    rows = []
    for y in range(SIZE):
        row = []
        for x in range(SIZE):
            d = fine[y][x] * fine_amp + coarse[y][x] * coarse_amp
            row.append(tuple(max(0, min(255, round(c + d))) for c in base))
        rows.append(row)
    png(path, rows)


here = os.path.dirname(os.path.abspath(__file__))
texture(os.path.join(here, "asphalt.png"), (41, 43, 46), 7, 5, 1)
texture(os.path.join(here, "grass.png"), (66, 104, 58), 10, 14, 7)
