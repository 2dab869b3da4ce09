//! Row-major f32 matrix products for the native path: `matrixmultiply`'s
//! packed SIMD kernels for batch-sized products, the `gemm` crate's
//! unpacked kernels for the few rows of acting (4 envs), where packing the
//! weights costs more than the product (docs/BENCHMARKS.md, "The native
//! trainer": 62 us against 226 us for 4 x 1536 x 256). Both pick AVX2 or
//! AVX-512 at run time and run on the calling thread, so products are
//! deterministic.
//!
//! This is the workspace's one module with `unsafe` code: both libraries
//! take raw pointers and strides. Every call checks the slices against
//! the shapes first.
#![allow(unsafe_code)]

/// Below this many rows of the result, the unpacked kernels win.
const SMALL_M: usize = 16;

/// `c = a * b + beta * c` for row-major `a` (`m x k`, stored transposed
/// `k x m` when `ta`), `b` (`k x n`, stored `n x k` when `tb`) and `c`
/// (`m x n`). With `beta == 0`, `c`'s old values are not read.
///
/// # Panics
/// When a slice is shorter than its shape (a caller's bug), before any
/// memory is touched.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    ta: bool,
    b: &[f32],
    tb: bool,
    beta: f32,
    c: &mut [f32],
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "gemm operands shorter than {m}x{k} * {k}x{n}"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c[..m * n].iter_mut().for_each(|v| *v *= beta);
        return;
    }
    let (rsa, csa) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (rsb, csb) = if tb { (1, k as isize) } else { (n as isize, 1) };
    if m < SMALL_M {
        // SAFETY: the assert above keeps every strided access of `a`
        // (m x k), `b` (k x n) and `c` (m x n) inside its slice; `c` is
        // borrowed mutably, so it aliases neither input.
        unsafe {
            ::gemm::gemm(
                m,
                n,
                k,
                c.as_mut_ptr(),
                1,
                n as isize,
                beta != 0.0,
                a.as_ptr(),
                csa,
                rsa,
                b.as_ptr(),
                csb,
                rsb,
                beta,
                1.0f32,
                false,
                false,
                false,
                ::gemm::Parallelism::None,
            );
        }
    } else {
        // SAFETY: as above.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                rsa,
                csa,
                b.as_ptr(),
                rsb,
                csb,
                beta,
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gemm;

    /// Both kernels against the textbook triple loop, every transpose.
    #[test]
    fn products_match_the_definition() {
        for &(m, k, n) in &[(3, 5, 7), (40, 9, 6), (1, 33, 2), (17, 1, 20)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let at = |i: usize, p: usize| if ta { a[p * m + i] } else { a[i * k + p] };
                let bt = |p: usize, j: usize| if tb { b[j * k + p] } else { b[p * n + j] };
                let mut c: Vec<f32> = (0..m * n).map(|i| i as f32).collect();
                let old = c.clone();
                gemm(m, k, n, &a, ta, &b, tb, 0.5, &mut c);
                for i in 0..m {
                    for j in 0..n {
                        let want: f32 =
                            (0..k).map(|p| at(i, p) * bt(p, j)).sum::<f32>() + 0.5 * old[i * n + j];
                        let got = c[i * n + j];
                        assert!(
                            (got - want).abs() < 1e-4,
                            "{m}x{k}x{n} {ta} {tb}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
