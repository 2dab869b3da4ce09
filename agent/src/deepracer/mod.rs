//! Models for the stock AWS DeepRacer car, both ways: a chicane run as the
//! `.tar.gz` of a TensorFlow frozen graph and `model_metadata.json` that the
//! car's console loads (`chicane export --format deepracer`), and a
//! DeepRacer model's frozen graph as a chicane run (`chicane import-model`).

mod archive;
mod graph;
mod import;
mod map;
mod names;
mod tfpb;
mod tfread;

pub use archive::{
    CarArchive, METADATA_JSON, MODEL_PB, car_metadata, car_model_name, check_car_archive,
    write_car_archive,
};
pub use graph::{CAR_FRAME, DeepRacerGraph, car_unsupported, export_deepracer_graph};
pub use import::{ImportedModel, import_model};
pub use names::{PPO_POLICY_OUTPUT, SAC_POLICY_OUTPUT, camera_input_name, sac_camera_input_name};

use crate::export::{CheckpointChoice, choose_checkpoint};
use crate::run_dir::RunDir;
use crate::{AgentError, LoadedPolicy, load_policy_at};
use burn::tensor::Device;
use chicane_config::ResolvedRun;
use std::path::Path;

/// What `chicane export --format deepracer` wrote.
#[derive(Debug, Clone)]
pub struct DeepRacerExport {
    /// The graph's interface (names, shapes, output kind).
    pub graph: DeepRacerGraph,
    /// The archive, as the car's loader reads it.
    pub archive: CarArchive,
    /// The checkpoint folder exported.
    pub checkpoint: std::path::PathBuf,
}

/// Writes the car archive of `run_dir`'s checkpoint `which` to `out`
/// (`NAME.tar.gz`, no dots or spaces in `NAME`).
///
/// # Errors
/// [`AgentError::Unsupported`] with the reason for a model the car cannot
/// run (lidar, RGB, stacked frames, a camera other than 160x120, MLP);
/// a bad archive name; a missing checkpoint; a file that cannot be written.
pub fn export_deepracer(
    run_dir: &RunDir,
    run: &ResolvedRun,
    which: CheckpointChoice,
    out: &Path,
    device: &Device,
) -> Result<DeepRacerExport, AgentError> {
    car_model_name(out)?;
    let ckpt = choose_checkpoint(run_dir, which)?;
    let LoadedPolicy { learner, spec, .. } = load_policy_at(run_dir, &ckpt, run, device)?;
    let graph = export_deepracer_graph(&learner, spec.preprocess.as_ref())?;
    let path = run_dir.model_metadata();
    let text = std::fs::read_to_string(&path).map_err(crate::error::io_err(&path))?;
    let metadata = car_metadata(&text, &path, graph.training_algorithm)?;
    let archive = write_car_archive(out, &metadata, &graph.bytes)?;
    Ok(DeepRacerExport {
        graph,
        archive,
        checkpoint: ckpt,
    })
}

#[cfg(test)]
mod tests {
    use super::map::map_graph;
    use super::tfpb::GraphDef;
    use super::*;
    use crate::net::{ActorCriticConfig, NetworkKind};
    use crate::{Learner, PpoConfig, head_for};
    use chicane_core::{ActionSpace, DiscreteAction, Preprocess};
    use prost::Message;

    fn fast_learner(seed: u64) -> (Learner, Preprocess) {
        let space = ActionSpace::Discrete(
            [-30.0, 0.0, 30.0]
                .map(|a| DiscreteAction {
                    steering_angle_deg: a,
                    speed: 1.0,
                })
                .to_vec(),
        );
        let pre = Preprocess {
            channels: 1,
            height: 120,
            width: 160,
            downscale: 4,
            stack_size: 1,
        };
        let cfg = ActorCriticConfig::new(
            NetworkKind::FastCnn,
            Some(pre.output_shape()),
            None,
            head_for(&space),
        );
        let learner = Learner::new(cfg, PpoConfig::default(), space, &Device::flex(), seed)
            .expect("a FAST_CNN learner");
        (learner, pre)
    }

    fn fast_graph(seed: u64) -> DeepRacerGraph {
        let (learner, pre) = fast_learner(seed);
        export_deepracer_graph(&learner, Some(&pre)).expect("exports")
    }

    #[test]
    fn the_same_model_gives_the_same_bytes() {
        // attribute maps are ordered, so no hash order leaks into the file
        let (learner, pre) = fast_learner(1);
        let a = export_deepracer_graph(&learner, Some(&pre)).expect("exports");
        let b = export_deepracer_graph(&learner, Some(&pre)).expect("exports");
        assert!(a.bytes == b.bytes, "two exports of one model differ");
    }

    #[test]
    fn a_node_it_cannot_map_is_named() {
        let mut g = GraphDef::decode(fast_graph(1).bytes.as_slice()).expect("decodes");
        let relu = g.node.iter_mut().find(|n| n.op == "Relu").expect("a ReLU");
        relu.op = "Elu".into();
        let name = relu.name.clone();
        let e = map_graph(&g).expect_err("an Elu is not mapped").to_string();
        assert!(e.contains(&name) && e.contains("Elu"), "{e}");
        // and a graph without the PPO output names what it looked for
        let mut g = GraphDef::decode(fast_graph(1).bytes.as_slice()).expect("decodes");
        g.node.retain(|n| n.name != PPO_POLICY_OUTPUT);
        let e = map_graph(&g).expect_err("no output").to_string();
        assert!(e.contains(PPO_POLICY_OUTPUT), "{e}");
    }

    #[test]
    fn models_the_car_cannot_feed_are_refused_with_the_reason() {
        let pre = |channels, stack_size, width| Preprocess {
            channels,
            height: 120,
            width,
            downscale: 1,
            stack_size,
        };
        let net = NetworkKind::DeepRacerShallow;
        assert!(car_unsupported(net, Some(&pre(1, 1, 160)), false).is_none());
        assert!(car_unsupported(net, Some(&pre(2, 1, 160)), false).is_none());
        let why = |p: Option<Preprocess>, lidar| {
            car_unsupported(net, p.as_ref(), lidar).expect("refused")
        };
        assert!(why(Some(pre(1, 3, 160)), false).contains("stack_size = 1"));
        assert!(why(Some(pre(3, 1, 160)), false).contains("rgb"));
        assert!(why(Some(pre(1, 1, 320)), false).contains("160x120"));
        assert!(why(Some(pre(1, 1, 160)), true).contains("lidar"));
        assert!(car_unsupported(NetworkKind::Mlp, Some(&pre(1, 1, 160)), false).is_some());
    }
}
