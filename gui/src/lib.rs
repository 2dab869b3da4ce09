//! chicane-gui: the desktop app. Set up a run (track, reward editor with
//! its heat map, action space, hyperparameters, sensors, race type, domain
//! randomisation), train it on background threads while watching the cars
//! in 3D, the agent's camera, live charts and an inspector of every
//! DeepRacer param; edit the reward mid-run; evaluate, replay sim-traces
//! and export the bundle for the car.
//!
//! One bevy plugin per feature: [`TrackViewPlugin`] (the 3D track),
//! [`CarViewPlugin`] (cars, objects, cameras), [`TrainingPlugin`]
//! (training on threads), [`SetupPlugin`] (the run being edited),
//! [`EvaluatePlugin`], [`ReplayPlugin`], [`PanelsPlugin`] (the egui panels:
//! editor, charts, inspector, agent camera) and [`CapturePlugin`]
//! (screenshots and timed exits for tests and benchmarks).

mod capture;
mod cars;
mod error;
mod evaluate;
mod panel_state;
mod replay;
mod scene;
mod setup;
mod setup_panel;
mod training;
mod training_panel;
mod ui;

pub use capture::{CapturePlugin, CaptureSettings, GuiReport};
pub use cars::{
    CameraMode, CarMarker, CarViewPlugin, ObjectMarker, ShownCars, ViewCamera, camera_transform,
};
pub use error::GuiError;
pub use evaluate::{EvaluatePlugin, Evaluation, Evaluator, evaluate_run, export_run};
pub use panel_state::{Tab, UiState};
pub use replay::{ColorBy, Replay, ReplayPlugin, TraceRow, read_sim_trace};
pub use scene::{
    ShownTrack, TrackPart, TrackViewPlugin, ribbon, tiling_texture, track_meshes, world,
};
pub use setup::{
    ActionGenerator, EDITOR_NAME, RewardIssue, Setup, SetupPlugin, check_script, error_line,
    reward_source,
};
pub use setup_panel::start_training;
pub use training::{
    AgentFrame, CarPose, GuiLog, LiveSnapshot, StepDetail, TrainCommand, TrainEvent, TrainStatus,
    Training, TrainingPlugin,
};
pub use ui::PanelsPlugin;
