//! The GUI's systems and state on a bare bevy `App` (no window, no GPU):
//! training through the trainer thread (pause, reward reload, stop), the
//! track scene, the cars, the setup's editor logic and sim-trace replays.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use bevy::prelude::*;
use chicane_gui::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("chicane-gui-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn shared_data() -> PathBuf {
    if let Ok(d) = std::env::var("CHICANE_SHARED_DATA") {
        return PathBuf::from(d);
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for d in [here.join("../../shared/data"), here.join("../shared/data")] {
        if d.join("deepracer").is_dir() {
            return d;
        }
    }
    panic!("the shared DeepRacer data folder (../shared/data) is missing; set CHICANE_SHARED_DATA");
}

/// A small, fast run: camera + FAST_CNN on the built-in track, 2 episodes
/// per update, one epoch.
fn small_setup(dir: &Path) -> Setup {
    let text = r#"
track = "technical-loop"
reward = "builtin:center_line"
seed = 3
[hyperparameters]
num_episodes_between_training = 2
num_epochs = 1
batch_size = 32
"#;
    let run = chicane_config::parse_run(text, "test", dir).unwrap();
    let mut s = Setup::new(run, dir.to_path_buf());
    s.num_envs = 2;
    s.out_dir = dir.join("run").display().to_string();
    s
}

fn training_app() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins).add_plugins(TrainingPlugin);
    app
}

fn update_until(app: &mut App, what: &str, secs: u64, done: impl Fn(&World) -> bool) {
    let t = Instant::now();
    while !done(app.world()) {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}; log: {:?}",
            app.world().resource::<GuiLog>().lines
        );
        app.update();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits `ms`, lets the app poll the trainer a few times, and returns the
/// env steps of the newest snapshot.
fn steps_after(app: &mut App, ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    for _ in 0..5 {
        app.update();
    }
    let t = app.world().resource::<Training>();
    t.snapshot.as_ref().unwrap().total_steps
}

