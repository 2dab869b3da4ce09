//! Helpers shared by the simulator tests.
#![allow(dead_code, clippy::unwrap_used)]

use chicane_core::ActionSpace;
use chicane_reward::FollowCenterLine;
use chicane_sim::{RaceEnv, SimConfig, SimError};
use chicane_tracks::Track;
use std::path::PathBuf;
use std::sync::Arc;

/// The shared DeepRacer data folder; a missing folder fails the test.
pub fn shared_data() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.join("deepracer/tracks").is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    assert!(
        dir.join("deepracer/tracks").is_dir(),
        "shared DeepRacer data not found at {} (set CHICANE_SHARED_DATA)",
        dir.display()
    );
    dir
}

/// Every shared DeepRacer track file.
pub fn deepracer_tracks() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(shared_data().join("deepracer/tracks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    v.sort();
    v
}

/// A track by built-in name or path.
pub fn track(spec: &str) -> Arc<Track> {
    Arc::new(chicane_tracks::load(spec).unwrap())
}

/// An env with the centre-line reward.
pub fn env(track: Arc<Track>, cfg: SimConfig, space: ActionSpace) -> RaceEnv {
    RaceEnv::new(cfg, track, space, Box::new(FollowCenterLine)).unwrap()
}

/// The config error `RaceEnv::new` gives for `cfg` on easy-oval (it must
/// be a [`SimError::Config`]), as text.
pub fn config_error(cfg: SimConfig) -> String {
    let err = RaceEnv::new(
        cfg,
        track("easy-oval"),
        ActionSpace::default(),
        Box::new(FollowCenterLine),
    )
    .unwrap_err();
    assert!(matches!(err, SimError::Config { .. }), "{err:?}");
    err.to_string()
}
