//! The HTTP side: routes, JSON, and the MJPEG streams
//! (`multipart/x-mixed-replace`, one JPEG part per frame, as IP cameras and
//! browsers' `<img>` speak it).

use crate::draw::{camera_jpeg, top_down_jpeg};
use crate::hub::{RunKind, Shared, Status, lock};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

const INDEX_HTML: &str = include_str!("../assets/index.html");
const VIEWER_JS: &str = include_str!("../assets/viewer.js");
const UPLOT_JS: &str = include_str!("../assets/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("../assets/uPlot.min.css");
const BOUNDARY: &str = "chicaneframe";

/// Serves requests until the viewer shuts down; each request on its own
/// thread (streams last as long as their page).
pub(crate) fn accept(server: &Server, shared: &Arc<Shared>) {
    while !shared.shutdown.load(Ordering::Relaxed) {
        match server.recv_timeout(Duration::from_millis(250)) {
            Ok(Some(rq)) => {
                let shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("chicane-viewer-request".into())
                    .spawn(move || handle(rq, &shared));
                if spawned.is_err() {
                    // out of threads: this request is dropped (its client
                    // sees the connection close); the next one may fit
                    continue;
                }
            }
            Ok(None) => {}
            Err(_) => break,
        }
    }
}

fn send(rq: Request, code: u16, content_type: &str, body: impl Into<Vec<u8>>) {
    let mut response = Response::from_data(body.into()).with_status_code(StatusCode(code));
    for (name, value) in [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
    ] {
        // ASCII names and values chosen here: always valid
        if let Ok(h) = Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    // a client that went away is no error of the run's
    let _ = rq.respond(response);
}

fn send_json(rq: Request, code: u16, v: &serde_json::Value) {
    send(rq, code, "application/json", v.to_string());
}

/// The status with the live counters filled in.
pub(crate) fn status(shared: &Shared) -> Status {
    let mut s = lock(&shared.status).clone();
    s.uptime_s = shared.started.elapsed().as_secs_f64();
    s.total_steps = shared.total_steps.load(Ordering::Relaxed);
    s.stream_clients = shared.streams.load(Ordering::Relaxed);
    s
}

fn handle(rq: Request, shared: &Shared) {
    let url = rq.url().to_string();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let method = rq.method().clone();
    match (&method, path) {
        (Method::Get, "/" | "/index.html") => send(rq, 200, "text/html; charset=utf-8", INDEX_HTML),
        (Method::Get, "/viewer.js") => send(rq, 200, "text/javascript; charset=utf-8", VIEWER_JS),
        (Method::Get, "/uPlot.iife.min.js") => {
            send(rq, 200, "text/javascript; charset=utf-8", UPLOT_JS);
        }
        (Method::Get, "/uPlot.min.css") => send(rq, 200, "text/css; charset=utf-8", UPLOT_CSS),
        (Method::Get, "/favicon.ico") => send(rq, 204, "image/x-icon", Vec::new()),
        (Method::Get, "/status") => {
            let v = serde_json::to_value(status(shared)).unwrap_or_default();
            send_json(rq, 200, &v);
        }
        (Method::Get, "/metrics") => send_json(rq, 200, &metrics(shared, query)),
        (Method::Post, "/stop") => stop(rq, shared),
        (Method::Get, p) if p.starts_with("/stream/") => match picture(shared, &p[8..]) {
            Ok(which) => stream(rq, shared, which),
            Err(e) => send(rq, 404, "text/plain; charset=utf-8", e),
        },
        (Method::Get, p) if p.starts_with("/frame/") => {
            let name = p[7..].strip_suffix(".jpg").unwrap_or(&p[7..]);
            match picture(shared, name) {
                Ok(which) => single_frame(rq, shared, which),
                Err(e) => send(rq, 404, "text/plain; charset=utf-8", e),
            }
        }
        (_, "/stop") => send(
            rq,
            405,
            "text/plain; charset=utf-8",
            "POST /stop stops the run",
        ),
        _ => send(
            rq,
            404,
            "text/plain; charset=utf-8",
            format!("no {path} here: the page is /, the JSON /status and /metrics"),
        ),
    }
}

fn stop(rq: Request, shared: &Shared) {
    if shared.setup.kind != RunKind::Training {
        send_json(
            rq,
            409,
            &serde_json::json!({"stopping": false, "error": "an evaluation runs its laps to the end"}),
        );
        return;
    }
    shared.stop.store(true, Ordering::Relaxed);
    shared.mark_stopping();
    send_json(rq, 202, &serde_json::json!({"stopping": true}));
}

/// `GET /metrics?episodes_from=N&iterations_from=M&laps_from=L`.
fn metrics(shared: &Shared, query: &str) -> serde_json::Value {
    let from = |key: &str| -> usize {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    };
    shared
        .metrics_polled_ms
        .store(shared.uptime_ms(), Ordering::Relaxed);
    let m = lock(&shared.metrics);
    let tail = |len: usize, key: &str| from(key).min(len);
    let (e, i, l) = (
        tail(m.episodes.len(), "episodes_from"),
        tail(m.iterations.len(), "iterations_from"),
        tail(m.laps.len(), "laps_from"),
    );
    serde_json::json!({
        "episodes_from": e,
        "iterations_from": i,
        "laps_from": l,
        "episodes": &m.episodes[e..],
        "iterations": &m.iterations[i..],
        "laps": &m.laps[l..],
    })
}

/// Which picture a `/stream/...` or `/frame/...` path names.
#[derive(Debug, Clone, Copy)]
enum Picture {
    Camera(usize),
    TopDown(usize),
}

fn picture(shared: &Shared, name: &str) -> Result<Picture, String> {
    let (kind, index) = name.split_once('/').unwrap_or((name, ""));
    let index: usize = index
        .parse()
        .map_err(|_| format!("{name}: expected camera/ENV or top_down/TRACK"))?;
    match kind {
        "camera" if shared.setup.camera.is_none() => {
            Err("this run has no camera (lidar only)".into())
        }
        "camera" if index < shared.setup.num_envs => Ok(Picture::Camera(index)),
        "camera" => Err(format!(
            "no env {index}: the run has {}",
            shared.setup.num_envs
        )),
        "top_down" if index < shared.setup.tracks.len() => Ok(Picture::TopDown(index)),
        "top_down" => Err(format!(
            "no track {index}: the run has {}",
            shared.setup.tracks.len()
        )),
        _ => Err(format!("{name}: expected camera/ENV or top_down/TRACK")),
    }
}

/// Waits for a frame newer than `seen` (or the viewer's shutdown, or
/// `timeout`); returns the new generation and its JPEG.
fn next_jpeg(
    shared: &Shared,
    which: Picture,
    seen: u64,
    timeout: Duration,
) -> Option<(u64, Option<Vec<u8>>)> {
    let guard = lock(&shared.frames);
    let (frames, _) = shared
        .new_frame
        .wait_timeout_while(guard, timeout, |f| {
            f.generation == seen && !shared.shutdown.load(Ordering::Relaxed)
        })
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if frames.generation == seen {
        return None;
    }
    let generation = frames.generation;
    // copy out what the picture needs, then encode without the lock (the
    // training thread publishes under it)
    let jpeg = match which {
        Picture::Camera(env) => {
            let len = shared.setup.camera.as_ref().map_or(0, |c| c.frame_len());
            let frame = frames
                .camera
                .get(env * len..(env + 1) * len)
                .map(<[u8]>::to_vec);
            drop(frames);
            frame.and_then(|f| camera_jpeg(shared, &f))
        }
        Picture::TopDown(track) => {
            let cars = frames.cars.clone();
            drop(frames);
            top_down_jpeg(shared, &cars, track)
        }
    };
    Some((generation, jpeg))
}

/// Counts an open stream while it lives.
struct StreamGuard<'a>(&'a Shared);

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        self.0.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

fn stream(rq: Request, shared: &Shared, which: Picture) {
    shared.streams.fetch_add(1, Ordering::Relaxed);
    let _guard = StreamGuard(shared);
    let mut w = rq.into_writer();
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary={BOUNDARY}\r\n\
         Cache-Control: no-store\r\nPragma: no-cache\r\nConnection: close\r\n\r\n"
    );
    if w.write_all(head.as_bytes())
        .and_then(|()| w.flush())
        .is_err()
    {
        return;
    }
    let mut seen = 0;
    // the top-down view is drawn before the first car moves
    if let Picture::TopDown(track) = which {
        let cars = lock(&shared.frames).cars.clone();
        if let Some(jpeg) = top_down_jpeg(shared, &cars, track)
            && write_part(&mut w, &jpeg).is_err()
        {
            return;
        }
    }
    while !shared.shutdown.load(Ordering::Relaxed) {
        let Some((generation, jpeg)) = next_jpeg(shared, which, seen, Duration::from_secs(1))
        else {
            continue;
        };
        seen = generation;
        if let Some(jpeg) = jpeg
            && write_part(&mut w, &jpeg).is_err()
        {
            return; // the page closed
        }
    }
}

fn write_part(w: &mut dyn Write, jpeg: &[u8]) -> std::io::Result<()> {
    write!(
        w,
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
        jpeg.len()
    )?;
    w.write_all(jpeg)?;
    w.write_all(b"\r\n")?;
    w.flush()
}

fn single_frame(rq: Request, shared: &Shared, which: Picture) {
    shared
        .frame_wanted_ms
        .store(shared.uptime_ms(), Ordering::Relaxed);
    let seen = lock(&shared.frames).generation;
    let jpeg = match (
        next_jpeg(shared, which, seen, Duration::from_secs(3)),
        which,
    ) {
        (Some((_, jpeg)), _) => jpeg,
        // the track is worth showing with the cars where they were last seen
        (None, Picture::TopDown(track)) => {
            let cars = lock(&shared.frames).cars.clone();
            top_down_jpeg(shared, &cars, track)
        }
        (None, Picture::Camera(_)) => None,
    };
    match jpeg {
        Some(jpeg) => send(rq, 200, "image/jpeg", jpeg),
        None => send(
            rq,
            503,
            "text/plain; charset=utf-8",
            "no frame within 3 s: the run is not stepping (finished, or updating)",
        ),
    }
}
