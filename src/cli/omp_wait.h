#pragma once
// Training commands run with passive OpenMP waiting unless OMP_WAIT_POLICY is set: libgomp's
// default spin-wait burns the time slices of the threads it waits for on a shared machine
// (measured on the 2-core dev host at load ~8: 5.5 vs 0.34 CPU-seconds per quickstart
// pretraining step). libgomp reads the variable once at load time, so the process re-executes
// itself with it set.
namespace wick::cli {

/// Re-executes this process with OMP_WAIT_POLICY=passive when the variable is unset (no-op
/// otherwise, or when re-execution is impossible).
void ensure_passive_omp_wait();

}  // namespace wick::cli
