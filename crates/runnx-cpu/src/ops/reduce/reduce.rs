//! The Reduce* operators and ArgMax/ArgMin, over one reduction framework: the
//! reduced axes are brought together (by a transpose when they are not already
//! adjacent) and the tensor is viewed as `[outer, reduced, inner]`.

use super::common::{rows_per_task, split_at_axis, transpose};
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{dispatch_number, ensure, kernel, Kernel, NodeCtx, Result, Tensor, Value};
use std::borrow::Cow;
use std::marker::PhantomData;

/// One reduction: an accumulator folded over the elements, then finished.
pub trait Reducer<T>: Sync {
    type A: Copy + Send + Sync;
    fn init(&self) -> Self::A;
    fn step(&self, a: Self::A, x: T) -> Self::A;
    fn combine(&self, a: Self::A, b: Self::A) -> Self::A;
    /// The result from the accumulator of `n` elements.
    fn finish(&self, a: Self::A, n: usize) -> T;
}

/// The wide type sums and products accumulate in: f64 for floats, i128 (wrapping)
/// for integers.
pub trait Wide: Copy + Send + Sync + 'static {
    fn of<T: Number>(x: T) -> Self;
    fn to<T: Number>(self) -> T;
    fn zero() -> Self;
    fn one() -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn abs(self) -> Self;
    fn div_n(self, n: usize) -> Self;
}

impl Wide for f64 {
    fn of<T: Number>(x: T) -> Self {
        x.to_f64()
    }
    fn to<T: Number>(self) -> T {
        T::from_f64(self)
    }
    fn zero() -> Self {
        0.0
    }
    fn one() -> Self {
        1.0
    }
    fn add(self, o: Self) -> Self {
        self + o
    }
    fn mul(self, o: Self) -> Self {
        self * o
    }
    fn abs(self) -> Self {
        f64::abs(self)
    }
    fn div_n(self, n: usize) -> Self {
        self / n as f64
    }
}

impl Wide for i128 {
    fn of<T: Number>(x: T) -> Self {
        x.to_i128()
    }
    fn to<T: Number>(self) -> T {
        T::from_i128(self)
    }
    fn zero() -> Self {
        0
    }
    fn one() -> Self {
        1
    }
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    fn mul(self, o: Self) -> Self {
        self.wrapping_mul(o)
    }
    fn abs(self) -> Self {
        self.wrapping_abs()
    }
    fn div_n(self, n: usize) -> Self {
        if n == 0 {
            0
        } else {
            self / n as i128
        }
    }
}

macro_rules! wide_reducer {
    ($name:ident, $init:ident, |$a:ident, $w:ident| $step:expr, |$f:ident, $n:ident| $finish:expr) => {
        pub struct $name<W>(PhantomData<W>);
        impl<W> $name<W> {
            pub fn new() -> Self {
                $name(PhantomData)
            }
        }
        impl<T: Number, W: Wide> Reducer<T> for $name<W> {
            type A = W;
            #[inline(always)]
            fn init(&self) -> W {
                W::$init()
            }
            #[inline(always)]
            fn step(&self, $a: W, x: T) -> W {
                let $w = W::of(x);
                $step
            }
            #[inline(always)]
            fn combine(&self, a: W, b: W) -> W {
                wide_reducer!(@combine $init, a, b)
            }
            #[inline(always)]
            fn finish(&self, $f: W, $n: usize) -> T {
                let _ = $n;
                $finish
            }
        }
    };
    (@combine zero, $a:ident, $b:ident) => { $a.add($b) };
    (@combine one, $a:ident, $b:ident) => { $a.mul($b) };
}

wide_reducer!(Sum, zero, |a, w| a.add(w), |a, n| a.to());
wide_reducer!(Mean, zero, |a, w| a.add(w), |a, n| a.div_n(n).to());
wide_reducer!(Prod, one, |a, w| a.mul(w), |a, n| a.to());
wide_reducer!(L1, zero, |a, w| a.add(w.abs()), |a, n| a.to());
wide_reducer!(SumSquare, zero, |a, w| a.add(w.mul(w)), |a, n| a.to());
wide_reducer!(L2, zero, |a, w| a.add(w.mul(w)), |a, n| {
    let s: f64 = a.to();
    T::from_f64(s.sqrt())
});
wide_reducer!(LogSum, zero, |a, w| a.add(w), |a, n| {
    let s: f64 = a.to();
    T::from_f64(s.ln())
});

/// log(sum(exp(x))) with an online maximum: the accumulator is (max, sum of exp(x - max)).
pub struct LogSumExp;
impl LogSumExp {
    #[inline(always)]
    fn scale(from: f64, to: f64) -> f64 {
        if from == to {
            1.0
        } else {
            (from - to).exp()
        }
    }
}
impl<T: Number> Reducer<T> for LogSumExp {
    type A = (f64, f64);
    fn init(&self) -> (f64, f64) {
        (f64::NEG_INFINITY, 0.0)
    }
    #[inline(always)]
    fn step(&self, (m, s): (f64, f64), x: T) -> (f64, f64) {
        let x = x.to_f64();
        if x > m {
            (x, s * Self::scale(m, x) + 1.0)
        } else {
            (m, s + Self::scale(x, m))
        }
    }
    fn combine(&self, a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
        if b.1 == 0.0 {
            return a;
        }
        if a.1 == 0.0 {
            return b;
        }
        let (hi, lo) = if a.0 >= b.0 { (a, b) } else { (b, a) };
        (hi.0, hi.1 + lo.1 * Self::scale(lo.0, hi.0))
    }
    fn finish(&self, (m, s): (f64, f64), _n: usize) -> T {
        T::from_f64(m + s.ln())
    }
}

