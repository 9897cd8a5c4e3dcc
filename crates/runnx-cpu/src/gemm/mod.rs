//! Matrix multiply: packing and cache blocking once, micro-kernels per ISA.
//!
//! `C = alpha * op(A) * op(B) + beta * C`, then an optional epilogue (bias per row or
//! per column, then an activation) applied to each register tile while it is hot.
//!
//! A and B are described by [`MatRef`] (a slice with a row stride and a column stride,
//! so transposes are free); C is row-major with a leading dimension `ldc`.
//!
//! The driver follows the GotoBLAS/BLIS scheme: the `N` dimension is cut into `NC`
//! blocks, `K` into `KC` blocks (a `KC x NC` block of B is packed into `NR`-wide
//! panels), `M` into `MC` blocks (packed into `MR`-tall panels), and a register-tiled
//! micro-kernel computes each `MR x NR` tile. The micro-kernels live in one small
//! file per ISA and are picked at run time:
//!
//! - x86_64: AVX-512F (`avx512.rs`, 12x32), AVX2+FMA (`avx2.rs`, 6x16)
//! - aarch64: NEON (`aarch64.rs`, 8x8)
//! - wasm32 with simd128: (`wasm32.rs`, 4x8)
//! - anything else: a portable kernel (`generic.rs`, 4x8)
//!
//! On x86 a row-major A is read in place (`direct` kernels; M tails in 4-row tiles)
//! and only B is packed; the kernels' store adds the bias and applies Relu/Clip.
//! One-row / one-column products take an unpacked GEMV path. [`kernel_name`] names
//! the kernel in use, [`force_generic`] forces the portable one.

use runnx_ir::{ensure, Result};
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Compile a function body for AVX-512, AVX2+FMA and the baseline, and pick one at
/// run time (for auto-vectorised hot loops outside the micro-kernels).
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $t:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $t),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $t),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512($($arg: $t),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $t),*) $(-> $ret)? {
                    imp($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports the features the function was compiled for.
                    return unsafe { avx512($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    // SAFETY: as above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

pub(crate) use multiversion;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod generic;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm32;

/// A micro-kernel: for `p in 0..k`, `acc[i][j] += a[p*MR + i] * b[p*NR + j]`, then
/// `c[i*rsc + j] = alpha * acc[i][j] + beta * c[i*rsc + j]` for the full `MR x NR`
/// tile (when `beta == 0`, C is not read).
///
/// # Safety
/// `a` holds `k*MR` floats, `b` holds `k*NR` floats, `c` addresses an `MR x NR`
/// tile with row stride `rsc`, and the CPU supports the kernel's features.
pub type MicroKernel =
    unsafe fn(k: usize, a: *const f32, b: *const f32, c: *mut f32, rsc: usize, st: &Store);

/// How a micro-kernel writes its tile: `c = alpha*acc + beta*c` (C not read when
/// `beta == 0`), and for kernels with `fused_store`, then `+ row_bias[i] + col_bias[j]`
/// (each when non-null; `MR` / `NR` values) and a clamp to `[lo, hi]`.
#[derive(Clone, Copy, Debug)]
pub struct Store {
    pub alpha: f32,
    pub beta: f32,
    pub row_bias: *const f32,
    pub col_bias: *const f32,
    pub clamp: Option<(f32, f32)>,
}

impl Store {
    fn plain(alpha: f32, beta: f32) -> Store {
        Store {
            alpha,
            beta,
            row_bias: std::ptr::null(),
            col_bias: std::ptr::null(),
            clamp: None,
        }
    }
}

/// A micro-kernel that reads A straight from a row-major matrix (row stride `lda`)
/// instead of a packed panel: `a` points at the tile's first element, rows are `lda`
/// apart. Saves packing A when it is row-major.
///
/// # Safety
/// `a` addresses an `MR x k` block with row stride `lda`; otherwise as [`MicroKernel`].
pub type DirectKernel = unsafe fn(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    rsc: usize,
    st: &Store,
);

/// A micro-kernel and the blocking that suits it.
#[derive(Clone, Copy)]
pub struct KernelDesc {
    pub name: &'static str,
    pub mr: usize,
    pub nr: usize,
    pub kc: usize,
    pub mc: usize,
    pub nc: usize,
    pub func: MicroKernel,
    /// The same kernel reading A unpacked, where there is one.
    pub direct: Option<DirectKernel>,
    /// A direct kernel for `rows`-tall tiles, for the rows left below a multiple of MR.
    pub direct_small: Option<(usize, DirectKernel)>,
    /// Whether the kernel applies `Store`'s bias and clamp itself.
    pub fused_store: bool,
}

impl std::fmt::Debug for KernelDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}x{})", self.name, self.mr, self.nr)
    }
}

