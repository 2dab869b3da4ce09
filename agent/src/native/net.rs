//! chicane's own forward and backward pass of its camera networks
//! (conv stack, dense layers, middleware, policy and value heads), on
//! flat f32 parameters in burn's layouts, so weights move between the two
//! unchanged. Activations are NHWC within the conv stack (im2col + one
//! matrix product per layer; patches of the NHWC layers are ordered
//! `(ky, kx, c)` so that each kernel row is one contiguous copy, with the
//! weights permuted to match); the flatten before the dense layers uses
//! burn's NCHW order.

use super::gemm::gemm;
use crate::net::{ActorCriticConfig, HeadKind, NetworkKind};

/// One conv layer's geometry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvShape {
    pub in_c: usize,
    pub out_c: usize,
    pub k: usize,
    pub s: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl ConvShape {
    fn patch(&self) -> usize {
        self.in_c * self.k * self.k
    }
    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }
}

/// Where each parameter tensor sits in the flat vector.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub offset: usize,
    pub len: usize,
}

/// The network's layout: shapes and parameter slots, in burn's field order
/// (convs, camera dense layers, middleware, policy, value, log std).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub convs: Vec<ConvShape>,
    /// `(weight, bias)` of each conv layer.
    pub conv_slots: Vec<(Slot, Slot)>,
    /// `(in, out)` of each dense layer after the convs (camera dense, then
    /// the middleware).
    pub dense: Vec<(usize, usize)>,
    pub dense_slots: Vec<(Slot, Slot)>,
    pub policy: (Slot, Slot),
    pub value: (Slot, Slot),
    pub log_std: Option<Slot>,
    pub outputs: usize,
    pub tanh: bool,
    pub len: usize,
}

impl Layout {
    /// The layout of `cfg`, or `None` when the native path does not cover
    /// it (lidar or other vector inputs; the MLP).
    pub fn of(cfg: &ActorCriticConfig) -> Option<Layout> {
        let cam = cfg.camera?;
        if cfg.vector.is_some() || cfg.network == NetworkKind::Mlp {
            return None;
        }
        let mut next = 0;
        let mut slot = |len: usize| {
            let s = Slot { offset: next, len };
            next += len;
            s
        };
        let (mut c, mut h, mut w) = (cam[0], cam[1], cam[2]);
        let mut convs = Vec::new();
        let mut conv_slots = Vec::new();
        for &[f, k, s] in cfg.network.conv_layers() {
            if h < k || w < k {
                return None;
            }
            let shape = ConvShape {
                in_c: c,
                out_c: f,
                k,
                s,
                in_h: h,
                in_w: w,
                out_h: (h - k) / s + 1,
                out_w: (w - k) / s + 1,
            };
            conv_slots.push((slot(f * c * k * k), slot(f)));
            (c, h, w) = (f, shape.out_h, shape.out_w);
            convs.push(shape);
        }
        let mut dense = Vec::new();
        let mut dense_slots = Vec::new();
        let mut n = c * h * w;
        for &d in cfg
            .network
            .camera_dense_layers()
            .iter()
            .chain([cfg.middleware].iter())
        {
            dense.push((n, d));
            dense_slots.push((slot(n * d), slot(d)));
            n = d;
        }
        let (outputs, gaussian) = match cfg.head {
            HeadKind::Categorical(a) => (a, false),
            HeadKind::Gaussian(a) => (a, true),
            // means and log stds are both outputs of the head
            HeadKind::SquashedGaussian(a) => (2 * a, false),
        };
        let policy = (slot(n * outputs), slot(outputs));
        let value = (slot(n), slot(1));
        let log_std = gaussian.then(|| slot(outputs));
        Some(Layout {
            convs,
            conv_slots,
            dense,
            dense_slots,
            policy,
            value,
            log_std,
            outputs,
            tanh: cfg.network.uses_tanh(),
            len: next,
        })
    }

    /// Width of the features the heads read (the middleware's output).
    pub fn features(&self) -> usize {
        self.dense.last().map_or(0, |d| d.1)
    }

