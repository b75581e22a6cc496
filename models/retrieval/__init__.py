"""TempMe-STOP event retrieval: temporal token merging, the segment encoder, adapters, training and embedding export."""
