//! A dense, row-major tensor: element type, shape and shared storage.
//!
//! Storage is reference counted so that views (Reshape, Identity, initializers
//! read by many nodes) cost nothing, and it may be a zero-copy view into the
//! model buffer (`Storage::Mapped`).

use crate::dtype::{DType, Elem, Number};
use crate::error::{Error, Result};
use crate::{bail, dispatch_all, dispatch_number, ensure};
use bytes::Bytes;
use std::sync::Arc;

#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Storage {
    F32(Vec<f32>),
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Str(Vec<String>),
    Bool(Vec<bool>),
    F16(Vec<half::f16>),
    F64(Vec<f64>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    BF16(Vec<half::bf16>),
    /// Little-endian bytes of a numeric tensor, aligned for its element type:
    /// a view into a model buffer or a weight file.
    Mapped(Bytes),
}

#[derive(Debug, Clone)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Arc<Storage>,
}

/// Number of elements of a shape, or an error if it overflows `usize`.
pub fn checked_len(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::invalid(format!("shape {shape:?} has too many elements")))
}

impl Tensor {
    /// A tensor from a shape and its row-major elements.
    pub fn new<T: Elem>(shape: impl Into<Vec<usize>>, data: Vec<T>) -> Result<Tensor> {
        let shape = shape.into();
        let len = checked_len(&shape)?;
        ensure!(
            len == data.len(),
            "shape {:?} needs {} elements, got {}",
            shape,
            len,
            data.len()
        );
        Ok(Tensor {
            dtype: T::DTYPE,
            shape,
            data: Arc::new(T::wrap(data)),
        })
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Elem>(v: T) -> Tensor {
        Tensor {
            dtype: T::DTYPE,
            shape: vec![],
            data: Arc::new(T::wrap(vec![v])),
        }
    }

    /// A rank-1 tensor.
    pub fn vector<T: Elem>(v: Vec<T>) -> Tensor {
        Tensor {
            dtype: T::DTYPE,
            shape: vec![v.len()],
            data: Arc::new(T::wrap(v)),
        }
    }

    /// A tensor of the given type filled with zeros (false, empty strings).
    pub fn zeros(dtype: DType, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        let shape = shape.into();
        let len = checked_len(&shape)?;
        dispatch_all!(dtype, T => Tensor::new(shape, vec![T::default(); len]))
    }

    /// A zero-copy view of little-endian bytes. Falls back to a copy when the
    /// bytes are not aligned for the element type (or on big-endian hosts).
    pub fn from_le_bytes(
        dtype: DType,
        shape: impl Into<Vec<usize>>,
        bytes: Bytes,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let len = checked_len(&shape)?;
        ensure!(
            dtype != DType::String,
            "string tensors cannot be read from raw bytes"
        );
        let need = len
            .checked_mul(dtype.size())
            .ok_or_else(|| Error::invalid("tensor byte size overflows"))?;
        ensure!(
            bytes.len() == need,
            "{} tensor of shape {:?} needs {} bytes, got {}",
            dtype,
            shape,
            need,
            bytes.len()
        );
        if dtype == DType::Bool {
            let v: Vec<bool> = bytes.iter().map(|&b| b != 0).collect();
            return Tensor::new(shape, v);
        }
        let aligned = (bytes.as_ptr() as usize).is_multiple_of(dtype.size());
        if aligned && cfg!(target_endian = "little") {
            return Ok(Tensor {
                dtype,
                shape,
                data: Arc::new(Storage::Mapped(bytes)),
            });
        }
        dispatch_number!(dtype, T => {
            let v: Vec<T> = bytes
                .chunks_exact(dtype.size())
                .map(T::read_le)
                .collect();
            Tensor::new(shape, v)
        })
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the data is a view into a model buffer rather than owned.
    pub fn is_mapped(&self) -> bool {
        matches!(*self.data, Storage::Mapped(_))
    }

    /// The elements, if the tensor holds `T`.
    pub fn as_slice<T: Elem>(&self) -> Result<&[T]> {
        if self.dtype != T::DTYPE {
            bail!("expected a {} tensor, got {}", T::DTYPE, self.dtype);
        }
        T::slice(&self.data).ok_or_else(|| Error::invalid("tensor storage does not match its type"))
    }

    /// Mutable elements; copies the storage first if it is shared or mapped.
    pub fn as_mut_slice<T: Elem>(&mut self) -> Result<&mut [T]> {
        if self.dtype != T::DTYPE {
            bail!("expected a {} tensor, got {}", T::DTYPE, self.dtype);
        }
        if matches!(*self.data, Storage::Mapped(_)) {
            let owned = self.as_slice::<T>()?.to_vec();
            self.data = Arc::new(T::wrap(owned));
        }
        T::slice_mut(Arc::make_mut(&mut self.data))
            .ok_or_else(|| Error::invalid("tensor storage does not match its type"))
    }

    /// The elements as an owned vector, without a copy when this is the only owner.
    pub fn into_vec<T: Elem>(self) -> Result<Vec<T>> {
        if self.dtype != T::DTYPE {
            bail!("expected a {} tensor, got {}", T::DTYPE, self.dtype);
        }
        match Arc::try_unwrap(self.data) {
            Ok(storage) => match T::unwrap(storage) {
                Ok(v) => Ok(v),
                Err(other) => T::slice(&other)
                    .map(|s| s.to_vec())
                    .ok_or_else(|| Error::invalid("tensor storage does not match its type")),
            },
            Err(shared) => T::slice(&shared)
                .map(|s| s.to_vec())
                .ok_or_else(|| Error::invalid("tensor storage does not match its type")),
        }
    }

    /// The storage itself when this tensor is its only owner and owns it
    /// (not a view into a model buffer): for recycling by the buffer pool.
    pub(crate) fn into_unique_storage(self) -> Option<Storage> {
        Arc::try_unwrap(self.data)
            .ok()
            .filter(|s| !matches!(s, Storage::Mapped(_)))
    }

    /// The single element of a tensor with one element (any rank).
    pub fn scalar_value<T: Elem>(&self) -> Result<T> {
        let s = self.as_slice::<T>()?;
        match s {
            [v] => Ok(v.clone()),
            _ => bail!("expected a single value, got shape {:?}", self.shape),
        }
    }

    /// Same data, new shape (no copy). The element count must match.
    pub fn reshaped(&self, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        let shape = shape.into();
        ensure!(
            checked_len(&shape)? == self.len(),
            "cannot reshape {:?} to {:?}",
            self.shape,
            shape
        );
        Ok(Tensor {
            dtype: self.dtype,
            shape,
            data: self.data.clone(),
        })
    }

    /// Integer tensor (any integer type) as i64 values: shapes, axes, indices.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>> {
        ensure!(
            self.dtype.is_int() || self.dtype == DType::Bool,
            "expected an integer tensor, got {}",
            self.dtype
        );
        dispatch_number!(self.dtype, T => Ok(self.as_slice::<T>()?.iter().map(|&x| x.to_i128() as i64).collect()))
    }

    /// Numeric tensor as f64 values (for scalars and small parameters).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        dispatch_number!(self.dtype, T => Ok(self.as_slice::<T>()?.iter().map(|&x| x.to_f64()).collect()))
    }