#[test]
fn training_runs_pauses_reloads_the_reward_and_stops_with_a_checkpoint() {
    let dir = temp_dir("train");
    let mut setup = small_setup(&dir);
    let mut app = training_app();
    {
        let world = app.world_mut();
        let mut log = GuiLog::default();
        let mut training = world.resource_mut::<Training>();
        start_training(&mut setup, &mut training, &mut log);
        assert!(log.error.is_none(), "{:?}", log.lines);
        assert_eq!(training.status, TrainStatus::Running);
    }
    // episodes, an update and live snapshots arrive
    update_until(&mut app, "an update", 120, |w| {
        let t = w.resource::<Training>();
        !t.iterations.is_empty() && t.snapshot.is_some()
    });
    {
        let t = app.world().resource::<Training>();
        assert!(t.episodes.len() >= 2, "{} episodes", t.episodes.len());
        let snap = t.snapshot.as_ref().unwrap();
        assert_eq!(snap.cars.len(), 2, "one car per env");
        let f = snap.frame.as_ref().unwrap();
        // FAST_CNN sees the 160x120 grey frame downscaled 4x
        assert_eq!((f.width, f.height, f.channels), (40, 30, 1));
        assert_eq!(f.pixels.len(), 40 * 30 * 3);
        assert!(f.pixels.iter().any(|&p| p != f.pixels[0]), "a blank frame");
        let step = snap.step.as_ref().unwrap();
        assert!(step.probability > 0.0 && step.probability <= 1.0);
        assert!(step.reward.is_finite());
        let on = setup.run.track.to_frenet(chicane_core::Vec2 {
            x: snap.cars[0].x,
            y: snap.cars[0].y,
        });
        assert!(on.d.abs() < 1.0, "the car is near the track");
    }
    // pause: the step counter holds still
    app.world_mut().resource_mut::<Training>().pause();
    let held = steps_after(&mut app, 400);
    let still = steps_after(&mut app, 600);
    assert_eq!(held, still, "steps went on while paused");
    assert_eq!(
        app.world().resource::<Training>().status,
        TrainStatus::Paused
    );

    // a new reward function (always 0.5), applied while paused
    setup.reward_text = "fn reward_function(params) { 0.5 }".into();
    setup.reward_path = dir.join("half.rhai").display().to_string();
    let path = setup.apply_reward().unwrap();
    {
        let mut t = app.world_mut().resource_mut::<Training>();
        t.reload_reward(setup.run.clone());
        t.resume();
    }
    let iters_before = app.world().resource::<Training>().iterations.len();
    update_until(&mut app, "two more updates", 120, |w| {
        w.resource::<Training>().iterations.len() >= iters_before + 2
    });
    let log = app.world().resource::<GuiLog>();
    assert!(
        log.lines
            .iter()
            .any(|(_, l)| l.contains("reward function reloaded")),
        "{:?}",
        log.lines
    );
    let out = app.world().resource::<Training>().out_dir.clone().unwrap();
    let toml = std::fs::read_to_string(out.join("run.toml")).unwrap();
    assert!(
        toml.contains("half.rhai"),
        "run.toml names the new reward: {toml}"
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let note: serde_json::Value = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "note")
        .expect("a note in metrics.jsonl");
    // each of the 2 envs had at most one episode under way at the reload;
    // every episode after those earns 0.5 per step (the off-track step
    // gets the simulator's 1e-3 instead)
    let logged = note["episode"].as_u64().unwrap() as usize;
    update_until(&mut app, "episodes after the reload", 120, |w| {
        w.resource::<Training>().episodes.len() >= logged + 4
    });
    let eps = &app.world().resource::<Training>().episodes;
    for e in &eps[logged + 2..] {
        let last = e.reward - 0.5 * (e.steps - 1) as f64;
        assert!(
            (last - 0.5).abs() < 1e-6 || (last - 1e-3).abs() < 1e-6,
            "episode {} earned {} in {} steps",
            e.episode,
            e.reward,
            e.steps
        );
    }
    let _ = path;

    // stop: a checkpoint, and the thread ends
    app.world_mut().resource_mut::<Training>().stop();
    update_until(&mut app, "the stop", 60, |w| {
        matches!(w.resource::<Training>().status, TrainStatus::Finished(_))
    });
    let t = app.world().resource::<Training>();
    assert!(!t.is_active());
    let ckpt = t.checkpoint.clone().unwrap();
    assert!(ckpt.join("model.bpk").is_file(), "{}", ckpt.display());

    // the run evaluates and exports from the GUI's functions
    let ev = evaluate_run(&out, 1, 2.0).unwrap();
    assert_eq!(ev.report.laps.len(), 1);
    let trace = ev.dir.simtrace();
    assert!(trace.is_file());
    assert!(read_sim_trace(&trace).unwrap().len() > 1);
    // the same folder layout as `chicane evaluate`: evaluation-YYYYMMDDHHMMSS
    let name = ev
        .dir
        .root()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(name.starts_with("evaluation-20"), "{name}");
    let bundle = dir.join("model.tar.gz");
    let msg = export_run(&out, "last", &bundle).unwrap();
    assert!(msg.contains("FAST_CNN"), "{msg}");
    assert!(bundle.is_file());
    let e = export_run(&out, "99", &bundle).unwrap_err().chain();
    assert!(e.contains("no such checkpoint"), "{e}");
    assert!(
        evaluate_run(&dir, 1, 2.0)
            .unwrap_err()
            .chain()
            .contains("not a chicane run folder")
    );

    // a second Start with the same folder trains into a fresh one
    let mut log = GuiLog::default();
    let mut t2 = Training::default();
    start_training(&mut setup, &mut t2, &mut log);
    assert!(
        t2.out_dir.as_ref().unwrap().ends_with("run-2"),
        "{:?}",
        t2.out_dir
    );
    t2.shutdown();
}

#[test]
fn a_bad_setup_is_reported_not_started() {
    let dir = temp_dir("bad");
    let mut setup = small_setup(&dir);
    setup.run.hyperparameters.lr = -1.0;
    let mut log = GuiLog::default();
    let mut t = Training::default();
    start_training(&mut setup, &mut t, &mut log);
    assert_eq!(t.status, TrainStatus::Idle);
    let e = log.error.unwrap();
    assert!(e.contains("lr"), "{e}");
    // a network that does not fit the sensors
    let mut setup = small_setup(&dir);
    setup.run.sim.camera = None;
    setup.run.sim.lidar = Some(chicane_core::LidarConfig::default());
    setup.network = Some(chicane_core::NetworkKind::DeepRacerShallow);
    let mut log = GuiLog::default();
    start_training(&mut setup, &mut t, &mut log);
    let e = log.error.unwrap();
    assert!(e.contains("needs a camera"), "{e}");
    assert!(!dir.join("run").join("agent.json").exists());
}

