// A battery of malformed and hostile requests against `wick serve`, each with its expected status;
// every 4xx answer must be an OpenAI error object, and the server must stay healthy.
// env: WICK_CLI, WICK_MODEL.
import path from 'node:path';
import { startServer, env, check, failed } from './harness.mjs';

const modelDir = env('WICK_MODEL');
const name = path.basename(modelDir);
const server = await startServer(['--model', modelDir, '--api-key', 'sk-bad', '--max-body', '65536']);
const auth = { Authorization: 'Bearer sk-bad', 'Content-Type': 'application/json' };
const msgs = [{ role: 'user', content: 'hi' }];
const chat = (extra) => JSON.stringify({ model: name, messages: msgs, max_tokens: 2, ...extra });
const comp = (extra) => JSON.stringify({ model: name, prompt: 'hi', max_tokens: 2, ...extra });
const embd = (extra) => JSON.stringify({ model: name, input: 'hi', ...extra });
const C = '/v1/chat/completions', P = '/v1/completions', E = '/v1/embeddings';

const cases = [
  // [name, path, body (string) or null for GET, expected status, headers override]
  ['truncated JSON', C, '{', 400],
  ['array body', C, '[]', 400],
  ['null body', C, 'null', 400],
  ['empty body', C, '', 400],
  ['string body', C, '"hello"', 400],
  ['NaN literal', C, `{"model": "${name}", "messages": [], "temperature": NaN}`, 400],
  ['deeply nested JSON', C, '['.repeat(60000), 400],
  ['missing model', C, JSON.stringify({ messages: msgs }), 400],
  ['model not a string', C, chat({ model: 123 }), 400],
  ['empty model', C, chat({ model: '' }), 400],
  ['unknown model', C, chat({ model: 'gpt-9' }), 404],
  ['missing messages', C, JSON.stringify({ model: name }), 400],
  ['empty messages', C, chat({ messages: [] }), 400],
  ['messages a string', C, chat({ messages: 'hi' }), 400],
  ['message a number', C, chat({ messages: [1] }), 400],
  ['message without role', C, chat({ messages: [{ content: 'x' }] }), 400],
  ['unknown role', C, chat({ messages: [{ role: 'wizard', content: 'x' }] }), 400],
  ['content a number', C, chat({ messages: [{ role: 'user', content: 5 }] }), 400],
  ['content part of wrong type', C, chat({ messages: [{ role: 'user', content: [{ type: 'image_url' }] }] }), 400],
  ['user message without content', C, chat({ messages: [{ role: 'user' }] }), 400],
  ['temperature a string', C, chat({ temperature: 'hot' }), 400],
  ['temperature negative', C, chat({ temperature: -1 }), 400],
  ['temperature too high', C, chat({ temperature: 3 }), 400],
  ['top_p zero', C, chat({ top_p: 0 }), 400],
  ['top_p above one', C, chat({ top_p: 1.5 }), 400],
  ['top_k a string', C, chat({ top_k: 'x' }), 400],
  ['top_k fractional', C, chat({ top_k: 1.5 }), 400],
  ['min_p above one', C, chat({ min_p: 2 }), 400],
  ['max_tokens zero', C, chat({ max_tokens: 0 }), 400],
  ['max_tokens negative', C, chat({ max_tokens: -5 }), 400],
  ['max_tokens a string', C, chat({ max_tokens: '10' }), 400],
  ['max_tokens enormous', C, chat({ max_tokens: 1e12 }), 400],
  ['max_tokens past the context', C, chat({ max_tokens: 100000 }), 400],
  ['prompt longer than the context', C, chat({ messages: [{ role: 'user', content: 'word '.repeat(5000) }] }), 400],
  ['n zero', C, chat({ n: 0 }), 400],
  ['n too large', C, chat({ n: 1000 }), 400],
  ['stop a number', C, chat({ stop: 5 }), 400],
  ['stop list of numbers', C, chat({ stop: [1, 2] }), 400],
  ['five stop strings', C, chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 400],
  ['empty stop string', C, chat({ stop: [''] }), 400],
  ['seed a string', C, chat({ seed: 'abc' }), 400],
  ['stream a string', C, chat({ stream: 'yes' }), 400],
  ['stream_options without stream', C, chat({ stream_options: { include_usage: true } }), 400],
  ['include_usage a string', C, chat({ stream: true, stream_options: { include_usage: 'y' } }), 400],
  ['logprobs a string', C, chat({ logprobs: 'yes' }), 400],
  ['top_logprobs too many', C, chat({ logprobs: true, top_logprobs: 50 }), 400],
  ['top_logprobs without logprobs', C, chat({ top_logprobs: 2 }), 400],
  ['presence_penalty out of range', C, chat({ presence_penalty: 5 }), 400],
  ['completion without prompt', P, JSON.stringify({ model: name }), 400],
  ['completion prompt a number', P, comp({ prompt: 42 }), 400],
  ['completion prompt empty list', P, comp({ prompt: [] }), 400],
  ['completion empty prompt', P, comp({ prompt: '' }), 400],
  ['completion logprobs too many', P, comp({ logprobs: 10 }), 400],
  ['completion echo', P, comp({ echo: true }), 400],
  ['completion unknown model', P, comp({ model: 'nope' }), 404],
  ['embeddings without input', E, JSON.stringify({ model: name }), 400],
  ['embeddings of numbers', E, embd({ input: [1, 2] }), 400],
  ['embeddings bad encoding', E, embd({ encoding_format: 'hex' }), 400],
  ['embeddings empty text', E, embd({ input: [''] }), 400],
  ['embeddings unknown model', E, embd({ model: 'nope' }), 404],
  ['unknown route', '/v1/nothing', null, 404],
  ['GET on a POST route', C, null, 404],
  ['body over the limit', C, chat({ messages: [{ role: 'user', content: 'x'.repeat(100000) }] }), 413],
  ['wrong API key', C, chat({}), 401, { Authorization: 'Bearer nope', 'Content-Type': 'application/json' }],
  ['missing API key', C, chat({}), 401, { 'Content-Type': 'application/json' }],
  ['invalid UTF-8 in a string (not JSON)', C, Buffer.concat([Buffer.from(`{"model":"${name}","max_tokens":2,"messages":[{"role":"user","content":"`), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"}]}')]), 400],
  ['unknown fields are ignored', C, chat({ frobnicate: { deep: [1, 2, 3] } }), 200],
];

let n = 0;
for (const [what, route, body, status, headers] of cases) {
  n++;
  const res = await fetch(server.base + route, {
    method: body === null ? 'GET' : 'POST',
    headers: headers ?? auth,
    body: body === null ? undefined : body,
  });
  const text = await res.text();
  check(res.status === status, `${what}: status ${res.status}, expected ${status}: ${text.slice(0, 200)}`);
  if (status >= 400) {
    let ok = false;
    try {
      const j = JSON.parse(text);
      ok = typeof j.error?.message === 'string' && typeof j.error?.type === 'string';
    } catch {}
    check(ok, `${what}: an OpenAI error object, got ${text.slice(0, 200)}`);
  }
}
const health = await fetch(`${server.base}/health`, { headers: auth });
check(health.status === 200, 'server healthy after the battery');
const r = await server.stop();
check(r.code === 0, `server exits 0 on SIGTERM (code ${r.code})`);
if (failed()) {
  console.error(`${failed()} of ${n} check(s) failed`);
  process.exit(1);
}
console.log(`bad requests: ${n} cases passed`);
