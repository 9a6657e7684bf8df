// nst-native: the trainer's heavy kernels for the tfjs wasm backend, natively: convolutions and
// matrix products on oneDNN (the library PyTorch's CPU convolutions run on), and the TransformerNet's
// instance normalisation, mirror padding, VGG's 2x2 max pooling (each forward and backward),
// Concat, VGG's ReLU gradient and Adam's update as vectorised loops on OpenMP's threads. Node-API
// (C), so one build serves every Node version.
//
// Every function works on float32 arrays the caller owns (views of the wasm heap): NHWC images,
// HWIO kernels, results written into the array given for them. Shapes, strides and the padding
// (top, bottom, left, right, as tfjs computes it) are passed in full; the primitive oneDNN builds
// for each distinct set of them is kept, since building one compiles code.
//
// Convolutions compute in float32 or, after setPrecision("bfloat16"), in bfloat16 with float32
// sums and float32 results (mixed precision, as PyTorch's autocast): their image and kernel inputs
// are rounded to bfloat16 on the way in. On CPUs with bfloat16 dot products (AVX512-BF16, AMX)
// that is 1.5-4x faster; hasBfloat16() says whether this CPU has them.
#include <node_api.h>
#include <omp.h>

#include <dnnl.hpp>
#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

// What the convolutions' inputs are rounded to (setPrecision): f32 or bf16.
dt& convolutionInputType() {
  static dt type = dt::f32;
  return type;
}

// Whether oneDNN finds bfloat16 dot-product instructions on this CPU (its ISA levels nest as bits).
bool cpuHasBfloat16() {
  auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa()), bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

// ---------------------------------------------------------------------------- argument reading
struct Args {
  napi_env env;
  std::vector<napi_value> values;
  bool failed = false;

  Args(napi_env env, napi_callback_info info, size_t count) : env(env), values(count) {
    size_t given = count;
    napi_get_cb_info(env, info, &given, values.data(), nullptr, nullptr);
    if (given < count) fail("expected " + std::to_string(count) + " arguments");
  }

  void fail(const std::string& message) {
    if (!failed) napi_throw_type_error(env, nullptr, ("nst-native: " + message).c_str());
    failed = true;
  }

  float* floats(size_t index, size_t expectedLength) {
    if (failed) return nullptr;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    bool isTypedArray = false;
    napi_is_typedarray(env, values[index], &isTypedArray);
    if (!isTypedArray) return fail("argument " + std::to_string(index) + " must be a Float32Array"), nullptr;
    napi_get_typedarray_info(env, values[index], &type, &length, &data, nullptr, nullptr);
    if (type != napi_float32_array) return fail("argument " + std::to_string(index) + " must be a Float32Array"), nullptr;
    if (length != expectedLength) {
      return fail("argument " + std::to_string(index) + " holds " + std::to_string(length) + " floats, its shape needs " +
                  std::to_string(expectedLength)),
             nullptr;
    }
    return static_cast<float*>(data);
  }

  // Arguments first .. first+count-1: Float32Arrays all as long as the first one.
  std::vector<float*> sameLengthFloats(size_t first, size_t count, int64_t& length) {
    size_t elements = 0;
    if (!failed) napi_get_typedarray_info(env, values[first], nullptr, &elements, nullptr, nullptr, nullptr);
    std::vector<float*> arrays(count);
    for (size_t i = 0; i < count; i++) arrays[i] = floats(first + i, elements);
    length = static_cast<int64_t>(elements);
    return arrays;
  }

  bool isNull(size_t index) {
    napi_valuetype type;
    napi_typeof(env, values[index], &type);
    return type == napi_null || type == napi_undefined;
  }

  std::vector<int64_t> ints(size_t index, size_t count) {
    std::vector<int64_t> result(count, 0);
    if (failed) return result;
    uint32_t length = 0;
    if (napi_get_array_length(env, values[index], &length) != napi_ok || length != count) {
      fail("argument " + std::to_string(index) + " must be an array of " + std::to_string(count) + " integers");
      return result;
    }
    for (uint32_t i = 0; i < count; i++) {
      napi_value element;
      napi_get_element(env, values[index], i, &element);
      int64_t value = 0;
      if (napi_get_value_int64(env, element, &value) != napi_ok || value < 0) fail("argument " + std::to_string(index) + " must hold integers >= 0");
      result[i] = value;
    }
    return result;
  }

  bool boolean(size_t index) {
    bool value = false;
    napi_get_value_bool(env, values[index], &value);
    return value;
  }
};

int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// ------------------------------------------------------------------------------ the geometry
// NHWC shapes and HWIO kernel of one convolution, in oneDNN's (N, C, H, W) / (O, I, H, W) order.
// `type` is what a convolution reads its image or kernel as (convolutionInputType()); the caller's
// arrays and every result are f32.
struct Geometry {
  std::vector<int64_t> x, w, y, strides, pads;  // x [b,h,w,ci], w [kh,kw,ci,co], y [b,oh,ow,co], pads t,b,l,r

  memory::desc image(const std::vector<int64_t>& nhwc, dt type = dt::f32) const { return memory::desc({nhwc[0], nhwc[3], nhwc[1], nhwc[2]}, type, tag::nhwc); }
  memory::desc src(dt type = dt::f32) const { return image(x, type); }
  memory::desc dst(dt type = dt::f32) const { return image(y, type); }
  memory::dims weightDims() const { return {w[3], w[2], w[0], w[1]}; }
  memory::desc userWeights() const { return memory::desc(weightDims(), dt::f32, tag::hwio); }
  memory::desc anyWeights(dt type = dt::f32) const { return memory::desc(weightDims(), type, tag::any); }
  memory::dims strideDims() const { return {strides[0], strides[1]}; }
  memory::dims padLeft() const { return {pads[0], pads[2]}; }
  memory::dims padRight() const { return {pads[1], pads[3]}; }

