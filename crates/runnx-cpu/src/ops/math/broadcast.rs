//! The element-wise frameworks shared by every op of this family: one for
//! unary maps, one for broadcasting binary maps, one for broadcasting n-ary maps.
//!
//! Inner loops are plain slice zips so that LLVM vectorises them once the
//! per-element closure is inlined; big outputs are split across threads.

use crate::ops::util::{broadcast_shapes, broadcast_strides, for_each_broadcast_run};
use crate::par;
use runnx_ir::{tensor::checked_len, Elem, Result, Tensor};

/// Elements per parallel chunk: a few chunks per thread, never tiny.
fn chunk_len(n: usize) -> usize {
    let threads = par::current_threads().max(1);
    (n / (threads * 4)).max(4096)
}

/// `f` over every element of `t`, into a new tensor of the same shape.
/// `cost` is a rough count of scalar operations per element (for threading).
pub fn unary_map<T, O, F>(t: &Tensor, cost: usize, f: F) -> Result<Tensor>
where
    T: Elem,
    O: Elem,
    F: Fn(&T) -> O + Sync,
{
    let src = t.as_slice::<T>()?;
    let mut out = runnx_ir::buffers::take(src.len(), O::default())?;
    let chunk = chunk_len(src.len());
    par::for_each_chunk_mut(&mut out, chunk, chunk.saturating_mul(cost), |ci, o| {
        let start = ci * chunk;
        let s = &src[start..start + o.len()];
        for (o, x) in o.iter_mut().zip(s) {
            *o = f(x);
        }
    });
    Tensor::new(t.shape().to_vec(), out)
}

/// One contiguous run of a binary map: `a_step` and `b_step` are 0 (the operand is
/// repeated) or 1 (it advances with the output).
#[inline(always)]
fn binary_run<A, B, O, F>(out: &mut [O], a: &[A], a_step: usize, b: &[B], b_step: usize, f: &F)
where
    O: Clone,
    F: Fn(&A, &B) -> O,
{
    let n = out.len();
    match (a_step != 0, b_step != 0) {
        (true, true) => {
            for ((o, x), y) in out.iter_mut().zip(&a[..n]).zip(&b[..n]) {
                *o = f(x, y);
            }
        }
        (true, false) => {
            let y = &b[0];
            for (o, x) in out.iter_mut().zip(&a[..n]) {
                *o = f(x, y);
            }
        }
        (false, true) => {
            let x = &a[0];
            for (o, y) in out.iter_mut().zip(&b[..n]) {
                *o = f(x, y);
            }
        }
        (false, false) => {
            let v = f(&a[0], &b[0]);
            out.fill(v);
        }
    }
}

/// Merge adjacent dimensions that every operand reads contiguously (or all
/// broadcasts), and drop dimensions of size 1, so inner runs are as long as possible.
fn coalesce(out: &[usize], strides: &mut [Vec<usize>]) -> Vec<usize> {
    let mut shape: Vec<usize> = Vec::with_capacity(out.len());
    let mut merged: Vec<Vec<usize>> = vec![Vec::with_capacity(out.len()); strides.len()];
    for (d, &n) in out.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let can_merge = match shape.last() {
            Some(&_prev) => strides
                .iter()
                .zip(&merged)
                .all(|(s, m)| m.last().is_some_and(|&ps| ps == s[d] * n)),
            None => false,
        };
        if can_merge {
            if let Some(last) = shape.last_mut() {
                *last *= n;
            }
            for (s, m) in strides.iter().zip(merged.iter_mut()) {
                if let Some(ps) = m.last_mut() {
                    *ps = s[d];
                }
            }
        } else {
            shape.push(n);
            for (s, m) in strides.iter().zip(merged.iter_mut()) {
                m.push(s[d]);
            }
        }
    }
    for (s, m) in strides.iter_mut().zip(merged) {
        *s = m;
    }
    shape
}

