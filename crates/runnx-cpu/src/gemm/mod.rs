//! Matrix multiply: packing and cache blocking once, micro-kernels per ISA.