  std::string key(const char* op, bool bias, bool relu) const {
    std::string k = op;
    for (const auto* dims : {&x, &w, &y, &strides, &pads}) {
      for (int64_t d : *dims) k += "," + std::to_string(d);
      k += ";";
    }
    return k + (bias ? "b" : "") + (relu ? "r" : "") + (convolutionInputType() == dt::bf16 ? "h" : "");
  }

  // Checked here rather than left to oneDNN, whose refusal says only "invalid arguments".
  std::string problem() const {
    if (x[3] != w[2]) return "the image has " + std::to_string(x[3]) + " channels, the kernel takes " + std::to_string(w[2]);
    if (y[3] != w[3] || y[0] != x[0]) return "the output's batch or channels do not match the image and kernel";
    for (int axis = 0; axis < 2; axis++) {
      int64_t in = x[1 + axis], k = w[axis], s = strides[axis], padded = in + pads[2 * axis] + pads[2 * axis + 1];
      if (s < 1 || padded < k || (padded - k) / s + 1 != y[1 + axis]) return "the output size does not follow from the image, kernel, strides and padding";
    }
    return "";
  }
};

bool readGeometry(Args& args, size_t xShape, size_t wShape, size_t yShape, size_t strides, size_t pads, Geometry& g) {
  g.x = args.ints(xShape, 4);
  g.w = args.ints(wShape, 4);
  g.y = args.ints(yShape, 4);
  g.strides = args.ints(strides, 2);
  g.pads = args.ints(pads, 4);
  if (args.failed) return false;
  std::string problem = g.problem();
  if (!problem.empty()) args.fail(problem);
  return !args.failed;
}

dnnl::convolution_forward::primitive_desc forwardDesc(const Geometry& g, bool bias, bool relu) {
  dt in = convolutionInputType();
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  auto desc = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, g.src(in), g.anyWeights(in),
                                                      memory::desc({g.w[3]}, dt::f32, tag::x), g.dst(), g.strideDims(), g.padLeft(), g.padRight())
                   : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, g.src(in), g.anyWeights(in), g.dst(),
                                                      g.strideDims(), g.padLeft(), g.padRight());
  return dnnl::convolution_forward::primitive_desc(desc, attr, cpuEngine());
}

dnnl::reorder reorderBetween(const memory::desc& from, const memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), from, cpuEngine(), to));
}

// A primitive and what running it needs besides the caller's arrays.
struct Cached {
  dnnl::primitive primitive;
  memory::desc weights;  // the layout oneDNN chose for the kernel (or its gradient)
  dnnl::reorder toOrFromUser;
  std::vector<dnnl::reorder> rounding;  // bf16 only: the image inputs' f32 -> bf16 copies, in argument order
};

// Where an image input's bf16 copy lives, one slot per input of a call. Calls run one at a time
// (JavaScript's thread), so a slot is reused by the next call; it only grows.
void* roundingSlot(size_t slot, size_t bytes) {
  static std::vector<std::vector<char>> slots(2);
  if (slots[slot].size() < bytes) slots[slot].resize(bytes);
  return slots[slot].data();
}

// The rounding reorders of a primitive that reads `images` (f32 NHWC) as bf16; none in f32.
std::vector<dnnl::reorder> roundingReorders(const std::vector<memory::desc>& images) {
  std::vector<dnnl::reorder> reorders;
  if (convolutionInputType() == dt::f32) return reorders;
  for (const auto& image : images) reorders.push_back(reorderBetween(image, memory::desc(image.dims(), dt::bf16, tag::nhwc)));
  return reorders;
}

// Image input `index` of a call as the primitive reads it: the caller's array, or its bf16 copy.
memory imageInput(const Cached& c, size_t index, const memory::desc& image, float* data) {
  memory user(image, cpuEngine(), data);
  if (c.rounding.empty()) return user;
  memory::desc rounded(image.dims(), dt::bf16, tag::nhwc);
  memory copy(rounded, cpuEngine(), roundingSlot(index, rounded.get_size()));
  c.rounding[index].execute(cpuStream(), user, copy);
  return copy;
}

std::unordered_map<std::string, std::unique_ptr<Cached>>& cache() {
  static std::unordered_map<std::string, std::unique_ptr<Cached>> entries;
  return entries;
}

template <class Build>
Cached& cached(const std::string& key, Build build) {
  auto& entries = cache();
  auto found = entries.find(key);
  if (found != entries.end()) return *found->second;
  auto entry = std::make_unique<Cached>(build());
  return *entries.emplace(key, std::move(entry)).first->second;
}

