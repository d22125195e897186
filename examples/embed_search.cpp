// Embed a few texts with a sentence-embedding folder and rank them against a query by cosine
// similarity (computed explicitly: a folder without a Normalize module gives unnormalised
// vectors).
//   example_embed_search MODEL_DIR QUERY
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "wick/embed/embedder.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR QUERY\n", argv[0]);
    return 2;
  }
  try {
    const auto emb = wick::embed::Embedder::load(argv[1]);  // pooling from the folder's modules
    const std::vector<std::string> corpus = {
        "The cat sat on the mat.", "Stock markets fell sharply today.",
        "A kitten is sleeping on a rug.", "The recipe needs two eggs and flour."};
    const wick::Tensor docs = emb.encode(corpus);  // [N, D] f32
    const wick::Tensor q = emb.encode({argv[2]});  // [1, D]
    const int64_t D = emb.dim();
    const std::vector<float> dv = docs.to_vector<float>(), qv = q.to_vector<float>();
    std::vector<std::pair<double, size_t>> scores;
    for (size_t i = 0; i < corpus.size(); ++i) {
      double dot = 0, nd = 0, nq = 0;
      for (size_t d = 0; d < size_t(D); ++d) {
        const double a = dv[i * size_t(D) + d], b = qv[d];
        dot += a * b;
        nd += a * a;
        nq += b * b;
      }
      scores.emplace_back(dot / std::max(1e-12, std::sqrt(nd * nq)), i);
    }
    std::sort(scores.rbegin(), scores.rend());
    for (const auto& [s, i] : scores) std::printf("%.4f  %s\n", s, corpus[i].c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