    /// Where the encoder's parameters end: convs, camera dense layers and
    /// the middleware come first in the flat vector, the heads after.
    pub fn encoder_len(&self) -> usize {
        self.policy.0.offset
    }
}

/// The activations of one forward pass, kept for the backward pass, and
/// the backward pass's buffers.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    n: usize,
    /// Each conv layer's weights in its patch order `[out_c, patch]`
    /// (layers after the first: `(ky, kx, c)`; the first keeps burn's).
    wperm: Vec<Vec<f32>>,
    /// im2col matrix of each conv layer `[n * positions, patch]`.
    cols: Vec<Vec<f32>>,
    /// Each conv layer's output after its activation, NHWC `[n * positions, out_c]`.
    conv_out: Vec<Vec<f32>>,
    /// The flattened conv output (burn's NCHW order), then each dense
    /// layer's output after its activation.
    dense_in: Vec<Vec<f32>>,
    /// Policy outputs `[n, outputs]` and values `[n]`.
    pub policy: Vec<f32>,
    pub value: Vec<f32>,
    // backward scratch
    dh: Vec<f32>,
    dx: Vec<f32>,
    dcols: Vec<f32>,
    dw: Vec<f32>,
}

impl Cache {
    /// The features of the last forward pass (the middleware's output after
    /// its ReLU), `[n, features]`.
    pub fn features(&self) -> &[f32] {
        self.dense_in.last().map_or(&[], Vec::as_slice)
    }
}

/// An activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Act {
    Relu,
    Tanh,
    Identity,
}

/// Resizes `v` to `len` zeros.
fn zeros(v: &mut Vec<f32>, len: usize) {
    v.clear();
    v.resize(len, 0.0);
}

/// Resizes `v` to `len` values for a caller that overwrites every one:
/// no clearing, so a buffer of the same size is not written twice.
fn sized(v: &mut Vec<f32>, len: usize) {
    v.resize(len, 0.0);
    v.truncate(len);
}

/// im2col of the first layer's NCHW input `[n, c, h, w]` into rows
/// `(n, oy, ox)` of patches `(c, ky, kx)` (burn's weight order).
fn im2col_nchw(x: &[f32], sh: &ConvShape, n: usize, cols: &mut Vec<f32>) {
    let (k, s, p) = (sh.k, sh.s, sh.patch());
    let (sc, sy) = (sh.in_h * sh.in_w, sh.in_w);
    let sn = sh.in_c * sc;
    sized(cols, n * sh.positions() * p);
    let mut rows = cols.chunks_exact_mut(p);
    for b in 0..n {
        for oy in 0..sh.out_h {
            for ox in 0..sh.out_w {
                let Some(out) = rows.next() else { return };
                let mut runs = out.chunks_exact_mut(k);
                for c in 0..sh.in_c {
                    for ky in 0..k {
                        let base = b * sn + c * sc + (oy * s + ky) * sy + ox * s;
                        if let Some(run) = runs.next() {
                            run.copy_from_slice(&x[base..base + k]);
                        }
                    }
                }
            }
        }
    }
}

/// im2col of an NHWC input `[n, h, w, c]` into rows `(n, oy, ox)` of
/// patches `(ky, kx, c)`: one contiguous copy per kernel row.
fn im2col_nhwc(x: &[f32], sh: &ConvShape, n: usize, cols: &mut Vec<f32>) {
    let (k, s, p) = (sh.k, sh.s, sh.patch());
    let run = k * sh.in_c;
    let sy = sh.in_w * sh.in_c;
    let sn = sh.in_h * sy;
    sized(cols, n * sh.positions() * p);
    let mut rows = cols.chunks_exact_mut(p);
    for b in 0..n {
        for oy in 0..sh.out_h {
            for ox in 0..sh.out_w {
                let Some(out) = rows.next() else { return };
                for (ky, dst) in out.chunks_exact_mut(run).enumerate() {
                    let base = b * sn + (oy * s + ky) * sy + ox * s * sh.in_c;
                    dst.copy_from_slice(&x[base..base + run]);
                }
            }
        }
    }
}