napi_value undefinedValue(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

// Runs `body`; a oneDNN error becomes a JavaScript Error that says what failed.
template <class Body>
napi_value guarded(napi_env env, const char* what, Body body) {
  try {
    body();
  } catch (const dnnl::error& error) {
    napi_throw_error(env, nullptr, (std::string("nst-native: ") + what + " failed in oneDNN: " + error.what()).c_str());
  } catch (const std::exception& error) {
    napi_throw_error(env, nullptr, (std::string("nst-native: ") + what + " failed: " + error.what()).c_str());
  }
  return undefinedValue(env);
}

// ------------------------------------------------------------------------------- the functions
// conv2dForward(x, xShape, kernel, kernelShape, bias | null, y, yShape, strides, pads, relu)
napi_value Conv2dForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 10);
  Geometry g;
  if (args.failed || !readGeometry(args, 1, 3, 6, 7, 8, g)) return nullptr;
  bool bias = !args.isNull(4), relu = args.boolean(9);
  float* x = args.floats(0, product(g.x));
  float* w = args.floats(2, product(g.w));
  float* b = bias ? args.floats(4, g.w[3]) : nullptr;
  float* y = args.floats(5, product(g.y));
  if (args.failed) return nullptr;
  return guarded(env, "conv2dForward", [&] {
    Cached& c = cached(g.key("fwd", bias, relu), [&] {
      auto pd = forwardDesc(g, bias, relu);
      return Cached{dnnl::convolution_forward(pd), pd.weights_desc(), reorderBetween(g.userWeights(), pd.weights_desc()), roundingReorders({g.src()})};
    });
    memory user(g.userWeights(), cpuEngine(), w), weights(c.weights, cpuEngine());
    c.toOrFromUser.execute(cpuStream(), user, weights);
    std::unordered_map<int, memory> run = {
        {DNNL_ARG_SRC, imageInput(c, 0, g.src(), x)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, memory(g.dst(), cpuEngine(), y)}};
    if (bias) run.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.w[3]}, dt::f32, tag::x), cpuEngine(), b));
    c.primitive.execute(cpuStream(), run);
    cpuStream().wait();
  });
}

// conv2dBackwardData(dy, dyShape, kernel, kernelShape, dx, dxShape, strides, pads): dx = the input gradient.
napi_value Conv2dBackwardData(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  Geometry g;
  if (args.failed || !readGeometry(args, 5, 3, 1, 6, 7, g)) return nullptr;
  float* dy = args.floats(0, product(g.y));
  float* w = args.floats(2, product(g.w));
  float* dx = args.floats(4, product(g.x));
  if (args.failed) return nullptr;
  return guarded(env, "conv2dBackwardData", [&] {
    Cached& c = cached(g.key("bwd-data", false, false), [&] {
      dt in = convolutionInputType();
      auto hint = forwardDesc(g, false, false);
      auto desc = dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, g.src(), g.anyWeights(in), g.dst(in), g.strideDims(), g.padLeft(), g.padRight());
      auto pd = dnnl::convolution_backward_data::primitive_desc(desc, cpuEngine(), hint);
      return Cached{dnnl::convolution_backward_data(pd), pd.weights_desc(), reorderBetween(g.userWeights(), pd.weights_desc()), roundingReorders({g.dst()})};
    });
    memory user(g.userWeights(), cpuEngine(), w), weights(c.weights, cpuEngine());
    c.toOrFromUser.execute(cpuStream(), user, weights);
    c.primitive.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, imageInput(c, 0, g.dst(), dy)}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, memory(g.src(), cpuEngine(), dx)}});
    cpuStream().wait();
  });
}

// conv2dBackwardWeights(x, xShape, dy, dyShape, dw, kernelShape, strides, pads): dw = the kernel gradient.
napi_value Conv2dBackwardWeights(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  Geometry g;
  if (args.failed || !readGeometry(args, 1, 5, 3, 6, 7, g)) return nullptr;
  float* x = args.floats(0, product(g.x));
  float* dy = args.floats(2, product(g.y));
  float* dw = args.floats(4, product(g.w));
  if (args.failed) return nullptr;
  return guarded(env, "conv2dBackwardWeights", [&] {
    Cached& c = cached(g.key("bwd-weights", false, false), [&] {
      dt in = convolutionInputType();
      auto hint = forwardDesc(g, false, false);
      auto desc = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, g.src(in), g.anyWeights(), g.dst(in), g.strideDims(), g.padLeft(), g.padRight());
      auto pd = dnnl::convolution_backward_weights::primitive_desc(desc, cpuEngine(), hint);
      return Cached{dnnl::convolution_backward_weights(pd), pd.diff_weights_desc(), reorderBetween(pd.diff_weights_desc(), g.userWeights()), roundingReorders({g.src(), g.dst()})};
    });
    memory gradient(c.weights, cpuEngine()), user(g.userWeights(), cpuEngine(), dw);
    c.primitive.execute(cpuStream(), {{DNNL_ARG_SRC, imageInput(c, 0, g.src(), x)}, {DNNL_ARG_DIFF_DST, imageInput(c, 1, g.dst(), dy)}, {DNNL_ARG_DIFF_WEIGHTS, gradient}});
    c.toOrFromUser.execute(cpuStream(), gradient, user);
    cpuStream().wait();
  });
}

