"""Many image files -> one (n, 3, S, S) uint8 batch on the device, decoded by the GPU and the host at once.

One decoder is rarely fast enough on its own: the GPU's batched JPEG decoder (nvJPEG, on the
hardware JPEG engines of A100/H100-class cards, through ``torchvision.io.decode_jpeg(...,
device="cuda")``) and a pool of host threads both work on the same batch. The batch's images are
laid out in one work list, JPEGs first; the GPU decoder takes chunks from the front, host threads
take small chunks from the back, and they meet wherever their speeds put the split. GPU rows are
resized on the device; host rows are decoded into pinned memory and copied up in one non-blocking
transfer of the contiguous tail.

Host decoders (``host_decoder``):

- ``"pil"``: the reference preprocessing itself (``training.encoders.preprocess.decode_image``: Pillow,
  reduced-scale JPEG decode, bilinear resize), bit-equal to what the model was trained on, but it
  holds the GIL for ~0.1 ms of Python per image, which caps it at a few thousand images/s.
- ``"turbo"``: libjpeg-turbo through ``torchvision.io.decode_jpeg`` (GIL released) at full scale,
  then one antialiased bilinear resize per image shape; scales with the host's cores.

The GPU decoder and ``"turbo"`` decode at full scale and resize with antialiasing, which is close
to, not bit-equal with, the reference; ``scout bench embed`` reports the difference in features.
Works on a CPU-only machine: the GPU decoder is then off.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from training.encoders.options import HostDecoder
from training.encoders.preprocess import decode_image
from training.errors import ImageDecodeError

log = logging.getLogger(__name__)
# torchvision >= 0.29 warns on every decode that its decoders move to TorchCodec; they still work.
warnings.filterwarnings("ignore", message="The image decoding and encoding capabilities of TorchVision")

JPEG_MAGIC = b"\xff\xd8\xff"
_HOST_CHUNK = {"pil": 1, "turbo": 2}  # images a host thread takes at once
_EWMA = 0.3  # weight of the newest measurement in the decoders' speed estimates


def is_jpeg(data: bytes) -> bool:
    return data[:3] == JPEG_MAGIC


def resized_shape(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """Shorter side to ``size``, then centre crop: (resized h, resized w, top, left), as decode_image."""
    scale = size / min(width, height)
    rw, rh = max(size, round(width * scale)), max(size, round(height * scale))
    return rh, rw, (rh - size) // 2, (rw - size) // 2


def resize_crop(images: list[torch.Tensor], size: int) -> torch.Tensor:
    """Same-shape (3, H, W) uint8 images -> (g, 3, size, size) uint8: shorter side to ``size``
    (antialiased bilinear), centre crop. uint8 arithmetic on the CPU, float32 on a GPU."""
    _, h, w = images[0].shape
    rh, rw, top, left = resized_shape(w, h, size)
    x = torch.stack(images)  # (g, 3, H, W)
    if (rh, rw) != (h, w):
        if x.device.type == "cpu":  # the vectorised uint8 kernel wants channels-last
            x = x.contiguous(memory_format=torch.channels_last)
            x = F.interpolate(x, size=(rh, rw), mode="bilinear", antialias=True, align_corners=False)
        else:
            x = F.interpolate(x.float(), size=(rh, rw), mode="bilinear", antialias=True, align_corners=False)
            x = x.round_().clamp_(0, 255).to(torch.uint8)
    return x[:, :, top : top + size, left : left + size]  # (g, 3, S, S)


@dataclass
class DecodedBatch:
    pixels: torch.Tensor  # (n, 3, S, S) uint8 on the decoder's device; zeros where not ok
    ok: np.ndarray  # (n,) bool: an image was given and decoded
    errors: dict[int, str] = field(default_factory=dict)  # row -> why its image could not be decoded
    gpu_rows: int = 0  # how many rows the GPU decoder produced
    ready: torch.cuda.Event | None = None  # recorded on the decode stream after the last write


class _TwoEnded:
    """A work list consumed from both ends: the GPU from the front (only up to ``front_limit``,
    the JPEGs), host threads from the back. Each position is handed out exactly once.

    ``take_back(k, reserve)`` refuses JPEGs while no more than ``reserve`` items are left and the
    GPU may still take them: a host thread must not start a chunk the GPU would finish sooner, or
    the whole batch waits for that straggler. Non-JPEGs (the back of the list) are always given.
    """

    def __init__(self, length: int, front_limit: int) -> None:
        self.lo, self.hi, self.front_limit = 0, length, front_limit
        self._lock = threading.Lock()

    def take_front(self, k: int) -> range:
        with self._lock:
            stop = max(self.lo, min(self.lo + k, self.hi, self.front_limit))
            taken = range(self.lo, stop)
            self.lo = stop
            return taken

    def take_back(self, k: int, reserve: int = 0) -> range:
        with self._lock:
            if self.hi <= self.front_limit and self.hi - self.lo <= reserve:
                return range(self.hi, self.hi)
            start = max(self.hi - k, self.lo)
            taken = range(start, self.hi)
            self.hi = start
            return taken


def _index(values: list[int], device: torch.device) -> torch.Tensor:
    """A long index on ``device``; from pinned memory when that is a GPU, so the copy is asynchronous."""
    rows = torch.tensor(values, dtype=torch.long)
    return rows.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else rows


def _file_tensor(data: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(data), dtype=torch.uint8)  # (bytes,) a writable copy


class HybridJpegDecoder:
    """Decodes batches of image files to ``size`` x ``size`` uint8 on ``device``.

    ``gpu_decode``: let the GPU decoder take part (CUDA devices only). ``host_threads``: host
    decoders (0 = none; then the GPU decodes every JPEG and the calling thread decodes the rest).
    ``pool``: an executor to share with other host work (at least ``host_threads`` workers).
    ``stream``: the CUDA stream the decoder writes on (its own if None).
    """

    def __init__(
        self,
        size: int,
        device: torch.device,
        host_threads: int,
        gpu_decode: bool,
        host_decoder: HostDecoder = "pil",
        gpu_chunk: int = 256,
        pool: ThreadPoolExecutor | None = None,
        stream: torch.cuda.Stream | None = None,
    ) -> None:
        assert size > 0 and gpu_chunk > 0 and host_threads >= 0, "size, gpu_chunk > 0 and host_threads >= 0"
        assert host_decoder in _HOST_CHUNK, f"host_decoder: one of {tuple(_HOST_CHUNK)}, not {host_decoder!r}"
        self.size, self.device, self.host_threads, self.gpu_chunk = size, device, host_threads, gpu_chunk
        self.host_decoder = host_decoder
        self.gpu_decode = gpu_decode and device.type == "cuda"
        self._own_pool = pool is None and host_threads > 0
        self._pool = ThreadPoolExecutor(host_threads, thread_name_prefix="decode") if self._own_pool else pool
        self._stream = stream or (torch.cuda.Stream(device) if device.type == "cuda" else None)
        self._gpu_rate: float | None = None  # images/s of the GPU decoder (EWMA over batches)
        self._host_item_s: float | None = None  # seconds per image of one host thread (EWMA over chunks)

    def _reserve(self) -> int:
        """JPEGs left to the GPU: as many as it decodes while one host thread decodes one chunk."""
        if not self.gpu_decode or self._gpu_rate is None or self._host_item_s is None:
            return 0
        return math.ceil(self._gpu_rate * self._host_item_s * _HOST_CHUNK[self.host_decoder])

    @torch.inference_mode()
    def decode(self, images: Sequence[bytes | None]) -> DecodedBatch:
        """(n,) image files or None -> DecodedBatch. Never raises for bad images: they are reported."""
        n, size, cuda = len(images), self.size, self.device.type == "cuda"
        present = [i for i, data in enumerate(images) if data is not None]
        jpegs = [i for i in present if is_jpeg(images[i])]  # type: ignore[arg-type]
        order = jpegs + [i for i in present if not is_jpeg(images[i])]  # type: ignore[arg-type]
        m = len(order)
        host = torch.empty((m, 3, size, size), dtype=torch.uint8, pin_memory=cuda)  # (m, 3, S, S) work order
        on_device = torch.empty_like(host, device=self.device) if cuda else host
        cursor = _TwoEnded(m, front_limit=len(jpegs) if self.gpu_decode else 0)
        work = (cursor, images, order)
        errors: dict[int, str] = {}
        with torch.cuda.stream(self._stream) if self._stream is not None else contextlib.nullcontext():
            threads = self.host_threads if self._pool is not None else 0
            workers = [self._pool.submit(self._host_work, *work, host, errors) for _ in range(threads)]
            if self.gpu_decode:
                self._gpu_work(*work, on_device, errors)
            if not workers:  # no host threads: the calling thread takes what the GPU did not
                self._host_work(*work, host, errors)
            for done in wait(workers).done:
                done.result()
            split = cursor.lo  # rows [0, split) were decoded on the device, [split, m) on the host
            if cuda and split < m:
                on_device[split:].copy_(host[split:], non_blocking=True)
            pixels = torch.zeros((n, 3, size, size), dtype=torch.uint8, device=self.device)  # (n, 3, S, S)
            if m:
                pixels.index_copy_(0, _index(order, self.device), on_device)
            ready = None
            if self._stream is not None:
                ready = torch.cuda.Event()
                ready.record(self._stream)
        ok = np.zeros(n, dtype=bool)
        ok[present] = True
        ok[list(errors)] = False
        return DecodedBatch(pixels, ok, errors, gpu_rows=split, ready=ready)

    def _reference(self, data: bytes, row: int, errors: dict[int, str]) -> torch.Tensor:
        """The reference decode of one image, (3, S, S) uint8; zeros (and an error) if undecodable."""
        try:
            return torch.from_numpy(decode_image(data, self.size))
        except ImageDecodeError as exc:
            errors[row] = str(exc)
            return torch.zeros((3, self.size, self.size), dtype=torch.uint8)

    @torch.inference_mode()
    def _host_work(
        self,
        cursor: _TwoEnded,
        images: Sequence[bytes | None],
        order: list[int],
        host: torch.Tensor,
        errors: dict[int, str],
    ) -> None:
        """Take chunks from the back of the work list until it is empty; decode them into ``host``.
        Runs on pool threads, which do not inherit the caller's inference mode: hence the decorator."""
        from torchvision.io import ImageReadMode
        from torchvision.io import decode_jpeg as turbo_decode

        chunk, reserve = _HOST_CHUNK[self.host_decoder], self._reserve()
        while taken := cursor.take_back(chunk, reserve):
            started = time.perf_counter()
            full: dict[tuple[int, int], list[tuple[int, torch.Tensor]]] = {}  # shape -> (pos, (3, H, W))
            for pos in taken:
                row = order[pos]
                data: bytes = images[row]  # type: ignore[assignment]
                if self.host_decoder == "turbo" and is_jpeg(data):
                    try:
                        img = turbo_decode(_file_tensor(data), mode=ImageReadMode.RGB)  # (3, H, W)
                        full.setdefault((img.shape[1], img.shape[2]), []).append((pos, img))
                        continue
                    except RuntimeError:  # not decodable by libjpeg-turbo: the reference decides
                        pass
                host[pos] = self._reference(data, row, errors)
            for group in full.values():
                resized = resize_crop([img for _, img in group], self.size)  # (g, 3, S, S)
                for k, (pos, _) in enumerate(group):
                    host[pos] = resized[k]
            per_item = (time.perf_counter() - started) / len(taken)
            last = self._host_item_s
            self._host_item_s = per_item if last is None else (1 - _EWMA) * last + _EWMA * per_item

    @torch.inference_mode()
    def _gpu_work(
        self,
        cursor: _TwoEnded,
        images: Sequence[bytes | None],
        order: list[int],
        out: torch.Tensor,
        errors: dict[int, str],
    ) -> None:
        """Take chunks from the front of the work list; decode, resize and crop them into ``out``."""
        from torchvision.io import ImageReadMode, decode_jpeg

        started, decoded_count = time.perf_counter(), 0
        chunk = self.gpu_chunk if self.host_threads else len(order)  # alone: one call for the batch
        while taken := cursor.take_front(max(chunk, 1)):
            decoded_count += len(taken)
            files = [_file_tensor(images[order[pos]]) for pos in taken]  # type: ignore[arg-type]
            try:
                decoded = decode_jpeg(files, mode=ImageReadMode.RGB, device=self.device)  # [(3, H, W)]
            except RuntimeError as exc:  # one bad file fails the whole call: the reference redoes the chunk
                log.warning("GPU decode of %d images failed (%s); decoding them on the host", len(files), exc)
                for pos in taken:
                    out[pos] = self._reference(images[order[pos]], order[pos], errors).to(self.device)  # type: ignore[arg-type]
                continue
            by_shape: dict[tuple[int, int], list[int]] = {}
            for k, img in enumerate(decoded):
                by_shape.setdefault((img.shape[1], img.shape[2]), []).append(k)
            for members in by_shape.values():
                resized = resize_crop([decoded[k] for k in members], self.size)  # (g, 3, S, S)
                out.index_copy_(0, _index([taken[k] for k in members], self.device), resized)
        if decoded_count:
            torch.cuda.current_stream(self.device).synchronize()  # the rate counts finished work
            rate = decoded_count / max(time.perf_counter() - started, 1e-6)
            last = self._gpu_rate
            self._gpu_rate = rate if last is None else (1 - _EWMA) * last + _EWMA * rate

    def close(self) -> None:
        if self._pool is not None and self._own_pool:
            self._pool.shutdown(wait=True)
