// Encodes texts with the Hugging Face tokenizers library (node addon), for tests of files wick
// writes (the BPE trainer): node encode.mjs TOKENIZER_JSON TEXTS_JSONL > IDS_JSONL
// Each input line is a JSON string; each output line is the JSON array of ids (special tokens
// added), then a tab and the JSON string of decode(ids).
import fs from 'node:fs';
import tk from '@anush008/tokenizers';

const [file, textsFile] = process.argv.slice(2);
const t = tk.Tokenizer.fromFile(file);
const lines = fs.readFileSync(textsFile, 'utf8').split('\n').filter((l) => l.length > 0);
const out = [];
for (const line of lines) {
  const ids = (await t.encode(JSON.parse(line), null, {addSpecialTokens: true})).getIds();
  out.push(JSON.stringify(ids) + '\t' + JSON.stringify(await t.decode(ids, false)));
}
process.stdout.write(out.join('\n') + '\n');