// matmul(a, aShape, b, bShape, y, yShape, transposeA, transposeB): y = op(a) op(b) for 3-axis
// arrays as tfjs's BatchMatMul takes them (a batch of 1 broadcasts); transposes are strides.
napi_value Matmul(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  auto aShape = args.ints(1, 3), bShape = args.ints(3, 3), yShape = args.ints(5, 3);
  if (args.failed) return nullptr;
  bool transposeA = args.boolean(6), transposeB = args.boolean(7);
  int64_t m = transposeA ? aShape[2] : aShape[1], k = transposeA ? aShape[1] : aShape[2];
  int64_t kb = transposeB ? bShape[2] : bShape[1], n = transposeB ? bShape[1] : bShape[2];
  int64_t batch = std::max(aShape[0], bShape[0]);
  bool batchesMatch = (aShape[0] == batch || aShape[0] == 1) && (bShape[0] == batch || bShape[0] == 1);
  if (k != kb || !batchesMatch || yShape[0] != batch || yShape[1] != m || yShape[2] != n) {
    args.fail("matmul shapes do not fit together");
    return nullptr;
  }
  float* a = args.floats(0, product(aShape));
  float* b = args.floats(2, product(bShape));
  float* y = args.floats(4, product(yShape));
  if (args.failed) return nullptr;
  return guarded(env, "matmul", [&] {
    memory::desc aMd({aShape[0], m, k}, dt::f32, transposeA ? tag::acb : tag::abc);
    memory::desc bMd({bShape[0], k, n}, dt::f32, transposeB ? tag::acb : tag::abc);
    memory::desc yMd({batch, m, n}, dt::f32, tag::abc);
    std::string key = "matmul";
    for (int64_t d : {aShape[0], bShape[0], m, k, n}) key += "," + std::to_string(d);
    key += transposeA ? "T" : "N";
    key += transposeB ? "T" : "N";
    Cached& c = cached(key, [&] {
      auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(aMd, bMd, yMd), cpuEngine());
      return Cached{dnnl::matmul(pd), bMd, dnnl::reorder()};
    });
    c.primitive.execute(cpuStream(), {{DNNL_ARG_SRC, memory(aMd, cpuEngine(), a)}, {DNNL_ARG_WEIGHTS, memory(bMd, cpuEngine(), b)}, {DNNL_ARG_DST, memory(yMd, cpuEngine(), y)}});
    cpuStream().wait();
  });
}

// ------------------------------------------------------------------------ instance normalisation
// y = relu?((x - mean) * rstd * scale + offset) with mean and rstd = 1 / sqrt(variance + epsilon)
// per image and channel over height and width, NHWC. Composed from tfjs ops it is ~15 full-size
// passes forward and backward (subtract, square, mean, multiply, add, their gradients, a ReLU's
// mask); here it is 3 forward and 4 backward, on every thread. Sums are taken per block of pixels
// in float and added up in double, so a 256x256 image loses no precision to a long float sum.
// The inner loops run over the channels of one pixel, contiguous, with plain pointers so that
// they vectorise.
struct NormShape {
  int64_t images, pixels, channels;
  int64_t blocks() const { return std::min<int64_t>(64, pixels); }
  int64_t blockStart(int64_t block) const { return pixels * block / blocks(); }
};

// Per image and channel, `count` sums over the pixels: accumulate(n, first, last, sums) adds
// pixels [first, last) of image n into sums[0..count*channels).
template <class Accumulate>
std::vector<double> channelSums(const NormShape& s, int count, Accumulate accumulate) {
  const int64_t blocks = s.blocks(), width = count * s.channels;
  std::vector<float> partial(s.images * blocks * width, 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < s.images * blocks; task++) {
    int64_t block = task % blocks;
    accumulate(task / blocks, s.blockStart(block), s.blockStart(block + 1), &partial[task * width]);
  }
  std::vector<double> total(s.images * width, 0.0);
  for (int64_t task = 0; task < s.images * blocks; task++) {
    for (int64_t k = 0; k < width; k++) total[(task / blocks) * width + k] += partial[task * width + k];
  }
  return total;
}

// The mean and 1 / standard deviation of each image's channels (two passes: exact for any mean).
void normStatistics(const NormShape& s, const float* x, float epsilon, std::vector<float>& mean, std::vector<float>& rstd) {
  const int64_t c = s.channels;
  std::vector<double> sums = channelSums(s, 1, [&](int64_t n, int64_t first, int64_t last, float* __restrict out) {
    for (int64_t p = first; p < last; p++) {
      const float* __restrict in = x + (n * s.pixels + p) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) out[k] += in[k];
    }
  });
  mean.resize(s.images * c);
  for (size_t i = 0; i < mean.size(); i++) mean[i] = static_cast<float>(sums[i] / s.pixels);
  std::vector<double> squares = channelSums(s, 1, [&](int64_t n, int64_t first, int64_t last, float* __restrict out) {
    const float* __restrict m = &mean[n * c];
    for (int64_t p = first; p < last; p++) {
      const float* __restrict in = x + (n * s.pixels + p) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) out[k] += (in[k] - m[k]) * (in[k] - m[k]);
    }
  });
  rstd.resize(s.images * c);
  for (size_t i = 0; i < rstd.size(); i++) rstd[i] = static_cast<float>(1.0 / std::sqrt(squares[i] / s.pixels + epsilon));
}

// What both functions read: the shape, x, scale, offset, epsilon and relu, at these argument positions.
struct NormInputs {
  NormShape shape;
  float *x, *scale, *offset;
  float epsilon;
  bool relu;
  int64_t size() const { return shape.images * shape.pixels * shape.channels; }
};

bool readNormInputs(Args& args, size_t x, size_t xShape, size_t scale, size_t offset, size_t epsilon, size_t relu, NormInputs& in) {
  auto dims = args.ints(xShape, 4);
  if (args.failed) return false;
  in.shape = {dims[0], dims[1] * dims[2], dims[3]};
  in.x = args.floats(x, in.size());
  in.scale = args.floats(scale, in.shape.channels);
  in.offset = args.floats(offset, in.shape.channels);
  double value = 0;
  if (!args.failed && napi_get_value_double(args.env, args.values[epsilon], &value) != napi_ok) args.fail("epsilon must be a number");
  in.epsilon = static_cast<float>(value);
  in.relu = args.boolean(relu);
  return !args.failed;
}

