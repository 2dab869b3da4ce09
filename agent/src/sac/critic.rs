//! SAC's twin Q critics on the native path: two MLPs over the encoder's
//! features and the action, `Q_j(h, a) = W3 relu(W2 relu(W1 [h, a] + b1)
//! + b2) + b3` (rl_coach's SAC Q head: dense 256, 256, then one output),
//! on flat f32 parameters in burn's `[in, out]` weight layout.

use crate::native::{Act, act_grad, bias_act, col_sums, gemm};
use rand::Rng;

/// The critics' shapes: input width (features + action dimensions) and
/// hidden width; the flat parameters hold Q1's `W1, b1, W2, b2, W3, b3`
/// and then Q2's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Critic {
    pub features: usize,
    pub actions: usize,
    pub hidden: usize,
}

/// One forward pass of both critics, kept for the backward pass.
#[derive(Debug, Default)]
pub(crate) struct CriticCache {
    n: usize,
    /// `[n, features + actions]`.
    x: Vec<f32>,
    /// Each critic's hidden activations `[n, hidden]`.
    a1: [Vec<f32>; 2],
    a2: [Vec<f32>; 2],
    /// Each critic's values `[n]`.
    pub q: [Vec<f32>; 2],
    // backward scratch
    d2: Vec<f32>,
    d1: Vec<f32>,
}

/// The offsets of one critic's tensors within its block.
struct Slots {
    w1: usize,
    b1: usize,
    w2: usize,
    b2: usize,
    w3: usize,
    b3: usize,
    end: usize,
}

impl Critic {
    fn input(&self) -> usize {
        self.features + self.actions
    }

    fn slots(&self) -> Slots {
        let (i, h) = (self.input(), self.hidden);
        let w1 = 0;
        let b1 = w1 + i * h;
        let w2 = b1 + h;
        let b2 = w2 + h * h;
        let w3 = b2 + h;
        let b3 = w3 + h;
        Slots {
            w1,
            b1,
            w2,
            b2,
            w3,
            b3,
            end: b3 + 1,
        }
    }

    /// Parameters of one critic.
    pub fn len_one(&self) -> usize {
        self.slots().end
    }

    /// Parameters of both critics.
    pub fn len(&self) -> usize {
        2 * self.len_one()
    }

    /// Fresh parameters: every weight and bias uniform in
    /// `+-1/sqrt(fan_in)` (PyTorch's `nn.Linear` default, which rl_coach's
    /// and Stable-Baselines3's SAC critics start from).
    pub fn init(&self, rng: &mut impl Rng) -> Vec<f32> {
        let s = self.slots();
        let (i, h) = (self.input(), self.hidden);
        let mut p = vec![0.0f32; self.len()];
        for block in p.chunks_exact_mut(self.len_one()) {
            for (range, fan_in) in [(s.w1..s.w2, i), (s.w2..s.w3, h), (s.w3..s.end, h)] {
                let bound = 1.0 / (fan_in as f32).sqrt();
                for v in &mut block[range] {
                    *v = rng.random_range(-bound..bound);
                }
            }
        }
        p
    }

    /// Both critics' values of `n` feature rows `h` (`[n, features]`) with
    /// actions `a` (`[n, actions]`), into `cache.q`.
    pub fn forward(&self, p: &[f32], h: &[f32], a: &[f32], n: usize, cache: &mut CriticCache) {
        let (f, na, hd) = (self.features, self.actions, self.hidden);
        let inp = self.input();
        cache.n = n;
        cache.x.clear();
        for r in 0..n {
            cache.x.extend_from_slice(&h[r * f..(r + 1) * f]);
            cache.x.extend_from_slice(&a[r * na..(r + 1) * na]);
        }
        let s = self.slots();
        for (j, block) in p.chunks_exact(self.len_one()).enumerate() {
            let a1 = &mut cache.a1[j];
            a1.resize(n * hd, 0.0);
            gemm(
                n,
                inp,
                hd,
                &cache.x,
                false,
                &block[s.w1..s.b1],
                false,
                0.0,
                a1,
            );
            bias_act(a1, &block[s.b1..s.w2], Act::Relu);
            let a2 = &mut cache.a2[j];
            a2.resize(n * hd, 0.0);
            gemm(
                n,
                hd,
                hd,
                &cache.a1[j],
                false,
                &block[s.w2..s.b2],
                false,
                0.0,
                a2,
            );
            bias_act(a2, &block[s.b2..s.w3], Act::Relu);
            let q = &mut cache.q[j];
            q.resize(n, 0.0);
            gemm(
                n,
                hd,
                1,
                &cache.a2[j],
                false,
                &block[s.w3..s.b3],
                false,
                0.0,
                q,
            );
            q.iter_mut().for_each(|v| *v += block[s.b3]);
        }
    }

    /// The backward pass of the last [`Critic::forward`] for the gradients
    /// `dq` by each critic's values (`[n]` each): adds the parameters'
    /// gradients into `grads` (flat like the parameters) when given, and
    /// writes the gradient by the input, summed over both critics, into
    /// `dx` (`[n, features + actions]`: features first, then the action).
    pub fn backward(
        &self,
        p: &[f32],
        cache: &mut CriticCache,
        dq: [&[f32]; 2],
        mut grads: Option<&mut [f32]>,
        dx: &mut Vec<f32>,
    ) {
        let (n, inp, hd) = (cache.n, self.input(), self.hidden);
        let s = self.slots();
        dx.clear();
        dx.resize(n * inp, 0.0);
        let one = self.len_one();
        for j in 0..2 {
            let block = &p[j * one..(j + 1) * one];
            let dqj = dq[j];
            let (a1, a2) = (&cache.a1[j], &cache.a2[j]);
            if let Some(g) = grads.as_deref_mut() {
                let g = &mut g[j * one..(j + 1) * one];
                gemm(hd, n, 1, a2, true, dqj, false, 1.0, &mut g[s.w3..s.b3]);
                g[s.b3] += dqj.iter().sum::<f32>();
            }
            let d2 = &mut cache.d2;
            d2.resize(n * hd, 0.0);
            gemm(n, 1, hd, dqj, false, &block[s.w3..s.b3], true, 0.0, d2);
            act_grad(d2, a2, Act::Relu);
            if let Some(g) = grads.as_deref_mut() {
                let g = &mut g[j * one..(j + 1) * one];
                gemm(hd, n, hd, a1, true, d2, false, 1.0, &mut g[s.w2..s.b2]);
                col_sums(d2, hd, &mut g[s.b2..s.w3]);
            }
            let d1 = &mut cache.d1;
            d1.resize(n * hd, 0.0);
            gemm(
                n,
                hd,
                hd,
                &cache.d2,
                false,
                &block[s.w2..s.b2],
                true,
                0.0,
                d1,
            );
            act_grad(d1, a1, Act::Relu);
            if let Some(g) = grads.as_deref_mut() {
                let g = &mut g[j * one..(j + 1) * one];
                gemm(
                    inp,
                    n,
                    hd,
                    &cache.x,
                    true,
                    &cache.d1,
                    false,
                    1.0,
                    &mut g[s.w1..s.b1],
                );
                col_sums(&cache.d1, hd, &mut g[s.b1..s.w2]);
            }
            gemm(
                n,
                hd,
                inp,
                &cache.d1,
                false,
                &block[s.w1..s.b1],
                true,
                1.0,
                dx,
            );
        }
    }
}
