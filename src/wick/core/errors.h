#pragma once
// Typed exceptions thrown by the library. Messages read "[op] what; expected X, got Y".
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace wick {

/// Base class of every error wick throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// A shape, axis or size does not fit the op.
class ShapeError : public Error {
 public:
  using Error::Error;
};
/// A dtype the op does not accept, or two dtypes that do not agree.
class DtypeError : public Error {
 public:
  using Error::Error;
};
/// An argument value out of range or otherwise invalid.
class ValueError : public Error {
 public:
  using Error::Error;
};
/// A file that cannot be read or written, or whose contents are malformed.
class IoError : public Error {
 public:
  using Error::Error;
};
/// Something wick does not implement (yet) for this input, dtype or device.
class NotImplemented : public Error {
 public:
  using Error::Error;
};
/// A failure reported by a backend library (BLAS, CUDA, ...).
class BackendError : public Error {
 public:
  using Error::Error;
};

/// Throws E with a message formatted as "[op] <formatted text>".
template <class E, class... Args>
[[noreturn]] void fail(const char* op, fmt::format_string<Args...> f, Args&&... args) {
  throw E(fmt::format("[{}] {}", op, fmt::format(f, std::forward<Args>(args)...)));
}

}  // namespace wick