// instanceNormForward(x, xShape, scale, offset, y, epsilon, relu)
napi_value InstanceNormForward(napi_env env, napi_callback_info info) {
  Args args(env, info, 7);
  NormInputs in;
  if (args.failed || !readNormInputs(args, 0, 1, 2, 3, 5, 6, in)) return nullptr;
  float* y = args.floats(4, in.size());
  if (args.failed) return nullptr;
  const NormShape& s = in.shape;
  const int64_t c = s.channels;
  std::vector<float> mean, rstd;
  normStatistics(s, in.x, in.epsilon, mean, rstd);
  // y = x * factor + shift, per image and channel.
  std::vector<float> factor(s.images * c), shift(s.images * c);
  for (int64_t i = 0; i < s.images * c; i++) {
    factor[i] = rstd[i] * in.scale[i % c];
    shift[i] = in.offset[i % c] - mean[i] * factor[i];
  }
  const float floor = in.relu ? 0.0f : -INFINITY;
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < s.images * s.pixels; row++) {
    const float* __restrict f = &factor[(row / s.pixels) * c];
    const float* __restrict b = &shift[(row / s.pixels) * c];
    const float* __restrict x = in.x + row * c;
    float* __restrict out = y + row * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) {
      float v = x[k] * f[k] + b[k];
      out[k] = v < floor ? floor : v;  // on values, not std::max's references: a select, which vectorises
    }
  }
  return undefinedValue(env);
}

// The gradient dy that reaches the normalisation through the ReLU (floor 0: where its output was
// > 0, as tfjs's ReLU gradient) or without one (floor -infinity). dy is taken by value, loaded
// either way, so that the select needs no branch and the loops calling this vectorise.
inline float passedGradient(float dy, float output, float floor) { return output > floor ? dy : 0.0f; }

// instanceNormBackward(dy, x, xShape, scale, offset, epsilon, relu, dx, dScale, dOffset): the
// gradients of the input, the scale and the offset (summed over the batch).
napi_value InstanceNormBackward(napi_env env, napi_callback_info info) {
  Args args(env, info, 10);
  NormInputs in;
  if (args.failed || !readNormInputs(args, 1, 2, 3, 4, 5, 6, in)) return nullptr;
  const NormShape& s = in.shape;
  const int64_t c = s.channels;
  float* dy = args.floats(0, in.size());
  float* dx = args.floats(7, in.size());
  float* dScale = args.floats(8, c);
  float* dOffset = args.floats(9, c);
  if (args.failed) return nullptr;
  std::vector<float> mean, rstd;
  normStatistics(s, in.x, in.epsilon, mean, rstd);
  // g = dy where the ReLU let it through (where the output is > 0), and xhat = (x - mean) * rstd.
  // Per image and channel: sum(g) and sum(g * xhat), side by side in one pass.
  const float floor = in.relu ? 0.0f : -INFINITY;
  const float *scale = in.scale, *offset = in.offset;
  std::vector<double> sums = channelSums(s, 2, [&](int64_t n, int64_t first, int64_t last, float* __restrict out) {
    const float* __restrict m = &mean[n * c];
    const float* __restrict r = &rstd[n * c];
    for (int64_t p = first; p < last; p++) {
      const float* __restrict x = in.x + (n * s.pixels + p) * c;
      const float* __restrict d = dy + (n * s.pixels + p) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) {
        float xhat = (x[k] - m[k]) * r[k];
        float g = passedGradient(d[k], xhat * scale[k] + offset[k], floor);
        out[k] += g;
        out[c + k] += g * xhat;
      }
    }
  });
  std::vector<float> meanG(s.images * c), meanGX(s.images * c);
  for (int64_t k = 0; k < c; k++) {
    double sumG = 0, sumGX = 0;
    for (int64_t n = 0; n < s.images; n++) {
      sumG += sums[n * 2 * c + k];
      sumGX += sums[n * 2 * c + c + k];
      meanG[n * c + k] = static_cast<float>(sums[n * 2 * c + k] / s.pixels);
      meanGX[n * c + k] = static_cast<float>(sums[n * 2 * c + c + k] / s.pixels);
    }
    dOffset[k] = static_cast<float>(sumG);
    dScale[k] = static_cast<float>(sumGX);
  }
  // dx = scale * rstd * (g - mean(g) - xhat * mean(g * xhat)), per image and channel.
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < s.images * s.pixels; row++) {
    int64_t n = row / s.pixels;
    const float* __restrict m = &mean[n * c];
    const float* __restrict r = &rstd[n * c];
    const float* __restrict mg = &meanG[n * c];
    const float* __restrict mgx = &meanGX[n * c];
    const float* __restrict x = in.x + row * c;
    const float* __restrict d = dy + row * c;
    float* __restrict out = dx + row * c;
#pragma omp simd
    for (int64_t k = 0; k < c; k++) {
      float xhat = (x[k] - m[k]) * r[k];
      float g = passedGradient(d[k], xhat * scale[k] + offset[k], floor);
      out[k] = scale[k] * r[k] * (g - mg[k] - xhat * mgx[k]);
    }
  }
  return undefinedValue(env);
}