/// Largest MR and NR of any kernel (sizes the edge-tile scratch buffer).
const MAX_MR: usize = 16;
const MAX_NR: usize = 32;

static FORCE_GENERIC: AtomicBool = AtomicBool::new(false);
static NO_DIRECT: AtomicBool = AtomicBool::new(false);

/// Whether kernels may read row-major A unpacked (on by default; tests turn it off
/// to cover the packed path of every kernel).
pub fn set_direct_a(on: bool) {
    NO_DIRECT.store(!on, Ordering::Relaxed);
}

fn use_direct() -> bool {
    !NO_DIRECT.load(Ordering::Relaxed)
}

/// Force (or stop forcing) the portable kernel, for tests and comparisons.
pub fn force_generic(on: bool) {
    FORCE_GENERIC.store(on, Ordering::Relaxed);
}

/// Every kernel this machine can run, best first (the portable one last).
#[allow(clippy::vec_init_then_push)] // which pushes exist depends on the target
pub fn available_kernels() -> &'static [KernelDesc] {
    static LIST: OnceLock<Vec<KernelDesc>> = OnceLock::new();
    LIST.get_or_init(|| {
        #[allow(unused_mut)]
        let mut v: Vec<KernelDesc> = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                v.push(avx512::DESC);
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                v.push(avx2::DESC);
            }
        }
        #[cfg(target_arch = "aarch64")]
        {
            if std::arch::is_aarch64_feature_detected!("neon") {
                v.push(aarch64::DESC);
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            v.push(wasm32::DESC);
        }
        v.push(generic::DESC);
        v
    })
}

/// The kernel sgemm uses now.
pub fn selected_kernel() -> &'static KernelDesc {
    let list = available_kernels();
    if FORCE_GENERIC.load(Ordering::Relaxed) {
        list.last().unwrap_or(&generic::DESC)
    } else {
        list.first().unwrap_or(&generic::DESC)
    }
}

/// Name of the selected kernel, e.g. "avx512f 12x32" (for the CLI to print).
pub fn kernel_name() -> String {
    let k = selected_kernel();
    format!("{} {}x{}", k.name, k.mr, k.nr)
}

