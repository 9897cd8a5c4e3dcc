//! ONNX model bytes -> runnx IR.

use crate::proto::{self, attribute_type as at, ModelProto};
use crate::tensor::{sparse_to_dense, tensor_from_proto};
use crate::weights::WeightSource;
use bytes::Bytes;
use prost::Message;
use runnx_ir::graph::{Dim, Graph, Model, Node, TypeInfo, ValueInfo};
use runnx_ir::{Attribute, DType, Error, Result};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The oldest IR version runnx reads.
pub const MIN_IR_VERSION: i64 = 3;

/// Parse a model. `bytes` is kept alive by the initializers that view into it.
pub fn load_model(bytes: Bytes, weights: &dyn WeightSource) -> Result<Model> {
    let mp =
        ModelProto::decode(bytes).map_err(|e| Error::Model(format!("not an ONNX model: {e}")))?;
    if mp.ir_version < MIN_IR_VERSION {
        return Err(Error::Model(format!(
            "IR version {} is older than the oldest supported ({MIN_IR_VERSION})",
            mp.ir_version
        )));
    }
    let mut opsets = HashMap::new();
    for o in &mp.opset_import {
        let domain = if o.domain == "ai.onnx" {
            String::new()
        } else {
            o.domain.clone()
        };
        opsets.insert(domain, o.version);
    }
    let graph = mp
        .graph
        .as_ref()
        .ok_or_else(|| Error::Model("model has no graph".into()))?;
    let mut graph = convert_graph(graph, weights)?;
    if !mp.functions.is_empty() {
        crate::functions::inline(&mut graph, &mp.functions, weights)?;
    }
    Ok(Model {
        ir_version: mp.ir_version,
        producer: format!("{} {}", mp.producer_name, mp.producer_version)
            .trim()
            .to_string(),
        opsets,
        graph: Arc::new(graph),
    })
}

pub(crate) fn convert_graph(g: &proto::GraphProto, weights: &dyn WeightSource) -> Result<Graph> {
    let mut initializers = HashMap::new();
    for tp in &g.initializer {
        let t = tensor_from_proto(tp, weights)?;
        initializers.insert(tp.name.clone(), t);
    }
    for sp in &g.sparse_initializer {
        let name = sp
            .values
            .as_ref()
            .map(|v| v.name.clone())
            .unwrap_or_default();
        let t = sparse_to_dense(sp, weights)
            .map_err(|e| Error::Model(format!("sparse initializer '{name}': {e}")))?;
        initializers.insert(name, t);
    }
    let mut inputs = Vec::new();
    let mut overridable = Vec::new();
    for vi in &g.input {
        let info = convert_value_info(vi)?;
        if initializers.contains_key(&vi.name) {
            overridable.push(info);
        } else {
            inputs.push(info);
        }
    }
    let outputs = g
        .output
        .iter()
        .map(convert_value_info)
        .collect::<Result<Vec<_>>>()?;
    let mut value_info = HashMap::new();
    for vi in &g.value_info {
        value_info.insert(vi.name.clone(), convert_type(vi.r#type.as_ref())?);
    }
    let nodes = g
        .node
        .iter()
        .map(|n| convert_node(n, weights))
        .collect::<Result<Vec<_>>>()?;
    check_single_assignment(&nodes, &inputs, &initializers)?;
    Ok(Graph {
        name: g.name.clone(),
        nodes,
        inputs,
        outputs,
        initializers,
        overridable,
        value_info,
    })
}

/// Every value is produced once: by a graph input, an initializer or one node output.
fn check_single_assignment(
    nodes: &[Node],
    inputs: &[ValueInfo],
    initializers: &HashMap<String, runnx_ir::Tensor>,
) -> Result<()> {
    let mut seen: HashSet<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
    seen.extend(initializers.keys().map(String::as_str));
    for n in nodes {
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            if !seen.insert(o) {
                return Err(Error::Model(format!(
                    "node '{}' ({}) writes value '{o}', which is already defined",
                    n.display_name(),
                    n.op_type
                )));
            }
        }
    }
    Ok(())
}

fn convert_node(n: &proto::NodeProto, weights: &dyn WeightSource) -> Result<Node> {
    let name_err = |e: Error| Error::Model(format!("node '{}' ({}): {e}", display(n), n.op_type));
    let attrs = n
        .attribute
        .iter()
        .map(|a| Ok((a.name.clone(), convert_attribute(a, weights)?)))
        .collect::<Result<Vec<_>>>()
        .map_err(name_err)?;
    Ok(Node {
        name: n.name.clone(),
        op_type: n.op_type.clone(),
        domain: if n.domain == "ai.onnx" {
            String::new()
        } else {
            n.domain.clone()
        },
        inputs: n.input.clone(),
        outputs: n.output.clone(),
        attrs,
    })
}

fn display(n: &proto::NodeProto) -> &str {
    if !n.name.is_empty() {
        &n.name
    } else {
        n.output.first().map(String::as_str).unwrap_or("<unnamed>")
    }
}

pub(crate) fn convert_attribute(
    a: &proto::AttributeProto,
    weights: &dyn WeightSource,
) -> Result<Attribute> {
    if !a.ref_attr_name.is_empty() {
        return Err(Error::Model(format!(
            "attribute '{}' refers to function attribute '{}' outside a function",
            a.name, a.ref_attr_name
        )));
    }
    let ty = if a.r#type == at::UNDEFINED {
        guess_attribute_type(a)
    } else {
        a.r#type
    };
    let graph = |g: &proto::GraphProto| convert_graph(g, weights).map(Arc::new);
    Ok(match ty {
        at::FLOAT => Attribute::Float(a.f),
        at::INT => Attribute::Int(a.i),
        at::STRING => Attribute::String(a.s.clone()),
        at::TENSOR => Attribute::Tensor(tensor_from_proto(
            a.t.as_ref()
                .ok_or_else(|| Error::invalid(format!("attribute '{}' has no tensor", a.name)))?,
            weights,
        )?),
        at::SPARSE_TENSOR => Attribute::Tensor(sparse_to_dense(
            a.sparse_tensor.as_ref().ok_or_else(|| {
                Error::invalid(format!("attribute '{}' has no sparse tensor", a.name))
            })?,
            weights,
        )?),
        at::GRAPH => {
            Attribute::Graph(graph(a.g.as_deref().ok_or_else(|| {
                Error::invalid(format!("attribute '{}' has no graph", a.name))
            })?)?)
        }
        at::TYPE_PROTO => Attribute::Type(convert_type(a.tp.as_ref())?),
        at::FLOATS => Attribute::Floats(a.floats.clone()),
        at::INTS => Attribute::Ints(a.ints.clone()),
        at::STRINGS => Attribute::Strings(a.strings.clone()),
        at::TENSORS => Attribute::Tensors(
            a.tensors
                .iter()
                .map(|t| tensor_from_proto(t, weights))
                .collect::<Result<_>>()?,
        ),
        at::GRAPHS => Attribute::Graphs(a.graphs.iter().map(graph).collect::<Result<_>>()?),
        at::TYPE_PROTOS => Attribute::Types(
            a.type_protos
                .iter()
                .map(|t| convert_type(Some(t)))
                .collect::<Result<_>>()?,
        ),
        other => {
            return Err(Error::Unsupported(format!(
                "attribute '{}' of type {other}",
                a.name
            )))
        }
    })
}

