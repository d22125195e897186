// Pipeline variants: the real vocabularies with other normalizers, pre-tokenizers, post-processors,
// decoders and added tokens, plus small BPE models with a subword prefix / word suffix and a
// Unigram model, so that every supported component is checked against the HF library.
// build_derived.mjs writes them to build/variants/<name>.json; make_goldens.mjs encodes them.
const R = (re) => ({Regex: re});
const S = (s) => ({String: s});
const tmpl = (first, last) => ({
  type: 'TemplateProcessing',
  single: [{SpecialToken: {id: first[0], type_id: 0}}, {Sequence: {id: 'A', type_id: 0}},
    {SpecialToken: {id: last[0], type_id: 1}}],
  pair: [{Sequence: {id: 'A', type_id: 0}}, {Sequence: {id: 'B', type_id: 1}}],
  special_tokens: {[first[0]]: {id: first[0], ids: [first[1]], tokens: [first[0]]},
    [last[0]]: {id: last[0], ids: [last[1]], tokens: [last[0]]}},
});
const added = (id, content, o = {}) => ({id, content, single_word: false, lstrip: false, rstrip: false,
  normalized: false, special: false, ...o});

// A small BPE over the letters a-z built from GPT-2's first letter-only merges, with either a
// continuing-subword prefix or an end-of-word suffix.
function lettersBpe(gpt2Merges, mode) {
  const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
  const vocab = {'[UNK]': 0};
  const add = (t) => { if (!(t in vocab)) vocab[t] = Object.keys(vocab).length; };
  const P = (t) => (mode === 'prefix' ? '##' + t : t);
  const W = (t) => (mode === 'suffix' ? t + '</w>' : t);
  for (const l of letters) { add(l); add(mode === 'prefix' ? P(l) : W(l)); }
  const merges = [];
  for (const m of gpt2Merges) {
    const [a, b] = m.split(' ');
    if (!/^[a-z]+$/.test(a) || !/^[a-z]+$/.test(b)) continue;
    if (merges.length >= 600) break;
    if (mode === 'prefix') {
      if (!(a in vocab) || !(P(b) in vocab)) continue;
      add(a + b); merges.push([a, P(b)]);
      if (P(a) in vocab) { add(P(a + b)); merges.push([P(a), P(b)]); }
    } else {
      if (!(a in vocab) || !(b in vocab) || !(W(b) in vocab)) continue;
      add(a + b); merges.push([a, b]);
      add(W(a + b)); merges.push([a, W(b)]);
    }
  }
  return {type: 'BPE', dropout: null, unk_token: '[UNK]', continuing_subword_prefix: mode === 'prefix' ? '##' : null,
    end_of_word_suffix: mode === 'suffix' ? '</w>' : null, fuse_unk: mode === 'prefix', byte_fallback: false,
    ignore_merges: false, vocab, merges};
}

function unigramFromBert(bertVocab) {
  const seen = new Set();
  const vocab = [];
  bertVocab.forEach((tok, i) => {
    let piece = tok;
    if (tok.startsWith('[') && tok.endsWith(']')) piece = tok;
    else if (tok.startsWith('##')) piece = tok.slice(2);
    else piece = '\u2581' + tok;
    if (seen.has(piece)) return;
    seen.add(piece);
    vocab.push([piece, -Math.round((2 + Math.log(1 + i) + piece.length * 0.05) * 1e4) / 1e4]);
  });
  const unk = vocab.findIndex(([p]) => p === '[UNK]');
  return {type: 'Unigram', unk_id: unk, vocab, byte_fallback: false};
}