// ------------------------------------------------------------------- padding and pooling gradients
// Where each position along a mirror-padded axis of length n + before + after came from (the
// rule of kernels/fast-gradients.ts's mirrorSources), inverted: for each of the n positions, the
// padded positions that copied it (itself and up to two mirror images).
std::vector<int64_t> mirrorSources(int64_t n, int64_t before, int64_t after, bool reflect) {
  const int64_t edge = reflect ? 1 : 0;
  std::vector<int64_t> sources(n + before + after);
  for (int64_t p = 0; p < n + before + after; p++) {
    sources[p] = p < before ? before - p - (1 - edge) : p < before + n ? p - before : n - 1 - edge - (p - before - n);
    if (sources[p] < 0 || sources[p] >= n) throw std::invalid_argument("a padding wider than the image it mirrors");
  }
  return sources;
}

// The other way round: for each position of the axis, the padded positions that copy it.
std::vector<std::vector<int64_t>> mirrorCopies(int64_t n, int64_t before, int64_t after, bool reflect) {
  auto sources = mirrorSources(n, before, after, reflect);
  std::vector<std::vector<int64_t>> copies(n);
  for (int64_t p = 0; p < static_cast<int64_t>(sources.size()); p++) copies[sources[p]].push_back(p);
  return copies;
}

// The arguments of both mirror kernels, (from, fromShape, to, toShape, paddings [top, bottom,
// left, right], reflect): an NHWC image and its padded form, one of them `from`.
struct MirrorArgs {
  std::vector<int64_t> image, padded, pads;
  float* imageData = nullptr;
  float* paddedData = nullptr;
  bool reflect = false;
};

bool readMirrorArgs(Args& args, bool fromImage, MirrorArgs& m) {
  size_t image = fromImage ? 0 : 2, padded = fromImage ? 2 : 0;
  m.image = args.ints(image + 1, 4);
  m.padded = args.ints(padded + 1, 4);
  m.pads = args.ints(4, 4);
  if (args.failed) return false;
  const auto &x = m.image, &p = m.padded, &pads = m.pads;
  if (p[0] != x[0] || p[3] != x[3] || p[1] != x[1] + pads[0] + pads[1] || p[2] != x[2] + pads[2] + pads[3]) {
    args.fail("the padded shape is not the image's plus the paddings");
    return false;
  }
  m.imageData = args.floats(image, product(x));
  m.paddedData = args.floats(padded, product(p));
  m.reflect = args.boolean(5);
  return !args.failed;
}

// mirrorPad(x, xShape, y, yShape, paddings [top, bottom, left, right], reflect): tfjs's MirrorPad
// of an NHWC image on height and width; each padded row is its source row's copy with the
// mirrored pixels on either side.
napi_value MirrorPad(napi_env env, napi_callback_info info) {
  Args args(env, info, 6);
  MirrorArgs m;
  if (args.failed || !readMirrorArgs(args, true, m)) return nullptr;
  return guarded(env, "mirrorPad", [&] {
    const float* x = m.imageData;
    float* y = m.paddedData;
    const int64_t h = m.image[1], w = m.image[2], c = m.image[3], hp = m.padded[1], wp = m.padded[2], left = m.pads[2];
    auto rows = mirrorSources(h, m.pads[0], m.pads[1], m.reflect), columns = mirrorSources(w, left, m.pads[3], m.reflect);
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < m.padded[0] * hp; task++) {
      int64_t n = task / hp, py = task % hp;
      const float* source = x + (n * h + rows[py]) * w * c;
      float* out = y + task * wp * c;
      std::copy(source, source + w * c, out + left * c);
      for (int64_t px = 0; px < wp; px++) {
        if (px == left) px += w;
        if (px < wp) std::copy(source + columns[px] * c, source + (columns[px] + 1) * c, out + px * c);
      }
    }
  });
}

// mirrorPadGradient(dy, dyShape, dx, xShape, paddings [top, bottom, left, right], reflect): every
// padded pixel's gradient added to the pixel it copied, NHWC padded on height and width. Each
// output row gathers the padded rows that copied it (one, or two near an edge): their middle
// (w pixels, contiguous) is copied or added whole, then their mirrored edge pixels are added to
// the pixels they copied. Threads own output rows, so they never write the same pixel.
napi_value MirrorPadGradient(napi_env env, napi_callback_info info) {
  Args args(env, info, 6);
  MirrorArgs m;
  if (args.failed || !readMirrorArgs(args, false, m)) return nullptr;
  return guarded(env, "mirrorPadGradient", [&] {
    const float* dy = m.paddedData;
    float* dx = m.imageData;
    const int64_t images = m.image[0], h = m.image[1], w = m.image[2], c = m.image[3], hp = m.padded[1], wp = m.padded[2], left = m.pads[2];
    auto rows = mirrorCopies(h, m.pads[0], m.pads[1], m.reflect);
    auto columns = mirrorSources(w, left, m.pads[3], m.reflect);
#pragma omp parallel for schedule(static)
    for (int64_t task = 0; task < images * h; task++) {
      int64_t n = task / h, y = task % h;
      float* __restrict out = dx + task * w * c;
      bool first = true;
      for (int64_t py : rows[y]) {
        const float* __restrict in = dy + (n * hp + py) * wp * c;
        const float* __restrict middle = in + left * c;
        if (first) {
          std::copy(middle, middle + w * c, out);
        } else {
#pragma omp simd
          for (int64_t k = 0; k < w * c; k++) out[k] += middle[k];
        }
        first = false;
        for (int64_t px = 0; px < wp; px++) {
          if (px == left) px += w;
          if (px >= wp) break;
          float* __restrict target = out + columns[px] * c;
          const float* __restrict source = in + px * c;
#pragma omp simd
          for (int64_t k = 0; k < c; k++) target[k] += source[k];
        }
      }
    }
  });
}

