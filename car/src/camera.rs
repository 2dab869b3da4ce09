//! Camera sources. Every source delivers frames `[C, H, W]` u8 at the
//! model's size; the runtime preprocesses them exactly as training did.

use crate::error::CarError;
use image::{AnimationDecoder, DynamicImage, imageops::FilterType};
use std::path::{Path, PathBuf};

/// A frame's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameFormat {
    /// Channels (1 grayscale, 3 RGB).
    pub channels: usize,
    /// Height (px).
    pub height: usize,
    /// Width (px).
    pub width: usize,
}

impl FrameFormat {
    /// Bytes of one frame.
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// True for a zero-sized format.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A source of frames. `next_frame` blocks until a frame is ready.
pub trait Camera: Send {
    /// The frames' layout.
    fn format(&self) -> FrameFormat;

    /// Fills `out` (`[C, H, W]` u8) with the next frame; `Ok(false)` at the
    /// end of a replay.
    ///
    /// # Errors
    /// [`CarError::Camera`] when the device or file fails.
    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<bool, CarError>;
}

/// Converts an image to `[C, H, W]` u8 at `fmt`'s size (resizing with a
/// triangle filter when the size differs; grayscale by luma).
///
/// # Errors
/// A message when `fmt` asks for channels an image cannot give.
pub fn image_to_frame(
    img: &DynamicImage,
    fmt: FrameFormat,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let (w, h) = (fmt.width as u32, fmt.height as u32);
    let img = if img.width() != w || img.height() != h {
        img.resize_exact(w, h, FilterType::Triangle)
    } else {
        img.clone()
    };
    out.clear();
    match fmt.channels {
        1 => out.extend_from_slice(img.to_luma8().as_raw()),
        3 => {
            let rgb = img.to_rgb8();
            for c in 0..3 {
                out.extend(rgb.as_raw().iter().skip(c).step_by(3));
            }
        }
        n => {
            return Err(format!(
                "the model needs {n}-channel frames; image sources give 1 (gray) or 3 (RGB)"
            ));
        }
    }
    Ok(())
}

/// Replays a folder of images (PNG, JPEG, BMP; sorted by name) or an
/// animated GIF (such as `chicane evaluate --record`'s `camera.gif`).
pub struct ReplayCamera {
    name: String,
    fmt: FrameFormat,
    files: Vec<PathBuf>,
    gif_frames: Vec<DynamicImage>,
    next: usize,
    looped: bool,
}

impl ReplayCamera {
    /// Opens `path`: a folder of images or a `.gif`; `looped` replays forever.
    ///
    /// # Errors
    /// [`CarError::Camera`] for a missing path, an empty folder or an
    /// unreadable GIF.
    pub fn open(path: &Path, fmt: FrameFormat, looped: bool) -> Result<ReplayCamera, CarError> {
        let name = path.display().to_string();
        let bad = |problem: String| CarError::Camera {
            source_name: name.clone(),
            problem,
        };
        let mut cam = ReplayCamera {
            name: name.clone(),
            fmt,
            files: Vec::new(),
            gif_frames: Vec::new(),
            next: 0,
            looped,
        };
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| bad(e.to_string()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        matches!(
                            e.to_ascii_lowercase().as_str(),
                            "png" | "jpg" | "jpeg" | "bmp"
                        )
                    })
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(bad("no .png, .jpg or .bmp images in this folder".into()));
            }
            cam.files = files;
        } else if path.extension().and_then(|e| e.to_str()) == Some("gif") {
            let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
            let dec = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(file))
                .map_err(|e| bad(e.to_string()))?;
            cam.gif_frames = dec
                .into_frames()
                .map(|f| f.map(|f| DynamicImage::ImageRgba8(f.into_buffer())))
                .collect::<Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if cam.gif_frames.is_empty() {
                return Err(bad("the GIF has no frames".into()));
            }
        } else {
            return Err(bad(
                "not a folder of images or a .gif (use test-pattern, sim:TRACK or a V4L2 device)"
                    .into(),
            ));
        }
        Ok(cam)
    }

    /// Frames in one pass.
    pub fn len(&self) -> usize {
        self.files.len().max(self.gif_frames.len())
    }

    /// True if there is nothing to replay.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Camera for ReplayCamera {
    fn format(&self) -> FrameFormat {
        self.fmt
    }

    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<bool, CarError> {
        if self.next >= self.len() {
            if !self.looped {
                return Ok(false);
            }
            self.next = 0;
        }
        let i = self.next;
        self.next += 1;
        let bad = |problem: String| CarError::Camera {
            source_name: self.name.clone(),
            problem,
        };
        let img = if let Some(f) = self.files.get(i) {
            image::open(f).map_err(|e| bad(format!("{}: {e}", f.display())))?
        } else {
            self.gif_frames[i].clone()
        };
        image_to_frame(&img, self.fmt, out).map_err(bad)?;
        Ok(true)
    }
}

/// A synthetic moving pattern (a road-like pair of bright stripes that
/// sway left and right), for bench tests without a camera. With
/// `stall_after` it stops delivering frames after that many, to drill the
/// watchdog.
pub struct TestPattern {
    fmt: FrameFormat,
    n: u64,
    stall_after: Option<u64>,
}

impl TestPattern {
    /// A pattern at `fmt`.
    pub fn new(fmt: FrameFormat, stall_after: Option<u64>) -> Self {
        Self {
            fmt,
            n: 0,
            stall_after,
        }
    }
}

