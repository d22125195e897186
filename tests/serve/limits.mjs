// Limits and lifecycle of `wick serve`: a full queue answers 429 with Retry-After; a client that
// disconnects mid-stream frees its sequence and KV blocks at once; SIGTERM lets running requests
// finish, then the server exits 0. env: WICK_CLI, WICK_MODEL.
import path from 'node:path';
import { startServer, env, check, failed } from './harness.mjs';

const modelDir = env('WICK_MODEL');
const name = path.basename(modelDir);
const json = { 'Content-Type': 'application/json' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const long = (extra = {}) => JSON.stringify({ model: name, prompt: 'count with me:', max_tokens: 400,
  temperature: 0.7, seed: 1, ...extra });

// Queue limit: 2 sequences at most; 6 concurrent long requests.
let server = await startServer(['--model', modelDir, '--max-queue', '2']);
const metric = async (n) => {
  const t = await (await fetch(`${server.base}/metrics`)).text();
  return Number(t.match(new RegExp(`^${n} (\\S+)`, 'm'))?.[1]);
};
{
  const rs = await Promise.all(Array.from({ length: 6 }, () =>
    fetch(`${server.base}/v1/completions`, { method: 'POST', headers: json, body: long() })));
  const codes = rs.map((r) => r.status);
  const limited = rs.filter((r) => r.status === 429);
  // At most two run at once: with six sent together, some are refused (more than two may be
  // served when an early one finishes before a late one arrives).
  check(codes.filter((c) => c === 200).length >= 2, `two or more served, got ${codes}`);
  check(limited.length >= 1 && codes.every((c) => c === 200 || c === 429),
    `the others refused with 429, got ${codes}`);
  check(limited.every((r) => r.headers.get('retry-after') === '1'), 'Retry-After on 429');
  for (const r of rs) await r.text();
}

// Disconnect mid-stream: the sequence and its blocks are freed at once (at the next token; the
// bound is loose for a loaded machine).
{
  const ac = new AbortController();
  const res = await fetch(`${server.base}/v1/completions`, { method: 'POST', headers: json,
    body: long({ stream: true }), signal: ac.signal });
  const reader = res.body.getReader();
  let got = 0;
  while (got < 3) {
    const { value } = await reader.read();
    got += (new TextDecoder().decode(value).match(/data: /g) ?? []).length;
  }
  check((await metric('wick_kv_blocks_in_use')) > 0, 'blocks held while streaming');
  ac.abort();
  let freed = false;
  for (let i = 0; i < 150 && !freed; i++) {
    await sleep(20);
    freed = (await metric('wick_kv_blocks_in_use')) === 0 && (await metric('wick_running_sequences')) === 0;
  }
  check(freed, 'a disconnected stream frees its sequence and blocks within 3 s');
}

// SIGTERM drains: a running request completes, new ones get 503, the process exits 0.
{
  const pending = fetch(`${server.base}/v1/completions`, { method: 'POST', headers: json,
    body: long({ max_tokens: 60 }) });
  await sleep(50);
  const stopped = server.stop();
  await sleep(20);
  const late = await fetch(`${server.base}/v1/completions`, { method: 'POST', headers: json,
    body: long({ max_tokens: 2 }) }).catch(() => null);
  check(late === null || late.status === 503, `a request during the drain gets 503 (${late?.status})`);
  const r = await pending;
  const body = await r.json();
  check(r.status === 200 && body.usage.completion_tokens > 0, `the running request completes (${r.status})`);
  const exit = await stopped;
  check(exit.code === 0, `exit code 0 after SIGTERM (got ${exit.code}, ${exit.signal})`);
}
if (failed()) process.exit(1);
console.log('limits: all checks passed');
