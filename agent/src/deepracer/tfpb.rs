//! The part of TensorFlow's `GraphDef` protobuf that a frozen inference
//! graph uses, as prost messages. Field numbers and enum values are those
//! of TensorFlow's `graph.proto`, `node_def.proto`, `attr_value.proto`,
//! `tensor.proto`, `tensor_shape.proto`, `types.proto` and
//! `versions.proto` (tensorflow/core/framework). Fields a frozen graph
//! does not need are left out; prost skips them when decoding. Attribute
//! maps are `BTreeMap`s so that the same graph always encodes to the same
//! bytes.

use std::collections::BTreeMap;

/// `tensorflow.DataType`: float.
pub(crate) const DT_FLOAT: i32 = 1;
/// `tensorflow.DataType`: int32.
pub(crate) const DT_INT32: i32 = 3;

/// `tensorflow.GraphDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct GraphDef {
    /// The nodes, in any order (TensorFlow sorts them on import).
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    /// The producer's graph version.
    #[prost(message, optional, tag = "4")]
    pub versions: Option<VersionDef>,
}

/// `tensorflow.VersionDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VersionDef {
    /// The GraphDef version of the producer.
    #[prost(int32, tag = "1")]
    pub producer: i32,
    /// The oldest consumer version that may read it.
    #[prost(int32, tag = "2")]
    pub min_consumer: i32,
}

/// `tensorflow.NodeDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct NodeDef {
    /// Unique name; other nodes name it (optionally with `:k` for output k).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The op (`Conv2D`, `MatMul`, `Const`, ...).
    #[prost(string, tag = "2")]
    pub op: String,
    /// Inputs: `node`, `node:k`, or `^node` for a control dependency.
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    /// The device placement; empty in a frozen graph.
    #[prost(string, tag = "4")]
    pub device: String,
    /// Attributes.
    #[prost(btree_map = "string, message", tag = "5")]
    pub attr: BTreeMap<String, AttrValue>,
}

/// `tensorflow.AttrValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct AttrValue {
    /// The value.
    #[prost(oneof = "attr_value::Value", tags = "1, 2, 3, 4, 5, 6, 7, 8")]
    pub value: Option<attr_value::Value>,
}

/// Nested types of [`AttrValue`].
pub(crate) mod attr_value {
    /// `tensorflow.AttrValue.ListValue`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct ListValue {
        /// Byte strings.
        #[prost(bytes = "vec", repeated, tag = "2")]
        pub s: Vec<Vec<u8>>,
        /// Integers.
        #[prost(int64, repeated, tag = "3")]
        pub i: Vec<i64>,
    }

    /// `tensorflow.AttrValue.value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub(crate) enum Value {
        /// A list.
        #[prost(message, tag = "1")]
        List(ListValue),
        /// A byte string (`padding`, `data_format`).
        #[prost(bytes = "vec", tag = "2")]
        S(Vec<u8>),
        /// An integer.
        #[prost(int64, tag = "3")]
        I(i64),
        /// A float.
        #[prost(float, tag = "4")]
        F(f32),
        /// A bool.
        #[prost(bool, tag = "5")]
        B(bool),
        /// A `DataType`.
        #[prost(int32, tag = "6")]
        Type(i32),
        /// A shape.
        #[prost(message, tag = "7")]
        Shape(super::TensorShapeProto),
        /// A tensor (`Const`'s `value`).
        #[prost(message, tag = "8")]
        Tensor(super::TensorProto),
    }
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TensorShapeProto {
    /// Dimensions, outermost first; size -1 is unknown.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
    /// True when even the rank is unknown.
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Dim {
    /// Size, or -1.
    #[prost(int64, tag = "1")]
    pub size: i64,
}

/// `tensorflow.TensorProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TensorProto {
    /// The element type.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// The shape.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    /// Row-major little-endian element bytes (TensorFlow's usual encoding
    /// of frozen weights).
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    /// Floats, when not in `tensor_content` (one value is broadcast).
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    /// Int32s, when not in `tensor_content` (one value is broadcast).
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
}

/// `data` of row-major shape `dims` with its axes reordered: axis `k` of
/// the result is axis `perm[k]` of `data` (NumPy's `transpose(perm)`).
/// Converts convolution filters between burn's and ONNX's `[out, in, kh,
/// kw]` and TensorFlow's `[kh, kw, in, out]`.
///
/// # Shapes
/// `data`: `dims`; returns `[dims[perm[0]], .., dims[perm[3]]]`.
pub(crate) fn permute4(data: &[f32], dims: [usize; 4], perm: [usize; 4]) -> Vec<f32> {
    let out_dims = perm.map(|p| dims[p]);
    let mut stride = [0usize; 4];
    let mut acc = 1;
    for k in (0..4).rev() {
        stride[k] = acc;
        acc *= dims[k];
    }
    let mut out = Vec::with_capacity(data.len());
    for a in 0..out_dims[0] {
        for b in 0..out_dims[1] {
            for c in 0..out_dims[2] {
                for d in 0..out_dims[3] {
                    let idx = [a, b, c, d];
                    let mut src = 0;
                    for k in 0..4 {
                        src += idx[k] * stride[perm[k]];
                    }
                    out.push(data[src]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::permute4;

    #[test]
    fn permute4_matches_the_hand_written_filter_transposes() {
        let (o, i, kh, kw) = (3, 2, 4, 5);
        let data: Vec<f32> = (0..o * i * kh * kw).map(|v| v as f32).collect();
        let hwio = permute4(&data, [o, i, kh, kw], [2, 3, 1, 0]);
        for oo in 0..o {
            for ii in 0..i {
                for y in 0..kh {
                    for x in 0..kw {
                        assert_eq!(
                            hwio[((y * kw + x) * i + ii) * o + oo],
                            data[((oo * i + ii) * kh + y) * kw + x]
                        );
                    }
                }
            }
        }
        assert_eq!(permute4(&hwio, [kh, kw, i, o], [3, 2, 0, 1]), data);
    }
}
