"""Generation: GenerationConfig, generate() with stopping criteria and streamers, decoding strategies."""