#[test]
fn training_tracks_are_added_saved_and_planned() {
    let dir = temp_dir("tracks");
    let mut setup = small_setup(&dir);
    setup.add_training_track("speedway").unwrap();
    setup.add_training_track("technical-loop").unwrap();
    setup.run.track_switch_episodes = 3;
    // picking another main track keeps the others
    setup.set_track("flow-circuit").unwrap();
    assert_eq!(
        setup.training_track_specs(),
        ["flow-circuit", "speedway", "technical-loop"]
    );
    setup.remove_training_track(1);
    assert_eq!(
        setup.training_track_specs(),
        ["flow-circuit", "technical-loop"]
    );
    setup.remove_training_track(0); // the run's own track stays
    assert_eq!(setup.training_track_specs().len(), 2);
    let plan = setup.plan().unwrap();
    assert_eq!(plan.run.training_tracks.len(), 2);
    assert_eq!(plan.run.track_switch_episodes, 3);
    // saved as the CLI reads it
    let file = dir.join("multi.toml");
    setup.save(&file).unwrap();
    let back = chicane_config::load_run(Some(&file)).unwrap();
    assert_eq!(back.training_tracks.len(), 2);
    assert_eq!(back.track_switch_episodes, 3);
    let e = setup.add_training_track("speedwya").unwrap_err().chain();
    assert!(e.contains("did you mean `speedway`?"), "{e}");
}

#[test]
fn a_misspelt_network_is_the_error_chicane_train_gives() {
    let dir = temp_dir("typo");
    let file = dir.join("typo.toml");
    std::fs::write(&file, "network = \"DEEP_CONVOLUTIONAL_NETWORK_SHALOW\"\n").unwrap();
    let mut setup = small_setup(&dir);
    let e = setup.load(&file).unwrap_err().chain();
    assert!(
        e.contains(
            "typo.toml: network: unknown network `DEEP_CONVOLUTIONAL_NETWORK_SHALOW` \
             (did you mean `DEEP_CONVOLUTIONAL_NETWORK_SHALLOW`?)"
        ),
        "{e}"
    );
    let e = setup.set_track("technical_lop").unwrap_err().chain();
    assert!(e.contains("did you mean `technical-loop`?"), "{e}");
}

#[test]
fn the_track_scene_is_built_from_the_geometry_and_rebuilt_on_change() {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .init_resource::<Assets<Mesh>>()
        .init_resource::<Assets<StandardMaterial>>()
        .init_resource::<Assets<Image>>()
        .add_plugins(TrackViewPlugin);
    let track = Arc::new(chicane_tracks::load("technical-loop").unwrap());
    app.insert_resource(ShownTrack {
        track: Arc::clone(&track),
        version: 0,
    });
    app.update();
    let count = |app: &mut App, part: TrackPart| {
        let mut q = app.world_mut().query::<&TrackPart>();
        q.iter(app.world()).filter(|p| **p == part).count()
    };
    assert_eq!(count(&mut app, TrackPart::Road), 1);
    assert_eq!(count(&mut app, TrackPart::Border), 2);
    assert_eq!(count(&mut app, TrackPart::StartLine), 1);
    let dashes = count(&mut app, TrackPart::CenterLine);
    let expect = (track.length() / 0.3) as usize;
    assert!(
        dashes.abs_diff(expect) <= 1,
        "{dashes} dashes, expected {expect}"
    );
    assert_eq!(count(&mut app, TrackPart::Surroundings), 5);
    // the road and the ground are textured from assets/textures
    assert_eq!(app.world().resource::<Assets<Image>>().len(), 2);
    for png in ["asphalt.png", "grass.png"] {
        let bytes = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../assets/textures")
                .join(png),
        )
        .unwrap();
        let img = tiling_texture(&bytes).unwrap();
        assert_eq!(img.width(), 128, "{png}");
    }
    // the road covers the track: every centre-line point lies between the
    // road mesh's borders (its vertices are the borders, at height 0)
    let meshes = track_meshes(&track);
    let road = &meshes
        .iter()
        .find(|(p, _)| *p == TrackPart::Road)
        .unwrap()
        .1;
    let pos = road.attribute(Mesh::ATTRIBUTE_POSITION).unwrap().len();
    assert!(pos > 2 * track.num_waypoints(), "{pos} vertices");
    // another track replaces the scene
    app.insert_resource(ShownTrack {
        track: Arc::new(chicane_tracks::load("easy-oval").unwrap()),
        version: 1,
    });
    app.update();
    app.update();
    assert_eq!(count(&mut app, TrackPart::Road), 1);
    assert_eq!(count(&mut app, TrackPart::Border), 2);
}

