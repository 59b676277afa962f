// The parts of the TFLite flatbuffer schema this exporter writes, transcribed by hand from
// tensorflow/compiler/mlir/lite/schema/schema.fbs (schema version 3, file identifier "TFL3").
// flatc is not used: writer.ts builds the tables with flatbuffers' Builder API, addressing
// each field by its index in the table below (the Builder's "slot"). Union fields take two
// slots: the type byte at the union's position and the value right after it.

export const TFLITE_SCHEMA_VERSION = 3;
export const TFLITE_FILE_IDENTIFIER = 'TFL3';

/** enum TensorType : byte */
export const TensorType = { FLOAT32: 0, INT32: 2, INT8: 9 } as const;
export type TensorTypeValue = (typeof TensorType)[keyof typeof TensorType];

/** enum BuiltinOperator : int32 (only the ones written here). */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
  PAD: 34,
  MEAN: 40,
  REDUCE_MAX: 82,
  QUANTIZE: 114,
} as const;
export type BuiltinOperatorValue = (typeof BuiltinOperator)[keyof typeof BuiltinOperator];

/** union BuiltinOptions: position in the union, NONE = 0. */
export const BuiltinOptions = {
  NONE: 0,
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  ReducerOptions: 27,
} as const;

/** enum Padding : byte */
export const Padding = { SAME: 0, VALID: 1 } as const;

/** enum ActivationFunctionType : byte */
export const Activation = { NONE: 0, RELU: 1, RELU6: 3 } as const;
export type ActivationValue = (typeof Activation)[keyof typeof Activation];

/** Field indices (Builder slots) per table. */
export const F = {
  Model: {
    version: 0,
    operator_codes: 1,
    subgraphs: 2,
    description: 3,
    buffers: 4,
    metadata_buffer: 5,
    metadata: 6,
    signature_defs: 7,
    count: 8,
  },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3, count: 4 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4, count: 5 },
  Buffer: { data: 0, offset: 1, size: 2, count: 3 },
  Tensor: {
    shape: 0,
    type: 1,
    buffer: 2,
    name: 3,
    quantization: 4,
    is_variable: 5,
    sparsity: 6,
    shape_signature: 7,
    has_rank: 8,
    count: 9,
  },
  QuantizationParameters: { min: 0, max: 1, scale: 2, zero_point: 3, details_type: 4, details: 5, quantized_dimension: 6, count: 7 },
  Operator: { opcode_index: 0, inputs: 1, outputs: 2, builtin_options_type: 3, builtin_options: 4, count: 5 },
  Metadata: { name: 0, buffer: 1, count: 2 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, deprecated_tag: 3, subgraph_index: 4, count: 5 },
  TensorMap: { name: 0, tensor_index: 1, count: 2 },
  Conv2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    fused_activation_function: 3,
    dilation_w_factor: 4,
    dilation_h_factor: 5,
    count: 6,
  },
  DepthwiseConv2DOptions: {
    padding: 0,
    stride_w: 1,
    stride_h: 2,
    depth_multiplier: 3,
    fused_activation_function: 4,
    dilation_w_factor: 5,
    dilation_h_factor: 6,
    count: 7,
  },
  Pool2DOptions: { padding: 0, stride_w: 1, stride_h: 2, filter_width: 3, filter_height: 4, fused_activation_function: 5, count: 6 },
  FullyConnectedOptions: { fused_activation_function: 0, weights_format: 1, keep_num_dims: 2, asymmetric_quantize_inputs: 3, count: 4 },
  SoftmaxOptions: { beta: 0, count: 1 },
  AddOptions: { fused_activation_function: 0, count: 1 },
  MulOptions: { fused_activation_function: 0, count: 1 },
  ReshapeOptions: { new_shape: 0, count: 1 },
  ReducerOptions: { keep_dims: 0, count: 1 },
} as const;
