"""The measurements behind ``scout bench embed``: pipeline runs, stage ceilings, accuracy, the bound.

Every figure is a rate over wall-clock time after warm-up (GPU work synchronised before the clock
stops), or, for a stage alone on the GPU, CUDA events around repeated calls.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from training.encoders.gpu_pipeline import EmbedPipeline, PipelineConfig
from training.encoders.jpeg_batch import HybridJpegDecoder
from training.encoders.towers import ImageTower, TextTower
from training.interface import PostInput
from training.profiler import PostAttentiveProfiler, ProfilerConfig

log = logging.getLogger(__name__)
CPU = torch.device("cpu")
_WARMUP_BATCHES = 3


@dataclass(frozen=True)
class Run:
    encoders: str  # a key of embed_setup.ENCODER_PAIRS
    decode: str  # host | gpu | hybrid
    host_decoder: str  # pil | turbo
    precision: str  # fp32 | bf16 | fp16
    batch: int
    threads: int = 0  # host decode threads (0: the pipeline's default)

    @property
    def key(self) -> str:
        host = (
            ""
            if self.decode == "gpu"
            else f"_{self.host_decoder}" + (f"_t{self.threads}" if self.threads else "")
        )
        return f"embed_{self.encoders}_{self.precision}_{self.decode}{host}_b{self.batch}"

    @property
    def config(self) -> str:
        if self.decode == "gpu":
            return f"{self.precision} decode=gpu batch={self.batch}"
        threads = f" x{self.threads}" if self.threads else ""
        return f"{self.precision} decode={self.decode}/{self.host_decoder}{threads} batch={self.batch}"


def _profiler(feature_dim: int) -> PostAttentiveProfiler:
    torch.manual_seed(0)
    return PostAttentiveProfiler(ProfilerConfig(feature_dim=feature_dim, num_classes=9)).eval()


def _batches(
    posts: Sequence[PostInput], total: int, batch: int, offset: int = 0
) -> Iterator[list[PostInput]]:
    """``total`` posts in batches, cycling through ``posts`` (each batch starts where the last ended)."""
    for start in range(offset, offset + total, batch):
        yield [posts[(start + j) % len(posts)] for j in range(batch)]


def measure_run(
    run: Run,
    image: ImageTower,
    text: TextTower,
    device: torch.device,
    posts: Sequence[PostInput],
    n_posts: int,
    host_threads: int,
) -> dict[str, Any]:
    """posts/s of the whole embed stage (decode, tokenise, towers, post step) for one configuration."""
    config = PipelineConfig(
        batch_size=run.batch,
        precision=run.precision,  # type: ignore[arg-type]
        decode=run.decode,  # type: ignore[arg-type]
        host_decoder=run.host_decoder,  # type: ignore[arg-type]
        host_threads=run.threads or host_threads,
    )
    pipe = EmbedPipeline(image, text, device, config, _profiler(image.dim + text.dim))
    total = math.ceil(n_posts / run.batch) * run.batch  # whole batches only: no odd shapes in the timing
    try:
        for _ in pipe.embed_stream(_batches(posts, _WARMUP_BATCHES * run.batch, run.batch)):
            pass
        _sync(device)
        started = time.perf_counter()
        done = gpu = images = 0
        for result in pipe.embed_stream(_batches(posts, total, run.batch, offset=7)):
            done += len(result.features)
            gpu += result.gpu_decoded
            images += int(result.image_ok.sum())
        _sync(device)
        seconds = time.perf_counter() - started
    finally:
        pipe.close()
    row = {
        "encoders": run.encoders,
        "config": run.config,
        "posts_per_s": round(done / seconds, 1),
        "gpu_decoded_ratio": round(gpu / max(images, 1), 3) if device.type == "cuda" else None,
    }
    log.info("%s %s: %.0f posts/s", run.encoders, run.config, row["posts_per_s"])
    return row


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _cuda_rate(fn: Callable[[], object], items: int, reps: int) -> float:
    """items/s of ``fn`` on the current stream, timed with CUDA events after two warm-up calls."""
    for _ in range(2):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    end.synchronize()
    return items * reps / (start.elapsed_time(end) / 1e3)


def _wall_rate(fn: Callable[[], object], items: int, reps: int, device: torch.device) -> float:
    fn()
    _sync(device)
    started = time.perf_counter()
    for _ in range(reps):
        fn()
    _sync(device)
    return items * reps / (time.perf_counter() - started)


CPU_TOWER_BATCHES = (16, 64)


@torch.inference_mode()
def cpu_tower_rates(towers: dict[str, ImageTower], images: int) -> dict[str, float]:
    """Each image tower alone on the CPU, float32, at its own input size: images/s per batch size
    (normalised pixels in, features out; decoding is measured by the ceilings and the runs)."""
    out: dict[str, float] = {}
    for kind, tower in towers.items():
        module = copy.deepcopy(tower.module).eval().to(CPU)
        size = tower.preprocess.size
        for batch in CPU_TOWER_BATCHES:
            x = torch.randn(batch, 3, size, size)  # (b, 3, S, S)
            reps = max(1, images // batch)
            rate = _wall_rate(functools.partial(module, x), batch, reps, CPU)
            out[f"cpu_{kind}_tower_{size}px_b{batch}_img_per_s"] = round(rate, 1)
            log.info("%s tower alone on the CPU, %d px, batch %d: %.1f images/s", kind, size, batch, rate)
    return out


@torch.inference_mode()
def ceilings(
    towers: dict[str, ImageTower],
    text: TextTower,
    device: torch.device,
    posts: Sequence[PostInput],
    host_threads: int,
    quick: bool = False,
) -> dict[str, float]:
    """Each stage alone: the rate the pipeline could reach if that stage were the only work."""
    import os

    out: dict[str, float] = {}
    cuda = device.type == "cuda"
    n = 1024 if not quick else (256 if cuda else 8)
    reps = 10 if not quick else (3 if cuda else 1)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    rate = _cuda_rate if cuda else functools.partial(_wall_rate, device=device)
    for kind, tower in towers.items():
        tower.to(device)
        size = tower.preprocess.size
        x = torch.randn(n, 3, size, size, device=device)  # (n, 3, S, S) normalised pixels
        with autocast:
            out[f"ceiling_{kind}_tower_bf16_img_per_s"] = round(
                rate(functools.partial(tower.module, x), n, reps)
            )
        fp32 = rate(functools.partial(tower.module, x), n, max(1, reps // 3))
        out[f"ceiling_{kind}_tower_fp32_img_per_s"] = round(fp32)
    text.to(device)
    captions = [posts[i % len(posts)].text for i in range(n)]
    out["ceiling_tokenizer_captions_per_s"] = round(_wall_rate(lambda: text.tokenize(captions), n, 3, CPU))
    tokens = {k: v.to(device) for k, v in text.tokenize(captions).items()}  # (n, T)
    out["world_text_mean_tokens_count"] = round(float(tokens["attention_mask"].sum(1).float().mean()), 1)
    out["world_text_padded_tokens_count"] = int(tokens["input_ids"].shape[1])
    with autocast:
        out["ceiling_minilm_tower_bf16_world_captions_per_s"] = round(
            rate(lambda: text.pool(**tokens), n, reps)
        )
        fixed = {
            "input_ids": torch.randint(1000, 30000, (n, 64), device=device),
            "attention_mask": torch.ones(n, 64, dtype=torch.long, device=device),
        }
        out["ceiling_minilm_tower_bf16_64tok_captions_per_s"] = round(
            rate(lambda: text.pool(**fixed), n, reps)
        )
    images = [p.image for p in posts if p.image is not None]
    files = [images[i % len(images)] for i in range(n)]
    from torchvision.io import ImageReadMode, decode_jpeg

    raw = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in files]
    out["ceiling_nvjpeg_raw_img_per_s" if cuda else "ceiling_turbo_raw_t1_img_per_s"] = round(
        _wall_rate(lambda: decode_jpeg(raw, mode=ImageReadMode.RGB, device=device), n, reps // 2 or 1, device)
    )
    threads = host_threads or max(1, (os.cpu_count() or 2) - 2)
    for size in sorted({t.preprocess.size for t in towers.values()}, reverse=True):
        gpu = HybridJpegDecoder(size, device, 0, True)
        name = "gpu_jpeg_decode" if cuda else "calling_thread_decode"
        out[f"ceiling_{name}_{size}_img_per_s"] = round(
            _wall_rate(functools.partial(gpu.decode, files), n, 3, device)
        )
        for host in ("pil", "turbo"):
            for k in (1, threads):
                dec = HybridJpegDecoder(size, CPU, k, False, host_decoder=host)  # type: ignore[arg-type]
                m = min(64, n) if k == 1 else n
                rate = _wall_rate(functools.partial(dec.decode, files[:m]), m, 2, CPU)
                out[f"ceiling_host_decode_{host}_{size}_t{k}_img_per_s"] = round(rate)
                dec.close()
    log.info("ceilings: %s", out)
    return out


def _features(
    image: ImageTower,
    text: TextTower,
    device: torch.device,
    config: PipelineConfig,
    posts: Sequence[PostInput],
) -> np.ndarray:
    pipe = EmbedPipeline(image, text, device, config)
    try:
        return pipe.embed_batch(posts).features
    finally:
        pipe.close()


def relative_errors(
    towers: dict[str, ImageTower], text: TextTower, device: torch.device, posts: Sequence[PostInput]
) -> dict[str, float]:
    """||x - ref|| / ||ref|| per feature block, ref = the float32 CPU pipeline with the reference
    decoder (equal to the plain encoders). Variants isolate the device, precision and decoders."""
    cuda = device.type == "cuda"
    variants = (
        [("fp32", "host", "pil"), ("bf16", "host", "pil"), ("fp16", "host", "pil"), ("fp32", "gpu", "pil")]
        + [("fp32", "host", "turbo"), ("bf16", "hybrid", "turbo")]
        if cuda
        else [("bf16", "host", "pil"), ("fp32", "host", "turbo")]
    )
    out: dict[str, float] = {}
    for kind, tower in towers.items():
        ref_config = PipelineConfig(batch_size=64, decode="host", host_decoder="pil")
        reference = _features(copy.deepcopy(tower), copy.deepcopy(text), CPU, ref_config, posts)  # (n, F)
        d = tower.dim
        for precision, decode, host in variants:
            config = PipelineConfig(batch_size=64, precision=precision, decode=decode, host_decoder=host)  # type: ignore[arg-type]
            got = _features(tower, text, device, config, posts)
            for block, cols in (("image", slice(0, d)), ("text", slice(d, None))):
                ref = reference[:, cols]
                err = float(np.linalg.norm(got[:, cols] - ref) / max(np.linalg.norm(ref), 1e-12))
                out[f"rel_error_{kind}_{precision}_{decode}_{host}_{block}_ratio"] = float(f"{err:.3g}")
    log.info("relative errors: %s", out)
    return out


def bound_of(out: dict[str, Any]) -> dict[str, Any]:
    """Which stage bounds the ViT-B/32 + MiniLM number, and how close the best run gets to it."""
    need = [
        "best_vit_b32_posts_per_s",
        "ceiling_vit_b32_tower_bf16_img_per_s",
        "ceiling_gpu_jpeg_decode_224_img_per_s",
    ]
    if any(k not in out for k in need):
        return {}
    host = max(
        (
            v
            for k, v in out.items()
            if k.startswith("ceiling_host_decode_") and "_224_t1_" not in k and "_224_" in k
        ),
        default=0,
    )
    share = max(out.get("world_image_share_ratio", 1.0), 1e-9)
    text_rate = out.get("ceiling_minilm_tower_bf16_world_captions_per_s", math.inf)
    gpu_decode = out["ceiling_gpu_jpeg_decode_224_img_per_s"]
    alone = "decode=gpu " in out.get("best_vit_b32_config", "")
    parts = {
        "JPEG decode (GPU decoder alone)" if alone else "JPEG decode (GPU decoder + all host threads)": (
            gpu_decode if alone else gpu_decode + host
        )
        / share,
        "GPU towers (ViT-B/32 then MiniLM on one GPU)": 1.0
        / (1.0 / out["ceiling_vit_b32_tower_bf16_img_per_s"] + 1.0 / text_rate),
        "host tokenizer": out.get("ceiling_tokenizer_captions_per_s", math.inf),
    }
    name = min(parts, key=parts.__getitem__)
    best = out["best_vit_b32_posts_per_s"]
    return {
        "bound_vit_b32_part": name,
        "bound_vit_b32_ceiling_posts_per_s": round(parts[name]),
        "bound_vit_b32_of_ceiling_ratio": round(best / parts[name], 3),
        "bound_vit_b32_decode_ceiling_posts_per_s": round(list(parts.values())[0]),
        "bound_vit_b32_towers_ceiling_posts_per_s": round(list(parts.values())[1]),
        "bound_vit_b32_tokenizer_ceiling_posts_per_s": round(list(parts.values())[2]),
    }
