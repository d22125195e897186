// The three serve benchmarks of issue 14 on one model folder, same machine, same run:
//  1. aggregate decode tokens/s of 8 concurrent greedy streams vs 1 stream;
//  2. time to first token of 8 concurrent requests sharing a 256-token prompt prefix, with the
//     prefix cache (warm) vs --no-prefix-cache;
//  3. per-token decode time of one streaming request vs `wick generate` (server overhead).
// Usage: WICK_CLI=build/wick node bench/serve_bench.mjs MODEL_DIR [DECODE_TOKENS]
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';

const cli = process.env.WICK_CLI ?? 'build/wick';
const model = process.argv[2];
const N = Number(process.argv[3] ?? 48);
const name = path.basename(model);
const now = () => performance.now() / 1000;

async function start(extra) {
  const proc = spawn(cli, ['serve', '--model', model, '--port', '0', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const port = await new Promise((res, rej) => {
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/127\.0\.0\.1:(\d+)/);
      if (m) res(Number(m[1]));
    });
    proc.on('exit', (c) => rej(new Error(`server exited ${c}: ${log}`)));
  });
  return { base: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => { proc.on('exit', r); proc.kill('SIGTERM'); }) };
}

// One streaming completion; returns arrival times of the token chunks.
async function stream(base, prompt, maxTokens) {
  const t0 = now();
  const res = await fetch(`${base}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: name, prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true,
      stream: true, stream_options: { include_usage: true } }) });
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  const times = [];
  let buf = '', usage = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.usage) usage = j.usage;
      if (j.choices?.length && j.choices[0].text !== '') times.push(now());
    }
  }
  return { t0, times, tokens: usage?.completion_tokens ?? 0, end: now() };
}

const words = (n, tag) => Array.from({ length: n }, (_, i) => `w${(i * 7 + tag) % 50}`).join(' ');
const out = {};
{
  const s = await start([]);
  await stream(s.base, 'warm up', 4);
  // 1. one stream vs eight.
  const one = await stream(s.base, 'the first stream', N);
  out.single_stream_tokens_per_s = one.tokens / (one.end - one.t0);
  // Text chunks come only when a whole UTF-8 character is complete (random weights emit partial
  // bytes), so the decode time per token is from the first chunk to the end over the tokens.
  out.single_stream_decode_ms_per_token = (1000 * (one.end - one.times[0])) / (one.tokens - 1);
  const t0 = now();
  const eight = await Promise.all(Array.from({ length: 8 }, (_, i) => stream(s.base, `stream number ${i}`, N)));
  const wall = now() - t0;
  out.eight_streams_tokens_per_s = eight.reduce((a, r) => a + r.tokens, 0) / wall;
  out.eight_vs_one = out.eight_streams_tokens_per_s / out.single_stream_tokens_per_s;
  // 2a. TTFT with a warm prefix cache.
  const system = words(256, 1);
  await stream(s.base, system + ' warm', 1);
  const hits = await Promise.all(Array.from({ length: 8 }, (_, i) => stream(s.base, `${system} question ${i}`, 1)));
  out.ttft_prefix_cache_ms = (1000 * hits.reduce((a, r) => a + (r.times[0] - r.t0), 0)) / 8;
  await s.stop();
}
{
  const s = await start(['--no-prefix-cache']);
  await stream(s.base, 'warm up', 4);
  const system = words(256, 1);
  const miss = await Promise.all(Array.from({ length: 8 }, (_, i) => stream(s.base, `${system} question ${i}`, 1)));
  out.ttft_no_prefix_cache_ms = (1000 * miss.reduce((a, r) => a + (r.times[0] - r.t0), 0)) / 8;
  out.ttft_speedup = out.ttft_no_prefix_cache_ms / out.ttft_prefix_cache_ms;
  await s.stop();
}
{
  // 3. wick generate's decode rate on the same prompt (eos 383 may end it early; the rate is per token).
  const r = spawnSync(cli, ['generate', '--model', model, '--prompt', 'the first stream', '--max-tokens', String(N),
    '--temperature', '0', '--json'], { encoding: 'utf8' });
  const g = JSON.parse(r.stdout);
  out.generate_decode_ms_per_token = 1000 / g.decode_tokens_per_second;
  out.server_overhead = out.single_stream_decode_ms_per_token / out.generate_decode_ms_per_token - 1;
}
console.log(JSON.stringify(out, null, 1));
