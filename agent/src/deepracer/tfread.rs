//! Reading a frozen TensorFlow graph: node inputs, frozen constants
//! (through `Identity`), attributes.

use super::tfpb::{AttrValue, DT_FLOAT, DT_INT32, NodeDef, attr_value};
use crate::error::AgentError;
use std::collections::{HashMap, HashSet};

/// A graph's nodes by name.
pub(super) struct Tf<'a> {
    /// The nodes.
    pub(super) nodes: HashMap<&'a str, &'a NodeDef>,
}

/// `node:0` -> `node`; control inputs (`^node`) are `None`.
pub(super) fn input_name(i: &str) -> Option<&str> {
    if i.starts_with('^') {
        return None;
    }
    Some(i.split(':').next().unwrap_or(i))
}

impl<'a> Tf<'a> {
    pub(super) fn data_inputs(&self, n: &'a NodeDef) -> impl Iterator<Item = &'a str> + '_ {
        n.input.iter().filter_map(|i| input_name(i))
    }

    pub(super) fn node(&self, name: &str) -> Result<&'a NodeDef, AgentError> {
        self.nodes.get(name).copied().ok_or_else(|| {
            AgentError::Unsupported(format!("node `{name}` is named but not defined"))
        })
    }

    /// The float constant behind `name` (through `Identity` nodes), with
    /// its shape.
    pub(super) fn constant(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), AgentError> {
        let mut n = self.node(name)?;
        while n.op == "Identity" {
            let next = self.data_inputs(n).next().ok_or_else(|| {
                AgentError::Unsupported(format!("Identity `{}` has no input", n.name))
            })?;
            n = self.node(next)?;
        }
        if n.op != "Const" {
            return Err(AgentError::Unsupported(format!(
                "`{}` (op {}) should be a frozen constant; freeze the graph (variables to constants) first",
                n.name, n.op
            )));
        }
        let Some(AttrValue {
            value: Some(attr_value::Value::Tensor(t)),
        }) = n.attr.get("value")
        else {
            return Err(AgentError::Unsupported(format!(
                "Const `{}` has no value",
                n.name
            )));
        };
        let dims: Vec<usize> = t
            .tensor_shape
            .as_ref()
            .map(|s| s.dim.iter().map(|d| d.size.max(0) as usize).collect())
            .unwrap_or_default();
        let len: usize = dims.iter().product();
        let data: Vec<f32> = match t.dtype {
            DT_FLOAT if !t.tensor_content.is_empty() => t
                .tensor_content
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DT_FLOAT => broadcast(&t.float_val, len),
            DT_INT32 if !t.tensor_content.is_empty() => t
                .tensor_content
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            DT_INT32 => broadcast(&t.int_val, len)
                .into_iter()
                .map(|v| v as f32)
                .collect(),
            other => {
                return Err(AgentError::Unsupported(format!(
                    "Const `{}` has data type {other}, not float",
                    n.name
                )));
            }
        };
        if data.len() != len.max(1) {
            return Err(AgentError::Unsupported(format!(
                "Const `{}` holds {} values for shape {dims:?}",
                n.name,
                data.len()
            )));
        }
        Ok((dims, data))
    }

    /// The constant operand of a binary node, if one is.
    pub(super) fn const_operand(
        &self,
        n: &'a NodeDef,
        on_path: &HashSet<&str>,
    ) -> Option<(Vec<usize>, Vec<f32>)> {
        self.data_inputs(n)
            .find(|i| !on_path.contains(i))
            .and_then(|i| self.constant(i).ok())
    }
}

fn broadcast<T: Copy + Default>(v: &[T], len: usize) -> Vec<T> {
    match v {
        [one] => vec![*one; len.max(1)],
        _ => v.to_vec(),
    }
}

pub(super) fn ints_attr(n: &NodeDef, name: &str) -> Option<Vec<i64>> {
    match n.attr.get(name) {
        Some(AttrValue {
            value: Some(attr_value::Value::List(l)),
        }) => Some(l.i.clone()),
        _ => None,
    }
}

pub(super) fn str_attr(n: &NodeDef, name: &str) -> Option<String> {
    match n.attr.get(name) {
        Some(AttrValue {
            value: Some(attr_value::Value::S(s)),
        }) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}