#[test]
fn ribbons_have_the_documented_shape() {
    let l = [Vec3::ZERO, Vec3::X, Vec3::new(2.0, 0.0, 0.0)];
    let r = [Vec3::Z, Vec3::new(1.0, 0.0, 1.0), Vec3::new(2.0, 0.0, 1.0)];
    let open = ribbon(&l, &r, false);
    assert_eq!(open.attribute(Mesh::ATTRIBUTE_POSITION).unwrap().len(), 6);
    assert_eq!(open.indices().unwrap().len(), 12);
    let closed = ribbon(&l, &r, true);
    assert_eq!(closed.indices().unwrap().len(), 18);
    // track (x, y) -> bevy (x, 0, -y)
    assert_eq!(world(1.0, 2.0, 0.5), Vec3::new(1.0, 0.5, -2.0));
}

#[test]
fn cars_follow_the_shown_poses_and_the_chase_camera_sits_behind() {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .init_resource::<Assets<Mesh>>()
        .init_resource::<Assets<StandardMaterial>>()
        .add_plugins(CarViewPlugin);
    let pose = |x: f64| CarPose {
        x,
        y: 1.0,
        yaw: std::f64::consts::FRAC_PI_2,
        steering: 0.0,
        speed: 1.0,
    };
    app.world_mut().resource_mut::<ShownCars>().cars = vec![pose(0.0), pose(1.0), pose(2.0)];
    app.world_mut().resource_mut::<ShownCars>().objects = vec![(3.0, 3.0, 0.0)];
    app.update();
    app.update();
    let mut q = app.world_mut().query::<(&CarMarker, &Transform)>();
    let mut cars: Vec<(usize, Vec3)> = q
        .iter(app.world())
        .map(|(m, t)| (m.0, t.translation))
        .collect();
    cars.sort_by_key(|c| c.0);
    assert_eq!(cars.len(), 3);
    assert_eq!(cars[2].1, Vec3::new(2.0, 0.0, -1.0));
    let mut q = app.world_mut().query::<&ObjectMarker>();
    assert_eq!(q.iter(app.world()).count(), 1);
    app.world_mut().resource_mut::<ShownCars>().cars.truncate(1);
    app.update();
    app.update();
    let mut q = app.world_mut().query::<&CarMarker>();
    assert_eq!(q.iter(app.world()).count(), 1);
    // facing +y (north, bevy -Z): the chase camera is south of the car (+Z), above it
    let cam = ViewCamera::default();
    let t = camera_transform(&cam, &[pose(0.0)], Vec2::splat(-5.0), Vec2::splat(5.0));
    assert!(t.translation.z > -1.0 + 0.5, "{:?}", t.translation);
    assert!(t.translation.y > 0.2);
    let top = camera_transform(
        &ViewCamera {
            mode: CameraMode::TopDown,
            ..cam
        },
        &[],
        Vec2::splat(-5.0),
        Vec2::splat(5.0),
    );
    assert!(top.translation.y > 10.0 && top.translation.x.abs() < 1e-4);
}

#[test]
fn the_reward_editor_reports_errors_at_their_line() {
    let dir = temp_dir("editor");
    let mut s = small_setup(&dir);
    s.reward_text = "fn reward_function(params) {\n  let x = 1.0;\n  x +* 2\n}\n".into();
    let issue = check_script(&s.reward_text).err().unwrap();
    assert_eq!(issue.line, Some(3), "{}", issue.message);
    s.check_reward();
    assert!(matches!(&s.reward_check, Some(Err(i)) if i.line == Some(3)));
    assert!(s.apply_reward().is_err(), "a broken script is not saved");
    assert_eq!(
        error_line("reward_function.rhai:12:5: bad", EDITOR_NAME),
        Some(12)
    );
    assert_eq!(error_line("no line here", EDITOR_NAME), None);
    // a good script: checked, heat map drawn, saved and used
    s.reward_text = chicane_config::builtin_rewards()[0].1.to_string();
    s.check_reward();
    assert!(
        matches!(&s.reward_check, Some(Ok(_))),
        "{:?}",
        s.reward_check
    );
    let map = s.heat_map.as_ref().unwrap();
    assert!(map.width() > 100 && map.height() > 100);
    s.reward_path = dir.join("mine.rhai").display().to_string();
    let p = s.apply_reward().unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), s.reward_text);
    assert!(matches!(&s.run.reward, chicane_config::RewardSource::File(f) if *f == p));
}