/// The inverse scatter of [`im2col_nhwc`] into an NHWC gradient `[n, h, w, c]`.
fn col2im_nhwc(dcols: &[f32], sh: &ConvShape, n: usize, dx: &mut Vec<f32>) {
    let (k, s, p) = (sh.k, sh.s, sh.patch());
    let run = k * sh.in_c;
    let sy = sh.in_w * sh.in_c;
    let sn = sh.in_h * sy;
    zeros(dx, n * sn);
    let mut rows = dcols.chunks_exact(p);
    for b in 0..n {
        for oy in 0..sh.out_h {
            for ox in 0..sh.out_w {
                let Some(d) = rows.next() else { return };
                for (ky, src) in d.chunks_exact(run).enumerate() {
                    let base = b * sn + (oy * s + ky) * sy + ox * s * sh.in_c;
                    for (o, v) in dx[base..base + run].iter_mut().zip(src) {
                        *o += v;
                    }
                }
            }
        }
    }
}

/// burn's conv weight `[out, c, ky, kx]` permuted to `[out, ky, kx, c]`.
fn permute_to_hwc(w: &[f32], sh: &ConvShape, out: &mut Vec<f32>) {
    let (k, c_in, p) = (sh.k, sh.in_c, sh.patch());
    sized(out, w.len());
    for (src, dst) in w.chunks_exact(p).zip(out.chunks_exact_mut(p)) {
        for c in 0..c_in {
            for kk in 0..k * k {
                dst[kk * c_in + c] = src[c * k * k + kk];
            }
        }
    }
}

/// Adds a `[out, ky, kx, c]` weight gradient into burn's `[out, c, ky, kx]`.
fn add_from_hwc(dw: &[f32], sh: &ConvShape, g: &mut [f32]) {
    let (k, c_in, p) = (sh.k, sh.in_c, sh.patch());
    for (src, dst) in dw.chunks_exact(p).zip(g.chunks_exact_mut(p)) {
        for c in 0..c_in {
            for kk in 0..k * k {
                dst[c * k * k + kk] += src[kk * c_in + c];
            }
        }
    }
}

/// Adds `bias` to every row of `y` and applies `act`.
pub(crate) fn bias_act(y: &mut [f32], bias: &[f32], act: Act) {
    let m = bias.len();
    for row in y.chunks_exact_mut(m) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
        match act {
            Act::Relu => row.iter_mut().for_each(|v| *v = v.max(0.0)),
            Act::Tanh => row.iter_mut().for_each(|v| *v = v.tanh()),
            Act::Identity => {}
        }
    }
}

/// `d` times the activation's derivative at output `y`.
pub(crate) fn act_grad(d: &mut [f32], y: &[f32], act: Act) {
    match act {
        Act::Relu => {
            for (g, &a) in d.iter_mut().zip(y) {
                if a <= 0.0 {
                    *g = 0.0;
                }
            }
        }
        Act::Tanh => {
            for (g, &a) in d.iter_mut().zip(y) {
                *g *= 1.0 - a * a;
            }
        }
        Act::Identity => {}
    }
}