/// IR version 3 models may leave `type` unset; infer it from the field in use.
fn guess_attribute_type(a: &proto::AttributeProto) -> i32 {
    if a.t.is_some() {
        at::TENSOR
    } else if a.g.is_some() {
        at::GRAPH
    } else if !a.floats.is_empty() {
        at::FLOATS
    } else if !a.ints.is_empty() {
        at::INTS
    } else if !a.strings.is_empty() {
        at::STRINGS
    } else if !a.tensors.is_empty() {
        at::TENSORS
    } else if !a.graphs.is_empty() {
        at::GRAPHS
    } else if !a.s.is_empty() {
        at::STRING
    } else if a.f != 0.0 {
        at::FLOAT
    } else {
        at::INT
    }
}

fn convert_value_info(vi: &proto::ValueInfoProto) -> Result<ValueInfo> {
    Ok(ValueInfo {
        name: vi.name.clone(),
        ty: convert_type(vi.r#type.as_ref())?,
    })
}

pub(crate) fn convert_type(tp: Option<&proto::TypeProto>) -> Result<TypeInfo> {
    use proto::TypeValue;
    let Some(value) = tp.and_then(|t| t.value.as_ref()) else {
        return Ok(TypeInfo::Unknown);
    };
    Ok(match value {
        TypeValue::TensorType(t) | TypeValue::SparseTensorType(t) => TypeInfo::Tensor {
            dtype: DType::from_onnx_code(t.elem_type),
            shape: t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(proto::DimValue::DimValue(v)) if *v >= 0 => Dim::Fixed(*v as usize),
                        // Some exporters write "?" for "unknown": not a shared symbol.
                        Some(proto::DimValue::DimParam(p)) if !p.is_empty() && p != "?" => {
                            Dim::Symbol(p.clone())
                        }
                        _ => Dim::Unknown,
                    })
                    .collect()
            }),
        },
        TypeValue::SequenceType(s) => {
            TypeInfo::Sequence(Box::new(convert_type(s.elem_type.as_deref())?))
        }
        TypeValue::OptionalType(o) => {
            TypeInfo::Optional(Box::new(convert_type(o.elem_type.as_deref())?))
        }
        TypeValue::MapType(m) => TypeInfo::Map {
            key: DType::from_onnx_code(m.key_type),
            value: Box::new(convert_type(m.value_type.as_deref())?),
        },
    })
}
