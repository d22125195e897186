// Bounded load test against 127.0.0.1: C concurrent streaming clients for S seconds, mixing the
// base model and adapters, chat and text completions. Fails on any failed request, any stream
// without a finish_reason and "data: [DONE]", a KV block still held at the end, or resident
// memory growing between the first and the last third of the run.
// env: WICK_CLI, WICK_MODEL, WICK_ADAPTER; args: CLIENTS SECONDS (default 8 5).
import fs from 'node:fs';
import path from 'node:path';
import { startServer, env, check, failed } from './harness.mjs';

const clients = Number(process.argv[2] ?? 8);
const seconds = Number(process.argv[3] ?? 5);
const modelDir = env('WICK_MODEL');
const name = path.basename(modelDir);
const server = await startServer(['--model', modelDir, '--adapter', `a=${env('WICK_ADAPTER')}`,
  '--adapter', `b=${env('WICK_ADAPTER')}`, '--max-batch', '32']);
const models = [name, 'a', 'b'];
const rss = () => {
  const m = fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return Number(m[1]) * 1024;
};

let ok = 0, bad = 0, tokens = 0;
const errors = [];
const deadline = Date.now() + seconds * 1000;
const samples = [];
const sampler = setInterval(() => samples.push({ t: Date.now(), rss: rss() }), 200);

async function one(i, k) {
  const chat = (i + k) % 2 === 0;
  const body = {
    model: models[(i + k) % models.length], max_tokens: 4 + ((i * 7 + k) % 13), stream: true,
    temperature: k % 3 === 0 ? 0 : 0.8, seed: i * 1000 + k,
    ...(chat ? { messages: [{ role: 'user', content: `client ${i} request ${k}` }] }
      : { prompt: `client ${i} request ${k}:` }),
  };
  const res = await fetch(`${server.base}/v1/${chat ? 'chat/completions' : 'completions'}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text.slice(0, 200)}`);
  const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
  if (events.at(-1) !== 'data: [DONE]') throw new Error('stream does not end with [DONE]');
  let finish = null;
  for (const e of events.slice(0, -1)) {
    const j = JSON.parse(e.slice(6));
    if (j.error) throw new Error(j.error.message);
    for (const c of j.choices) {
      if (c.finish_reason) finish = c.finish_reason;
      if ((c.delta?.content ?? c.text ?? '') !== '') tokens++;
    }
  }
  if (!finish) throw new Error('stream without finish_reason');
}

async function client(i) {
  for (let k = 0; Date.now() < deadline; k++) {
    try {
      await one(i, k);
      ok++;
    } catch (e) {
      bad++;
      errors.push(String(e));
    }
  }
}

const t0 = Date.now();
await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
clearInterval(sampler);
const elapsed = (Date.now() - t0) / 1000;
const metrics = await (await fetch(`${server.base}/metrics`)).text();
const gauge = (n) => Number(metrics.match(new RegExp(`^${n} (\\S+)`, 'm'))?.[1]);
check(bad === 0, `${bad} failed requests: ${errors.slice(0, 3).join(' | ')}`);
check(ok > 0, 'some requests completed');
check(gauge('wick_kv_blocks_in_use') === 0, `KV blocks in use after the run: ${gauge('wick_kv_blocks_in_use')}`);
check(gauge('wick_running_sequences') === 0, 'no running sequence after the run');
// Memory flat: the peak of the last third no more than 10% (+16 MiB) above the first third's.
const third = Math.max(1, Math.floor(samples.length / 3));
const peak = (xs) => Math.max(...xs.map((s) => s.rss));
const early = peak(samples.slice(0, third)), late = peak(samples.slice(-third));
if (process.env.WICK_SANITIZED === '1') {
  console.log('memory-flat check skipped: the server is built with AddressSanitizer (quarantine)');
} else {
  check(late <= early * 1.1 + 16 * 2 ** 20, `memory grew from ${early} to ${late} bytes`);
}
console.log(JSON.stringify({ clients, seconds, requests_ok: ok, requests_failed: bad,
  elapsed_s: elapsed, requests_per_s: ok / elapsed, text_chunks: tokens,
  rss_first_third_mib: early / 2 ** 20, rss_last_third_mib: late / 2 ** 20,
  kv_blocks_in_use: gauge('wick_kv_blocks_in_use') }));
const r = await server.stop();
check(r.code === 0, `server exits 0 on SIGTERM (code ${r.code})`);
if (failed()) process.exit(1);
