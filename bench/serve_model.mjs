// Writes a random Llama folder for the serve benchmark (scripts/bench-serve.sh): ~124M
// parameters (D 1024, 11 layers, 16 heads, 4 kv heads, MLP 2816) with the tiny fixture
// tokenizer's 384-token vocabulary (so every generated id decodes), f32 and bf16 weights.
// Usage: node bench/serve_model.mjs FIXTURE_DIR OUT_DIR
import fs from 'node:fs';
import path from 'node:path';

const [fixture, out] = process.argv.slice(2);
const D = 1024, L = 11, H = 16, Hkv = 4, F = 2816, V = 384, Dh = D / H;
const shapes = { 'model.embed_tokens.weight': [V, D], 'model.norm.weight': [D], 'lm_head.weight': [V, D] };
for (let i = 0; i < L; i++) {
  const p = `model.layers.${i}.`;
  Object.assign(shapes, {
    [p + 'input_layernorm.weight']: [D], [p + 'post_attention_layernorm.weight']: [D],
    [p + 'self_attn.q_proj.weight']: [H * Dh, D], [p + 'self_attn.k_proj.weight']: [Hkv * Dh, D],
    [p + 'self_attn.v_proj.weight']: [Hkv * Dh, D], [p + 'self_attn.o_proj.weight']: [D, H * Dh],
    [p + 'mlp.gate_proj.weight']: [F, D], [p + 'mlp.up_proj.weight']: [F, D],
    [p + 'mlp.down_proj.weight']: [D, F],
  });
}
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
function save(dir, bf16) {
  fs.mkdirSync(dir, { recursive: true });
  const header = {};
  const blobs = [];
  let off = 0;
  seed = 12345;
  for (const k of Object.keys(shapes).sort()) {
    const s = shapes[k];
    const n = s.reduce((a, b) => a * b, 1);
    const f = new Float32Array(n);
    for (let j = 0; j < n; j++) f[j] = s.length === 1 ? 1 + 0.02 * rand() : 0.035 * rand();
    const b = bf16 ? Buffer.from(new Uint16Array(new Uint32Array(f.buffer).map((x) => x >>> 16)).buffer)
      : Buffer.from(f.buffer);
    header[k] = { dtype: bf16 ? 'BF16' : 'F32', shape: s, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  let h = Buffer.from(JSON.stringify(header));
  h = Buffer.concat([h, Buffer.alloc((8 - (h.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.concat([len, h, ...blobs]));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: D, intermediate_size: F,
    num_hidden_layers: L, num_attention_heads: H, num_key_value_heads: Hkv, vocab_size: V,
    max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000.0, hidden_act: 'silu',
    tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 383,
    torch_dtype: bf16 ? 'bfloat16' : 'float32' }));
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'])
    if (fs.existsSync(path.join(fixture, f))) fs.copyFileSync(path.join(fixture, f), path.join(dir, f));
}
save(path.join(out, 'f32'), false);
save(path.join(out, 'bf16'), true);