/// Maximum (`MAX = true`) or minimum; NaN propagates.
pub struct Extreme<const MAX: bool>;
impl<T: Number, const MAX: bool> Reducer<T> for Extreme<MAX> {
    type A = T;
    fn init(&self) -> T {
        match (T::DTYPE == runnx_ir::DType::Bool, MAX) {
            (true, true) => T::zero(),
            (true, false) => T::one(),
            (false, true) => T::from_f64(f64::NEG_INFINITY),
            (false, false) => T::from_f64(f64::INFINITY),
        }
    }
    #[inline(always)]
    fn step(&self, a: T, x: T) -> T {
        #[allow(clippy::eq_op)]
        let nan = x != x;
        if (if MAX { x > a } else { x < a }) || nan {
            x
        } else {
            a
        }
    }
    fn combine(&self, a: T, b: T) -> T {
        self.step(a, b)
    }
    fn finish(&self, a: T, _n: usize) -> T {
        a
    }
}

/// Fold one contiguous row in eight independent lanes (vectorisable).
#[inline(always)]
fn fold_row<T: Number, R: Reducer<T>>(r: &R, row: &[T]) -> R::A {
    const L: usize = 8;
    let mut lanes = [r.init(); L];
    let chunks = row.chunks_exact(L);
    let rem = chunks.remainder();
    for c in chunks {
        for i in 0..L {
            lanes[i] = r.step(lanes[i], c[i]);
        }
    }
    let mut a = lanes[0];
    for l in &lanes[1..] {
        a = r.combine(a, *l);
    }
    for &v in rem {
        a = r.step(a, v);
    }
    a
}

/// Reduce `x` viewed as `[outer, n, inner]` over its middle axis.
pub fn reduce_view<T: Number, R: Reducer<T>>(
    r: &R,
    x: &[T],
    outer: usize,
    n: usize,
    inner: usize,
) -> Vec<T> {
    let mut out = vec![T::zero(); outer * inner];
    if out.is_empty() {
        return out;
    }
    if inner == 1 {
        let rows = rows_per_task(n);
        for_each_chunk_mut(&mut out, rows, rows * n, |ci, chunk| {
            for (k, o) in chunk.iter_mut().enumerate() {
                let row = ci * rows + k;
                *o = r.finish(fold_row(r, &x[row * n..(row + 1) * n]), n);
            }
        });
    } else {
        for_each_chunk_mut(&mut out, inner, n * inner, |o, chunk| {
            let mut acc = vec![r.init(); inner];
            for j in 0..n {
                let row = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = r.step(*a, v);
                }
            }
            for (d, a) in chunk.iter_mut().zip(acc) {
                *d = r.finish(a, n);
            }
        });
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare,
}

fn run_wide<T: Number, W: Wide>(op: Op, x: &[T], o: usize, n: usize, i: usize) -> Vec<T> {
    match op {
        Op::Sum => reduce_view(&Sum::<W>::new(), x, o, n, i),
        Op::Mean => reduce_view(&Mean::<W>::new(), x, o, n, i),
        Op::Prod => reduce_view(&Prod::<W>::new(), x, o, n, i),
        Op::L1 => reduce_view(&L1::<W>::new(), x, o, n, i),
        Op::SumSquare => reduce_view(&SumSquare::<W>::new(), x, o, n, i),
        Op::L2 => reduce_view(&L2::<f64>::new(), x, o, n, i),
        Op::LogSum => reduce_view(&LogSum::<f64>::new(), x, o, n, i),
        Op::LogSumExp => reduce_view(&LogSumExp, x, o, n, i),
        Op::Max => reduce_view(&Extreme::<true>, x, o, n, i),
        Op::Min => reduce_view(&Extreme::<false>, x, o, n, i),
    }
}

