"""One adapter per single-model family: video decoding, speech, CLIP, detection, appearance, text embedding, captioning."""
