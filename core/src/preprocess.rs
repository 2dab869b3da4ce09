//! Observation preprocessing shared by the trainer and the car runtime:
//! camera frames (u8) to the network's input (f32), with optional
//! downscaling and frame stacking.

use serde::{Deserialize, Serialize};

/// How camera frames become network input. Saved with every model so the
/// car runtime does exactly what training did.
///
/// # Shapes
/// Input frame `[C, H, W]` u8 (channel-major, as the simulator and the
/// camera sources produce); output `[C * stack_size, H / downscale,
/// W / downscale]` f32 in `[0, 1]`, the newest frame's channels last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Frame channels (1 grayscale, 2 stereo, 3 RGB).
    pub channels: usize,
    /// Frame height (px).
    pub height: usize,
    /// Frame width (px).
    pub width: usize,
    /// Integer box-filter downscale factor (1 = full size). Each output
    /// pixel is the mean of a `downscale x downscale` block; a remainder
    /// at the right or bottom edge is dropped.
    pub downscale: usize,
    /// Number of consecutive frames stacked as channels (DeepRacer's
    /// `stack_size` hyperparameter; 1 = no stacking).
    pub stack_size: usize,
}

impl Preprocess {
    /// The input shape the network sees: `[channels * stack_size, height /
    /// downscale, width / downscale]`.
    pub fn output_shape(&self) -> [usize; 3] {
        let ds = self.downscale.max(1);
        [
            self.channels * self.stack_size.max(1),
            self.height / ds,
            self.width / ds,
        ]
    }

    /// Number of f32 values of one preprocessed observation.
    pub fn output_len(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// Number of u8 values of one raw frame.
    pub fn frame_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Converts one frame to f32 in `[0, 1]` at the output resolution.
    ///
    /// # Shapes
    /// `frame`: `[C, H, W]` u8; `out`: `[C, H / downscale, W / downscale]`.
    ///
    /// # Panics
    /// Never for slices of the documented lengths; shorter slices are
    /// processed only as far as they reach (the remainder of `out` is left).
    pub fn frame_to_f32(&self, frame: &[u8], out: &mut [f32]) {
        let ds = self.downscale.max(1);
        let (h2, w2) = (self.height / ds, self.width / ds);
        if ds == 1 {
            // full size: one multiply per pixel (the car's hot path)
            for (o, &p) in out.iter_mut().zip(frame.iter().take(self.frame_len())) {
                *o = f32::from(p) * (1.0 / 255.0);
            }
            return;
        }
        let scale = 1.0 / (255.0 * (ds * ds) as f32);
        for c in 0..self.channels {
            let plane = &frame[(c * self.height * self.width).min(frame.len())..];
            for y in 0..h2 {
                for x in 0..w2 {
                    let mut sum = 0u32;
                    for dy in 0..ds {
                        let row = (y * ds + dy) * self.width + x * ds;
                        if let Some(px) = plane.get(row..row + ds) {
                            sum += px.iter().map(|&p| u32::from(p)).sum::<u32>();
                        }
                    }
                    if let Some(o) = out.get_mut((c * h2 + y) * w2 + x) {
                        *o = sum as f32 * scale;
                    }
                }
            }
        }
    }
}

/// The last `stack_size` preprocessed frames of one camera, oldest first.
/// After a reset the first frame fills every slot (as DeepRacer's frame
/// stacking does).
#[derive(Debug, Clone)]
pub struct FrameStack {
    pre: Preprocess,
    frames: Vec<f32>,
}

impl FrameStack {
    /// An empty stack for `pre`.
    pub fn new(pre: Preprocess) -> Self {
        Self {
            pre,
            frames: vec![0.0; pre.output_len()],
        }
    }

    /// Starts a new episode with `frame` in every slot.
    ///
    /// # Shapes
    /// `frame`: `[C, H, W]` u8.
    pub fn reset(&mut self, frame: &[u8]) {
        let one = self.frames.len() / self.pre.stack_size.max(1);
        self.pre.frame_to_f32(frame, &mut self.frames[..one]);
        for k in 1..self.pre.stack_size.max(1) {
            self.frames.copy_within(..one, k * one);
        }
    }

    /// Drops the oldest frame and appends `frame`.
    ///
    /// # Shapes
    /// `frame`: `[C, H, W]` u8.
    pub fn push(&mut self, frame: &[u8]) {
        let one = self.frames.len() / self.pre.stack_size.max(1);
        self.frames.copy_within(one.., 0);
        let n = self.frames.len();
        self.pre.frame_to_f32(frame, &mut self.frames[n - one..]);
    }

    /// The stacked observation.
    ///
    /// # Shapes
    /// `[C * stack_size, H / downscale, W / downscale]` f32.
    pub fn observation(&self) -> &[f32] {
        &self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(ds: usize, stack: usize) -> Preprocess {
        Preprocess {
            channels: 1,
            height: 4,
            width: 4,
            downscale: ds,
            stack_size: stack,
        }
    }

    #[test]
    fn downscale_averages_blocks() {
        let frame: Vec<u8> = (0..16).map(|i| (i * 10) as u8).collect();
        let p = pre(2, 1);
        assert_eq!(p.output_shape(), [1, 2, 2]);
        let mut out = vec![0.0; 4];
        p.frame_to_f32(&frame, &mut out);
        // top-left block: 0, 10, 40, 50 -> mean 25
        assert!((out[0] - 25.0 / 255.0).abs() < 1e-6);
        // bottom-right block: 100, 110, 140, 150 -> 125
        assert!((out[3] - 125.0 / 255.0).abs() < 1e-6);
    }

    #[test]
    fn full_size_is_a_scale() {
        let frame = vec![255u8; 16];
        let p = pre(1, 1);
        let mut out = vec![0.0; 16];
        p.frame_to_f32(&frame, &mut out);
        assert!(out.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }

    #[test]
    fn stack_keeps_newest_last() {
        let p = pre(4, 3);
        let mut st = FrameStack::new(p);
        st.reset(&[51u8; 16]);
        assert_eq!(st.observation().len(), 3);
        assert!(st.observation().iter().all(|&v| (v - 0.2).abs() < 1e-6));
        st.push(&[255u8; 16]);
        let o = st.observation();
        assert!((o[0] - 0.2).abs() < 1e-6 && (o[1] - 0.2).abs() < 1e-6);
        assert!((o[2] - 1.0).abs() < 1e-6);
    }
}
