"""The semantic stage: a sentence-embedding model (ONNX, run by onnxruntime with a `tokenizers`
tokenizer), the vectors of passages, sentences and titles kept in the cache by their text, and
the background work that embeds a collection while the bot answers lexically.

May import: bot (the base modules)."""