impl Camera for TestPattern {
    fn format(&self) -> FrameFormat {
        self.fmt
    }

    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<bool, CarError> {
        if self.stall_after.is_some_and(|n| self.n >= n) {
            // a camera that hangs: block (the watchdog must stop the car)
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        let FrameFormat {
            channels,
            height,
            width,
        } = self.fmt;
        let sway = (self.n as f64 * 0.2).sin() * 0.15;
        out.clear();
        out.resize(self.fmt.len(), 0);
        for y in 0..height {
            // stripes converge towards the horizon (top third is sky)
            let depth = (y as f64 / height as f64 - 0.33).max(0.0) / 0.67;
            let half = 0.05 + 0.4 * depth;
            let centre = 0.5 + sway * depth;
            for x in 0..width {
                let u = x as f64 / width as f64;
                let d = ((u - centre).abs() - half).abs();
                let v = if y * 3 < height {
                    200
                } else if d < 0.02 {
                    255
                } else {
                    60
                };
                for c in 0..channels {
                    out[(c * height + y) * width + x] = v;
                }
            }
        }
        self.n += 1;
        Ok(true)
    }
}

/// A V4L2 capture device (USB or CSI camera), grabbing YUYV or grey frames
/// and converting them to the model's size. The device is streamed on a
/// thread of its own (V4L2 buffers are tied to the thread that maps them).
#[cfg(feature = "v4l2")]
pub struct V4l2Camera {
    name: String,
    fmt: FrameFormat,
    rx: std::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
}

#[cfg(feature = "v4l2")]
impl V4l2Camera {
    /// Opens `device` (e.g. `/dev/video0`), asking for frames at the
    /// model's size (the driver may choose another; frames are resized).
    ///
    /// # Errors
    /// [`CarError::Camera`] if the device cannot be opened or streamed.
    pub fn open(device: &Path, fmt: FrameFormat) -> Result<V4l2Camera, CarError> {
        let name = device.display().to_string();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let path = device.to_path_buf();
        std::thread::Builder::new()
            .name("v4l2".into())
            .spawn(move || capture_v4l2(&path, fmt, &tx))
            .map_err(|e| CarError::Camera {
                source_name: name.clone(),
                problem: e.to_string(),
            })?;
        // the first message says whether the device opened
        match rx.recv() {
            Ok(Ok(_)) => {}
            Ok(Err(problem)) => {
                return Err(CarError::Camera {
                    source_name: name,
                    problem,
                });
            }
            Err(_) => {
                return Err(CarError::Camera {
                    source_name: name,
                    problem: "the capture thread stopped".into(),
                });
            }
        }
        Ok(V4l2Camera { name, fmt, rx })
    }
}

/// Streams `path` into `tx`: an empty frame first once the device is
/// open, then every frame converted to `fmt`; stops at the first error
/// (sent) or when the receiver is gone.
#[cfg(feature = "v4l2")]
fn capture_v4l2(
    path: &Path,
    fmt: FrameFormat,
    tx: &std::sync::mpsc::SyncSender<Result<Vec<u8>, String>>,
) {
    use v4l::io::traits::CaptureStream;
    use v4l::video::Capture;
    let open = || -> std::io::Result<(v4l::Device, v4l::Format)> {
        let dev = v4l::Device::with_path(path)?;
        let mut f = dev.format()?;
        f.width = fmt.width as u32;
        f.height = fmt.height as u32;
        f.fourcc = v4l::FourCC::new(b"YUYV");
        let f = dev.set_format(&f)?;
        Ok((dev, f))
    };
    let (dev, f) = match open() {
        Ok(x) => x,
        Err(e) => {
            let _ = tx.send(Err(e.to_string()));
            return;
        }
    };
    let mut stream =
        match v4l::io::mmap::Stream::with_buffers(&dev, v4l::buffer::Type::VideoCapture, 2) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
    if tx.send(Ok(Vec::new())).is_err() {
        return;
    }
    let grey = f.fourcc == v4l::FourCC::new(b"GREY");
    loop {
        let msg = match stream.next() {
            Ok((buf, _)) => {
                // YUYV: luma is every other byte; GREY: one byte per pixel
                let luma: Vec<u8> = if grey {
                    buf.to_vec()
                } else {
                    buf.iter().step_by(2).copied().collect()
                };
                match image::GrayImage::from_raw(f.width, f.height, luma) {
                    Some(img) => {
                        let mut out = Vec::new();
                        image_to_frame(&DynamicImage::ImageLuma8(img), fmt, &mut out).map(|()| out)
                    }
                    None => Err(format!(
                        "short frame for {}x{} {}",
                        f.width, f.height, f.fourcc
                    )),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let stop = msg.is_err();
        if tx.send(msg).is_err() || stop {
            return;
        }
    }
}

#[cfg(feature = "v4l2")]
impl Camera for V4l2Camera {
    fn format(&self) -> FrameFormat {
        self.fmt
    }

    fn next_frame(&mut self, out: &mut Vec<u8>) -> Result<bool, CarError> {
        match self.rx.recv() {
            Ok(Ok(frame)) => {
                *out = frame;
                Ok(true)
            }
            Ok(Err(problem)) => Err(CarError::Camera {
                source_name: self.name.clone(),
                problem,
            }),
            Err(_) => Err(CarError::Camera {
                source_name: self.name.clone(),
                problem: "the capture thread stopped".into(),
            }),
        }
    }
}
