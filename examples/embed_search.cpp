// Embed a few texts with a sentence-embedding folder and rank them against a query by cosine
// similarity (the vectors are L2-normalised, so a dot product is the cosine).
//   example_embed_search MODEL_DIR QUERY
#include <algorithm>
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
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += double(dv[i * size_t(D) + size_t(d)]) * qv[size_t(d)];
      scores.emplace_back(s, i);
    }
    std::sort(scores.rbegin(), scores.rend());
    for (const auto& [s, i] : scores) std::printf("%.4f  %s\n", s, corpus[i].c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