/// A read-only strided matrix: element `(i, j)` is `data[i*rs + j*cs]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` matrix.
    pub fn row_major(data: &'a [f32], cols: usize) -> MatRef<'a> {
        MatRef {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major `rows x cols` matrix (a `cols x rows` view).
    pub fn transposed(data: &'a [f32], cols: usize) -> MatRef<'a> {
        MatRef {
            data,
            rs: 1,
            cs: cols,
        }
    }

    /// This view transposed.
    pub fn t(self) -> MatRef<'a> {
        MatRef {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }

    fn check(&self, rows: usize, cols: usize, what: &str) -> Result<()> {
        if rows == 0 || cols == 0 {
            return Ok(());
        }
        let last = (rows - 1).checked_mul(self.rs).and_then(|r| {
            (cols - 1)
                .checked_mul(self.cs)
                .and_then(|c| r.checked_add(c))
        });
        ensure!(
            last.is_some_and(|l| l < self.data.len()),
            "gemm: {} of {}x{} (strides {}, {}) does not fit in {} elements",
            what,
            rows,
            cols,
            self.rs,
            self.cs,
            self.data.len()
        );
        Ok(())
    }
}

/// An activation applied to the GEMM/conv output, fused into the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Activation {
    #[default]
    None,
    Relu,
    /// `x < 0 ? alpha * x : x`
    LeakyRelu(f32),
    /// Clamp to `[min, max]`.
    Clip(f32, f32),
    Sigmoid,
    Tanh,
    /// `max(0, min(1, alpha * x + beta))`
    HardSigmoid(f32, f32),
    /// `x * max(0, min(1, x/6 + 1/2))`
    HardSwish,
    /// `x < 0 ? alpha * (exp(x) - 1) : x`
    Elu(f32),
}

impl Activation {
    /// From the names used by the fused ops' `activation` attribute (ONNX op names,
    /// case-insensitive) and their `activation_params`.
    pub fn from_name(name: &str, params: &[f32]) -> Result<Activation> {
        let p = |i: usize, d: f32| params.get(i).copied().unwrap_or(d);
        Ok(match name.to_ascii_lowercase().as_str() {
            "" | "none" | "identity" => Activation::None,
            "relu" => Activation::Relu,
            "leakyrelu" => Activation::LeakyRelu(p(0, 0.01)),
            "clip" => Activation::Clip(p(0, f32::NEG_INFINITY), p(1, f32::INFINITY)),
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "hardsigmoid" => Activation::HardSigmoid(p(0, 0.2), p(1, 0.5)),
            "hardswish" => Activation::HardSwish,
            "elu" => Activation::Elu(p(0, 1.0)),
            other => runnx_ir::bail!("unknown fused activation '{}'", other),
        })
    }

    /// Apply in place.
    #[inline(always)]
    pub fn apply(self, x: &mut [f32]) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        let x = wasm32::activation(x, self);
        match self {
            Activation::None => {}
            Activation::Relu => x.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::LeakyRelu(a) => x.iter_mut().for_each(|v| {
                if *v < 0.0 {
                    *v *= a
                }
            }),
            Activation::Clip(lo, hi) => x.iter_mut().for_each(|v| *v = v.max(lo).min(hi)),
            Activation::Sigmoid => x.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::HardSigmoid(a, b) => {
                x.iter_mut().for_each(|v| *v = (a * *v + b).clamp(0.0, 1.0))
            }
            Activation::HardSwish => x
                .iter_mut()
                .for_each(|v| *v *= (*v * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0)),
            Activation::Elu(a) => x.iter_mut().for_each(|v| {
                if *v < 0.0 {
                    *v = a * (v.exp() - 1.0)
                }
            }),
        }
    }
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A bias added after `alpha*AB + beta*C`, before the activation.
#[derive(Clone, Copy, Debug, Default)]
pub enum Bias<'a> {
    #[default]
    None,
    /// One value per row of C (`m` values): conv output channels.
    Row(&'a [f32]),
    /// One value per column of C (`n` values): MatMul + Add over the last axis.
    Col(&'a [f32]),
}

/// What happens to each tile of C once it is final.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    pub bias: Bias<'a>,
    pub act: Activation,
}

impl<'a> Epilogue<'a> {
    pub const NONE: Epilogue<'static> = Epilogue {
        bias: Bias::None,
        act: Activation::None,
    };

    pub fn is_none(&self) -> bool {
        matches!(self.bias, Bias::None) && self.act == Activation::None
    }

    /// Apply to the `rows x cols` block of C at `c` (row stride `ldc`) whose top-left
    /// element is C's `(i0, j0)`.
    fn apply(&self, c: &mut [f32], ldc: usize, i0: usize, j0: usize, rows: usize, cols: usize) {
        let (rb, cb): (&[f32], &[f32]) = match self.bias {
            Bias::None => (&[], &[]),
            Bias::Row(b) => (&b[i0..i0 + rows], &[]),
            Bias::Col(b) => (&[], &b[j0..j0 + cols]),
        };
        apply_tile(c, ldc, rows, cols, rb, cb, self.act);
    }
}

multiversion! {
    /// Bias (per row `rb` or per column `cb`, either may be empty) then activation.
    fn apply_tile(c: &mut [f32], ldc: usize, rows: usize, cols: usize, rb: &[f32], cb: &[f32], act: Activation) {
        for i in 0..rows {
            let row = &mut c[i * ldc..i * ldc + cols];
            if let Some(&v) = rb.get(i) {
                row.iter_mut().for_each(|x| *x += v);
            }
            if !cb.is_empty() {
                row.iter_mut().zip(cb).for_each(|(x, v)| *x += v);
            }
            act.apply(row);
        }
    }
}

/// `C = alpha * A * B + beta * C`, A `m x k`, B `k x n`, C row-major `m x n` with row
/// stride `ldc`, then the epilogue. Multithreaded for large problems.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    ep: &Epilogue,
) -> Result<()> {
    sgemm_with(
        selected_kernel(),
        true,
        m,
        n,
        k,
        alpha,
        a,
        b,
        beta,
        c,
        ldc,
        ep,
    )
}

/// Like [`sgemm`] on the calling thread only (for callers that parallelise over a
/// batch of small products themselves).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_st(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    ep: &Epilogue,
) -> Result<()> {
    sgemm_with(
        selected_kernel(),
        false,
        m,
        n,
        k,
        alpha,
        a,
        b,
        beta,
        c,
        ldc,
        ep,
    )
}

/// Row-major `C[m x n] = A[m x k] * B[k x n]` (a convenience over [`sgemm`]).
pub fn matmul(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) -> Result<()> {
    sgemm(
        m,
        n,
        k,
        1.0,
        MatRef::row_major(a, k),
        MatRef::row_major(b, n),
        0.0,
        c,
        n,
        &Epilogue::NONE,
    )
}