export function makeVariants(base, gpt2Merges, bertVocab) {
  const v = {};
  const from = (b, over) => ({...structuredClone(base[b]), ...over});
  const bertAdded = base.bert.added_tokens;
  v.bert_nfd_whitespace = from('bert', {
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFD'}, {type: 'StripAccents'}, {type: 'Lowercase'}]},
    pre_tokenizer: {type: 'Whitespace'},
    post_processor: tmpl(['[CLS]', 101], ['[SEP]', 102]),
    decoder: {type: 'WordPiece', prefix: '##', cleanup: false},
  });
  v.bert_nfkc_digits = from('bert', {
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFKC'}, {type: 'Lowercase'}, {type: 'Strip', strip_left: true, strip_right: true}]},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [{type: 'WhitespaceSplit'}, {type: 'Digits', individual_digits: true},
      {type: 'Punctuation', behavior: 'Contiguous'}]},
    post_processor: {type: 'RobertaProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101], trim_offsets: true, add_prefix_space: false},
    decoder: {type: 'Sequence', decoders: [{type: 'WordPiece', prefix: '##', cleanup: true}, {type: 'Replace', pattern: S('##'), content: ''}]},
  });
  v.bert_split_behaviors = from('bert', {
    normalizer: {type: 'Sequence', normalizers: [{type: 'Lowercase'}, {type: 'Replace', pattern: R('\\s+'), content: ' '}]},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [
      {type: 'Split', pattern: S(' '), behavior: 'MergedWithNext', invert: false},
      {type: 'Split', pattern: R('[aeiou]'), behavior: 'MergedWithPrevious', invert: false},
      {type: 'Digits', individual_digits: false},
      {type: 'CharDelimiterSplit', delimiter: 'x'}]},
    decoder: {type: 'Sequence', decoders: [{type: 'WordPiece', prefix: '##', cleanup: true}, {type: 'Strip', content: ' ', start: 2, stop: 1}]},
  });
  v.bert_removed_invert = from('bert', {
    normalizer: {type: 'BertNormalizer', clean_text: true, handle_chinese_chars: false, strip_accents: false, lowercase: true},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [
      {type: 'Split', pattern: S('-'), behavior: 'Contiguous', invert: false},
      {type: 'Split', pattern: R('[\\p{L}\\p{N}\']+'), behavior: 'Removed', invert: true},
      {type: 'Split', pattern: R("'"), behavior: 'Isolated', invert: false}]},
    post_processor: {type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101]},
  });
  v.gpt2_prefix_added = from('gpt2', {
    normalizer: {type: 'NFKC'},
    pre_tokenizer: {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true},
    post_processor: tmpl(['<|endoftext|>', 50256], ['<|endoftext|>', 50256]),
    added_tokens: [...base.gpt2.added_tokens,
      added(50257, '<mask>', {lstrip: true, special: true}),
      added(50258, '[X]', {rstrip: true, special: true}),
      added(50259, 'word', {single_word: true, normalized: true}),
      added(50260, '\ufb01x', {normalized: true}),
      added(50261, ' spaced', {normalized: false})],
  });
  v.mistral_metaspace_first = from('mistral', {
    normalizer: null,
    pre_tokenizer: {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false},
    decoder: {type: 'Sequence', decoders: [{type: 'ByteFallback'}, {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: false}, {type: 'Fuse'}]},
  });
  v.mistral_metaspace_always = from('mistral', {
    normalizer: {type: 'NFKD'},
    pre_tokenizer: {type: 'Sequence', pretokenizers: [{type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true},
      {type: 'Punctuation', behavior: 'Isolated'}]},
    decoder: {type: 'Sequence', decoders: [{type: 'ByteFallback'}, {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true}]},
  });
  v.mistral_metaspace_never = from('mistral', {
    normalizer: {type: 'NFC'},
    pre_tokenizer: {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: true},
    decoder: {type: 'Sequence', decoders: [{type: 'Replace', pattern: S('\u2581'), content: ' '}, {type: 'ByteFallback'}, {type: 'Fuse'}]},
  });
  const lettersBase = {version: '1.0', truncation: null, padding: null, added_tokens: [added(0, '[UNK]', {special: true})]};
  v.letters_suffix = {...lettersBase,
    normalizer: {type: 'Lowercase'}, pre_tokenizer: {type: 'WhitespaceSplit'}, post_processor: null,
    decoder: {type: 'BPEDecoder', suffix: '</w>'}, model: lettersBpe(gpt2Merges, 'suffix')};
  v.letters_prefix = {...lettersBase,
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFD'}, {type: 'StripAccents'}, {type: 'Lowercase'}]},
    pre_tokenizer: {type: 'BertPreTokenizer'}, post_processor: null,
    decoder: {type: 'WordPiece', prefix: '##', cleanup: true}, model: lettersBpe(gpt2Merges, 'prefix')};
  const uni = unigramFromBert(bertVocab);
  v.unigram = {version: '1.0', truncation: null, padding: null,
    added_tokens: bertAdded.map((t) => ({...t, id: uni.vocab.findIndex(([p]) => p === t.content)})),
    normalizer: {type: 'Sequence', normalizers: [{type: 'NFKC'}, {type: 'Lowercase'}]},
    pre_tokenizer: {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true},
    post_processor: null,
    decoder: {type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true},
    model: uni};
  v.wordlevel = {...structuredClone(base.bert),
    normalizer: {type: 'Lowercase'},
    pre_tokenizer: {type: 'Whitespace'},
    decoder: null,
    model: {type: 'WordLevel', vocab: base.bert.model.vocab, unk_token: '[UNK]'}};
  return v;
}
