//! chicane's live web viewer: watch a headless run from a browser.
//!
//! `chicane train --viewer 127.0.0.1:8100` (and `chicane evaluate`) starts
//! a small HTTP server ([tiny_http]) inside the process. It serves one page
//! (`/`) with an MJPEG stream of each env's camera (what the policy sees,
//! after camera realism), a top-down MJPEG stream of each track with every
//! car on it, live charts of reward, progress and lap time (uPlot 1.6.32,
//! MIT, vendored under `assets/`, so no internet is needed), the run's
//! status and a stop button; and JSON endpoints for scripts:
//!
//! | path | what |
//! |---|---|
//! | `GET /status` | [`Status`] as JSON |
//! | `GET /metrics?episodes_from=N&iterations_from=M&laps_from=L` | the episode, iteration and lap records from those indices on |
//! | `POST /stop` | asks a training run to stop (it writes its checkpoint); `409` for an evaluation |
//! | `GET /stream/camera/{env}` | `multipart/x-mixed-replace` JPEG stream of env `env`'s camera |
//! | `GET /stream/top_down/{track}` | the same, of training track `track` (0-based) with its cars |
//! | `GET /frame/camera/{env}.jpg`, `GET /frame/top_down/{track}.jpg` | one JPEG of the next frame (`503` when none comes within 3 s; the top-down view then shows the cars where they were last seen) |
//!
//! Training pays for the viewer only while someone watches: frames are
//! copied out of the envs at most [`ViewerSetup::fps`] times a second and
//! only while a stream is open, and JPEG encoding runs on the server's
//! threads.
//!
//! ```no_run
//! # fn demo(plan: &chicane_agent::RunPlan) -> Result<(), chicane_viewer::ViewerError> {
//! use chicane_viewer::{Viewer, ViewerAddr, ViewerObserver, ViewerSetup};
//! let viewer = Viewer::start(&"127.0.0.1:8100".parse::<ViewerAddr>()?, ViewerSetup::for_training(plan))?;
//! eprintln!("viewer: {}", viewer.url());
//! let mut front_end = chicane_agent::NoObserver;
//! let mut observer = ViewerObserver::new(&viewer, &mut front_end);
//! let summary = chicane_agent::train(plan, &mut observer);
//! # Ok(()) }
//! ```

mod addr;
mod draw;
mod error;
mod hub;
mod observer;
mod server;

pub use addr::ViewerAddr;
pub use error::ViewerError;
pub use hub::{CarMark, RunKind, RunState, Status, Viewer, ViewerSetup};
pub use observer::{EvalViewer, ViewerObserver};