/// [`sgemm`] with an explicit kernel (tests compare every kernel against a reference).
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with(
    kern: &KernelDesc,
    threaded: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
    ep: &Epilogue,
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    a.check(m, k, "A")?;
    b.check(k, n, "B")?;
    ensure!(ldc >= n, "gemm: ldc {} is less than n {}", ldc, n);
    let need = (m - 1).checked_mul(ldc).and_then(|x| x.checked_add(n));
    ensure!(
        need.is_some_and(|x| x <= c.len()),
        "gemm: C of {}x{} (ldc {}) does not fit in {} elements",
        m,
        n,
        ldc,
        c.len()
    );
    match ep.bias {
        Bias::None => {}
        Bias::Row(v) => ensure!(
            v.len() >= m,
            "gemm: row bias has {} values, need {}",
            v.len(),
            m
        ),
        Bias::Col(v) => ensure!(
            v.len() >= n,
            "gemm: column bias has {} values, need {}",
            v.len(),
            n
        ),
    }

    if k == 0 || alpha == 0.0 {
        for i in 0..m {
            let row = &mut c[i * ldc..i * ldc + n];
            if beta == 0.0 {
                row.fill(0.0);
            } else if beta != 1.0 {
                row.iter_mut().for_each(|x| *x *= beta);
            }
        }
        ep.apply(c, ldc, 0, 0, m, n);
        return Ok(());
    }

    // Matrix-vector products: no packing, one pass over the matrix.
    if m == 1 && (b.cs == 1 || b.rs == 1) {
        gemv_row(n, k, alpha, a, b, beta, c);
        ep.apply(c, ldc, 0, 0, m, n);
        return Ok(());
    }
    if n == 1 && (a.cs == 1 || a.rs == 1) {
        // c[i] = A[i, :] . b, i.e. the row case on the transposes.
        let mut col: Vec<f32> = (0..m).map(|i| c[i * ldc]).collect();
        gemv_row(m, k, alpha, b.t(), a.t(), beta, &mut col);
        for (i, v) in col.into_iter().enumerate() {
            c[i * ldc] = v;
        }
        ep.apply(c, ldc, 0, 0, m, n);
        return Ok(());
    }
    // Tiny problems: packing costs more than it saves.
    if m.saturating_mul(n).saturating_mul(k) <= 4096 {
        naive(m, n, k, alpha, a, b, beta, c, ldc);
        ep.apply(c, ldc, 0, 0, m, n);
        return Ok(());
    }

    let threads = if threaded {
        crate::par::current_threads()
    } else {
        1
    };
    let flops = m.saturating_mul(n).saturating_mul(k);
    let ctx = Ctx {
        kern,
        k,
        alpha,
        a,
        b,
        beta,
        c: SendPtr(c.as_mut_ptr()),
        ldc,
        ep,
    };
    if threads <= 1 || flops < 1 << 20 {
        // SAFETY: bounds were checked above; one caller owns all of C.
        unsafe { ctx.block(0, m, 0, n) };
        return Ok(());
    }
    // Split the larger of M and N into one part per thread, aligned to the tile size.
    let split_n = n / kern.nr >= m / kern.mr;
    let (len, unit) = if split_n { (n, kern.nr) } else { (m, kern.mr) };
    let units = len.div_ceil(unit);
    let parts = threads.min(units).max(1);
    let per = units.div_ceil(parts) * unit;
    let parts = len.div_ceil(per);
    crate::par::for_each_index(parts, flops / parts, |t| {
        let lo = t * per;
        let hi = (lo + per).min(len);
        // SAFETY: the parts write disjoint row or column ranges of C.
        unsafe {
            if split_n {
                ctx.block(0, m, lo, hi)
            } else {
                ctx.block(lo, hi, 0, n)
            }
        }
    });
    Ok(())
}

/// `c[0..n] = alpha * a[0, :] * B + beta * c` for a one-row A, B with unit row or
/// column stride (checked by the caller).
fn gemv_row(n: usize, k: usize, alpha: f32, a: MatRef, b: MatRef, beta: f32, c: &mut [f32]) {
    let av: Vec<f32> = (0..k).map(|p| a.data[p * a.cs]).collect();
    let mut acc = vec![0f32; n];
    if b.cs == 1 {
        for (p, &x) in av.iter().enumerate() {
            if x != 0.0 {
                axpy(&mut acc, &b.data[p * b.rs..p * b.rs + n], x);
            }
        }
    } else {
        for (j, s) in acc.iter_mut().enumerate() {
            *s = dot(&av, &b.data[j * b.cs..j * b.cs + k]);
        }
    }
    for (x, &s) in c[..n].iter_mut().zip(&acc) {
        *x = if beta == 0.0 {
            alpha * s
        } else {
            alpha * s + beta * *x
        };
    }
}

