#!/usr/bin/env python3
"""Lists the shared dependencies whose features differ between the main
workspace's test build and the Python extension's build (python/), so the
feature pins in python/Cargo.toml can be kept in step (see the comment
there). A maintainer's tool, not run by CI: it reads cargo's unit graph,
which needs cargo's unstable `--unit-graph` (allowed here through cargo's
channel override). Prints nothing and exits 0 when every shared dependency
builds the same way in both.

Usage (from the repository root): python3 .ci/feature_pins.py
"""
import json
import os
import subprocess
import sys

ENV = dict(os.environ, __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS="nightly")


def units(args):
    out = subprocess.run(
        ["cargo", *args, "--release", "--unit-graph", "-Z", "unstable-options"],
        env=ENV, check=True, capture_output=True, text=True,
    ).stdout
    table = {}
    for unit in json.loads(out)["units"]:
        pkg = unit["pkg_id"]
        if pkg.startswith("path+file") or unit["mode"] != "build":
            continue
        key = (pkg.split("#")[-1], unit["target"]["name"], unit["profile"]["opt_level"])
        table.setdefault(key, []).append(sorted(unit["features"]))
    return table


main = units(["test", "--workspace", "--features", "python", "--no-run"])
ext = units(["build", "--manifest-path", "python/Cargo.toml"])
differ = 0
for key, feature_sets in sorted(ext.items()):
    # pyo3 is built differently on purpose (extension-module vs auto-initialize)
    if key not in main or key[0].startswith("pyo3"):
        continue
    for features in feature_sets:
        if features not in main[key]:
            differ += 1
            host = " (host)" if key[2] == "0" else ""
            print(f"{key[0]}{host}: python/ has {features}, the workspace {main[key]}")
sys.exit(1 if differ else 0)