/// Reduce a tensor over `axes` (all axes when empty).
pub fn reduce_tensor(x: &Tensor, op: Op, axes: &[i64], keepdims: bool) -> Result<Tensor> {
    let shape = x.shape();
    let rank = shape.len();
    let mut reduced = vec![axes.is_empty(); rank];
    if rank > 0 {
        for a in crate::ops::util::axes(axes, rank)? {
            reduced[a] = true;
        }
    }
    let out_shape: Vec<usize> = shape
        .iter()
        .zip(&reduced)
        .filter_map(|(&d, &r)| match (r, keepdims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    // Dimensions of size 1 do not matter for the layout.
    let dims: Vec<(usize, bool)> = shape
        .iter()
        .copied()
        .zip(reduced.iter().copied())
        .filter(|&(d, _)| d != 1)
        .collect();
    let first = dims.iter().position(|&(_, r)| r);
    let last = dims.iter().rposition(|&(_, r)| r);
    let contiguous = match (first, last) {
        (Some(f), Some(l)) => dims[f..=l].iter().all(|&(_, r)| r),
        _ => true,
    };
    let kept_len: usize = dims.iter().filter(|d| !d.1).map(|d| d.0).product();
    let red_len: usize = dims.iter().filter(|d| d.1).map(|d| d.0).product();

    dispatch_number!(x.dtype(), T => {
        let data = x.as_slice::<T>()?;
        let (data, outer, inner): (Cow<[T]>, usize, usize) = if contiguous {
            let f = first.unwrap_or(dims.len());
            let outer: usize = dims[..f].iter().map(|d| d.0).product();
            (Cow::Borrowed(data), outer, kept_len / outer.max(1))
        } else {
            let full: Vec<usize> = dims.iter().map(|d| d.0).collect();
            let perm: Vec<usize> = (0..dims.len())
                .filter(|&i| !dims[i].1)
                .chain((0..dims.len()).filter(|&i| dims[i].1))
                .collect();
            (Cow::Owned(transpose(data, &full, &perm)?), kept_len, 1)
        };
        let out: Vec<T> = if T::IS_FLOAT {
            run_wide::<T, f64>(op, &data, outer, red_len, inner)
        } else {
            run_wide::<T, i128>(op, &data, outer, red_len, inner)
        };
        Tensor::new(out_shape, out)
    })
}

fn build(n: &NodeCtx, op: Op) -> Result<Box<dyn Kernel>> {
    let keepdims = n.attr_int("keepdims", 1)? != 0;
    let noop = n.attr_int("noop_with_empty_axes", 0)? != 0;
    let from_input = n.opset >= if op == Op::Sum { 13 } else { 18 };
    let attr_axes = if from_input {
        None
    } else {
        n.attr_ints_opt("axes")?
    };
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let axes = if from_input {
            match inputs.opt_tensor(1)? {
                Some(t) => t.to_i64_vec()?,
                None => vec![],
            }
        } else {
            attr_axes.clone().unwrap_or_default()
        };
        if axes.is_empty() && noop {
            return Ok(vec![Value::Tensor(x.clone())]);
        }
        Ok(vec![reduce_tensor(x, op, &axes, keepdims)?.into()])
    }))
}

macro_rules! reduce_builders {
    ($($f:ident => $op:ident),*) => {
        $(pub fn $f(n: &NodeCtx) -> Result<Box<dyn Kernel>> { build(n, Op::$op) })*
    };
}
reduce_builders!(
    reduce_sum => Sum, reduce_mean => Mean, reduce_max => Max, reduce_min => Min,
    reduce_prod => Prod, reduce_l1 => L1, reduce_l2 => L2, reduce_log_sum => LogSum,
    reduce_log_sum_exp => LogSumExp, reduce_sum_square => SumSquare
);

fn arg_build(n: &NodeCtx, max: bool) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 0)?;
    let keepdims = n.attr_int("keepdims", 1)? != 0;
    let last = n.attr_int("select_last_index", 0)? != 0;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let shape = x.shape();
        ensure!(
            !shape.is_empty(),
            "ArgMax/ArgMin need a tensor of rank >= 1"
        );
        let ax = crate::ops::util::axis(axis, shape.len())?;
        let (outer, m, inner) = split_at_axis(shape, ax);
        ensure!(
            m > 0 || outer * inner == 0,
            "cannot take the arg max/min over an empty axis"
        );
        let mut out_shape = shape.to_vec();
        if keepdims {
            out_shape[ax] = 1;
        } else {
            out_shape.remove(ax);
        }
        let out: Vec<i64> = dispatch_number!(x.dtype(), T => {
            let d = x.as_slice::<T>()?;
            Ok::<_, runnx_ir::Error>(arg_view(d, outer, m, inner, max, last))
        })?;
        Ok(vec![Tensor::new(out_shape, out)?.into()])
    }))
}

#[allow(clippy::eq_op)]
fn arg_view<T: Number>(
    d: &[T],
    outer: usize,
    m: usize,
    inner: usize,
    max: bool,
    last: bool,
) -> Vec<i64> {
    let mut out = vec![0i64; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| d[(o * m + j) * inner + i];
            let mut best = at(0);
            let mut bi = 0usize;
            for j in 1..m {
                let v = at(j);
                let take = if best != best {
                    false
                } else if v != v {
                    true
                } else {
                    match (max, last) {
                        (true, false) => v > best,
                        (true, true) => v >= best,
                        (false, false) => v < best,
                        (false, true) => v <= best,
                    }
                };
                if take {
                    best = v;
                    bi = j;
                }
            }
            out[o * inner + i] = bi as i64;
        }
    }
    out
}

pub fn arg_max(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    arg_build(n, true)
}

pub fn arg_min(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    arg_build(n, false)
}
