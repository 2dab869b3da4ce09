#!/usr/bin/env bash
# Each randomisation's effect on the generalisation benchmark (issue 21,
# docs/BENCHMARKS.md): examples/race/generalise.toml as it is ("all"), then
# with one part turned off at a time: physics randomisation
# ("no_physics"), the camera's domain randomisation ("no_domain"), the
# scenery ("no_scenery") and the second driving direction
# ("one_direction"). Each variant trains for MINUTES and is evaluated on
# bench/held_out.toml by bench/generalise.sh, one after the other.
#
#   bench/generalise_ablation.sh OUT [MINUTES=10] [VARIANT...]
#   CHICANE_BIN=path/to/chicane bench/generalise_ablation.sh ...
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bench/generalise_ablation.sh OUT [MINUTES] [VARIANT...]}
minutes=${2:-10}
shift $(( $# >= 2 ? 2 : 1 ))
variants=("$@")
[ ${#variants[@]} -eq 0 ] && variants=(all no_physics no_domain no_scenery one_direction)
mkdir -p "$out/variants"
# The variants live in OUT, so their relative paths (tracks, the action
# space) are made absolute against examples/race; a part is turned off by
# dropping its table (every randomisation and the scenery default to off).
python3 - examples/race/generalise.toml "$out/variants" "${variants[@]}" <<'PY'
import os, re, sys
src, dest, variants = sys.argv[1], sys.argv[2], sys.argv[3:]
base = os.path.dirname(os.path.abspath(src))
drop = {"no_physics": "sim.physics_randomization", "no_domain": "sim.domain_randomization",
        "no_scenery": "sim.scenery"}
def absolute(m):
    p = os.path.join(base, m.group(1))
    return f'"{os.path.abspath(p)}"' if os.path.isfile(p) else m.group(0)
lines = [re.sub(r'"([^"]+)"', absolute, l) for l in open(src).read().splitlines()]
for v in variants:
    if v not in drop and v not in ("all", "one_direction"):
        sys.exit(f"unknown variant {v!r}: all, no_physics, no_domain, no_scenery, one_direction")
    kept, section = [], None
    for l in lines:
        if l.startswith("["):
            section = l.strip("[] ")
        if section is not None and section == drop.get(v):
            continue
        if v == "one_direction" and l.startswith("alternate_driving_direction"):
            l = "alternate_driving_direction = false"
        kept.append(l)
    with open(os.path.join(dest, v + ".toml"), "w") as f:
        f.write(f"# examples/race/generalise.toml, variant {v} (bench/generalise_ablation.sh)\n")
        f.write("\n".join(kept) + "\n")
PY
recipes=()
for v in "${variants[@]}"; do recipes+=("$out/variants/$v.toml"); done
exec bench/generalise.sh "$out" "$minutes" "${recipes[@]}"