multiversion! {
    /// `acc[j] += x * row[j]`.
    fn axpy(acc: &mut [f32], row: &[f32], x: f32) {
        acc.iter_mut().zip(row).for_each(|(s, &v)| *s += x * v);
    }
}

multiversion! {
    /// Dot product with 16 independent partial sums (vectorisable without fast-math).
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let mut acc = [0f32; 16];
        let (ac, bc) = (a[..n].chunks_exact(16), b[..n].chunks_exact(16));
        let (ar, br) = (ac.remainder(), bc.remainder());
        for (x, y) in ac.zip(bc) {
            for l in 0..16 {
                acc[l] += x[l] * y[l];
            }
        }
        let mut s: f32 = acc.iter().sum();
        for (x, y) in ar.iter().zip(br) {
            s += x * y;
        }
        s
    }
}

#[allow(clippy::too_many_arguments)]
fn naive(
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let mut acc = vec![0f32; n];
    for i in 0..m {
        acc.fill(0.0);
        for p in 0..k {
            let av = a.data[i * a.rs + p * a.cs];
            if b.cs == 1 {
                let row = &b.data[p * b.rs..p * b.rs + n];
                acc.iter_mut().zip(row).for_each(|(s, &bv)| *s += av * bv);
            } else {
                for (j, s) in acc.iter_mut().enumerate() {
                    *s += av * b.data[p * b.rs + j * b.cs];
                }
            }
        }
        let row = &mut c[i * ldc..i * ldc + n];
        for (x, &s) in row.iter_mut().zip(&acc) {
            *x = if beta == 0.0 {
                alpha * s
            } else {
                alpha * s + beta * *x
            };
        }
    }
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint parts of C to worker threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

struct Ctx<'a> {
    kern: &'a KernelDesc,
    k: usize,
    alpha: f32,
    a: MatRef<'a>,
    b: MatRef<'a>,
    beta: f32,
    c: SendPtr,
    ldc: usize,
    ep: &'a Epilogue<'a>,
}

/// A 64-byte aligned scratch area inside a reusable vector.
fn aligned(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len + 16 {
        buf.resize(len + 16, 0.0);
    }
    let off = buf.as_ptr().align_offset(64).min(15);
    &mut buf[off..off + len]
}

