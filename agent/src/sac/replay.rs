//! SAC's replay buffer: a ring of observation slots, each observation
//! stored once, and transitions that point at the slot of their next
//! observation (the next row of the same env, or a final observation
//! stored beside the rollout's rows).
//!
//! Camera observations are stored exactly as integers: a preprocessed
//! value is `sum of k*k u8 pixels / (255 k^2)` (`chicane_core::Preprocess`),
//! so `value * 255 k^2` is an integer that fits a `u16`, and decoding
//! multiplies by the same f32 constant the preprocessing did: the frames
//! the critics learn from are bit for bit the ones the policy acted on.
//! Slots are overwritten oldest first; a transition's next observation
//! is always stored after it, so it outlives the transition.

use crate::error::AgentError;
use crate::learner::{HostObs, Rollout};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The transitions of one minibatch, decoded.
///
/// # Shapes
/// `obs`, `next_obs`: `n` observations; `actions`: `[n, A]`; the rest `[n]`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Batch {
    pub obs: HostObs,
    pub actions: Vec<f32>,
    pub rewards: Vec<f32>,
    pub terminated: Vec<bool>,
    pub next_obs: HostObs,
}

/// The replay buffer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReplayBuffer {
    capacity: usize,
    cam_len: usize,
    vec_len: usize,
    act_len: usize,
    /// `255 k^2`: a camera value times this is its integer code.
    scale: f32,
    cam: Vec<u16>,
    vector: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
    next: Vec<u32>,
    transition: Vec<bool>,
    /// The next slot to write.
    head: usize,
    /// Slots written so far (at most `capacity`).
    filled: usize,
    /// Slots that hold a transition.
    transitions: usize,
}

