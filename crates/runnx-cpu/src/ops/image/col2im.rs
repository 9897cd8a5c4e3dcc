//! Col2Im: sum sliding blocks (columns) back into an image, any spatial rank.

use super::common::{attr_usizes, numel, to_usize};
use crate::par::for_each_chunk_mut;
use runnx_ir::dtype::Number;
use runnx_ir::{
    dispatch_number, ensure, kernel, Error, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

fn col2im(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let dil = attr_usizes(n, "dilations", 1)?;
    let pads = attr_usizes(n, "pads", 0)?;
    let strides = attr_usizes(n, "strides", 1)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let image: Vec<usize> = inputs
            .tensor(1)?
            .to_i64_vec()?
            .iter()
            .map(|&v| to_usize(v, "image_shape"))
            .collect::<Result<_>>()?;
        let block: Vec<usize> = inputs
            .tensor(2)?
            .to_i64_vec()?
            .iter()
            .map(|&v| to_usize(v, "block_shape"))
            .collect::<Result<_>>()?;
        let r = image.len();
        ensure!(
            r >= 1 && block.len() == r,
            "image_shape {:?} and block_shape {:?} must have the same length",
            image,
            block
        );
        ensure!(
            x.rank() == 3,
            "Col2Im expects a 3-D input, got {:?}",
            x.shape()
        );
        let dil = dil.clone().unwrap_or_else(|| vec![1; r]);
        let strides = strides.clone().unwrap_or_else(|| vec![1; r]);
        let pads = pads.clone().unwrap_or_else(|| vec![0; 2 * r]);
        ensure!(
            dil.len() == r && strides.len() == r && pads.len() == 2 * r,
            "dilations/strides/pads do not match rank {}",
            r
        );
        let kprod = numel(&block)?;
        ensure!(kprod > 0, "block_shape must be positive, got {:?}", block);
        let (nb, ck, l) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        ensure!(
            ck % kprod == 0,
            "input dimension 1 ({}) is not a multiple of the block size {}",
            ck,
            kprod
        );
        let c = ck / kprod;
        // Number of block positions per dimension.
        let mut grid = Vec::with_capacity(r);
        for d in 0..r {
            let span = (block[d] - 1)
                .checked_mul(dil[d])
                .and_then(|v| v.checked_add(1))
                .ok_or_else(|| Error::invalid("block too large"))?;
            let total = image[d]
                .checked_add(pads[d])
                .and_then(|v| v.checked_add(pads[d + r]))
                .ok_or_else(|| Error::invalid("pads too large"))?;
            ensure!(
                total >= span,
                "block {} does not fit the padded image {}",
                span,
                total
            );
            grid.push((total - span) / strides[d] + 1);
        }
        ensure!(
            numel(&grid)? == l,
            "input has {} blocks, image and block shapes give {}",
            l,
            numel(&grid)?
        );
        let mut out_shape = vec![nb, c];
        out_shape.extend_from_slice(&image);
        let plane = numel(&image)?;
        let y = dispatch_number!(x.dtype(), T => {
            ensure!(x.dtype().is_numeric(), "Col2Im expects a numeric input");
            let xs = x.as_slice::<T>()?;
            let mut out = vec![T::zero(); numel(&out_shape)?];
            let bstr = crate::ops::util::strides(&block);
            let gstr = crate::ops::util::strides(&grid);
            let istr = crate::ops::util::strides(&image);
            if plane > 0 {
                for_each_chunk_mut(&mut out, plane, kprod.saturating_mul(l), |pi, o| {
                    let (b, ch) = (pi / c, pi % c);
                    for k in 0..kprod {
                        let row = &xs[((b * ck) + ch * kprod + k) * l..((b * ck) + ch * kprod + k + 1) * l];
                        for (li, &v) in row.iter().enumerate() {
                            let mut off = 0usize;
                            let mut inside = true;
                            for d in 0..r {
                                let kd = (k / bstr[d]) % block[d];
                                let gd = (li / gstr[d]) % grid[d];
                                let pos = (gd * strides[d] + kd * dil[d]) as i64 - pads[d] as i64;
                                if pos < 0 || pos >= image[d] as i64 {
                                    inside = false;
                                    break;
                                }
                                off += pos as usize * istr[d];
                            }
                            if inside {
                                o[off] = T::from_f64(o[off].to_f64() + v.to_f64());
                            }
                        }
                    }
                });
            }
            Tensor::new(out_shape.clone(), out)
        })?;
        Ok(vec![Value::Tensor(y)])
    }))
}

pub fn register(r: &mut crate::Registry) {
    r.add("Col2Im", col2im);
}
