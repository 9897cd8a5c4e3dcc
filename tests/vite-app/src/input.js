// The app's input, shared with test.mjs (which computes the expected output natively):
// token ids of the tiny BERT, batch 1, 16 tokens, deterministic.
export const INPUT = {
  name: 'input_ids',
  type: 'int64',
  dims: [1, 16],
  ids: Array.from({ length: 16 }, (_, i) => (i * 37 + 11) % 1000),
};