/// Column sums of `d` (`[rows, m]`) added into `out` (`[m]`).
pub(crate) fn col_sums(d: &[f32], m: usize, out: &mut [f32]) {
    for row in d.chunks_exact(m) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

fn at(p: &[f32], s: Slot) -> &[f32] {
    &p[s.offset..s.offset + s.len]
}

fn at_mut(p: &mut [f32], s: Slot) -> &mut [f32] {
    &mut p[s.offset..s.offset + s.len]
}

impl Layout {
    fn conv_act(&self) -> Act {
        if self.tanh { Act::Tanh } else { Act::Relu }
    }

    /// The forward pass of `n` observations `x` (`[n, C, H, W]`, in
    /// `[0, 1]`) with parameters `p`, keeping what the backward pass needs.
    pub fn forward(&self, p: &[f32], x: &[f32], n: usize, cache: &mut Cache) {
        cache.n = n;
        let nl = self.convs.len();
        cache.wperm.resize_with(nl, Vec::new);
        cache.cols.resize_with(nl, Vec::new);
        cache.conv_out.resize_with(nl, Vec::new);
        cache.dense_in.resize_with(self.dense.len() + 1, Vec::new);
        let act = self.conv_act();
        for (l, sh) in self.convs.iter().enumerate() {
            let (wslot, bslot) = self.conv_slots[l];
            let rows = n * sh.positions();
            let (done, rest) = cache.conv_out.split_at_mut(l);
            let out = &mut rest[0];
            let w: &[f32] = if l == 0 {
                im2col_nchw(x, sh, n, &mut cache.cols[l]);
                at(p, wslot)
            } else {
                im2col_nhwc(&done[l - 1], sh, n, &mut cache.cols[l]);
                permute_to_hwc(at(p, wslot), sh, &mut cache.wperm[l]);
                &cache.wperm[l]
            };
            sized(out, rows * sh.out_c);
            gemm(
                rows,
                sh.patch(),
                sh.out_c,
                &cache.cols[l],
                false,
                w,
                true,
                0.0,
                out,
            );
            bias_act(out, at(p, bslot), act);
        }
        // flatten in burn's NCHW order
        if let Some(sh) = self.convs.last() {
            let (pos, ch) = (sh.positions(), sh.out_c);
            let flat = &mut cache.dense_in[0];
            sized(flat, n * pos * ch);
            let z = &cache.conv_out[nl - 1];
            for (dst, src) in flat
                .chunks_exact_mut(pos * ch)
                .zip(z.chunks_exact(pos * ch))
            {
                for (q, px) in src.chunks_exact(ch).enumerate() {
                    for (c, v) in px.iter().enumerate() {
                        dst[c * pos + q] = *v;
                    }
                }
            }
        }
        let nd = self.dense.len();
        for (i, &(din, dout)) in self.dense.iter().enumerate() {
            let (wslot, bslot) = self.dense_slots[i];
            let (inputs, outputs) = cache.dense_in.split_at_mut(i + 1);
            let y = &mut outputs[0];
            sized(y, n * dout);
            gemm(n, din, dout, &inputs[i], false, at(p, wslot), false, 0.0, y);
            // the camera dense layers use the network's activation, the
            // middleware ReLU (burn's `ActorCritic::forward`)
            bias_act(y, at(p, bslot), if i + 1 < nd { act } else { Act::Relu });
        }
        let h = &cache.dense_in[nd];
        let f = self.features();
        let a = self.outputs;
        let (pw, pb) = self.policy;
        sized(&mut cache.policy, n * a);
        gemm(n, f, a, h, false, at(p, pw), false, 0.0, &mut cache.policy);
        bias_act(&mut cache.policy, at(p, pb), Act::Identity);
        let (vw, vb) = self.value;
        sized(&mut cache.value, n);
        gemm(n, f, 1, h, false, at(p, vw), false, 0.0, &mut cache.value);
        bias_act(&mut cache.value, at(p, vb), Act::Identity);
    }

    /// Gradients `g` (added into, flat like the parameters) of a loss whose
    /// gradient by the policy outputs is `d_policy` (`[n, outputs]`) and by
    /// the values `d_value` (`[n]`), through the forward pass in `cache`.
    pub fn backward(
        &self,
        p: &[f32],
        cache: &mut Cache,
        d_policy: &[f32],
        d_value: &[f32],
        g: &mut [f32],
    ) {
        let n = cache.n;
        let nd = self.dense.len();
        let f = self.features();
        let a = self.outputs;
        let (pw, pb) = self.policy;
        let (vw, vb) = self.value;
        {
            let h = &cache.dense_in[nd];
            gemm(f, n, a, h, true, d_policy, false, 1.0, at_mut(g, pw));
            col_sums(d_policy, a, at_mut(g, pb));
            gemm(f, n, 1, h, true, d_value, false, 1.0, at_mut(g, vw));
            col_sums(d_value, 1, at_mut(g, vb));
        }
        // dL/dh
        let mut dh = std::mem::take(&mut cache.dh);
        sized(&mut dh, n * f);
        gemm(n, a, f, d_policy, false, at(p, pw), true, 0.0, &mut dh);
        gemm(n, 1, f, d_value, false, at(p, vw), true, 1.0, &mut dh);
        self.torso_backward(p, cache, dh, g);
    }

    /// Gradients `g` (added into) of the encoder's parameters for a loss
    /// whose gradient by the features ([`Cache::features`], after the
    /// middleware's ReLU) is `dh` (`[n, features]`), through the forward
    /// pass in `cache`. The heads' parameters get nothing.
    pub fn backward_features(&self, p: &[f32], cache: &mut Cache, dh: &[f32], g: &mut [f32]) {
        let mut buf = std::mem::take(&mut cache.dh);
        buf.clear();
        buf.extend_from_slice(dh);
        self.torso_backward(p, cache, buf, g);
    }

    /// The encoder's part of the backward pass from `dh`, the gradient by
    /// the features (a buffer the cache keeps afterwards).
    fn torso_backward(&self, p: &[f32], cache: &mut Cache, mut dh: Vec<f32>, g: &mut [f32]) {
        let n = cache.n;
        let nd = self.dense.len();
        let act = self.conv_act();
        let mut dx = std::mem::take(&mut cache.dx);
        for i in (0..nd).rev() {
            let (din, dout) = self.dense[i];
            let (wslot, bslot) = self.dense_slots[i];
            act_grad(
                &mut dh,
                &cache.dense_in[i + 1],
                if i + 1 < nd { act } else { Act::Relu },
            );
            gemm(
                din,
                n,
                dout,
                &cache.dense_in[i],
                true,
                &dh,
                false,
                1.0,
                at_mut(g, wslot),
            );
            col_sums(&dh, dout, at_mut(g, bslot));
            if i == 0 && self.convs.is_empty() {
                break;
            }
            sized(&mut dx, n * din);
            gemm(n, dout, din, &dh, false, at(p, wslot), true, 0.0, &mut dx);
            std::mem::swap(&mut dh, &mut dx);
        }
        let nl = self.convs.len();
        if nl > 0 {
            // unflatten into NHWC: dz
            let sh = self.convs[nl - 1];
            let (pos, ch) = (sh.positions(), sh.out_c);
            sized(&mut dx, n * pos * ch);
            for (dst, src) in dx.chunks_exact_mut(pos * ch).zip(dh.chunks_exact(pos * ch)) {
                for (q, px) in dst.chunks_exact_mut(ch).enumerate() {
                    for (c, v) in px.iter_mut().enumerate() {
                        *v = src[c * pos + q];
                    }
                }
            }
            std::mem::swap(&mut dh, &mut dx);
            let mut dcols = std::mem::take(&mut cache.dcols);
            let mut dw = std::mem::take(&mut cache.dw);
            for l in (0..nl).rev() {
                let sh = self.convs[l];
                let (wslot, bslot) = self.conv_slots[l];
                let rows = n * sh.positions();
                act_grad(&mut dh, &cache.conv_out[l], act);
                col_sums(&dh, sh.out_c, at_mut(g, bslot));
                // dW [out, patch] = dz^T [out, rows] * cols [rows, patch]
                if l == 0 {
                    gemm(
                        sh.out_c,
                        rows,
                        sh.patch(),
                        &dh,
                        true,
                        &cache.cols[l],
                        false,
                        1.0,
                        at_mut(g, wslot),
                    );
                    break;
                }
                sized(&mut dw, sh.out_c * sh.patch());
                gemm(
                    sh.out_c,
                    rows,
                    sh.patch(),
                    &dh,
                    true,
                    &cache.cols[l],
                    false,
                    0.0,
                    &mut dw,
                );
                add_from_hwc(&dw, &sh, at_mut(g, wslot));
                // the input's gradient, through the permuted weights
                sized(&mut dcols, rows * sh.patch());
                gemm(
                    rows,
                    sh.out_c,
                    sh.patch(),
                    &dh,
                    false,
                    &cache.wperm[l],
                    false,
                    0.0,
                    &mut dcols,
                );
                col2im_nhwc(&dcols, &sh, n, &mut dx);
                std::mem::swap(&mut dh, &mut dx);
            }
            cache.dcols = dcols;
            cache.dw = dw;
        }
        cache.dh = dh;
        cache.dx = dx;
    }
}