thread_local! {
    /// Packing buffers for A and B.
    static PACKS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl Ctx<'_> {
    /// Compute rows `i_lo..i_hi`, columns `j_lo..j_hi` of C.
    ///
    /// # Safety
    /// The block of C must be in bounds (checked by the caller) and written by no one else.
    unsafe fn block(&self, i_lo: usize, i_hi: usize, j_lo: usize, j_hi: usize) {
        crate::scratch::with(&PACKS, |(pa, pb)| {
            self.block_with(pa, pb, i_lo, i_hi, j_lo, j_hi)
        })
    }

    unsafe fn block_with(
        &self,
        pa_buf: &mut Vec<f32>,
        pb_buf: &mut Vec<f32>,
        i_lo: usize,
        i_hi: usize,
        j_lo: usize,
        j_hi: usize,
    ) {
        let kd = self.kern;
        let (mr, nr) = (kd.mr, kd.nr);
        let k = self.k;
        let kc_max = kd.kc.min(k);
        let nc_max = kd.nc.min((j_hi - j_lo).div_ceil(nr) * nr);
        let mc_max = kd.mc.min((i_hi - i_lo).div_ceil(mr) * mr);
        let pb = aligned(pb_buf, kc_max * nc_max.div_ceil(nr) * nr);
        let pa = aligned(pa_buf, kc_max * mc_max.div_ceil(mr) * mr);
        let mut tmp = [0f32; MAX_MR * MAX_NR];
        let c = self.c.0;
        let ldc = self.ldc;
        // Relu and Clip fold into the kernels' store; other activations run after it.
        let (clamp, rest_act) = match self.ep.act {
            Activation::Relu => (Some((0.0, f32::INFINITY)), Activation::None),
            Activation::Clip(lo, hi) => (Some((lo, hi)), Activation::None),
            other => (None, other),
        };
        let small = kd.direct_small;
        let direct = if self.a.cs == 1 && use_direct() {
            kd.direct
        } else {
            None
        };

        let mut jc = j_lo;
        while jc < j_hi {
            let nc = nc_max.min(j_hi - jc);
            let mut pc = 0;
            while pc < k {
                let kc = kc_max.min(k - pc);
                let last_k = pc + kc == k;
                let beta = if pc == 0 { self.beta } else { 1.0 };
                pack_b(pb, self.b, pc, kc, jc, nc, nr);
                let mut ic = i_lo;
                while ic < i_hi {
                    let mc = mc_max.min(i_hi - ic);
                    let full = mc / mr * mr;
                    match direct {
                        // Only the last, partial panel of rows needs packing.
                        Some(_) if full < mc => {
                            pack_a(pa, self.a, ic + full, mc - full, pc, kc, mr)
                        }
                        Some(_) => {}
                        None => pack_a(pa, self.a, ic, mc, pc, kc, mr),
                    }
                    let mut jr = 0;
                    while jr < nc {
                        let nr_eff = nr.min(nc - jr);
                        let bp = pb.as_ptr().add(jr * kc);
                        let mut ir = 0;
                        while ir < mc {
                            let mr_eff = mr.min(mc - ir);
                            let (ci, cj) = (ic + ir, jc + jr);
                            let cp = c.add(ci * ldc + cj);
                            let small_ok =
                                direct.is_some() && small.is_some_and(|(r, _)| mr_eff % r == 0);
                            // Whether the kernel writes straight into C (else into `tmp`).
                            let full_tile = nr_eff == nr && (mr_eff == mr || small_ok);
                            let fuse = full_tile && last_k && kd.fused_store;
                            let st = if fuse {
                                Store {
                                    alpha: self.alpha,
                                    beta,
                                    row_bias: match self.ep.bias {
                                        Bias::Row(b) => b.as_ptr().add(ci),
                                        _ => std::ptr::null(),
                                    },
                                    col_bias: match self.ep.bias {
                                        Bias::Col(b) => b.as_ptr().add(cj),
                                        _ => std::ptr::null(),
                                    },
                                    clamp,
                                }
                            } else if full_tile {
                                Store::plain(self.alpha, beta)
                            } else {
                                Store::plain(self.alpha, 0.0)
                            };
                            let (dst, rs) = if full_tile {
                                (cp, ldc)
                            } else {
                                (tmp.as_mut_ptr(), nr)
                            };
                            match direct {
                                Some(f) if mr_eff == mr => {
                                    let ap = self.a.data.as_ptr().add(ci * self.a.rs + pc);
                                    f(kc, ap, self.a.rs, bp, dst, rs, &st)
                                }
                                Some(_) if mr_eff < mr && small_ok => {
                                    // Rows below the last full tile, in small direct tiles.
                                    if let Some((r, f)) = small {
                                        let mut s = 0;
                                        while s < mr_eff {
                                            let ap =
                                                self.a.data.as_ptr().add((ci + s) * self.a.rs + pc);
                                            let mut st = st;
                                            if !st.row_bias.is_null() {
                                                st.row_bias = st.row_bias.add(s);
                                            }
                                            f(kc, ap, self.a.rs, bp, dst.add(s * rs), rs, &st);
                                            s += r;
                                        }
                                    }
                                }
                                Some(_) => (kd.func)(kc, pa.as_ptr(), bp, dst, rs, &st),
                                None => (kd.func)(kc, pa.as_ptr().add(ir * kc), bp, dst, rs, &st),
                            }
                            if !full_tile {
                                for i in 0..mr_eff {
                                    let crow =
                                        std::slice::from_raw_parts_mut(cp.add(i * ldc), nr_eff);
                                    let trow = &tmp[i * nr..i * nr + nr_eff];
                                    if beta == 0.0 {
                                        crow.copy_from_slice(trow);
                                    } else {
                                        for (x, &t) in crow.iter_mut().zip(trow) {
                                            *x = t + beta * *x;
                                        }
                                    }
                                }
                            }
                            if last_k && !self.ep.is_none() {
                                let len = (mr_eff - 1) * ldc + nr_eff;
                                let tile = std::slice::from_raw_parts_mut(cp, len);
                                if !fuse {
                                    self.ep.apply(tile, ldc, ci, cj, mr_eff, nr_eff);
                                } else if rest_act != Activation::None {
                                    apply_tile(tile, ldc, mr_eff, nr_eff, &[], &[], rest_act);
                                }
                            }
                            ir += mr;
                        }
                        jr += nr;
                    }
                    ic += mc;
                }
                pc += kc;
            }
            jc += nc;
        }
    }
}

