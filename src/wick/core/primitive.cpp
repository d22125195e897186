#include "wick/core/primitive.h"

#include <fmt/format.h>

#include <cstring>
#include <functional>
#include <string_view>

namespace wick {

namespace {
constexpr const char* kKindNames[] = {
#define WICK_PRIMITIVE(name) #name,
#include "wick/core/primitives.def"
#undef WICK_PRIMITIVE
};
static_assert(sizeof(kKindNames) / sizeof(kKindNames[0]) == size_t(kNumPrimitiveKinds),
              "primitives.def and PrimitiveKind disagree");

void hash_combine(size_t& h, size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); }

std::string value_str(const ParamValue& v) {
  struct V {
    std::string operator()(int64_t x) const { return std::to_string(x); }
    std::string operator()(double x) const { return fmt::format("{}", x); }
    std::string operator()(const std::string& x) const { return x; }
    std::string operator()(const std::vector<int64_t>& x) const {
      return fmt::format("[{}]", fmt::join(x, ", "));
    }
  };
  return std::visit(V{}, v);
}
}  // namespace

const char* kind_name(PrimitiveKind k) { return kKindNames[size_t(k)]; }

bool Param::operator==(const Param& o) const {
  if (std::string_view(name) != o.name || value.index() != o.value.index()) return false;
  // Doubles compare bitwise so that NaN parameters are equal to themselves and -0 != 0.
  if (auto* a = std::get_if<double>(&value)) {
    double b = std::get<double>(o.value);
    return std::memcmp(a, &b, sizeof b) == 0;
  }
  return value == o.value;
}

bool Primitive::is_equivalent(const Primitive& o) const {
  return kind_ == o.kind_ && params() == o.params();
}

size_t Primitive::hash() const {
  size_t h = std::hash<int>()(int(kind_));
  for (const auto& p : params()) {
    hash_combine(h, std::hash<std::string_view>()(p.name));
    struct V {
      size_t operator()(int64_t x) const { return std::hash<int64_t>()(x); }
      size_t operator()(double x) const {
        uint64_t bits;
        std::memcpy(&bits, &x, sizeof bits);
        return std::hash<uint64_t>()(bits);
      }
      size_t operator()(const std::string& x) const { return std::hash<std::string>()(x); }
      size_t operator()(const std::vector<int64_t>& x) const {
        size_t r = x.size();
        for (auto e : x) hash_combine(r, std::hash<int64_t>()(e));
        return r;
      }
    };
    hash_combine(h, std::visit(V{}, p.value));
  }
  return h;
}

std::string Primitive::describe() const {
  std::string s = std::string(name()) + "(";
  bool first = true;
  for (const auto& p : params()) {
    s += (first ? "" : ", ") + std::string(p.name) + "=" + value_str(p.value);
    first = false;
  }
  return s + ")";
}

Layout Primitive::view_layout(const std::vector<Tensor>&, const Shape&) const {
  fail<ValueError>(name(), "internal: view_layout of a primitive that is not a view");
}

void Primitive::eval_generic(const std::vector<Tensor>&, const std::vector<Tensor>&) {
  fail<ValueError>(name(), "internal: eval_generic of a primitive that has kernels");
}

std::vector<Tensor> Primitive::fallback(const std::vector<Tensor>&) const { return {}; }

std::vector<Tensor> Primitive::vjp(const std::vector<Tensor>&, const Tensor&, const Tensor&,
                                   const std::vector<bool>&) {
  fail<NotImplemented>(name(), "this op has no gradient");
}

std::vector<Tensor> Primitive::vjp_multi(const std::vector<Tensor>& inputs,
                                         const std::vector<Tensor>& outputs,
                                         const std::vector<Tensor>& cotangents,
                                         const std::vector<bool>& wanted) {
  return vjp(inputs, outputs[0], cotangents[0], wanted);
}

const std::vector<const char*>& all_primitive_names() {
  static const std::vector<const char*> names(std::begin(kKindNames), std::end(kKindNames));
  return names;
}

}  // namespace wick
