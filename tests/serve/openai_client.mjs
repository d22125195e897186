// The official OpenAI Node.js client against `wick serve`: models, completions, chat, streaming
// chat, per-request adapters, logprobs, n, embeddings and error cases; greedy results must equal
// `wick generate` and `wick embed` token for token / value for value.
// env: WICK_CLI, WICK_MODEL (decoder folder), WICK_ADAPTER (PEFT folder for that model).
import OpenAI from 'openai';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startServer, env, check, failed } from './harness.mjs';

const cli = env('WICK_CLI');
const modelDir = env('WICK_MODEL');
const adapterDir = env('WICK_ADAPTER');
const name = path.basename(modelDir);

function wick(args) {
  const r = spawnSync(cli, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wick ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
function generate(prompt, extra = []) {
  return JSON.parse(wick(['generate', '--model', modelDir, '--prompt', prompt, '--max-tokens', '12',
    '--temperature', '0', '--json', ...extra]));
}

const server = await startServer(['--model', modelDir, '--adapter', `lora=${adapterDir}`,
  '--api-key', 'sk-test']);
const client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
try {
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id);
  check(ids.includes(name) && ids.includes('lora'), `models lists ${name} and lora: ${ids}`);

  // Text completion, greedy: equals wick generate.
  const want = generate('hello world', ['--no-chat']);
  const c = await client.completions.create({ model: name, prompt: 'hello world', max_tokens: 12,
    temperature: 0 });
  check(c.choices[0].text === want.text, `completion text ${JSON.stringify(c.choices[0].text)} == ${JSON.stringify(want.text)}`);
  check(c.usage.prompt_tokens === want.prompt_tokens.length, 'completion usage.prompt_tokens');
  check(c.usage.completion_tokens === want.tokens.length, `completion usage.completion_tokens ${c.usage.completion_tokens} == ${want.tokens.length}`);
  check(c.usage.total_tokens === c.usage.prompt_tokens + c.usage.completion_tokens, 'total_tokens');

  // The adapter picked by the request's model equals wick generate --adapter.
  const wantLora = generate('hello world', ['--no-chat', '--adapter', adapterDir]);
  const cl = await client.completions.create({ model: 'lora', prompt: 'hello world',
    max_tokens: 12, temperature: 0 });
  check(cl.choices[0].text === wantLora.text, `adapter completion equals wick generate --adapter`);

  // Chat, greedy: equals wick generate --chat.
  const wantChat = generate('hi there', ['--chat']);
  const chat = await client.chat.completions.create({ model: name, max_tokens: 12, temperature: 0,
    messages: [{ role: 'user', content: 'hi there' }] });
  check(chat.choices[0].message.role === 'assistant', 'chat role');
  check(chat.choices[0].message.content === wantChat.text, `chat text ${JSON.stringify(chat.choices[0].message.content)} == ${JSON.stringify(wantChat.text)}`);
  check(chat.usage.prompt_tokens === wantChat.prompt_tokens.length, 'chat usage.prompt_tokens');
  check(['stop', 'length'].includes(chat.choices[0].finish_reason), 'chat finish_reason');

  // Streaming chat: the deltas concatenate to the same text; usage in the last chunk.
  const stream = await client.chat.completions.create({ model: name, max_tokens: 12,
    temperature: 0, messages: [{ role: 'user', content: 'hi there' }], stream: true,
    stream_options: { include_usage: true } });
  let streamed = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const ch of chunk.choices) {
      streamed += ch.delta?.content ?? '';
      if (ch.finish_reason) finish = ch.finish_reason;
    }
  }
  check(chunks > 2, `stream has several chunks (${chunks})`);
  check(streamed === wantChat.text, `streamed chat ${JSON.stringify(streamed)} == ${JSON.stringify(wantChat.text)}`);
  check(finish !== null, 'stream finish_reason');
  check(usage && usage.completion_tokens === wantChat.tokens.length, 'stream usage');

  // Streaming completion with the adapter.
  const s2 = await client.completions.create({ model: 'lora', prompt: 'hello world',
    max_tokens: 12, temperature: 0, stream: true });
  let text2 = '';
  for await (const chunk of s2) for (const ch of chunk.choices) text2 += ch.text;
  check(text2 === wantLora.text, 'streamed adapter completion equals wick generate --adapter');

  // logprobs / top_logprobs.
  const lp = await client.chat.completions.create({ model: name, max_tokens: 5, temperature: 0,
    messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 3 });
  const content = lp.choices[0].logprobs.content;
  check(content.length === lp.usage.completion_tokens, 'one logprob per token');
  check(content.every((t) => t.logprob <= 0 && t.top_logprobs.length === 3), 'top_logprobs');
  // Greedy: the chosen token is the most likely one.
  check(content.every((t) => Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6), 'greedy = top-1');

  // n choices with a seed: reproducible.
  const n1 = await client.completions.create({ model: name, prompt: 'once', max_tokens: 8,
    temperature: 1, seed: 7, n: 3 });
  const n2 = await client.completions.create({ model: name, prompt: 'once', max_tokens: 8,
    temperature: 1, seed: 7, n: 3 });
  check(n1.choices.length === 3, 'n = 3 choices');
  check(JSON.stringify(n1.choices.map((x) => x.text)) === JSON.stringify(n2.choices.map((x) => x.text)),
    'same seed, same choices');

  // Embeddings (the client asks for base64): equal wick embed.
  const texts = ['hello world', 'the quick brown fox'];
  const emb = await client.embeddings.create({ model: name, input: texts });
  const ref = wick(['embed', '--model', modelDir, '--text', texts[0], '--text', texts[1]])
    .trim().split('\n').map((l) => JSON.parse(l).embedding);
  check(emb.data.length === 2 && emb.usage.prompt_tokens > 0, 'embeddings shape and usage');
  let maxErr = 0;
  for (let i = 0; i < 2; i++)
    for (let j = 0; j < ref[i].length; j++)
      maxErr = Math.max(maxErr, Math.abs(emb.data[i].embedding[j] - ref[i][j]));
  check(emb.data[0].embedding.length === ref[0].length && maxErr < 1e-5,
    `embeddings equal wick embed (max error ${maxErr})`);
  const embf = await client.embeddings.create({ model: name, input: 'hello world',
    encoding_format: 'float' });
  check(Math.abs(embf.data[0].embedding[0] - ref[0][0]) < 1e-5, 'float embeddings');

  // Errors: typed by the client from the status and the OpenAI error object.
  try {
    await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] });
    check(false, 'unknown model must fail');
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError && e.error?.code === 'model_not_found', `unknown model -> 404 (${e})`);
  }
  try {
    await client.completions.create({ model: name, prompt: 'x', temperature: 5 });
    check(false, 'temperature 5 must fail');
  } catch (e) {
    check(e instanceof OpenAI.BadRequestError && e.error?.param === 'temperature', `temperature -> 400 (${e})`);
  }
  const bad = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  try {
    await bad.models.list();
    check(false, 'wrong key must fail');
  } catch (e) {
    check(e instanceof OpenAI.AuthenticationError, `wrong key -> 401 (${e})`);
  }

  const metrics = await (await fetch(`${server.base}/metrics`, { headers: { Authorization: 'Bearer sk-test' } })).text();
  check(/wick_kv_blocks_in_use 0/.test(metrics), 'no KV block held after the requests');
  check(/wick_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} [1-9]/.test(metrics), 'request counter');
  check(/wick_time_to_first_token_seconds_count [1-9]/.test(metrics), 'ttft histogram');
} finally {
  const r = await server.stop();
  check(r.code === 0, `server exits 0 on SIGTERM (code ${r.code}, signal ${r.signal})`);
}
if (failed()) {
  console.error(`${failed()} check(s) failed`);
  process.exit(1);
}
console.log('openai client: all checks passed');