/// Pack rows `i0..i0+mc`, columns `p0..p0+kc` of A into `MR`-tall panels, each
/// k-major (`panel[p*MR + i]`), zero-padding the last panel.
fn pack_a(dst: &mut [f32], a: MatRef, i0: usize, mc: usize, p0: usize, kc: usize, mr: usize) {
    let mut ir = 0;
    while ir < mc {
        let rows = mr.min(mc - ir);
        let panel = &mut dst[ir * kc..(ir + mr) * kc];
        if a.cs == 1 {
            for i in 0..rows {
                let src = &a.data[(i0 + ir + i) * a.rs + p0..][..kc];
                for (p, &v) in src.iter().enumerate() {
                    panel[p * mr + i] = v;
                }
            }
        } else if a.rs == 1 {
            for p in 0..kc {
                let src = &a.data[(p0 + p) * a.cs + i0 + ir..][..rows];
                panel[p * mr..p * mr + rows].copy_from_slice(src);
            }
        } else {
            for p in 0..kc {
                for i in 0..rows {
                    panel[p * mr + i] = a.data[(i0 + ir + i) * a.rs + (p0 + p) * a.cs];
                }
            }
        }
        if rows < mr {
            for p in 0..kc {
                panel[p * mr + rows..p * mr + mr].fill(0.0);
            }
        }
        ir += mr;
    }
}