/// `f(a, b)` over the numpy broadcast of `a` and `b`. `cost` as in [`unary_map`].
pub fn binary_map<A, B, O, F>(a: &Tensor, b: &Tensor, cost: usize, f: F) -> Result<Tensor>
where
    A: Elem,
    B: Elem,
    O: Elem,
    F: Fn(&A, &B) -> O + Sync,
{
    let xa = a.as_slice::<A>()?;
    let xb = b.as_slice::<B>()?;
    let shape = broadcast_shapes(&[a.shape(), b.shape()])?;
    let n = checked_len(&shape)?;
    let mut out = runnx_ir::buffers::take(n, O::default())?;
    if n == 0 {
        return Tensor::new(shape, out);
    }
    let chunk = chunk_len(n);
    let work = chunk.saturating_mul(cost);
    // Fast paths: same shape, or one operand a single element.
    let same = xa.len() == n && xb.len() == n;
    if same || (xa.len() == 1 && xb.len() == n) || (xa.len() == n && xb.len() == 1) {
        let (sa, sb) = (
            usize::from(xa.len() != 1 || n == 1),
            usize::from(xb.len() != 1 || n == 1),
        );
        par::for_each_chunk_mut(&mut out, chunk, work, |ci, o| {
            let start = ci * chunk;
            binary_run(o, &xa[start * sa..], sa, &xb[start * sb..], sb, &f);
        });
        return Tensor::new(shape, out);
    }
    // General broadcast over the coalesced shape, split along its outer dimension.
    let mut strides = vec![
        broadcast_strides(a.shape(), &shape),
        broadcast_strides(b.shape(), &shape),
    ];
    let cshape = coalesce(&shape, &mut strides);
    let (sa, sb) = (&strides[0], &strides[1]);
    let row: usize = cshape[1..].iter().product();
    let rows_per_chunk = (chunk / row.max(1)).max(1);
    par::for_each_chunk_mut(
        &mut out,
        rows_per_chunk * row,
        rows_per_chunk * row * cost,
        |ci, o| {
            let r0 = ci * rows_per_chunk;
            let mut sub = cshape.clone();
            sub[0] = o.len() / row;
            let (base_a, base_b) = (r0 * sa[0], r0 * sb[0]);
            for_each_broadcast_run(&sub, sa, sb, |os, ao, astep, bo, bstep, len| {
                binary_run(
                    &mut o[os..os + len],
                    &xa[base_a + ao..],
                    astep,
                    &xb[base_b + bo..],
                    bstep,
                    &f,
                );
            });
        },
    );
    Tensor::new(shape, out)
}

