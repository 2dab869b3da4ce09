//! Every DeepRacer `model_metadata.json` in the shared data round-trips.
#![allow(clippy::unwrap_used)]

use chicane_core::{ActionSpace, ModelMetadata, Sensor};
use std::path::PathBuf;

fn config_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    let d = dir.join("deepracer/config");
    assert!(
        d.is_dir(),
        "shared DeepRacer configs not found at {}",
        d.display()
    );
    d
}

#[test]
fn every_shared_model_metadata_round_trips() {
    let mut n = 0;
    for entry in std::fs::read_dir(config_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.starts_with("model_metadata") {
            continue;
        }
        n += 1;
        let text = std::fs::read_to_string(&path).unwrap();
        let m = ModelMetadata::parse(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        let original: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            m.to_value(),
            original,
            "{name} must be written back unchanged"
        );
        let again = ModelMetadata::parse(&m.to_json_string(), &name).unwrap();
        assert_eq!(again, m);
        assert_eq!(m.sensor, vec![Sensor::FrontFacingCamera]);
        match name.as_str() {
            "model_metadata.json" => {
                assert_eq!(m.action_space, ActionSpace::default());
                assert_eq!(
                    m.training_algorithm,
                    Some(chicane_core::TrainingAlgorithm::ClippedPpo)
                );
            }
            "model_metadata_sac.json" => assert_eq!(
                m.training_algorithm,
                Some(chicane_core::TrainingAlgorithm::Sac)
            ),
            _ => assert!(matches!(m.action_space, ActionSpace::Continuous { .. })),
        }
    }
    assert_eq!(n, 3, "the three shared model_metadata files");
}
