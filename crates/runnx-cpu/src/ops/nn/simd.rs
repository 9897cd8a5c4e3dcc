//! Hot elementwise loops compiled several times (AVX-512, AVX2+FMA, baseline) and
//! picked at run time, so that auto-vectorised code uses the machine's full width.

use crate::gemm::multiversion;

multiversion! {
    /// `out[j] = bias + sum_t w[t] * s[t][j]` over nine taps (summed as a tree).
    pub fn taps9(out: &mut [f32], s: &[&[f32]; 9], w: &[f32; 9], bias: f32) {
        let n = out.len();
        let (s0, s1, s2, s3, s4, s5, s6, s7, s8) =
            (&s[0][..n], &s[1][..n], &s[2][..n], &s[3][..n], &s[4][..n], &s[5][..n], &s[6][..n], &s[7][..n], &s[8][..n]);
        for j in 0..n {
            let a = w[0] * s0[j] + w[1] * s1[j];
            let b = w[2] * s2[j] + w[3] * s3[j];
            let c = w[4] * s4[j] + w[5] * s5[j];
            let d = w[6] * s6[j] + w[7] * s7[j];
            out[j] = ((a + b) + (c + d)) + (w[8] * s8[j] + bias);
        }
    }
}

multiversion! {
    /// `out[j] += w * src[j]`.
    pub fn axpy(out: &mut [f32], src: &[f32], w: f32) {
        out.iter_mut().zip(src).for_each(|(o, &v)| *o += w * v);
    }
}

multiversion! {
    /// `a[i] = src[2i]`, `b[i] = src[2i + 1]` (as far as `src` goes).
    pub fn deinterleave2(src: &[f32], a: &mut [f32], b: &mut [f32]) {
        let pairs = src.len() / 2;
        for ((p, x), y) in src.chunks_exact(2).zip(a[..pairs].iter_mut()).zip(b[..pairs].iter_mut()) {
            *x = p[0];
            *y = p[1];
        }
        if src.len() % 2 == 1 {
            a[pairs] = src[src.len() - 1];
        }
    }
}

multiversion! {
    /// [`super::conv::im2col`] for f32, compiled for the machine's vector width.
    pub fn im2col_f32(x: &[f32], cg: usize, g: &super::conv::Geom, col: &mut [f32]) {
        super::conv::im2col(x, cg, g, col)
    }
}

multiversion! {
    /// `dst[j * rows + i] = src[i * cols + j]`: transpose a row-major `rows x cols`
    /// matrix, in 8x8 tiles that stay in registers.
    pub fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
        let (src, dst) = (&src[..rows * cols], &mut dst[..rows * cols]);
        let (r8, c8) = (rows / 8 * 8, cols / 8 * 8);
        for i0 in (0..r8).step_by(8) {
            for j0 in (0..c8).step_by(8) {
                let mut t = [[0f32; 8]; 8];
                for (k, row) in t.iter_mut().enumerate() {
                    row.copy_from_slice(&src[(i0 + k) * cols + j0..][..8]);
                }
                for j in 0..8 {
                    let d = &mut dst[(j0 + j) * rows + i0..][..8];
                    for (k, v) in d.iter_mut().enumerate() {
                        *v = t[k][j];
                    }
                }
            }
        }
        // The ragged right and bottom edges.
        for i in 0..rows {
            let j_from = if i < r8 { c8 } else { 0 };
            for j in j_from..cols {
                dst[j * rows + i] = src[i * cols + j];
            }
        }
    }
}

multiversion! {
    /// One output pixel of a channels-last depthwise convolution:
    /// `out[ch] = bias[ch] + sum over taps (xo, wo) of w[wo + ch] * x[xo + ch]`,
    /// 32 channels at a time so that the sums stay in registers across the taps.
    pub fn depthwise_pixel(out: &mut [f32], bias: &[f32], taps: &[(usize, usize)], x: &[f32], w: &[f32]) {
        const B: usize = 32;
        for (c0, out) in (0..).step_by(B).zip(out.chunks_mut(B)) {
            let n = out.len();
            let mut acc = [0f32; B];
            acc[..n].copy_from_slice(&bias[c0..c0 + n]);
            for &(xo, wo) in taps {
                let (xs, ws) = (&x[xo + c0..][..n], &w[wo + c0..][..n]);
                for ((a, &xv), &wv) in acc[..n].iter_mut().zip(xs).zip(ws) {
                    *a += xv * wv;
                }
            }
            out.copy_from_slice(&acc[..n]);
        }
    }
}
