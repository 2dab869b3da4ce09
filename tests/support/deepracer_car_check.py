"""Checks chicane's DeepRacer exports with the real tools: TensorFlow imports
each frozen graph and finds its input and output by name, OpenVINO converts
it for the car (FP16, the car's input name and shape) with the Python API
and with the `mo` command line the car's optimizer runs, and the archive passes the checks
of the car's model loader (aws-deepracer-systems-pkg,
model_loader_module/model_loader_node.py and model_install_state.py),
re-implemented here with Python's own os.path.splitext and `in`.

usage: deepracer_car_check.py CASES.json
CASES.json: a list of {"name", "archive", "input", "output", "channels",
"frames" (N x C x 120 x 160 u8, channel-major), "expected" (N x A f32 from
the ONNX bundle through chicane-car's tract policy), "n", "outputs"}.
Prints one JSON object: per case the max abs differences and what the
loader saw.
"""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import openvino as ov  # noqa: E402

CAR_SENSORS = {"FRONT_FACING_CAMERA", "STEREO_CAMERAS", "LIDAR", "SECTOR_LIDAR", "observation"}
CAR_ALGORITHMS = {"clipped_ppo", "sac"}


def car_loader(archive, work):
    """What the car's loader does with an uploaded archive."""
    name = os.path.basename(archive)
    # get_list_of_archives: the model's folder is the name less every extension
    stem = name
    while os.path.splitext(stem)[1]:
        stem = os.path.splitext(stem)[0]
    assert stem + ".tar.gz" == name, f"the car would name the model {stem!r}, not after {name!r}"
    assert " " not in stem, "a space in the model name"
    target = os.path.join(work, stem)
    os.makedirs(target)
    with tarfile.open(archive, "r:gz") as t:
        t.extractall(target, filter="data")
    # get_model_list: every file whose extension is `in ".pb"` (a string)
    model_file_extensions = (".pb")
    files = [os.path.join(d, f) for d, _, fs in os.walk(target) for f in fs]
    models = [f for f in files if os.path.splitext(f)[1] in model_file_extensions]
    assert len(models) == 1, f"the loader takes {models} for models"
    model = models[0]
    assert os.path.splitext(model)[1] == ".pb", model
    # model_install_state: the metadata is read from the archive's root
    meta_path = os.path.join(target, "model_metadata.json")
    assert os.path.isfile(meta_path), "no model_metadata.json at the root"
    with open(meta_path) as f:
        meta = json.load(f)
    sensors = set(meta.get("sensor", ["observation"]))
    assert sensors <= CAR_SENSORS, f"sensors {sensors}"
    assert meta.get("training_algorithm", "clipped_ppo") in CAR_ALGORITHMS, meta
    return model, meta, [os.path.relpath(f, target) for f in files]


def tf_outputs(pb, inp, out, x):
    graph_def = tf.compat.v1.GraphDef()
    with open(pb, "rb") as f:
        graph_def.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    x_t = graph.get_tensor_by_name(inp + ":0")
    y_t = graph.get_tensor_by_name(out + ":0")
    assert x_t.op.type == "Placeholder", x_t.op.type
    shape = x_t.shape.as_list()
    with tf.compat.v1.Session(graph=graph) as sess:
        y = sess.run(y_t, {x_t: x})
        one = np.concatenate([sess.run(y_t, {x_t: x[i : i + 1]}) for i in range(len(x))])
    return y, one, shape


def ov_run(model, x):
    compiled = ov.Core().compile_model(model, "CPU")
    assert len(compiled.outputs) == 1, [o.get_any_name() for o in compiled.outputs]
    return np.concatenate([compiled(x[i : i + 1])[compiled.outputs[0]] for i in range(len(x))])


def check(case, work):
    model, meta, files = car_loader(case["archive"], work)
    n, c = case["n"], case["channels"]
    frames = np.fromfile(case["frames"], dtype=np.uint8).reshape(n, c, 120, 160)
    x = frames.transpose(0, 2, 3, 1).astype(np.float32)  # NHWC, 0..255
    want = np.fromfile(case["expected"], dtype="<f4").reshape(n, case["outputs"])
    y, one, shape = tf_outputs(model, case["input"], case["output"], x)
    res = {
        "files": files,
        "metadata_training_algorithm": meta.get("training_algorithm"),
        "tf_input_shape": shape,
        "tf_output_shape": list(y.shape),
        "tf_max_abs_diff": float(np.abs(y - want).max()),
        "tf_single_frame_max_abs_diff": float(np.abs(one - want).max()),
        "output_spread": float(want.max() - want.min()),
    }
    # OpenVINO's Python API, as the car's model optimizer is asked: the input
    # by name with its shape, weights compressed to FP16
    # (the Python API names TensorFlow tensors, `node:0`)
    ovm = ov.convert_model(model, input=[(case["input"] + ":0", [1, 120, 160, c])])
    xml = os.path.join(work, case["name"] + "-api.xml")
    ov.save_model(ovm, xml, compress_to_fp16=True)
    res["openvino_fp16_max_abs_diff"] = float(np.abs(ov_run(xml, x) - want).max())
    # the car's own command (aws-deepracer-model-optimizer-pkg), with the
    # legacy Model Optimizer from openvino-dev. The car's 2021.x `mo` takes
    # `--data_type FP16`; the mo of openvino-dev 2024 (the one that installs on
    # Python 3.11) refuses that flag and names `--compress_to_fp16` as its
    # replacement, so the exact command is tried, then the replacement.
    mo = shutil.which("mo") or os.path.join(os.path.dirname(sys.executable), "mo")
    base = [mo, "--input_model", model, "--input_shape", f"[1,120,160,{c}]",
            "--input", case["input"]]
    for flags, key in ((["--data_type", "FP16"], "mo_exact"),
                       (["--compress_to_fp16=True"], "mo_compress_to_fp16")):
        out_dir = os.path.join(work, f"{case['name']}-{key}")
        p = subprocess.run(base + flags + ["--output_dir", out_dir], capture_output=True, text=True)
        res[key + "_returncode"] = p.returncode
        if p.returncode == 0:
            xmls = [f for f in os.listdir(out_dir) if f.endswith(".xml")]
            ir = os.path.join(out_dir, xmls[0])
            res[key + "_max_abs_diff"] = float(np.abs(ov_run(ir, x) - want).max())
        else:
            res[key + "_error"] = (p.stderr or p.stdout).strip().splitlines()[-1][-300:]
    return res


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = {}
    for case in cases:
        work = tempfile.mkdtemp(prefix="chicane-car-check-")
        try:
            results[case["name"]] = check(case, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
