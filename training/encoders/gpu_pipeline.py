"""The batched embed stage: posts (text + image file bytes) -> features [image | text], then the post step.

One code path for CUDA and CPU. On a GPU, per batch of posts:

1. a host thread tokenises the texts (Rust tokenizer, GIL released) while the GPU's JPEG decoder
   decodes the images (``jpeg_batch.HybridJpegDecoder``; with ``decode="hybrid"`` host threads
   take part of them into pinned memory), all on a side stream, in a background thread that
   prepares batch i+1 while the device computes batch i;
2. on the compute stream: uint8 -> normalised float, image tower and text tower under autocast
   (bf16/fp16) or in float32, the profiler's post step in float32;
3. features and post outputs come back by non-blocking copies into pinned memory; the host waits
   for batch i only after batch i+1 has been queued.

Features equal ``ImageEncoder.encode`` / ``TextEncoder.encode`` (the reference) on the CPU; on a GPU
they differ by the precision chosen and by the GPU JPEG decoder (see ``scout bench embed``).
Missing images give the zero image block; undecodable images too, and are reported per row.

    pipe = EmbedPipeline.from_model(load_model("models/scout"), config=PipelineConfig(precision="bf16"))
    result = pipe.embed_batch([PostInput("caption #tag", jpeg_bytes), ...])
    result.features  # (n, F) float32; result.step: PostStep (h, scores, post_probs)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from training.devices import resolve_device
from training.encoders.jpeg_batch import HybridJpegDecoder
from training.encoders.options import (
    DECODE_MODES,
    HOST_DECODERS,
    PRECISIONS,
    DecodeMode,
    HostDecoder,
    Precision,
)
from training.encoders.prefetch import prefetch
from training.encoders.towers import ImageTower, TextTower
from training.interface import PostInput, PostStep

if TYPE_CHECKING:
    from training.model_dir import ScoutModel

log = logging.getLogger(__name__)

_AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}
_Context = contextlib.AbstractContextManager[Any]


@dataclass(frozen=True)
class PipelineConfig:
    """``decode``: who decodes JPEGs on a GPU machine (host threads, the GPU, or both at once; on a
    CPU device always the host). The GPU alone is the default: on an H200 with 16 host cores it was
    the fastest (bench/results/embed_h200.json); "hybrid" pays where host cores decode fast.
    ``host_decoder``: "pil" is the reference preprocessing, bit-equal to training; "turbo" is
    libjpeg-turbo without the GIL (see ``jpeg_batch``). ``host_threads`` 0 = automatic (cores minus
    two on a GPU machine, half the cores on a CPU one)."""

    batch_size: int = 512
    precision: Precision = "fp32"
    decode: DecodeMode = "gpu"
    host_decoder: HostDecoder = "pil"
    host_threads: int = 0
    gpu_chunk: int = 128
    prefetch: int = 2

    def __post_init__(self) -> None:
        assert self.batch_size > 0 and self.prefetch > 0, "batch_size and prefetch must be positive"
        assert self.precision in PRECISIONS, f"precision: one of {PRECISIONS}, not {self.precision!r}"
        assert self.decode in DECODE_MODES, f"decode: one of {DECODE_MODES}, not {self.decode!r}"
        assert self.host_decoder in HOST_DECODERS, (
            f"host_decoder: one of {HOST_DECODERS}, not {self.host_decoder!r}"
        )


@dataclass
class EmbedResult:
    features: np.ndarray  # (n, F) float32, blocks [image | text] as the model's modalities
    image_ok: np.ndarray  # (n,) bool: the post's image was decoded (False: missing or undecodable)
    image_errors: dict[int, str] = field(default_factory=dict)  # row -> why its image was undecodable
    step: PostStep | None = None  # the profiler's per-post outputs, when a profiler is given
    gpu_decoded: int = 0  # how many images the GPU's JPEG decoder took (the host decoded the rest)


@dataclass
class _Prepared:  # a batch whose host work is done and whose inputs are (being copied) on the device
    n: int
    pixels: torch.Tensor | None  # (n, 3, S, S) uint8
    image_ok: np.ndarray  # (n,)
    image_errors: dict[int, str]
    gpu_decoded: int
    tokens: dict[str, torch.Tensor] | None  # input_ids, attention_mask: (n, T)
    ready: torch.cuda.Event | None


@dataclass
class _Launched:  # a batch whose device work is queued; outputs land in (pinned) host tensors
    prepared: _Prepared
    outputs: dict[str, torch.Tensor]
    done: torch.cuda.Event | None


class EmbedPipeline:
    """Embeds posts in batches with host/device overlap. ``profiler``: a module with
    ``post_step(features) -> (h, scores, post_logits)`` (``PostAttentiveProfiler``), or None."""

    def __init__(
        self,
        image: ImageTower | None,
        text: TextTower | None,
        device: str | torch.device = "auto",
        config: PipelineConfig = PipelineConfig(),
        profiler: nn.Module | None = None,
    ) -> None:
        assert image is not None or text is not None, "the pipeline needs at least one tower"
        self.config, self.device = config, resolve_device(device)
        self.image = image.to(self.device) if image else None
        self.text = text.to(self.device) if text else None
        self.profiler = profiler.eval().to(self.device) if profiler is not None else None
        cuda = self.device.type == "cuda"
        cores = os.cpu_count() or 2
        threads = config.host_threads or (max(1, cores - 2) if cuda else max(1, cores // 2))
        if config.decode == "gpu" and cuda:
            threads = 0
        self._pool = ThreadPoolExecutor(threads + 1, thread_name_prefix="embed-host")  # +1: the tokenizer
        self._side = torch.cuda.Stream(self.device) if cuda else None
        self._decoder = None
        if image is not None:
            gpu = cuda and config.decode in ("gpu", "hybrid")
            self._decoder = HybridJpegDecoder(
                image.preprocess.size,
                self.device,
                threads,
                gpu,
                host_decoder=config.host_decoder,
                gpu_chunk=config.gpu_chunk,
                pool=self._pool,
                stream=self._side,
            )
            pre = image.preprocess
            self._mean = torch.tensor(pre.mean, device=self.device).view(1, 3, 1, 1)
            self._std = torch.tensor(pre.std, device=self.device).view(1, 3, 1, 1)
        self.feature_dim = (image.dim if image else 0) + (text.dim if text else 0)
        log.info(
            "embed pipeline on %s: %s, decode %s with %d %s host threads, batch %d",
            self.device,
            config.precision,
            config.decode if cuda else "host",
            threads,
            config.host_decoder,
            config.batch_size,
        )

    @classmethod
    def from_model(
        cls, model: ScoutModel, config: PipelineConfig = PipelineConfig(), with_post_step: bool = True
    ) -> EmbedPipeline:
        """The towers of a loaded model folder (on the model's device), and its profiler's post step."""
        text, image = model._encoders()
        return cls(
            ImageTower.from_encoder(image) if image is not None else None,
            TextTower.from_encoder(text) if text is not None else None,
            model.device,
            config,
            model.profiler if with_post_step else None,
        )

    # -- public API ---------------------------------------------------------------------------

    def embed_batch(self, posts: Sequence[PostInput]) -> EmbedResult:
        """(n,) posts -> EmbedResult; large inputs run as several overlapped batches."""
        step = self.config.batch_size
        parts = list(self.embed_stream(posts[i : i + step] for i in range(0, len(posts), step)))
        if not parts:
            return EmbedResult(np.zeros((0, self.feature_dim), np.float32), np.zeros(0, bool))
        errors = {}
        for k, part in enumerate(parts):
            errors.update({row + k * step: why for row, why in part.image_errors.items()})
        steps = [p.step for p in parts if p.step is not None]
        return EmbedResult(
            np.concatenate([p.features for p in parts]),
            np.concatenate([p.image_ok for p in parts]),
            errors,
            PostStep(*(np.concatenate([getattr(s, k) for s in steps]) for k in ("h", "scores", "post_probs")))
            if steps
            else None,
            sum(p.gpu_decoded for p in parts),
        )

    def embed_stream(self, batches: Iterable[Sequence[PostInput]]) -> Iterator[EmbedResult]:
        """One EmbedResult per input batch, in order; batch i+1 is prepared while batch i computes."""
        pending: _Launched | None = None
        for prepared in prefetch(map(self._prepare, batches), self.config.prefetch):
            launched = self._launch(prepared)
            if pending is not None:
                yield self._finish(pending)
            pending = launched
        if pending is not None:
            yield self._finish(pending)

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    # -- stages -------------------------------------------------------------------------------

    @torch.inference_mode()
    def _prepare(self, posts: Sequence[PostInput]) -> _Prepared:
        """Host work (background thread): tokenise and decode; start the copies on the side stream."""
        tokens_job = self._pool.submit(self.text.tokenize, [p.text for p in posts]) if self.text else None
        with torch.cuda.stream(self._side) if self._side is not None else contextlib.nullcontext():
            decoded = self._decoder.decode([p.image for p in posts]) if self._decoder else None
            tokens = tokens_job.result() if tokens_job else None
            if tokens is not None and self._side is not None:
                tokens = {k: v.pin_memory().to(self.device, non_blocking=True) for k, v in tokens.items()}
            ready = None
            if self._side is not None:
                ready = torch.cuda.Event()
                ready.record(self._side)
        n = len(posts)
        return _Prepared(
            n,
            decoded.pixels if decoded else None,
            decoded.ok if decoded else np.zeros(n, bool),
            decoded.errors if decoded else {},
            decoded.gpu_rows if decoded else 0,
            tokens,
            ready,
        )

    @torch.inference_mode()
    def _launch(self, batch: _Prepared) -> _Launched:
        """Queue the device work of one batch (main thread, compute stream); returns at once on a GPU."""
        cuda = self._side is not None
        if cuda:
            compute = torch.cuda.current_stream(self.device)
            compute.wait_event(batch.ready)
            for t in [batch.pixels, *(batch.tokens or {}).values()]:
                if t is not None:
                    t.record_stream(compute)
        autocast = self._autocast()
        blocks = []
        if self.image is not None:
            blocks.append(self._image_features(batch, autocast))  # (n, D_img)
        if self.text is not None:
            with autocast:
                blocks.append(self.text.pool(**batch.tokens))  # (n, D_txt)
        features = torch.cat(blocks, dim=1) if len(blocks) > 1 else blocks[0]  # (n, F) float32
        outputs = {"features": features}
        if self.profiler is not None:
            h, scores, post_logits = self.profiler.post_step(features)  # (n, H), (n,), (n, C)
            probs = torch.softmax(post_logits.float(), dim=-1)
            outputs.update(h=h.float(), scores=scores.float(), post_probs=probs)
        if not cuda:
            return _Launched(batch, outputs, None)
        host = {k: torch.empty(v.shape, dtype=v.dtype, pin_memory=True) for k, v in outputs.items()}
        for k, v in outputs.items():
            host[k].copy_(v, non_blocking=True)
        done = torch.cuda.Event()
        done.record(compute)
        return _Launched(batch, host, done)

    def _image_features(self, batch: _Prepared, autocast: _Context) -> torch.Tensor:
        """(n, 3, S, S) uint8 -> (n, D_img) float32; rows without a decoded image stay zero."""
        assert self.image is not None and batch.pixels is not None
        ok = batch.image_ok
        out = torch.zeros((batch.n, self.image.dim), dtype=torch.float32, device=self.device)
        if not ok.any():
            return out
        rows = None if ok.all() else torch.from_numpy(np.flatnonzero(ok)).to(self.device)
        pixels = batch.pixels if rows is None else batch.pixels[rows]
        x = (pixels.float() / 255.0 - self._mean) / self._std  # (k, 3, S, S), as preprocess.normalize
        with autocast:
            feats = self.image.module(x)
        feats = feats.float().flatten(1)  # (k, D_img)
        if rows is None:
            return feats
        out[rows] = feats
        return out

    def _finish(self, launched: _Launched) -> EmbedResult:
        if launched.done is not None:
            launched.done.synchronize()
        out = {k: v.numpy() for k, v in launched.outputs.items()}
        step = PostStep(out["h"], out["scores"], out["post_probs"]) if "h" in out else None
        batch = launched.prepared
        return EmbedResult(out["features"], batch.image_ok, batch.image_errors, step, batch.gpu_decoded)

    def _autocast(self) -> _Context:
        dtype = _AUTOCAST.get(self.config.precision)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)
