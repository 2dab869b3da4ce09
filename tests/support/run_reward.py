"""Test harness: load a DeepRacer reward_function.py unchanged and apply it
to DeepRacer params read as JSON lines; print one repr(float) per line."""

import importlib.util
import json
import sys


def main() -> None:
    path, states = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("reward_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(states) as f:
        for line in f:
            params = json.loads(line)
            print(repr(float(module.reward_function(params))))


if __name__ == "__main__":
    main()
