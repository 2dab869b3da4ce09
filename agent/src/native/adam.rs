//! Adam on flat parameters, burn's variant (Kingma and Ba 2015, with the
//! bias corrections folded as burn 0.22's `AdaptiveMomentum` does), so the
//! native learner steps exactly as the burn one.

use serde::{Deserialize, Serialize};

/// Parameters per parallel chunk of element-wise work.
pub(crate) const CHUNK: usize = 1 << 15;

/// Adam's moments and step count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Adam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub time: i32,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

impl Adam {
    /// A fresh optimizer for `len` parameters (burn's defaults, epsilon 1e-5).
    pub fn new(len: usize) -> Adam {
        Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
            time: 0,
            m: vec![0.0; len],
            v: vec![0.0; len],
        }
    }

    /// One step of `lr` on `p` with gradients `g`, in parallel chunks
    /// (element-wise, so the result does not depend on the threads).
    pub fn step(&mut self, lr: f32, p: &mut [f32], g: &[f32]) {
        use rayon::prelude::*;
        self.time += 1;
        let (b1, b2) = (self.beta_1, self.beta_2);
        let bc2 = (1.0 - b2.powi(self.time)).sqrt();
        let factor = bc2 / (1.0 - b1.powi(self.time));
        let eps = self.epsilon * bc2;
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(self.m.par_chunks_mut(CHUNK))
            .zip(self.v.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m), v)| {
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *p -= lr * (*m * factor / (v.sqrt() + eps));
                }
            });
    }
}