/// Pack rows `p0..p0+kc`, columns `j0..j0+nc` of B into `NR`-wide panels, each
/// k-major (`panel[p*NR + j]`), zero-padding the last panel.
fn pack_b(dst: &mut [f32], b: MatRef, p0: usize, kc: usize, j0: usize, nc: usize, nr: usize) {
    let mut jr = 0;
    while jr < nc {
        let cols = nr.min(nc - jr);
        let panel = &mut dst[jr * kc..(jr + nr) * kc];
        if b.cs == 1 {
            for p in 0..kc {
                let src = &b.data[(p0 + p) * b.rs + j0 + jr..][..cols];
                panel[p * nr..p * nr + cols].copy_from_slice(src);
            }
        } else if b.rs == 1 {
            for j in 0..cols {
                let src = &b.data[(j0 + jr + j) * b.cs + p0..][..kc];
                for (p, &v) in src.iter().enumerate() {
                    panel[p * nr + j] = v;
                }
            }
        } else {
            for p in 0..kc {
                for j in 0..cols {
                    panel[p * nr + j] = b.data[(p0 + p) * b.rs + (j0 + jr + j) * b.cs];
                }
            }
        }
        if cols < nr {
            for p in 0..kc {
                panel[p * nr + cols..p * nr + nr].fill(0.0);
            }
        }
        jr += nr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f32 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    }

    #[allow(clippy::too_many_arguments)]
    fn reference(
        m: usize,
        n: usize,
        k: usize,
        alpha: f32,
        a: MatRef,
        b: MatRef,
        beta: f32,
        c: &mut [f32],
        ldc: usize,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for p in 0..k {
                    s += a.data[i * a.rs + p * a.cs] as f64 * b.data[p * b.rs + j * b.cs] as f64;
                }
                let x = &mut c[i * ldc + j];
                *x = if beta == 0.0 {
                    alpha * s as f32
                } else {
                    alpha * s as f32 + beta * *x
                };
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        kern: &KernelDesc,
        m: usize,
        n: usize,
        k: usize,
        ta: bool,
        tb: bool,
        alpha: f32,
        beta: f32,
    ) {
        let mut seed = (m * 1000 + n * 10 + k) as u64;
        let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
        let b: Vec<f32> = (0..k * n).map(|_| lcg(&mut seed)).collect();
        let ldc = n + 3;
        let c0: Vec<f32> = (0..m * ldc).map(|_| lcg(&mut seed)).collect();
        let am = if ta {
            MatRef::transposed(&a, m)
        } else {
            MatRef::row_major(&a, k)
        };
        let bm = if tb {
            MatRef::transposed(&b, k)
        } else {
            MatRef::row_major(&b, n)
        };
        let mut want = c0.clone();
        reference(m, n, k, alpha, am, bm, beta, &mut want, ldc);
        for threaded in [false, true] {
            let mut got = c0.clone();
            sgemm_with(
                kern,
                threaded,
                m,
                n,
                k,
                alpha,
                am,
                bm,
                beta,
                &mut got,
                ldc,
                &Epilogue::NONE,
            )
            .unwrap();
            for (idx, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-4 * (1.0 + w.abs()) + 1e-4 * k as f32,
                    "{:?} {}x{}x{} ta={} tb={} at {}: {} vs {}",
                    kern,
                    m,
                    n,
                    k,
                    ta,
                    tb,
                    idx,
                    g,
                    w
                );
            }
        }
    }

    #[test]
    fn every_kernel_matches_reference() {
        let shapes = [
            (1, 1, 1),
            (7, 13, 5),
            (65, 130, 33),
            (3, 4, 0),
            (1, 70, 40),
            (70, 1, 40),
            (33, 65, 300),
            (100, 100, 100),
            (13, 37, 600),
            (130, 70, 5),
            (150, 40, 70),
            (301, 50, 20),
            (40, 70, 30),
            (44, 64, 300),
            (16, 100, 16),
        ];
        for direct in [true, false] {
            set_direct_a(direct);
            for kern in available_kernels() {
                for &(m, n, k) in &shapes {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        check(kern, m, n, k, ta, tb, 1.0, 0.0);
                    }
                    check(kern, m, n, k, false, false, 0.5, 2.0);
                    check(kern, m, n, k, true, false, -1.5, 1.0);
                }
            }
        }
        set_direct_a(true);
    }

    #[test]
    fn epilogue_bias_and_activation() {
        for (m, n, k) in [(37, 45, 29), (40, 64, 20), (16, 70, 33)] {
            let mut seed = 7u64;
            let a: Vec<f32> = (0..m * k).map(|_| lcg(&mut seed)).collect();
            let b: Vec<f32> = (0..k * n).map(|_| lcg(&mut seed)).collect();
            let rb: Vec<f32> = (0..m).map(|_| lcg(&mut seed)).collect();
            let cb: Vec<f32> = (0..n).map(|_| lcg(&mut seed)).collect();
            for kern in available_kernels() {
                for (bias, act) in [
                    (Bias::Row(&rb), Activation::Relu),
                    (Bias::Col(&cb), Activation::Clip(-0.1, 0.2)),
                    (Bias::None, Activation::LeakyRelu(0.1)),
                    (Bias::Col(&cb), Activation::Sigmoid),
                ] {
                    let mut want = vec![0f32; m * n];
                    reference(
                        m,
                        n,
                        k,
                        1.0,
                        MatRef::row_major(&a, k),
                        MatRef::row_major(&b, n),
                        0.0,
                        &mut want,
                        n,
                    );
                    Epilogue { bias, act }.apply(&mut want, n, 0, 0, m, n);
                    let mut got = vec![0f32; m * n];
                    let ep = Epilogue { bias, act };
                    sgemm_with(
                        kern,
                        false,
                        m,
                        n,
                        k,
                        1.0,
                        MatRef::row_major(&a, k),
                        MatRef::row_major(&b, n),
                        0.0,
                        &mut got,
                        n,
                        &ep,
                    )
                    .unwrap();
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() < 1e-4, "{:?} {:?}: {} vs {}", kern, act, g, w);
                    }
                }
            }
        }
    }

    #[test]
    fn bad_sizes_are_errors() {
        let a = vec![0f32; 5];
        let mut c = vec![0f32; 4];
        assert!(matmul(2, 2, 3, &a, &a, &mut c).is_err());
    }

    #[test]
    fn force_generic_switches() {
        force_generic(true);
        assert!(kernel_name().starts_with("generic"));
        force_generic(false);
    }

    /// `cargo test --release -p runnx-cpu gemm_bench -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn gemm_bench() {
        for &(m, n, k) in &[
            (1024, 1024, 1024),
            (128, 384, 384),
            (128, 1536, 384),
            (128, 128, 32),
            (128, 32, 128),
        ] {
            let a = vec![0.5f32; m * k];
            let b = vec![0.25f32; k * n];
            let mut c = vec![0f32; m * n];
            for kern in available_kernels() {
                let reps = (2e9 / (2.0 * (m * n * k) as f64)).clamp(3.0, 2000.0) as usize;
                let mut best = f64::MAX;
                for _ in 0..3 {
                    let t = std::time::Instant::now();
                    for _ in 0..reps {
                        sgemm_with(
                            kern,
                            false,
                            m,
                            n,
                            k,
                            1.0,
                            MatRef::row_major(&a, k),
                            MatRef::row_major(&b, n),
                            0.0,
                            &mut c,
                            n,
                            &Epilogue::NONE,
                        )
                        .unwrap();
                    }
                    best = best.min(t.elapsed().as_secs_f64() / reps as f64);
                }
                println!(
                    "{m}x{n}x{k} {:?}: {:.1} GFLOP/s ({:.1} us)",
                    kern,
                    2.0 * (m * n * k) as f64 / best / 1e9,
                    best * 1e6
                );
            }
        }
    }
}
