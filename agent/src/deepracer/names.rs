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

/// The SAC policy output.
pub const SAC_POLICY_OUTPUT: &str =
    "main_level/agent/policy/online/network_0/sac_policy_head_0/policy";

/// The camera input placeholder of a PPO graph fed by `sensor`:
/// `main_level/agent/main/online/network_0/<SENSOR>/<SENSOR>`.
pub fn camera_input_name(sensor: Sensor) -> String {
    format!("{PPO_SCOPE}/network_0/{sensor}/{sensor}")
}
