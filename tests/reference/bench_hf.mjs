// Encode throughput of the Hugging Face tokenizers library (node addon) on nlp-corpus, for
// docs/performance-tokenizer.md: node bench_hf.mjs [qwen3|bert ...]. encodeBatch runs on rayon's
// pool: RAYON_NUM_THREADS=1 gives the single-thread figure.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import tk from '@anush008/tokenizers';
import {TOKENIZERS} from './tokenizers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
let texts = [];
if (process.env.WICK_BENCH_CORPUS) {
  texts = fs.readFileSync(process.env.WICK_BENCH_CORPUS, 'utf8').split('\n');
  if (texts.length && texts[texts.length - 1] === '') texts.pop();
} else {
  for (let d = 0; d < 50; d++)
    texts.push(...JSON.parse(fs.readFileSync(path.join(here, `node_modules/nlp-corpus/builds/doc-${d}.json`), 'utf8')));
}
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
for (const name of process.argv.slice(2)) {
  const t = tk.Tokenizer.fromFile(path.join(here, TOKENIZERS[name]));
  await t.encodeBatch(texts.slice(0, 1000));  // warm up
  let best = Infinity, tokens = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    const enc = await t.encodeBatch(texts);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    tokens = enc.reduce((n, e) => n + e.getLength(), 0);
    best = Math.min(best, s);
  }
  console.log(JSON.stringify({name, texts: texts.length, bytes, tokens, seconds: best, mb_per_s: bytes / 1e6 / best}));
}