/// `f(c, x, y)` over the broadcast of three tensors (Where).
pub fn ternary_map<C, X, Y, O, F>(c: &Tensor, x: &Tensor, y: &Tensor, f: F) -> Result<Tensor>
where
    C: Elem,
    X: Elem,
    Y: Elem,
    O: Elem,
    F: Fn(&C, &X, &Y) -> O + Sync,
{
    let (xc, xx, xy) = (c.as_slice::<C>()?, x.as_slice::<X>()?, y.as_slice::<Y>()?);
    let shape = broadcast_shapes(&[c.shape(), x.shape(), y.shape()])?;
    let n = checked_len(&shape)?;
    let mut out = runnx_ir::buffers::take(n, O::default())?;
    if n == 0 {
        return Tensor::new(shape, out);
    }
    let mut strides = vec![
        broadcast_strides(c.shape(), &shape),
        broadcast_strides(x.shape(), &shape),
        broadcast_strides(y.shape(), &shape),
    ];
    let cshape = coalesce(&shape, &mut strides);
    if cshape.is_empty() {
        out[0] = f(&xc[0], &xx[0], &xy[0]);
        return Tensor::new(shape, out);
    }
    let rank = cshape.len();
    let inner = cshape[rank - 1];
    let steps: Vec<usize> = strides.iter().map(|s| s[rank - 1]).collect();
    let rows = n / inner;
    let chunk = chunk_len(n);
    let rows_per_chunk = (chunk / inner).max(1);
    par::for_each_chunk_mut(
        &mut out,
        rows_per_chunk * inner,
        rows_per_chunk * inner * 2,
        |ci, o| {
            let r0 = ci * rows_per_chunk;
            for (ri, orow) in o.chunks_mut(inner).enumerate() {
                let r = r0 + ri;
                if r >= rows {
                    break;
                }
                // Offsets of this row: decompose the row index over the outer dimensions.
                let mut off = [0usize; 3];
                let mut rem = r;
                for d in (0..rank - 1).rev() {
                    let i = rem % cshape[d];
                    rem /= cshape[d];
                    for (k, s) in strides.iter().enumerate() {
                        off[k] += i * s[d];
                    }
                }
                for (j, o) in orow.iter_mut().enumerate() {
                    *o = f(
                        &xc[off[0] + j * steps[0]],
                        &xx[off[1] + j * steps[1]],
                        &xy[off[2] + j * steps[2]],
                    );
                }
            }
        },
    );
    Tensor::new(shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_broadcasts() {
        let a = Tensor::new(vec![2, 1, 3], (0..6).map(|x| x as f32).collect()).unwrap();
        let b = Tensor::new(vec![4, 1], (0..4).map(|x| 10.0 * x as f32).collect()).unwrap();
        let r = binary_map::<f32, f32, f32, _>(&a, &b, 1, |x, y| x + y).unwrap();
        assert_eq!(r.shape(), &[2, 4, 3]);
        let v = r.as_slice::<f32>().unwrap();
        for i in 0..2 {
            for j in 0..4 {
                for k in 0..3 {
                    assert_eq!(v[i * 12 + j * 3 + k], (i * 3 + k) as f32 + 10.0 * j as f32);
                }
            }
        }
        let s = Tensor::scalar(1.0f32);
        let r = binary_map::<f32, f32, f32, _>(&s, &a, 1, |x, y| x - y).unwrap();
        assert_eq!(
            r.as_slice::<f32>().unwrap(),
            &[1.0, 0.0, -1.0, -2.0, -3.0, -4.0]
        );
        let e = Tensor::new(vec![0, 3], Vec::<f32>::new()).unwrap();
        assert_eq!(
            binary_map::<f32, f32, f32, _>(&e, &a, 1, |x, y| x + y)
                .unwrap()
                .shape(),
            &[2, 0, 3]
        );
        assert!(binary_map::<f32, f32, f32, _>(
            &a,
            &Tensor::vector(vec![1.0f32, 2.0]),
            1,
            |x, y| x + y
        )
        .is_err());
    }

    #[test]
    fn coalesces_bias_add() {
        // [N, C, H, W] + [C, 1, 1]
        let a = Tensor::new(vec![2, 3, 2, 2], (0..24).map(|x| x as f32).collect()).unwrap();
        let b = Tensor::new(vec![3, 1, 1], vec![100.0f32, 200.0, 300.0]).unwrap();
        let r = binary_map::<f32, f32, f32, _>(&a, &b, 1, |x, y| x + y).unwrap();
        let v = r.as_slice::<f32>().unwrap();
        for (i, &x) in v.iter().enumerate() {
            assert_eq!(x, i as f32 + 100.0 * ((i / 4) % 3 + 1) as f32);
        }
    }

    #[test]
    fn ternary_broadcasts() {
        let c = Tensor::new(vec![2, 1], vec![true, false]).unwrap();
        let x = Tensor::vector(vec![1i64, 2, 3]);
        let y = Tensor::scalar(9i64);
        let r =
            ternary_map::<bool, i64, i64, i64, _>(&c, &x, &y, |c, x, y| if *c { *x } else { *y })
                .unwrap();
        assert_eq!(r.shape(), &[2, 3]);
        assert_eq!(r.as_slice::<i64>().unwrap(), &[1, 2, 3, 9, 9, 9]);
    }
}
