#include "wick/core/tensor.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "wick/core/backend.h"
#include "wick/core/graph.h"
#include "wick/core/primitive.h"

namespace wick {

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Strides contiguous_strides(const Shape& s) {
  Strides st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

Node::~Node() {
  if (inputs.empty()) return;
  thread_local bool draining = false;
  thread_local std::vector<Tensor> pending;
  for (auto& t : inputs) pending.push_back(std::move(t));
  inputs.clear();
  if (draining) return;  // an outer ~Node is draining the list
  draining = true;
  while (!pending.empty()) {
    Tensor t = std::move(pending.back());
    pending.pop_back();
  }  // each t destroyed here may push its own inputs
  draining = false;
}

namespace {
std::atomic<uint64_t> g_next_serial{1};
}  // namespace

uint64_t next_node_serial() { return g_next_serial.load(); }

Tensor Tensor::make(Shape shape, DType dtype, Device device, std::shared_ptr<Primitive> prim,
                    std::vector<Tensor> inputs) {
  for (auto d : shape)
    if (d < 0) fail<ShapeError>(prim->name(), "negative dimension in shape {}", shape_str(shape));
  Tensor t;
  t.node_ = std::make_shared<Node>();
  t.node_->shape = std::move(shape);
  t.node_->dtype = dtype;
  t.node_->device = device;
  t.node_->prim = std::move(prim);
  t.node_->inputs = std::move(inputs);
  Node& n = *t.node_;
  switch (n.prim->effect()) {
    case Effect::view: {
      Layout l = n.prim->view_layout(n.inputs, n.shape);
      n.strides = std::move(l.strides);
      n.offset = l.offset;
      break;
    }
    case Effect::writes_input:
      n.strides = n.inputs[0].strides();
      n.offset = n.inputs[0].offset();
      break;
    default:
      n.strides = contiguous_strides(n.shape);
      break;
  }
  t.node_->serial = g_next_serial.fetch_add(1);
  if (eager()) detail::eval_eager(t);
  return t;
}

std::vector<Tensor> Tensor::make_multi(std::vector<Shape> shapes, std::vector<DType> dtypes,
                                       Device device, std::shared_ptr<Primitive> prim,
                                       std::vector<Tensor> inputs) {
  if (shapes.size() != dtypes.size() || shapes.empty())
    fail<ValueError>(prim->name(), "internal: {} shapes for {} dtypes", shapes.size(),
                     dtypes.size());
  if (prim->effect() != Effect::none && prim->effect() != Effect::generic)
    fail<ValueError>(prim->name(), "internal: a multi-output primitive must compute fresh outputs");
  auto group = std::make_shared<OutputGroup>();
  group->shapes = shapes;
  group->dtypes = dtypes;
  std::vector<Tensor> outs;
  {
    EagerMode lazy(false);  // all siblings exist before any runs
    for (size_t i = 0; i < shapes.size(); ++i) {
      outs.push_back(make(shapes[i], dtypes[i], device, prim, inputs));
      Node& n = *outs.back().node_;
      n.group = group;
      n.output_index = int(i);
      group->nodes.push_back(outs.back().node_);
    }
  }
  if (eager()) detail::eval_eager(outs[0]);
  return outs;
}

std::vector<Tensor> Tensor::siblings() const {
  const Node& n = node();
  if (!n.group) return {*this};
  std::vector<Tensor> r;
  for (size_t i = 0; i < n.group->nodes.size(); ++i) {
    Tensor t;
    t.node_ = n.group->nodes[i].lock();
    if (!t.node_) {  // dropped: a stand-in the kernel can write (and nobody reads)
      t.node_ = std::make_shared<Node>();
      t.node_->shape = n.group->shapes[i];
      t.node_->dtype = n.group->dtypes[i];
      t.node_->device = n.device;
      t.node_->strides = contiguous_strides(t.node_->shape);
      t.node_->prim = n.prim;
      t.node_->inputs = n.inputs;
      t.node_->group = n.group;
      t.node_->output_index = int(i);
      n.group->nodes[i] = t.node_;
    }
    r.push_back(std::move(t));
  }
  return r;
}

Tensor Tensor::from_buffer(std::shared_ptr<Buffer> buffer, Shape shape, DType dtype,
                           Strides strides, int64_t offset) {
  Tensor t;
  t.node_ = std::make_shared<Node>();
  t.node_->device = buffer->device();
  t.node_->strides = strides.empty() ? contiguous_strides(shape) : std::move(strides);
  t.node_->shape = std::move(shape);
  t.node_->dtype = dtype;
  t.node_->buffer = std::move(buffer);
  t.node_->offset = offset;
  return t;
}

int64_t Tensor::shape(int axis) const {
  int n = ndim();
  int a = axis < 0 ? axis + n : axis;
  if (a < 0 || a >= n) fail<ShapeError>("shape", "axis {} out of range for {}-d tensor", axis, n);
  return node().shape[a];
}

const Tensor& Tensor::eval() const {
  if (!is_evaluated()) wick::eval({*this});
  return *this;
}

bool Tensor::is_contiguous() const {
  const auto& n = node();
  int64_t acc = 1;
  for (int i = int(n.shape.size()) - 1; i >= 0; --i) {
    if (n.shape[i] != 1 && n.strides[i] != acc) return false;
    acc *= n.shape[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const auto& n = node();
  if (!n.buffer) eval();
  if (n.device.type != DeviceType::cpu && !detail::in_kernel() &&
      !backend_for(n.device.type).host_accessible())
    fail<ValueError>("tensor", "host access to a tensor on {}; copy it with to(Device::cpu())",
                     device_name(n.device));
  return static_cast<char*>(n.buffer->data()) + n.offset * int64_t(size_of(n.dtype));
}

void Tensor::alloc_contiguous() const {
  auto& n = node();
  n.buffer = allocator_for(n.device).allocate(size_t(numel_of(n.shape)) * size_of(n.dtype));
  n.strides = contiguous_strides(n.shape);
  n.offset = 0;
}

void Tensor::share_buffer(const Tensor& base) const { node().buffer = base.node().buffer; }

void Tensor::set_view(const Tensor& base, Strides strides, int64_t offset) const {
  auto& n = node();
  n.buffer = base.node().buffer;
  n.strides = std::move(strides);
  n.offset = offset;
}

void Tensor::detach_graph() const {
  auto& n = node();
  n.prim.reset();
  n.inputs.clear();
}

namespace {
template <class T, class S>
void gather_as(const Tensor& t, std::vector<T>& out) {
  const S* base = static_cast<const S*>(t.buffer()->data()) + t.offset();
  const auto& shape = t.shape();
  const auto& st = t.strides();
  int nd = int(shape.size());
  std::vector<int64_t> idx(nd, 0);
  int64_t n = t.numel();
  out.resize(size_t(n));
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[size_t(i)] = static_cast<T>(Compute<S>::load(base[off]));
    for (int d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) {
        off += st[d];
        break;
      }
      off -= st[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}
}  // namespace

template <class T>
std::vector<T> Tensor::to_vector() const {
  eval();
  if (device().type != DeviceType::cpu) return to(Device::cpu()).to_vector<T>();
  std::vector<T> out;
  switch (dtype()) {
    case DType::f32:
      gather_as<T, float>(*this, out);
      break;
    case DType::f64:
      gather_as<T, double>(*this, out);
      break;
    case DType::bf16:
      gather_as<T, bf16>(*this, out);
      break;
    case DType::f16:
      gather_as<T, f16>(*this, out);
      break;
    case DType::i32:
      gather_as<T, int32_t>(*this, out);
      break;
    case DType::i64:
      gather_as<T, int64_t>(*this, out);
      break;
    case DType::boolean:
      gather_as<T, bool>(*this, out);
      break;
  }
  return out;
}

template <class T>
T Tensor::item() const {
  if (numel() != 1)
    fail<ShapeError>("item", "expected a one-element tensor, got shape {}", shape_str(shape()));
  return to_vector<T>()[0];
}

template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int32_t Tensor::item<int32_t>() const;
template int64_t Tensor::item<int64_t>() const;

}  // namespace wick