// maxPool2x2Gradient(x, xShape, pooled, dy, dx): the gradient of a 2x2 stride-2 'valid' max pool
// (kernels/fast-gradients.ts's rule): each window's dy goes to every pixel equal to its maximum;
// the last row or column an odd size leaves out gets zero.
napi_value MaxPool2x2Gradient(napi_env env, napi_callback_info info) {
  Args args(env, info, 5);
  auto xShape = args.ints(1, 4);
  if (args.failed) return nullptr;
  const int64_t images = xShape[0], h = xShape[1], w = xShape[2], c = xShape[3], ph = h / 2, pw = w / 2;
  float* x = args.floats(0, product(xShape));
  float* pooled = args.floats(2, images * ph * pw * c);
  float* dy = args.floats(3, images * ph * pw * c);
  float* dx = args.floats(4, product(xShape));
  if (args.failed) return nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < images * h; task++) {
    int64_t n = task / h, y = task % h, i = y / 2;
    float* row = dx + (n * h + y) * w * c;
    if (i >= ph) {
      std::fill(row, row + w * c, 0.0f);
      continue;
    }
    for (int64_t xCol = 0; xCol < w; xCol++) {
      float* __restrict out = row + xCol * c;
      int64_t j = xCol / 2;
      if (j >= pw) {
        std::fill(out, out + c, 0.0f);
        continue;
      }
      const float* __restrict in = x + ((n * h + y) * w + xCol) * c;
      const float* __restrict max = pooled + ((n * ph + i) * pw + j) * c;
      const float* __restrict g = dy + ((n * ph + i) * pw + j) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) {
        float gk = g[k];  // loaded either way, so that the select needs no branch
        out[k] = in[k] == max[k] ? gk : 0.0f;
      }
    }
  }
  return undefinedValue(env);
}

// maxPool2x2(x, xShape, y): tfjs's MaxPool with 2x2 windows, stride 2, 'valid' (an odd last row or
// column is left out), NHWC: VGG's pooling.
napi_value MaxPool2x2(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  auto xShape = args.ints(1, 4);
  if (args.failed) return nullptr;
  const int64_t h = xShape[1], w = xShape[2], c = xShape[3], ph = h / 2, pw = w / 2;
  float* x = args.floats(0, product(xShape));
  float* y = args.floats(2, xShape[0] * ph * pw * c);
  if (args.failed) return nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t task = 0; task < xShape[0] * ph; task++) {
    int64_t n = task / ph, i = task % ph;
    const float* top = x + (n * h + 2 * i) * w * c;
    const float* bottom = top + w * c;
    for (int64_t j = 0; j < pw; j++) {
      const float* __restrict a = top + 2 * j * c;
      const float* __restrict b = bottom + 2 * j * c;
      float* __restrict out = y + (task * pw + j) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; k++) {
        float upper = a[k] > a[k + c] ? a[k] : a[k + c], lower = b[k] > b[k + c] ? b[k] : b[k + c];
        out[k] = upper > lower ? upper : lower;
      }
    }
  }
  return undefinedValue(env);
}

// concat(parts, outer, y): tfjs's Concat along one axis of float32 arrays: y holds, for each of
// `outer` blocks (the product of the axes before it), every part's block in turn (its length /
// outer floats). The TransformerNet's upsampling concatenates blocks of one pixel's channels,
// which wasm's kernel copies one at a time in JavaScript.
napi_value Concat(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  int64_t outer = 0;
  uint32_t count = 0;
  if (!args.failed && (napi_get_value_int64(env, args.values[1], &outer) != napi_ok || outer < 1)) args.fail("argument 1 must be an integer >= 1");
  if (!args.failed && napi_get_array_length(env, args.values[0], &count) != napi_ok) args.fail("argument 0 must be an array of Float32Arrays");
  std::vector<const float*> parts(count);
  std::vector<int64_t> blocks(count), offsets(count + 1, 0);
  for (uint32_t i = 0; i < count && !args.failed; i++) {
    napi_value part;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    bool isTypedArray = false;
    napi_get_element(env, args.values[0], i, &part);
    napi_is_typedarray(env, part, &isTypedArray);
    if (isTypedArray) napi_get_typedarray_info(env, part, &type, &length, &data, nullptr, nullptr);
    if (!isTypedArray || type != napi_float32_array || length % outer != 0) {
      args.fail("part " + std::to_string(i) + " must be a Float32Array of a multiple of " + std::to_string(outer) + " floats");
      break;
    }
    parts[i] = static_cast<const float*>(data);
    blocks[i] = static_cast<int64_t>(length) / outer;
    offsets[i + 1] = offsets[i] + blocks[i];
  }
  float* y = args.failed ? nullptr : args.floats(2, outer * offsets[count]);
  if (args.failed) return nullptr;
  const int64_t row = offsets[count];
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < outer; o++) {
    for (uint32_t i = 0; i < count; i++) std::copy(parts[i] + o * blocks[i], parts[i] + (o + 1) * blocks[i], y + o * row + offsets[i]);
  }
  return undefinedValue(env);
}

// reluGradient(dy, y, dx): a ReLU's input gradient from its output, dy where y > 0.
napi_value ReluGradient(napi_env env, napi_callback_info info) {
  Args args(env, info, 3);
  int64_t n = 0;
  auto arrays = args.sameLengthFloats(0, 3, n);
  if (args.failed) return nullptr;
  const float* __restrict dy = arrays[0];
  const float* __restrict y = arrays[1];
  float* __restrict dx = arrays[2];
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float g = dy[i];  // loaded either way, so that the select needs no branch
    dx[i] = y[i] > 0.0f ? g : 0.0f;
  }
  return undefinedValue(env);
}

