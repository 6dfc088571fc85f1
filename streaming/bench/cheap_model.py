"""A complete model folder whose encoders cost next to nothing, for benchmarks of the job itself.

    version = build_cheap_model(Path("build/bench/cheap-model"))

The towers are small and random: a one-layer BERT of width 16 (with all-MiniLM-L6-v2's tokenizer,
so text goes through the same tokenisation), a compact CNN of width 2 at 16 px, and a profiler of width 32.
Weights do not change throughput, so a job fed this model measures everything but the encoders:
Kafka, parse, the embed stage's plumbing, the state stage and the sinks.
"""

from __future__ import annotations

from pathlib import Path

CHEAP_HIDDEN_DIM = 32
_TEXT_WIDTH = 16
_IMAGE_DIM = 16


def _tiny_text_encoder(folder: Path) -> Path:
    """A random one-layer BERT saved with save_pretrained beside the packaged MiniLM tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from training.encoders.text import resolve_text_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_text_model_path(None)))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=_TEXT_WIDTH,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=2 * _TEXT_WIDTH,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def build_cheap_model(out: Path, seed: int = 0) -> str:
    """Write the model folder to ``out`` (replacing one there); returns its version."""
    import torch

    from training.dataset.categories import CATEGORIES
    from training.encoders.compact_cnn import CompactCNN, CompactCNNConfig
    from training.encoders.image import ImageEncoderConfig
    from training.encoders.text import TextEncoderConfig
    from training.model_dir import ModelParts, save_model
    from training.profiler import PostAttentiveProfiler, ProfilerConfig

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    text_dir = _tiny_text_encoder(out / "text-tower")
    cnn = CompactCNN(
        CompactCNNConfig(image_size=16, width=2, feature_dim=_IMAGE_DIM, num_classes=len(CATEGORIES))
    )
    profiler = PostAttentiveProfiler(
        ProfilerConfig(
            feature_dim=_IMAGE_DIM + _TEXT_WIDTH,
            num_classes=len(CATEGORIES),
            hidden_dim=CHEAP_HIDDEN_DIM,
            attention_dim=16,
            head_hidden_dim=16,
        )
    )
    parts = ModelParts(
        profiler=profiler.eval(),
        labels=CATEGORIES,
        modalities=("image", "text"),
        window=16,
        text=TextEncoderConfig(path=str(text_dir.resolve()), max_length=32, batch_size=256),
        text_dim=_TEXT_WIDTH,
        image=ImageEncoderConfig(batch_size=256),
        image_dim=_IMAGE_DIM,
        image_state=cnn.state_dict(),
    )
    return save_model(out, parts)
