//! NumPy `.npy` files (C order, little-endian) to tensors and back.

use bytes::Bytes;
use runnx_core::ir::dtype::Number;
use runnx_core::ir::{dispatch_number, DType, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";

fn descr(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        DType::String | DType::BF16 => return None,
    })
}

fn parse_descr(d: &str) -> Option<DType> {
    let d = d.replace('=', "<");
    DType::ALL
        .into_iter()
        .find(|t| descr(*t).is_some_and(|x| x == d || x.replace('|', "<") == d))
}

pub fn read(bytes: &[u8]) -> Result<Tensor, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("not a .npy file".into());
    }
    let (header_len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!(".npy version {v} is not supported")),
    };
    let end = start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "bad .npy header")?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))?;
        let rest = &header[at + key.len() + 2..];
        Some(rest.trim_start().strip_prefix(':')?.trim_start())
    };
    let descr = field("descr")
        .and_then(|v| v.strip_prefix('\''))
        .and_then(|v| v.split('\'').next())
        .ok_or("no descr")?;
    let dtype = parse_descr(descr)
        .ok_or_else(|| format!(".npy element type '{descr}' is not supported"))?;
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("Fortran-order .npy files are not supported".into());
    }
    let shape_text = field("shape")
        .and_then(|v| v.strip_prefix('('))
        .and_then(|v| v.split(')').next())
        .ok_or("no shape")?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad .npy dimension '{s}'"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::from_le_bytes(dtype, shape, Bytes::copy_from_slice(&bytes[end..]))
        .map_err(|e| e.to_string())
}

pub fn write(t: &Tensor) -> Result<Vec<u8>, String> {
    let d = descr(t.dtype())
        .ok_or_else(|| format!("{} tensors cannot be written as .npy", t.dtype()))?;
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{d}', 'fortran_order': False, 'shape': {shape}, }}");
    let pad = 64 - (10 + header.len() + 1) % 64;
    header.push_str(&" ".repeat(pad % 64));
    header.push('\n');
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    let body: Result<Vec<u8>, runnx_core::Error> = (|| {
        dispatch_number!(t.dtype(), T => {
            let mut b = Vec::with_capacity(t.len() * t.dtype().size());
            for v in t.as_slice::<T>()? {
                le_bytes(*v, &mut b);
            }
            Ok(b)
        })
    })();
    out.extend(body.map_err(|e| e.to_string())?);
    Ok(out)
}

fn le_bytes<T: Number>(v: T, out: &mut Vec<u8>) {
    let size = std::mem::size_of::<T>();
    // SAFETY: numeric element types are plain data with no padding.
    let raw = unsafe { std::slice::from_raw_parts(&v as *const T as *const u8, size) };
    out.extend_from_slice(raw);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Tensor::new(vec![2, 3], vec![1.5f32, 2.0, -3.0, 4.0, 5.0, 6.25]).unwrap();
        let back = read(&write(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        let v = Tensor::vector(vec![7i64, -1]);
        assert_eq!(read(&write(&v).unwrap()).unwrap(), v);
        assert!(read(b"\x93NUMPY\x01\x00\xff\xff").is_err());
    }
}
