// Loads GGUF files with llama.cpp (node-llama-cpp's prebuilt CPU library) and prints, as one JSON
// object per line on stdout, llama.cpp's token ids for a prompt and its next-token
// log-probabilities at every position (raw logits minus their log-sum-exp: llama.cpp hands out
// the softmax of the raw logits when sampling greedily, so logits are known up to a constant per
// position).
//   node llama_cpp_logits.mjs FILE.gguf (--prompt TEXT | --ids 1,2,3) [--no-special] [--kv f16]
//        [--last]
//   node llama_cpp_logits.mjs --jobs JOBS.json     ([{"file", "prompt", "last"}, ...]: one line
//                                                   per job, llama.cpp loaded once)
// Output: {"ids": [...], "vocab_size": V, "add_bos": bool, "logprobs": [[V numbers] x T]}
// (with --last, "logprobs" holds the last position's row only; a probability that underflows to
// 0 is written as null).
import fs from 'node:fs';
import {getLlama, LlamaLogLevel} from 'node-llama-cpp';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

let jobs;
if (opt('--jobs') !== undefined) {
  jobs = JSON.parse(fs.readFileSync(opt('--jobs'), 'utf8'));
} else {
  const file = args[0];
  if (!file || file.startsWith('--') ||
      (opt('--prompt') === undefined && opt('--ids') === undefined)) {
    console.error('usage: node llama_cpp_logits.mjs FILE.gguf (--prompt TEXT | --ids 1,2,3) ' +
                  '[--no-special] [--kv f16] [--last] | --jobs JOBS.json');
    process.exit(2);
  }
  jobs = [{
    file,
    prompt: opt('--prompt'),
    ids: opt('--ids')?.split(',').filter((s) => s.length).map(Number),
    last: args.includes('--last'),
    special: !args.includes('--no-special'),
    kv: opt('--kv'),
  }];
}

const llama = await getLlama({gpu: false, build: 'never', logLevel: LlamaLogLevel.error});

async function run(job) {
  const model = await llama.loadModel({modelPath: job.file, gpuLayers: 0});
  let ids = job.ids;
  if (ids === undefined) {
    // specialTokens = true: special tokens written in the text are matched, as wick and the
    // Hugging Face tokenizers library do.
    ids = Array.from(model.tokenize(job.prompt, job.special !== false));
    // model.tokenize never adds bos/eos; llama.cpp's llama_tokenize(add_special = true) adds
    // them as the file's tokenizer.ggml.add_bos_token / add_eos_token say.
    if (model.tokens.shouldPrependBosToken && model.tokens.bos !== null) {
      ids.unshift(model.tokens.bos);
    }
    if (model.tokens.shouldAppendEosToken && model.tokens.eos !== null) {
      ids.push(model.tokens.eos);
    }
  }
  // An f32 KV cache and no flash attention: llama.cpp's default (f16 K/V) rounds keys and values
  // to f16, which alone moves the logits by ~6e-4 relative; --kv f16 measures that default.
  const kv = job.kv === 'f16' ? 'F16' : 'F32';
  const context = await model.createContext({
    contextSize: Math.max(64, ids.length + 8),
    batchSize: Math.max(64, ids.length + 8),
    flashAttention: false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
  });
  const seq = context.getSequence();
  const input = ids.map((t, i) => job.last && i + 1 < ids.length ? t : [t, {
    generateNext: {probabilities: true, token: true, options: {temperature: 0}},
  }]);
  const outs = await seq.controlledEvaluate(input);
  // Greedy sampling keeps every token, so each map holds the whole vocabulary.
  const scored = outs.filter((o) => o !== undefined && o.next?.probabilities !== undefined);
  const vocab = scored.length ? scored[0].next.probabilities.size : 0;
  const logprobs = scored.map((o) => {
    const row = new Array(vocab).fill(null);
    for (const [tok, p] of o.next.probabilities) row[tok] = p > 0 ? Math.log(p) : null;
    return row;
  });
  const result = {ids, vocab_size: vocab, add_bos: model.tokens.shouldPrependBosToken, logprobs};
  await context.dispose();
  await model.dispose();
  return result;
}

for (const job of jobs) process.stdout.write(JSON.stringify(await run(job)) + '\n');
await llama.dispose();