    /// Convert to another element type with ONNX Cast semantics for numbers:
    /// floats to integers truncate (saturating), integers wrap, anything to bool is `!= 0`.
    pub fn cast(&self, to: DType) -> Result<Tensor> {
        if to == self.dtype {
            return Ok(self.clone());
        }
        ensure!(
            to != DType::String && self.dtype != DType::String,
            "cast between {} and {} is not supported here",
            self.dtype,
            to
        );
        dispatch_number!(self.dtype, S => {
            let src = self.as_slice::<S>()?;
            dispatch_number!(to, D => {
                let out: Vec<D> = if S::IS_FLOAT {
                    src.iter().map(|&x| D::from_f64(x.to_f64())).collect()
                } else {
                    src.iter().map(|&x| D::from_i128(x.to_i128())).collect()
                };
                Tensor::new(self.shape.clone(), out)
            })
        })
    }

    /// Whether two tensors hold the same type, shape and bit-identical elements.
    pub fn same_as(&self, other: &Tensor) -> bool {
        if self.dtype != other.dtype || self.shape != other.shape {
            return false;
        }
        let equal = || -> Result<bool> {
            dispatch_all!(self.dtype, T => Ok(self.as_slice::<T>()? == other.as_slice::<T>()?))
        };
        equal().unwrap_or(false)
    }
}