#[test]
fn setups_save_load_and_change_tracks_and_actions() {
    let dir = temp_dir("setup");
    let mut s = small_setup(&dir);
    s.generator = ActionGenerator {
        max_steering_deg: 20.0,
        steering_levels: 3,
        max_speed: 2.0,
        speed_levels: 2,
    };
    s.generate_actions().unwrap();
    assert_eq!(s.run.action_space.num_actions(), Some(6));
    s.set_continuous(true);
    assert!(s.run.action_space.num_actions().is_none());
    s.run.hyperparameters.lr = 1e-3;
    // a DeepRacer track, then a generated one
    let npy = shared_data().join("deepracer/tracks/reinvent_base.npy");
    s.set_track(npy.to_str().unwrap()).unwrap();
    assert!((s.run.track.length() - 17.709).abs() < 0.1);
    let e = s.set_track("/no/such/track.npy").unwrap_err().chain();
    assert!(e.contains("/no/such/track.npy"), "{e}");
    let v = s.track_version;
    let generated = s.generate_track().unwrap();
    assert!(generated.is_file());
    assert!(s.track_version > v);
    // save, then load what the CLI would load
    let file = dir.join("saved.toml");
    s.save(&file).unwrap();
    let back = chicane_config::load_run(Some(&file)).unwrap();
    assert_eq!(back.hyperparameters.lr, 1e-3);
    assert!(back.action_space.num_actions().is_none());
    assert_eq!(back.track.length(), s.run.track.length());
    let mut t = small_setup(&dir);
    t.load(&file).unwrap();
    assert_eq!(t.run.hyperparameters.lr, 1e-3);
    // a broken file is refused with its name, the setup unchanged
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[hyperparameters]\nlearning_rate = 3\n").unwrap();
    let e = t.load(&broken).unwrap_err().chain();
    assert!(
        e.contains("broken.toml") && e.contains("learning_rate"),
        "{e}"
    );
    assert_eq!(t.run.hyperparameters.lr, 1e-3);
}

#[test]
fn replays_read_deepracer_and_chicane_sim_traces() {
    let dr = shared_data().join("deepracer/simtrace/training-0-iteration.csv");
    let mut r = Replay::default();
    r.load(&dr).unwrap();
    assert!(r.episodes.len() > 1, "{:?}", r.episodes);
    let rows = r.episode_rows();
    assert!(rows.len() > 10);
    assert_eq!(rows[0].steps, 1);
    assert_eq!(rows[0].episode_status, "prepare");
    // x, y on reinvent_base (metres, within the track's bounds)
    assert!(
        rows.iter()
            .all(|row| (-1.0..10.0).contains(&row.x) && (-1.0..6.0).contains(&row.y))
    );
    // playing walks the steps at the trace's clock
    r.playing = true;
    r.speed = 1.0;
    for _ in 0..15 {
        r.advance(1.0 / 15.0);
    }
    assert!((10..=18).contains(&r.cursor), "cursor {}", r.cursor);
    let second = r.episodes[1];
    r.select_episode(second);
    assert_eq!(r.cursor, 0);
    assert_eq!(r.current().unwrap().episode, second);
    // a file without the needed columns names the column
    let dir = temp_dir("replay");
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "episode,steps,X\n0,1,2\n").unwrap();
    let e = read_sim_trace(&bad).unwrap_err().chain();
    assert!(e.contains("bad.csv") && e.contains("`Y`"), "{e}");
    std::fs::write(
        &bad,
        format!(
            "{}\n0,1,x,0,0,0,0,0,0,False,True,0,0,0,0,in_progress,0\n",
            chicane_sim::SIMTRACE_HEADER
        ),
    )
    .unwrap();
    let e = read_sim_trace(&bad).unwrap_err().chain();
    assert!(e.contains("bad.csv:2") && e.contains("X"), "{e}");
}

#[test]
fn agent_frames_are_the_downscaled_policy_input() {
    let pre = chicane_core::Preprocess {
        channels: 1,
        height: 4,
        width: 4,
        downscale: 2,
        stack_size: 1,
    };
    let frame: Vec<u8> = (0..16).map(|i| (i * 10) as u8).collect();
    let f = AgentFrame::from_chw(&frame, &pre);
    assert_eq!((f.width, f.height), (2, 2));
    // top-left 2x2 block: 0, 10, 40, 50 -> 25 (grey in all three channels)
    assert_eq!(&f.pixels[..3], &[25, 25, 25]);
    assert_eq!(f.pixels[9], 125); // bottom-right block 100, 110, 140, 150
}
