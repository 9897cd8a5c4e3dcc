//! The one strided-copy routine behind Transpose, Slice, Expand, Tile, Concat,
//! Pad, DepthToSpace and friends.
//!
//! A copy is described by an iteration shape, a source view (offset + signed
//! element strides, stride 0 for broadcast dimensions) and a destination view
//! (offset + strides). Dimensions are coalesced first, contiguous inner runs
//! become slice copies, and transposes whose inner source stride is not 1 are
//! copied in cache-sized tiles.

use crate::par;
use runnx_ir::{bail, ensure, Result};

/// A strided view into a flat buffer.
#[derive(Debug, Clone)]
pub struct View {
    pub offset: usize,
    pub strides: Vec<isize>,
}

impl View {
    /// Row-major contiguous view of `shape`.
    pub fn contiguous(shape: &[usize]) -> View {
        View {
            offset: 0,
            strides: contiguous_strides(shape),
        }
    }
}

/// Row-major strides as signed values.
pub fn contiguous_strides(shape: &[usize]) -> Vec<isize> {
    let mut s = vec![1isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        s[i] = acc;
        acc = acc.saturating_mul(shape[i] as isize);
    }
    s
}

/// Check that every position `view` reaches over `shape` lies in `0..len`.
fn check_bounds(shape: &[usize], view: &View, len: usize) -> Result<()> {
    if shape.contains(&0) {
        return Ok(());
    }
    let (mut lo, mut hi) = (view.offset as i128, view.offset as i128);
    for (&d, &s) in shape.iter().zip(&view.strides) {
        let span = (d as i128 - 1) * s as i128;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    ensure!(
        lo >= 0 && hi < len as i128,
        "strided view out of bounds (internal error)"
    );
    Ok(())
}

/// Drop size-1 dimensions and merge dimensions that are contiguous in both views.
fn coalesce(shape: &[usize], a: &[isize], b: &[isize]) -> (Vec<usize>, Vec<isize>, Vec<isize>) {
    let mut s: Vec<usize> = Vec::with_capacity(shape.len());
    let mut sa: Vec<isize> = Vec::with_capacity(shape.len());
    let mut sb: Vec<isize> = Vec::with_capacity(shape.len());
    for i in 0..shape.len() {
        if shape[i] == 1 {
            continue;
        }
        if let (Some(&ld), Some(&la), Some(&lb)) = (s.last(), sa.last(), sb.last()) {
            let n = shape[i] as isize;
            if la == a[i] * n && lb == b[i] * n {
                let k = s.len() - 1;
                s[k] = ld * shape[i];
                sa[k] = a[i];
                sb[k] = b[i];
                continue;
            }
        }
        s.push(shape[i]);
        sa.push(a[i]);
        sb.push(b[i]);
    }
    if s.is_empty() {
        s.push(1);
        sa.push(1);
        sb.push(1);
    }
    (s, sa, sb)
}

#[inline]
fn at(base: usize, delta: isize) -> usize {
    base.wrapping_add_signed(delta)
}

const TILE: usize = 64;

/// Serial copy over a coalesced problem. `dst` positions are relative to `dst`.
fn copy_serial<T: Clone + Default>(
    dst: &mut [T],
    d_off: usize,
    ds: &[isize],
    src: &[T],
    s_off: usize,
    ss: &[isize],
    shape: &[usize],
) {
    let rank = shape.len();
    let last = rank - 1;
    let (n, dl, sl) = (shape[last], ds[last], ss[last]);
    // A transpose: the inner source stride is large but some other dimension is
    // contiguous in the source. Copy in tiles over (k, last).
    let tiled = if dl == 1 && sl > 1 && n >= 8 {
        (0..last).rev().find(|&k| ss[k] == 1 && shape[k] >= 8)
    } else {
        None
    };
    let outer_dims: Vec<usize> = (0..last).filter(|&k| Some(k) != tiled).collect();
    let outer: usize = outer_dims.iter().map(|&k| shape[k]).product();
    let mut idx = vec![0usize; outer_dims.len()];
    let (mut d, mut s) = (d_off, s_off);
    // Transposes go through an L1-sized tile so that power-of-two strides on
    // either side do not evict lines still in use.
    let mut buf: Vec<T> = if tiled.is_some() {
        vec![T::default(); TILE * TILE]
    } else {
        Vec::new()
    };
    for _ in 0..outer {
        match tiled {
            Some(k) => {
                let (m, dk) = (shape[k], ds[k]);
                for kb in (0..m).step_by(TILE) {
                    let ke = (kb + TILE).min(m);
                    for jb in (0..n).step_by(TILE) {
                        let je = (jb + TILE).min(n);
                        let (kh, jw) = (ke - kb, je - jb);
                        // Read source rows (contiguous along k) into the tile...
                        for j in 0..jw {
                            let s0 = at(s, kb as isize + (jb + j) as isize * sl);
                            buf[j * TILE..j * TILE + kh].clone_from_slice(&src[s0..s0 + kh]);
                        }
                        // ...and write destination rows (contiguous along the last axis).
                        for kk in 0..kh {
                            let d0 = at(d, (kb + kk) as isize * dk) + jb;
                            for (j, o) in dst[d0..d0 + jw].iter_mut().enumerate() {
                                *o = buf[j * TILE + kk].clone();
                            }
                        }
                    }
                }
            }
            None => {
                if dl == 1 && sl == 1 {
                    dst[d..d + n].clone_from_slice(&src[s..s + n]);
                } else if dl == 1 && sl == 0 {
                    dst[d..d + n].fill(src[s].clone());
                } else if dl == 1 && sl > 0 {
                    let run = &mut dst[d..d + n];
                    for (o, x) in run.iter_mut().zip(src[s..].iter().step_by(sl as usize)) {
                        *o = x.clone();
                    }
                } else {
                    for j in 0..n as isize {
                        dst[at(d, j * dl)] = src[at(s, j * sl)].clone();
                    }
                }
            }
        }
        // Odometer over the outer dimensions.
        for (p, &k) in outer_dims.iter().enumerate().rev() {
            idx[p] += 1;
            d = at(d, ds[k]);
            s = at(s, ss[k]);
            if idx[p] < shape[k] {
                break;
            }
            d = at(d, -ds[k] * shape[k] as isize);
            s = at(s, -ss[k] * shape[k] as isize);
            idx[p] = 0;
        }
    }
}

/// Copy `src` seen through `sv` into `dst` seen through `dv`, over `shape`.
pub fn copy_into<T: Clone + Default>(
    dst: &mut [T],
    dv: &View,
    src: &[T],
    sv: &View,
    shape: &[usize],
) -> Result<()> {
    ensure!(
        sv.strides.len() == shape.len() && dv.strides.len() == shape.len(),
        "strided copy rank mismatch (internal error)"
    );
    if shape.contains(&0) {
        return Ok(());
    }
    check_bounds(shape, sv, src.len())?;
    check_bounds(shape, dv, dst.len())?;
    let (shape, ds, ss) = coalesce(shape, &dv.strides, &sv.strides);
    copy_serial(dst, dv.offset, &ds, src, sv.offset, &ss, &shape);
    Ok(())
}

/// A new contiguous buffer holding `src` seen through `sv` over `shape`
/// (in parallel for large copies).
pub fn gather<T: runnx_ir::Elem>(src: &[T], sv: &View, shape: &[usize]) -> Result<Vec<T>> {
    ensure!(
        sv.strides.len() == shape.len(),
        "strided copy rank mismatch (internal error)"
    );
    let total = runnx_ir::tensor::checked_len(shape)?;
    let mut out = super::filled(total, T::default())?;
    if total == 0 {
        return Ok(out);
    }
    check_bounds(shape, sv, src.len())?;
    let dst_strides = contiguous_strides(shape);
    let (cs, ds, ss) = coalesce(shape, &dst_strides, &sv.strides);
    let rows = cs[0];
    let row_len = total / rows;
    let threads = par::current_threads();
    if threads > 1 && cs.len() > 1 && total >= par::MIN_PARALLEL_WORK && rows > 1 {
        // Split along the outermost dimension; keep tiles whole.
        let mut per = rows.div_ceil(threads * 4).max(1);
        if per < rows && row_len < par::MIN_PARALLEL_WORK / 16 {
            per = per.max((par::MIN_PARALLEL_WORK / 16).div_ceil(row_len));
        }
        if ss[0] == 1 {
            per = per.div_ceil(TILE) * TILE;
        }
        let chunk = per.saturating_mul(row_len);
        par::for_each_chunk_mut(&mut out, chunk, chunk, |ci, part| {
            let r0 = ci * per;
            let mut sub = cs.clone();
            sub[0] = part.len() / row_len;
            let s_off = at(sv.offset, r0 as isize * ss[0]);
            copy_serial(part, 0, &ds, src, s_off, &ss, &sub);
        });
    } else {
        copy_serial(&mut out, 0, &ds, src, sv.offset, &ss, &cs);
    }
    Ok(out)
}

/// Permute a contiguous tensor of `shape`: output dimension i is input dimension `perm[i]`.
pub fn transpose<T: runnx_ir::Elem>(
    src: &[T],
    shape: &[usize],
    perm: &[usize],
) -> Result<(Vec<usize>, Vec<T>)> {
    if perm.len() != shape.len() {
        bail!("perm {:?} does not match rank {}", perm, shape.len());
    }
    let st = contiguous_strides(shape);
    let mut out_shape = Vec::with_capacity(perm.len());
    let mut strides = Vec::with_capacity(perm.len());
    for &p in perm {
        ensure!(p < shape.len(), "perm value {} out of range", p);
        out_shape.push(shape[p]);
        strides.push(st[p]);
    }
    let out = gather(src, &View { offset: 0, strides }, &out_shape)?;
    Ok((out_shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_transpose(src: &[i32], shape: &[usize], perm: &[usize]) -> Vec<i32> {
        let st = contiguous_strides(shape);
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let total: usize = out_shape.iter().product();
        let mut out = Vec::with_capacity(total);
        for flat in 0..total {
            let mut rem = flat;
            let mut off = 0isize;
            for i in (0..out_shape.len()).rev() {
                let ix = rem % out_shape[i];
                rem /= out_shape[i];
                off += ix as isize * st[perm[i]];
            }
            out.push(src[off as usize]);
        }
        out
    }

    #[test]
    fn transposes_match_naive() {
        for (shape, perm) in [
            (vec![37, 45], vec![1, 0]),
            (vec![3, 40, 50], vec![0, 2, 1]),
            (vec![2, 3, 4, 5], vec![3, 1, 0, 2]),
            (vec![9, 33, 17], vec![2, 0, 1]),
            (vec![1, 64, 1, 70], vec![3, 2, 1, 0]),
            // Large enough for the parallel path.
            (vec![3, 200, 150], vec![0, 2, 1]),
            (vec![300, 260], vec![1, 0]),
            (vec![70, 8, 130], vec![2, 1, 0]),
        ] {
            let n: usize = shape.iter().product();
            let src: Vec<i32> = (0..n as i32).collect();
            let (_, got) = transpose(&src, &shape, &perm).unwrap();
            assert_eq!(
                got,
                naive_transpose(&src, &shape, &perm),
                "{shape:?} {perm:?}"
            );
        }
    }

    #[test]
    fn negative_strides_and_broadcast() {
        let src: Vec<i32> = (0..6).collect();
        // Reverse a [2,3] view along both axes.
        let v = View {
            offset: 5,
            strides: vec![-3, -1],
        };
        assert_eq!(gather(&src, &v, &[2, 3]).unwrap(), vec![5, 4, 3, 2, 1, 0]);
        // Broadcast a row.
        let v = View {
            offset: 0,
            strides: vec![0, 1],
        };
        assert_eq!(
            gather(&src[..3], &v, &[2, 3]).unwrap(),
            vec![0, 1, 2, 0, 1, 2]
        );
        // Out of bounds is an error, not a panic.
        let v = View {
            offset: 4,
            strides: vec![1],
        };
        assert!(gather(&src, &v, &[3]).is_err());
    }

    fn naive_transpose_f32(src: &[f32], shape: &[usize], perm: &[usize]) -> Vec<f32> {
        let st = contiguous_strides(shape);
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let r = out_shape.len();
        let total: usize = out_shape.iter().product();
        let mut out = Vec::with_capacity(total);
        let mut idx = vec![0usize; r];
        let mut off = 0isize;
        for _ in 0..total {
            out.push(src[off as usize]);
            for d in (0..r).rev() {
                idx[d] += 1;
                off += st[perm[d]];
                if idx[d] < out_shape[d] {
                    break;
                }
                off -= st[perm[d]] * out_shape[d] as isize;
                idx[d] = 0;
            }
        }
        out
    }

    #[test]
    #[ignore]
    fn transpose_speed() {
        for (shape, perm) in [
            (vec![2048, 2048], vec![1, 0]),
            (vec![2000, 2000], vec![1, 0]),
            (vec![2048, 2048], vec![0, 1]),
            (vec![1, 128, 12, 64], vec![0, 2, 3, 1]),
            (vec![1, 128, 12, 64], vec![0, 2, 1, 3]),
            (vec![1, 32, 112, 112], vec![0, 2, 3, 1]),
        ] {
            let n: usize = shape.iter().product();
            let src: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let t = std::time::Instant::now();
            for _ in 0..10 {
                std::hint::black_box(transpose(&src, &shape, &perm).unwrap());
            }
            let per = t.elapsed().as_secs_f64() / 10.0;
            let t = std::time::Instant::now();
            for _ in 0..10 {
                std::hint::black_box(naive_transpose_f32(&src, &shape, &perm));
            }
            let naive = t.elapsed().as_secs_f64() / 10.0;
            eprintln!("naive: {:.3} ms", naive * 1e3);
            eprintln!(
                "{shape:?} {perm:?}: {:.3} ms, {:.2} GB/s",
                per * 1e3,
                (n * 8) as f64 / per / 1e9
            );
        }
    }
}