impl ReplayBuffer {
    /// An empty buffer of `capacity` observation slots for observations of
    /// `cam_len` camera values (preprocessed with a box downscale of
    /// `downscale`) and `vec_len` vector values, and actions of `act_len`
    /// dimensions.
    pub fn new(
        capacity: usize,
        cam_len: usize,
        vec_len: usize,
        act_len: usize,
        downscale: usize,
    ) -> ReplayBuffer {
        let capacity = capacity.max(1);
        ReplayBuffer {
            capacity,
            cam_len,
            vec_len,
            act_len,
            scale: 255.0 * (downscale * downscale).max(1) as f32,
            cam: vec![0; capacity * cam_len],
            vector: vec![0.0; capacity * vec_len],
            actions: vec![0.0; capacity * act_len],
            rewards: vec![0.0; capacity],
            terminated: vec![false; capacity],
            next: vec![0; capacity],
            transition: vec![false; capacity],
            head: 0,
            filled: 0,
            transitions: 0,
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.transitions
    }

    /// Bytes of one stored observation.
    pub fn obs_bytes(cam_len: usize, vec_len: usize) -> usize {
        cam_len * 2 + vec_len * 4
    }

    /// Writes observation `i` of `obs` into the next slot (as an
    /// observation only); returns the slot.
    fn put_obs(&mut self, obs: &HostObs, i: usize) -> Result<usize, AgentError> {
        let s = self.head;
        if self.cam_len > 0 {
            let src = &obs.camera[i * self.cam_len..(i + 1) * self.cam_len];
            let dst = &mut self.cam[s * self.cam_len..(s + 1) * self.cam_len];
            for (d, &x) in dst.iter_mut().zip(src) {
                let q = (x * self.scale).round();
                // the decoded value must be the one the network saw
                if !(0.0..=f32::from(u16::MAX)).contains(&q) || q * (1.0 / self.scale) != x {
                    return Err(AgentError::Shape(format!(
                        "a camera value {x} is not a preprocessed frame's (k*k u8 pixels / \
                         {}); SAC's replay buffer stores frames as chicane_core::Preprocess \
                         makes them",
                        self.scale
                    )));
                }
                *d = q as u16;
            }
        }
        if self.vec_len > 0 {
            self.vector[s * self.vec_len..(s + 1) * self.vec_len]
                .copy_from_slice(&obs.vector[i * self.vec_len..(i + 1) * self.vec_len]);
        }
        if std::mem::replace(&mut self.transition[s], false) {
            self.transitions -= 1;
        }
        self.head = (s + 1) % self.capacity;
        self.filled = (self.filled + 1).min(self.capacity);
        Ok(s)
    }

    /// Adds every transition of `rollout` (its observations, then its
    /// final observations, then the transitions that still have their
    /// slot when the rollout is larger than the buffer).
    ///
    /// # Errors
    /// [`AgentError::Shape`] when the rollout's arrays disagree, or hold
    /// observations this buffer cannot store exactly.
    pub fn push(&mut self, rollout: &Rollout) -> Result<(), AgentError> {
        let b = rollout.log_probs.len();
        let f = rollout.next_obs.n;
        let consistent = rollout.obs.n == b
            && rollout.rewards.len() == b
            && rollout.terminated.len() == b
            && rollout.next.len() == b
            && rollout.raw_actions.len() == b * self.act_len
            && rollout.obs.camera.len() == b * self.cam_len
            && rollout.obs.vector.len() == b * self.vec_len
            && rollout.next_obs.camera.len() == f * self.cam_len
            && rollout.next_obs.vector.len() == f * self.vec_len
            && rollout.next.iter().all(|&j| (j as usize) < b + f);
        if !consistent {
            return Err(AgentError::Shape(format!(
                "a rollout of {b} steps whose observations, actions, rewards or next \
                 observations ({f} final) do not fit SAC's replay buffer"
            )));
        }
        let mut slots = Vec::with_capacity(b + f);
        for i in 0..b {
            slots.push(self.put_obs(&rollout.obs, i)?);
        }
        for i in 0..f {
            slots.push(self.put_obs(&rollout.next_obs, i)?);
        }
        // rows whose slot was written again within this rollout are gone
        let survivors = self.capacity.saturating_sub(f).min(b);
        for k in b - survivors..b {
            let s = slots[k];
            let a = self.act_len;
            self.actions[s * a..(s + 1) * a]
                .copy_from_slice(&rollout.raw_actions[k * a..(k + 1) * a]);
            self.rewards[s] = rollout.rewards[k];
            self.terminated[s] = rollout.terminated[k];
            self.next[s] = slots[rollout.next[k] as usize] as u32;
            self.transition[s] = true;
            self.transitions += 1;
        }
        Ok(())
    }

    /// Why `other` (read from a checkpoint) cannot replace this buffer, or
    /// `None` when it can: the same capacity, observation and action sizes
    /// and frame codes, and arrays of those sizes.
    pub fn mismatch(&self, other: &ReplayBuffer) -> Option<String> {
        let shape = |b: &ReplayBuffer| (b.capacity, b.cam_len, b.vec_len, b.act_len, b.scale);
        if shape(self) != shape(other) {
            return Some(format!(
                "holds {} slots of {} camera and {} vector values and {}-dimensional actions; \
                 this run's buffer is {} slots of {}, {} and {} (resume with the same \
                 sac_buffer_size, sensors and network, or delete the file to refill the buffer)",
                other.capacity,
                other.cam_len,
                other.vec_len,
                other.act_len,
                self.capacity,
                self.cam_len,
                self.vec_len,
                self.act_len
            ));
        }
        let c = other.capacity;
        let sized = other.cam.len() == c * other.cam_len
            && other.vector.len() == c * other.vec_len
            && other.actions.len() == c * other.act_len
            && [
                other.rewards.len(),
                other.terminated.len(),
                other.next.len(),
                other.transition.len(),
            ]
            .iter()
            .all(|&n| n == c)
            && other.head < c
            && other.filled <= c
            && other.transitions == other.transition.iter().filter(|t| **t).count()
            && other.next.iter().all(|&s| (s as usize) < c);
        (!sized).then(|| "is damaged (its arrays do not have their sizes)".to_string())
    }

    /// Decodes slot `s`'s observation onto `out`.
    fn decode(&self, s: usize, out: &mut HostObs) {
        out.n += 1;
        let inv = 1.0 / self.scale;
        out.camera.extend(
            self.cam[s * self.cam_len..(s + 1) * self.cam_len]
                .iter()
                .map(|&q| f32::from(q) * inv),
        );
        out.vector
            .extend_from_slice(&self.vector[s * self.vec_len..(s + 1) * self.vec_len]);
    }

    /// `n` transitions drawn uniformly (with replacement) into `batch`.
    ///
    /// # Errors
    /// [`AgentError::Shape`] when the buffer holds no transition.
    pub fn sample(
        &self,
        n: usize,
        rng: &mut impl Rng,
        batch: &mut Batch,
    ) -> Result<(), AgentError> {
        if self.transitions == 0 {
            return Err(AgentError::Shape("SAC's replay buffer is empty".into()));
        }
        // emptied, keeping the buffers' capacity for the next draw
        for o in [&mut batch.obs, &mut batch.next_obs] {
            o.n = 0;
            o.camera.clear();
            o.vector.clear();
        }
        batch.actions.clear();
        batch.rewards.clear();
        batch.terminated.clear();
        for _ in 0..n {
            // final observations' slots hold no transition: draw again
            let s = loop {
                let s = rng.random_range(0..self.filled);
                if self.transition[s] {
                    break s;
                }
            };
            self.decode(s, &mut batch.obs);
            self.decode(self.next[s] as usize, &mut batch.next_obs);
            batch
                .actions
                .extend_from_slice(&self.actions[s * self.act_len..(s + 1) * self.act_len]);
            batch.rewards.push(self.rewards[s]);
            batch.terminated.push(self.terminated[s]);
        }
        Ok(())
    }
}
