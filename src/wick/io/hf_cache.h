#pragma once
// Hugging Face Hub ids ("Org/Name") resolved offline from the standard Hugging Face cache, as
// huggingface_hub lays it out: CACHE/models--Org--Name/refs/main holds a revision, and
// CACHE/models--Org--Name/snapshots/<revision>/ the files. Nothing is downloaded.
#include <filesystem>
#include <string>
#include <vector>

namespace wick::io {

/// The cache folders searched, in order: $HF_HUB_CACHE, $HF_HOME/hub (else
/// $XDG_CACHE_HOME/huggingface/hub), ~/.cache/huggingface/hub (each only when its variable is
/// set; duplicates dropped).
std::vector<std::filesystem::path> hf_cache_dirs();
/// True for "Org/Name" ids: one '/', both parts non-empty of [A-Za-z0-9._-], not "." or "..".
bool is_hub_id(const std::string& s);
/// The snapshot folder of `repo_id` in `cache` (via refs/main, else the only snapshot), or an
/// empty path when it is not there.
std::filesystem::path find_hf_snapshot(const std::filesystem::path& cache,
                                       const std::string& repo_id);
/// `arg` itself when it names an existing path or is not a Hub id; otherwise the cached snapshot
/// folder of the Hub id. IoError naming the id and every path searched when it is not cached.
std::filesystem::path resolve_model_path(const std::string& arg);

}  // namespace wick::io
