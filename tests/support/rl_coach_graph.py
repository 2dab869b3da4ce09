"""Builds a DeepRacer-style frozen graph with TensorFlow, as DeepRacer's
rl_coach writes one: the DEEP_CONVOLUTIONAL_NETWORK_SHALLOW embedder
(conv 32x8/4, 64x4/2, 64x3/1, ReLU), or the DEEP_CONVOLUTIONAL_NETWORK_DEEP
one with inference-mode batch norm after each convolution (conv 32x8/4,
32x4/2, 64x4/2, 64x3/1, dense 512, 512), under rl_coach's scopes, the input
divided by 255 inside the graph, `tf.layers.flatten`'s Shape/StridedSlice/
Pack/Reshape flatten of the NHWC feature map, the 512-unit middleware and
the PPO policy head's softmax, with variables frozen to constants (each read
through an Identity node) as DeepRacer's model.pb holds them.

usage: rl_coach_graph.py OUT_DIR FRAMES.u8 N ACTIONS shallow|deep_bn
Writes OUT_DIR/model.pb, OUT_DIR/model_metadata.json (a discrete space of
ACTIONS actions) and OUT_DIR/tf_outputs.f32 (the graph's outputs on the N
frames of FRAMES.u8, N x 1 x 120 x 160 u8).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

v1 = tf.compat.v1
v1.disable_eager_execution()

out_dir, frames_path, n, actions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
kind = sys.argv[5]
CONVS = {"shallow": [(32, 8, 4), (64, 4, 2), (64, 3, 1)],
         "deep_bn": [(32, 8, 4), (32, 4, 2), (64, 4, 2), (64, 3, 1)]}[kind]
DENSE = {"shallow": [], "deep_bn": [512, 512]}[kind]
NETWORK = {"shallow": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
           "deep_bn": "DEEP_CONVOLUTIONAL_NETWORK_DEEP"}[kind]
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(7)
SCOPE = "main_level/agent/main/online"
SENSOR = "FRONT_FACING_CAMERA"
OUTPUT = f"{SCOPE}/network_1/ppo_head_0/policy"


def variable(name, shape, fan_in):
    init = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape).astype(np.float32)
    return v1.get_variable(name, initializer=init)


graph = tf.Graph()
with graph.as_default():
    with v1.variable_scope(f"{SCOPE}/network_0/{SENSOR}"):
        x = v1.placeholder(tf.float32, [None, 120, 160, 1], name=SENSOR)
    with v1.variable_scope(f"{SCOPE}/network_1/{SENSOR}"):
        h = tf.math.truediv(x, 255.0)
        c_in = 1
        for i, (filters, k, s) in enumerate(CONVS):
            with v1.variable_scope(f"Conv2d_{i}"):
                w = variable("kernel", [k, k, c_in, filters], k * k * c_in)
                b = variable("bias", [filters], k * k * c_in)
                h = tf.nn.bias_add(tf.nn.conv2d(h, w, [1, s, s, 1], "VALID"), b)
            if kind == "deep_bn":
                with v1.variable_scope(f"BatchnormActivationDropout_{i}"):
                    stats = [rng.uniform(lo, hi, size=[filters]).astype(np.float32)
                             for lo, hi in ((0.5, 1.5), (-0.2, 0.2), (-0.1, 0.1), (0.05, 0.3))]
                    gamma, beta, mean, var = (v1.get_variable(nm, initializer=v) for nm, v in
                                              zip(("gamma", "beta", "moving_mean", "moving_variance"), stats))
                    h, _, _ = v1.nn.fused_batch_norm(h, gamma, beta, mean, var, epsilon=1e-3,
                                                     is_training=False)
            h = tf.nn.relu(h, name=f"BatchnormActivationDropout_{i}_relu")
            c_in = filters
        fan = int(np.prod(h.shape.as_list()[1:]))
        with v1.variable_scope("Flatten"):
            batch = tf.strided_slice(tf.shape(h), [0], [1], shrink_axis_mask=1)
            h = tf.reshape(h, tf.stack([batch, -1]))
    for j, units in enumerate(DENSE):
        with v1.variable_scope(f"{SCOPE}/network_1/{SENSOR}/Dense_{j}"):
            w = variable("kernel", [fan, units], fan)
            b = variable("bias", [units], fan)
            h = tf.nn.relu(tf.nn.bias_add(tf.matmul(h, w), b))
            fan = units
    with v1.variable_scope(f"{SCOPE}/network_1/middleware_fc_embedder/Dense_0"):
        w = variable("kernel", [fan, 512], fan)
        b = variable("bias", [512], 512)
        h = tf.nn.relu(tf.nn.bias_add(tf.matmul(h, w), b))
    with v1.variable_scope(f"{SCOPE}/network_1/ppo_head_0"):
        w = variable("policy_fc/kernel", [512, actions], 512)
        b = variable("policy_fc/bias", [actions], 512)
        logits = tf.nn.bias_add(tf.matmul(h, w), b)
        tf.nn.softmax(logits, name="policy")
    with v1.Session(graph=graph) as sess:
        sess.run(v1.global_variables_initializer())
        frozen = v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), [OUTPUT]
        )

with open(os.path.join(out_dir, "model.pb"), "wb") as f:
    f.write(frozen.SerializeToString())
ops = {node.op for node in frozen.node}
assert {"Identity", "Shape", "StridedSlice", "Pack", "RealDiv"} <= ops, ops

steering = np.linspace(-30.0, 30.0, actions)
space = [{"steering_angle": float(a), "speed": 1.0} for a in steering]
with open(os.path.join(out_dir, "model_metadata.json"), "w") as f:
    json.dump({"action_space": space, "sensor": [SENSOR],
               "neural_network": NETWORK,
               "training_algorithm": "clipped_ppo", "action_space_type": "discrete",
               "version": "5"}, f, indent=2)

run = tf.Graph()
with run.as_default():
    tf.compat.v1.import_graph_def(frozen, name="")
frames = np.fromfile(frames_path, dtype=np.uint8).reshape(n, 1, 120, 160)
feed = frames.transpose(0, 2, 3, 1).astype(np.float32)
with v1.Session(graph=run) as sess:
    y = sess.run(f"{OUTPUT}:0", {f"{SCOPE}/network_0/{SENSOR}/{SENSOR}:0": feed})
y.astype("<f4").tofile(os.path.join(out_dir, "tf_outputs.f32"))
print(json.dumps({"ops": sorted(ops), "nodes": len(frozen.node),
                  "spread": float(y.max() - y.min())}))
