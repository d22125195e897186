// Encode throughput of the Hugging Face tokenizers library (node addon) on nlp-corpus, for
// docs/performance-tokenizer.md: node bench_hf.mjs [qwen3|bert ...]. encodeBatch runs on rayon's
// pool: RAYON_NUM_THREADS=1 gives the single-thread figure. Writes the corpus (sentences without
// line breaks, one per line) to build/corpus.txt and prints the sha256 of the ids in the output
// format of `wick tokenize --file` so that the whole corpus can be compared.
import crypto from 'node:crypto';
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
  texts = texts.filter((t) => !/[\r\n]/.test(t));
  fs.mkdirSync(path.join(here, 'build'), {recursive: true});
  fs.writeFileSync(path.join(here, 'build/corpus.txt'), texts.join('\n') + '\n');
}
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
for (const name of process.argv.slice(2)) {
  const t = tk.Tokenizer.fromFile(path.join(here, TOKENIZERS[name]));
  await t.encodeBatch(texts.slice(0, 1000));  // warm up
  let best = Infinity, bestCpu = Infinity, tokens = 0, sha = '';
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
    const enc = await t.encodeBatch(texts);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
    tokens = enc.reduce((n, e) => n + e.getLength(), 0);
    if (r === 0) {
      const h = crypto.createHash('sha256');
      for (const e of enc) h.update(e.getIds().join(' ') + '\n');
      sha = h.digest('hex');
    }
    best = Math.min(best, s);
  }
  console.log(JSON.stringify({name, texts: texts.length, bytes, tokens, seconds: best, mb_per_s: bytes / 1e6 / best,
    cpu_seconds: bestCpu, mb_per_cpu_s: bytes / 1e6 / bestCpu, ids_sha256: sha}));
}