impl PartialEq for Tensor {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other)
    }
}

/// Axis-wise slicing and stacking (used by Loop/Scan and sequence ops).
impl Tensor {
    /// The sub-tensor at `index` along `axis`, with that axis removed.
    pub fn index_axis(&self, axis: usize, index: usize) -> Result<Tensor> {
        ensure!(
            axis < self.rank(),
            "axis {} is out of range for rank {}",
            axis,
            self.rank()
        );
        let d = self.shape[axis];
        ensure!(
            index < d,
            "index {} is out of range for dimension {} of size {}",
            index,
            axis,
            d
        );
        let outer: usize = self.shape[..axis].iter().product();
        let inner: usize = self.shape[axis + 1..].iter().product();
        let mut shape = self.shape.clone();
        shape.remove(axis);
        dispatch_all!(self.dtype, T => {
            let src = self.as_slice::<T>()?;
            let mut out = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                let start = (o * d + index) * inner;
                out.extend_from_slice(&src[start..start + inner]);
            }
            Tensor::new(shape, out)
        })
    }

    /// Stack tensors of one type and shape along a new axis `axis`.
    pub fn stack(parts: &[Tensor], axis: usize) -> Result<Tensor> {
        let first = parts
            .first()
            .ok_or_else(|| Error::invalid("cannot stack zero tensors"))?;
        ensure!(
            axis <= first.rank(),
            "stack axis {} is out of range for rank {}",
            axis,
            first.rank()
        );
        for p in parts {
            ensure!(
                p.dtype == first.dtype && p.shape == first.shape,
                "cannot stack {} {:?} with {} {:?}",
                p.dtype,
                p.shape,
                first.dtype,
                first.shape
            );
        }
        let outer: usize = first.shape[..axis].iter().product();
        let inner: usize = first.shape[axis..].iter().product();
        let mut shape = first.shape.clone();
        shape.insert(axis, parts.len());
        dispatch_all!(first.dtype, T => {
            let slices = parts.iter().map(|p| p.as_slice::<T>()).collect::<Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(outer * inner * parts.len());
            for o in 0..outer {
                for s in &slices {
                    out.extend_from_slice(&s[o * inner..(o + 1) * inner]);
                }
            }
            Tensor::new(shape, out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_view_is_zero_copy_and_readable() {
        let v: Vec<f32> = vec![1.0, 2.0, 3.0];
        let bytes = Bytes::from(bytemuck::cast_slice::<f32, u8>(&v).to_vec());
        let t = Tensor::from_le_bytes(DType::F32, vec![3], bytes).unwrap();
        assert!(t.is_mapped());
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0]);
    }

    #[test]
    fn unaligned_bytes_are_copied() {
        let mut raw = vec![0u8; 13];
        raw[1..5].copy_from_slice(&1.5f32.to_le_bytes());
        raw[5..9].copy_from_slice(&2.5f32.to_le_bytes());
        raw[9..13].copy_from_slice(&(-1f32).to_le_bytes());
        let b = Bytes::from(raw).slice(1..13);
        let t = Tensor::from_le_bytes(DType::F32, vec![3], b).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.5, 2.5, -1.0]);
    }

    #[test]
    fn wrong_length_is_an_error() {
        assert!(Tensor::new(vec![2, 2], vec![1i64, 2, 3]).is_err());
        assert!(Tensor::from_le_bytes(DType::F32, vec![2], Bytes::from_static(&[0u8; 7])).is_err());
        assert!(Tensor::zeros(DType::F32, vec![usize::MAX, 4]).is_err());
    }

    #[test]
    fn cast_follows_onnx_rules() {
        let t = Tensor::vector(vec![-1.7f32, 2.9, f32::NAN]);
        assert_eq!(
            t.cast(DType::I32).unwrap().as_slice::<i32>().unwrap(),
            &[-1, 2, 0]
        );
        let b = Tensor::vector(vec![0i64, 3]).cast(DType::Bool).unwrap();
        assert_eq!(b.as_slice::<bool>().unwrap(), &[false, true]);
        let w = Tensor::vector(vec![300i32]).cast(DType::U8).unwrap();
        assert_eq!(w.as_slice::<u8>().unwrap(), &[44]);
    }
}
