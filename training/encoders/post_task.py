"""The post-category training loop both trained image towers share (the compact CNN from scratch,
the fine-tuned top of a pretrained tower): shuffled batches, cross-entropy on the post labels, the
loss and accuracy of each epoch logged and returned."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


def fit_post_task(
    *,
    name: str,
    epochs: int,
    order: Callable[[], torch.Tensor],
    batch_size: int,
    forward: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    opt: torch.optim.Optimizer,
    train_mode: Callable[[], None],
    sched: torch.optim.lr_scheduler.LRScheduler | None = None,
    progress: bool = True,
) -> list[float]:
    """``order()``: the row indices of one epoch; ``forward(idx)``: (logits, labels) of those rows;
    ``train_mode()``: puts the modules in training mode at each epoch. Returns each epoch's mean loss."""
    losses: list[float] = []
    for epoch in range(epochs):
        train_mode()
        rows = order()
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(range(0, len(rows), batch_size), desc=f"{name} epoch {epoch + 1}", disable=not progress)
        for start in bar:
            idx = rows[start : start + batch_size]
            logits, y = forward(idx)
            loss = nn.functional.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            loss_sum += float(loss.detach()) * len(idx)
            total += len(idx)
            correct += int((logits.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        losses.append(loss_sum / max(total, 1))
        log.info(
            "%s epoch %d: loss %.4f, post accuracy %.3f", name, epoch + 1, losses[-1], correct / max(total, 1)
        )
    return losses
