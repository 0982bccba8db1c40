#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Plot bench/datapath.py's result: instructions per frame by frame size,
one bar per path.

    plot_datapath.py RESULT.json OUT.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"zc": "zero-copy (page_pool_zc)", "copy": "copy fallback",
          "stock": "stock (bridge, tap, vhost-net)",
          "af_xdp": "AF_XDP zero-copy (process)"}


def main():
    res = json.load(open(sys.argv[1]))
    paths = res["paths"]
    if res.get("modes", {}).get("af_xdp") == "copy":
        LABELS["af_xdp"] = "AF_XDP, copy mode (process; no zero-copy on " \
            "this virtio_net)"
    sizes = sorted({int(s) for p in paths.values() for s in p})
    width = 0.8 / len(paths)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (name, costs) in enumerate(paths.items()):
        xs = [j + i * width for j, s in enumerate(sizes) if str(s) in costs]
        ys = [costs[str(s)] for s in sizes if str(s) in costs]
        bars = ax.bar(xs, ys, width, label=LABELS.get(name, name))
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks([j + width * (len(paths) - 1) / 2
                   for j in range(len(sizes))])
    ax.set_xticklabels([f"{s} B" for s in sizes])
    ax.set_xlabel("frame size")
    ax.set_ylabel("guest instructions per frame")
    ax.set_title(f"Receiving a frame into a VM (QEMU -icount, "
                 f"{res.get('rounds', '?')} x {res.get('frames', '?')} "
                 f"frames per bar, median)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