// adamUpdate(w, m, v, g, w1, m1, v1, {learningRate, beta1, beta2, epsilon, correction1,
// correction2}): one Adam step of one variable (kernels/adam-update.ts has the formula).
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  Args args(env, info, 8);
  int64_t n = 0;
  auto arrays = args.sameLengthFloats(0, 7, n);
  double a[6] = {0};
  const char* names[6] = {"learningRate", "beta1", "beta2", "epsilon", "correction1", "correction2"};
  for (size_t i = 0; i < 6 && !args.failed; i++) {
    napi_value value;
    if (napi_get_named_property(env, args.values[7], names[i], &value) != napi_ok || napi_get_value_double(env, value, &a[i]) != napi_ok) {
      args.fail(std::string("argument 7 must hold the number ") + names[i]);
    }
  }
  if (args.failed) return nullptr;
  const float* __restrict w = arrays[0];
  const float* __restrict m = arrays[1];
  const float* __restrict v = arrays[2];
  const float* __restrict g = arrays[3];
  float* __restrict w1 = arrays[4];
  float* __restrict m1 = arrays[5];
  float* __restrict v1 = arrays[6];
  // 1 - beta in double: in float, 1 - 0.999f is 0.00100005, 5e-5 off.
  const float rate = static_cast<float>(a[0]), beta1 = static_cast<float>(a[1]), beta2 = static_cast<float>(a[2]), epsilon = static_cast<float>(a[3]);
  const float rest1 = static_cast<float>(1 - a[1]), rest2 = static_cast<float>(1 - a[2]);
  const float inverse1 = static_cast<float>(1 / a[4]), inverse2 = static_cast<float>(1 / a[5]);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float moment = beta1 * m[i] + rest1 * g[i];
    float square = beta2 * v[i] + rest2 * g[i] * g[i];
    m1[i] = moment;
    v1[i] = square;
    w1[i] = w[i] - rate * (moment * inverse1) / (std::sqrt(square * inverse2) + epsilon);
  }
  return undefinedValue(env);
}

// setThreads(n): the threads oneDNN's convolutions run on.
napi_value SetThreads(napi_env env, napi_callback_info info) {
  Args args(env, info, 1);
  int64_t threads = 1;
  if (!args.failed && (napi_get_value_int64(env, args.values[0], &threads) != napi_ok || threads < 1)) args.fail("setThreads takes an integer >= 1");
  if (args.failed) return nullptr;
  omp_set_num_threads(static_cast<int>(threads));
  return undefinedValue(env);
}

// setPrecision("float32" | "bfloat16"): what the convolutions round their inputs to (see the top).
// bfloat16 needs the CPU's bfloat16 instructions: without them oneDNN would emulate it, slowly.
napi_value SetPrecision(napi_env env, napi_callback_info info) {
  Args args(env, info, 1);
  if (args.failed) return nullptr;
  char name[16] = {0};
  size_t length = 0;
  if (napi_get_value_string_utf8(env, args.values[0], name, sizeof name, &length) != napi_ok) name[0] = 0;
  std::string precision(name, length);
  if (precision == "float32") {
    convolutionInputType() = dt::f32;
  } else if (precision == "bfloat16" && cpuHasBfloat16()) {
    convolutionInputType() = dt::bf16;
  } else if (precision == "bfloat16") {
    args.fail("this CPU has no bfloat16 instructions (AVX512-BF16 or AMX): use float32");
  } else {
    args.fail("setPrecision takes \"float32\" or \"bfloat16\", got \"" + precision + "\"");
  }
  return args.failed ? nullptr : undefinedValue(env);
}

// hasBfloat16(): whether this CPU computes bfloat16 convolutions natively (setPrecision).
napi_value HasBfloat16(napi_env env, napi_callback_info) {
  napi_value result;
  napi_get_boolean(env, cpuHasBfloat16(), &result);
  return result;
}

// version(): oneDNN's version and the CPU instructions it uses, e.g. "oneDNN 2.6.3 (avx512_core)".
napi_value Version(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  const char* isa = "";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: isa = "sse41"; break;
    case dnnl::cpu_isa::avx: isa = "avx"; break;
    case dnnl::cpu_isa::avx2: isa = "avx2"; break;
    case dnnl::cpu_isa::avx2_vnni: isa = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isa = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isa = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isa = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isa = "avx512_core_amx"; break;
    default: isa = "other"; break;
  }
  std::string text = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" + isa + ")";
  napi_value result;
  napi_create_string_utf8(env, text.c_str(), text.size(), &result);
  return result;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor functions[] = {
      {"conv2dForward", nullptr, Conv2dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackwardData", nullptr, Conv2dBackwardData, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackwardWeights", nullptr, Conv2dBackwardWeights, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"matmul", nullptr, Matmul, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"instanceNormForward", nullptr, InstanceNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"instanceNormBackward", nullptr, InstanceNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mirrorPad", nullptr, MirrorPad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mirrorPadGradient", nullptr, MirrorPadGradient, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool2x2", nullptr, MaxPool2x2, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"concat", nullptr, Concat, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluGradient", nullptr, ReluGradient, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool2x2Gradient", nullptr, MaxPool2x2Gradient, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setPrecision", nullptr, SetPrecision, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"hasBfloat16", nullptr, HasBfloat16, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"version", nullptr, Version, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}
