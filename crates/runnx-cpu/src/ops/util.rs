//! Helpers shared by operator families: broadcasting, axes, strides.

use runnx_ir::{bail, ensure, Result};

/// The numpy-style broadcast of several shapes.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>> {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut out = vec![1usize; rank];
    for s in shapes {
        let offset = rank - s.len();
        for (i, &d) in s.iter().enumerate() {
            let o = &mut out[offset + i];
            if *o == 1 {
                *o = d;
            } else if d != 1 && d != *o {
                bail!("shapes {:?} cannot be broadcast together", shapes);
            }
        }
    }
    Ok(out)
}

/// Element strides of a tensor of `shape` read as if broadcast to `out`
/// (stride 0 along broadcast dimensions). `shape` must broadcast to `out`.
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let offset = out.len() - shape.len();
    let mut strides = vec![0usize; out.len()];
    let mut acc = 1usize;
    for i in (0..shape.len()).rev() {
        strides[offset + i] = if shape[i] == 1 { 0 } else { acc };
        acc *= shape[i];
    }
    strides
}

/// Row-major strides of a shape.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Normalise a possibly negative axis for a tensor of `rank` dimensions.
pub fn axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    ensure!(
        axis >= -r && axis < r.max(1),
        "axis {} is out of range for rank {}",
        axis,
        rank
    );
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Normalise a list of axes; duplicates are an error.
pub fn axes(list: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(list.len());
    for &a in list {
        let a = axis(a, rank)?;
        ensure!(!out.contains(&a), "axis {} is repeated", a);
        out.push(a);
    }
    Ok(out)
}

/// Visit every output index of a broadcast, calling `f(out_index, a_offset, b_offset)`
/// for contiguous runs along the innermost axis: `f(out_start, a_start, a_step, b_start, b_step, len)`.
pub fn for_each_broadcast_run(
    out: &[usize],
    a_strides: &[usize],
    b_strides: &[usize],
    mut f: impl FnMut(usize, usize, usize, usize, usize, usize),
) {
    let rank = out.len();
    if rank == 0 {
        f(0, 0, 0, 0, 0, 1);
        return;
    }
    let inner = out[rank - 1];
    let (sa, sb) = (a_strides[rank - 1], b_strides[rank - 1]);
    let outer: usize = out[..rank - 1].iter().product();
    if inner == 0 || outer == 0 {
        return;
    }
    let mut idx = vec![0usize; rank - 1];
    let (mut oa, mut ob) = (0usize, 0usize);
    for o in 0..outer {
        f(o * inner, oa, sa, ob, sb, inner);
        // Advance the odometer over the outer dimensions.
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            oa += a_strides[d];
            ob += b_strides[d];
            if idx[d] < out[d] {
                break;
            }
            oa -= a_strides[d] * out[d];
            ob -= b_strides[d] * out[d];
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting() {
        assert_eq!(
            broadcast_shapes(&[&[2, 1, 3], &[4, 1]]).unwrap(),
            vec![2, 4, 3]
        );
        assert!(broadcast_shapes(&[&[2, 3], &[4, 3]]).is_err());
        assert_eq!(broadcast_strides(&[4, 1], &[2, 4, 3]), vec![0, 1, 0]);
        assert_eq!(axis(-1, 3).unwrap(), 2);
        assert!(axis(3, 3).is_err());
    }
}
