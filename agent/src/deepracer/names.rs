//! The node names the stock DeepRacer car looks for: rl_coach's, as
//! DeepRacer's simapp writes them and the car's inference node reads them
//! (aws-deepracer-inference-pkg; deepracer-simapp's
//! `markov/architecture/constants.py` and `checkpoint_files/tensorflow_model.py`).

use chicane_core::Sensor;

/// rl_coach's scope of a clipped-PPO agent's online network.
pub const PPO_SCOPE: &str = "main_level/agent/main/online";

/// The PPO policy output: softmax over discrete actions, or the
/// `[steering, speed]` means in `[-1, 1]`.
pub const PPO_POLICY_OUTPUT: &str = "main_level/agent/main/online/network_1/ppo_head_0/policy";

/// rl_coach's scope of a SAC agent's online policy network.
pub const SAC_SCOPE: &str = "main_level/agent/policy/online";

/// The SAC policy output. In DeepRacer's SAC head (its rl_coach
/// `SACPolicyHead`) this node is the policy's pre-tanh mean; the car clips
/// whatever it holds to `[-1, 1]` and scales it onto the action space's
/// ranges (aws-deepracer-navigation-pkg), so chicane's export puts the
/// deterministic action `tanh(mean)` there, which the clip leaves as it is.
pub const SAC_POLICY_OUTPUT: &str =
    "main_level/agent/policy/online/network_0/sac_policy_head_0/policy";

/// The camera input placeholder of a PPO graph fed by `sensor`:
/// `main_level/agent/main/online/network_0/<SENSOR>/<SENSOR>`.
pub fn camera_input_name(sensor: Sensor) -> String {
    format!("{PPO_SCOPE}/network_0/{sensor}/{sensor}")
}

/// The camera input placeholder of a SAC graph fed by `sensor`:
/// `main_level/agent/policy/online/network_0/<SENSOR>/<SENSOR>`.
pub fn sac_camera_input_name(sensor: Sensor) -> String {
    format!("{SAC_SCOPE}/network_0/{sensor}/{sensor}")
}
