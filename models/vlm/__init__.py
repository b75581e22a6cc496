"""The vision-language model family: server client, in-process backends (transformers, vLLM), the tiny test VLM, the planner's chat model."""
