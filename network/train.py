"""The one training loop: mini-batch SGD-family training of an `MLP`, reporting as it goes.

`train(config, images, labels, test_images, test_labels, on_progress=..., should_stop=...)`
runs `config.epochs` shuffled passes over the data. Each batch is gathered from the uint8
images, optionally augmented, scaled into a preallocated float32 buffer (with augmentation
and a core that BLAS leaves free, on a second thread during the step before: see `_Batches`),
and fed through one forward pass, one backward pass and one optimizer step. The loop never
prints: it calls `on_progress(ProgressEvent)` every `config.report_every` batches and at the
end of each epoch (with the test accuracy), and checks `should_stop()` before every batch.

The same loop fine-tunes: `start_from=model` trains a copy of an existing network (any model
with `architecture()`, `copy()`, `params` and `forward`/`backward`) instead of a fresh one, and
`sampler(rng) -> (M,) indices` chooses each epoch's rows in order (default: a permutation of
all N), which is how a stream mixing MNIST with oversampled drawings is fed.

A run that diverges (a NaN or infinite loss, a loss 100 times its starting value, or non-finite
weights at the end of an epoch) stops at once with `diverged=True` and a one-line message; its
`model` is then the last finite end-of-epoch snapshot (None if no epoch completed), so a NaN
model can never be saved from it. (A sigmoid/MSE output cannot blow up: its loss is bounded,
and too high a rate saturates it instead, which shows as chance-level accuracy.)
The same config and seed give bit-identical weights when run again with the same NumPy and BLAS
build, the same BLAS kernel (OpenBLAS picks one per CPU) and the same number of threads: on the
same machine, that is. Another CPU's kernel rounds the float32 sums differently (other blockings,
FMA or not), so its weights differ in the last bits after one step, and more after many.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from network.augment import Augmenter
from network.config import TrainConfig
from network.convnet import ConvNet, conv_stack
from network.errors import ModelError
from network.inputs import as_rows, scale_into
from network.mlp import MLP
from network.model import input_size
from network.optim import SGD, make_optimizer, scheduled_lr

__all__ = ["TrainConfig", "ProgressEvent", "EpochStats", "TrainResult", "train", "build_model"]

#: A batch loss this many times the first batch's (at least 1.0) counts as diverging: a
#: softmax cross-entropy starts near ln 10 = 2.3 and never climbs past 230 in a healthy run.
_BLOWUP = 100.0


@dataclass(frozen=True)
class ProgressEvent:
    """What the loop reports: every `report_every` batches (kind 'batch') and each epoch end.

    `loss` and `samples_per_second` cover the batches since the previous event (for kind
    'epoch': the whole epoch); `train_accuracy` is the running accuracy of the epoch so far on
    the (augmented) training batches; `test_accuracy` is set only at epoch end, and only when
    test data was given.
    """

    kind: str  #: 'batch' or 'epoch'
    epoch: int  #: 1-based
    epochs: int
    batch: int  #: 1-based within the epoch (== batches at epoch end)
    batches: int  #: per epoch
    samples_seen: int  #: since the start of the run
    loss: float
    train_accuracy: float
    samples_per_second: float
    lr: float
    elapsed: float  #: seconds of training so far (test evaluations excluded)
    test_accuracy: float | None = None


@dataclass(frozen=True)
class EpochStats:
    """One line of the history: an epoch's mean loss, accuracies, duration and final rate."""

    epoch: int
    loss: float
    train_accuracy: float
    test_accuracy: float | None
    seconds: float  #: training time of the epoch (test evaluation excluded)
    lr: float

    def to_dict(self) -> dict[str, float | int | None]:
        """JSON-ready dict of the fields."""
        return dict(self.__dict__)


@dataclass
class TrainResult:
    """The outcome of `train`.

    `model` is the trained network; for a cancelled run, the weights when it stopped (finite);
    for a diverged run, the last end-of-epoch snapshot or None. `last_epoch_model` is the
    snapshot taken at the end of the last completed epoch (None before the first one), which a
    cancelled run may prefer to keep.
    """

    config: TrainConfig
    model: MLP | None
    last_epoch_model: MLP | None
    history: list[EpochStats] = field(default_factory=list)
    cancelled: bool = False
    diverged: bool = False
    message: str = ""
    samples_seen: int = 0
    seconds: float = 0.0  #: total training time, test evaluations excluded

    @property
    def epochs_completed(self) -> int:
        """Number of epochs that ran to their end."""
        return len(self.history)

    @property
    def test_accuracy(self) -> float | None:
        """Test accuracy after the last completed epoch, or None."""
        return self.history[-1].test_accuracy if self.history else None

    @property
    def ok(self) -> bool:
        """True when every epoch ran and nothing diverged."""
        return not (self.cancelled or self.diverged) and self.epochs_completed == self.config.epochs


def build_model(config: TrainConfig, n_inputs: int = 784, n_classes: int = 10,
                rng: np.random.Generator | int | None = None) -> MLP | ConvNet:
    """The untrained network a config describes (a `ConvNet` when `config.conv` lists conv
    layers, else an `MLP`); `rng` defaults to the config's seed."""
    rng = config.seed if rng is None else rng
    if config.conv:
        if n_inputs != 784:
            raise ModelError(f"a conv network reads 28x28 images, not {n_inputs} inputs")
        layers = conv_stack(config.conv, config.kernel, config.hidden, config.activation,
                            config.dropout, n_classes)
        return ConvNet(layers, output=config.output, init=config.init,
                       input_scaling=config.input_scaling, rng=rng)
    return MLP(
        (n_inputs, *config.hidden, n_classes),
        activation=config.activation,
        output=config.output,
        biases=config.biases,
        init=config.init,
        input_scaling=config.input_scaling,
        rng=rng,
    )


def _check_data(images: np.ndarray, labels: np.ndarray, what: str, n_classes: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(N, 784) pixel rows and (N,) intp labels from images and labels; ModelError if unusable."""
    rows = as_rows(images)
    if rows.ndim != 2 or rows.shape[0] == 0 or np.asarray(images).ndim == 1:
        raise ModelError(f"{what} images must be a non-empty (N, 28, 28) or (N, 784) array")
    y = np.asarray(labels)
    if y.shape != (rows.shape[0],) or y.dtype.kind not in "iu":
        raise ModelError(
            f"{what} labels must be ({rows.shape[0]},) integers, got {y.shape} {y.dtype}"
        )
    if y.min() < 0 or y.max() >= n_classes:
        raise ModelError(f"{what} labels must be in 0..{n_classes - 1}")
    return rows, y.astype(np.intp)


def _hits(predicted: np.ndarray, labels: np.ndarray, lo: int, hi: int) -> int:
    """How many of predicted[lo:hi] equal labels[lo:hi] (both (N,) integer arrays)."""
    return int(np.count_nonzero(predicted[lo:hi] == labels[lo:hi]))


class _Batches:
    """Each batch's inputs: its rows gathered from the uint8 images, augmented (if an
    `Augmenter` is given) and scaled into a float32 buffer, and what the model's `prepare`
    (if it has one: `network.convnet.ConvNet.prepare`) makes of them ahead of `forward`.

    With `ahead` (see `_spare_core`) the next batch is made on a second thread while the
    caller trains on this one (a one-slot prefetch: two sets of buffers, used in turns), so on
    a 2-core machine training with one BLAS thread the augmentation (about 4.4 ms of a 52 ms
    step of the `conv` preset, 128 images) and the model's `prepare` (the first layer's
    columns, about 2.5 ms) run beside the step instead of before it. The augmenter
    is only ever called from that one thread, batch after batch in order, so it draws the
    same random numbers and makes bit-identical images as without the prefetch. `close()`
    (on leaving `train`'s `with` block, however it is left) waits for the batch in flight and
    stops the thread. Otherwise the batch is made in the caller's thread.
    """

    def __init__(self, rows: np.ndarray, size: int, model: MLP | ConvNet,
                 augmenter: Augmenter | None, ahead: bool) -> None:
        """rows (N, 784) pixels; batches of up to `size` rows for `model`; `ahead`: make
        each batch on a second thread during the step before."""
        self.rows, self.scaling, self.augmenter = rows, model.scaling, augmenter
        self.prepare = getattr(model, "prepare", None)
        slots = 2 if ahead else 1
        self._x = [np.empty((size, rows.shape[1]), np.float32) for _ in range(slots)]
        self._u = [np.empty((size, rows.shape[1]), rows.dtype) for _ in range(slots)]
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="digits-batches") \
            if ahead else None
        self._pending: Future[tuple[np.ndarray, object]] | None = None
        self._made = 0  # batches made so far: the next one goes to slot _made % slots

    def _make(self, index: np.ndarray, slot: int) -> tuple[np.ndarray, object]:
        """The (n, 784) float32 inputs of the rows at `index` (n,), in slot `slot`, and
        what the model prepares from them (None if it prepares nothing)."""
        n = index.size
        # mode="clip" (the indices are valid anyway): "raise" buffers `out`, 6x slower
        batch = np.take(self.rows, index, axis=0, out=self._u[slot][:n], mode="clip")
        x = self._x[slot][:n]
        if self.augmenter is not None:
            self.augmenter(batch, out=x)
            scale_into(x, self.scaling, x)
        else:
            scale_into(batch, self.scaling, x)
        return x, None if self.prepare is None else self.prepare(x, slot)

    def _start(self, index: np.ndarray) -> Future[tuple[np.ndarray, object]]:
        """Begin making the batch of rows `index` on the second thread."""
        slot = self._made % len(self._x)
        self._made += 1
        return self._pool.submit(self._make, index, slot)

    def get(self, index: np.ndarray, following: np.ndarray | None
            ) -> tuple[np.ndarray, object]:
        """The inputs of the rows at `index` (n,) and what the model prepared from them
        (None, or `forward`'s second argument), valid until the next call; with a
        prefetch, `following` (the next batch's rows, None at the end of the epoch) starts
        being made. The previous call's `following` must be this call's `index`."""
        if self._pool is None:
            return self._make(index, 0)
        pending = self._pending if self._pending is not None else self._start(index)
        self._pending = self._start(following) if following is not None else None
        return pending.result()

    def __enter__(self) -> _Batches:
        """Itself; leaving the `with` block closes it."""
        return self

    def __exit__(self, *exc: object) -> None:
        """`close()`."""
        self.close()

    def close(self) -> None:
        """Wait for the batch in flight, if any, and stop the second thread."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pending = None


def _spare_core() -> bool:
    """Whether BLAS leaves a core free for the batch thread (see `_Batches`): more CPUs for
    this process than BLAS threads, as OPENBLAS_NUM_THREADS (else OMP_NUM_THREADS) sets them;
    unset, OpenBLAS takes every core, and a third thread would make its two wait for each
    other (a product split over two threads is as slow as its slower half)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return cpus > int(value)
    return False


def _accuracy(model: MLP, rows: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows (N, 784) whose predicted label equals labels (N,)."""
    return float(np.mean(model.predict(rows) == labels))


def train(
    config: TrainConfig,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray | None = None,
    test_labels: np.ndarray | None = None,
    *,
    on_progress: Callable[[ProgressEvent], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    start_from: MLP | None = None,
    sampler: Callable[[np.random.Generator], np.ndarray] | None = None,
) -> TrainResult:
    """Train a new MLP as `config` says (or go on training a copy of `start_from`).

    Args:
        config: the hyper-parameters; validated first (ModelError if invalid).
        train_images: (N, 28, 28) or (N, 784) uint8 (or float 0..255) pixels, never copied
            whole: each batch's rows are gathered into a small buffer and converted to float32
            one batch at a time.
        train_labels: (N,) integer labels 0..9.
        test_images, test_labels: optional test set, scored at the end of every epoch.
        on_progress: called with a `ProgressEvent` every `config.report_every` batches and at
            each epoch end, from the calling thread.
        should_stop: polled before every batch; returning True cancels the run.
        start_from: a trained model to fine-tune: a copy of it is trained (never the model
            itself), and the config's network fields are not used to build one.
        sampler: given the run's shuffling Generator, returns one epoch's row indices (M,)
            into the training images, in order (repeats allowed, M the same every epoch);
            default: a permutation of all N rows.

    Returns:
        A `TrainResult` (see there for what `model` holds after a cancel or a divergence).
    """
    config.validate()
    rows, labels = _check_data(train_images, train_labels, "training", 10)
    test = None
    if (test_images is None) != (test_labels is None):
        raise ModelError("give both test images and test labels, or neither")
    if test_images is not None and test_labels is not None:
        test = _check_data(test_images, test_labels, "test", 10)

    init_seq, shuffle_seq, augment_seq = np.random.SeedSequence(config.seed).spawn(3)
    if start_from is not None:
        if input_size(start_from.architecture()) != rows.shape[1]:
            raise ModelError(f"the model to fine-tune does not take {rows.shape[1]} inputs")
        model = start_from.copy()
    else:
        model = build_model(config, rows.shape[1], 10, rng=np.random.default_rng(init_seq))
    optimizer = make_optimizer(
        config.optimizer, model.params, model.n_weights, l2=config.l2,
        momentum=config.momentum, nesterov=config.nesterov, beta1=config.beta1,
        beta2=config.beta2, eps=config.eps,
    )
    shuffle_rng = np.random.default_rng(shuffle_seq)

    def epoch_order() -> np.ndarray:
        """(M,) row indices of the next epoch, in training order."""
        if sampler is None:
            return shuffle_rng.permutation(rows.shape[0])
        order = np.asarray(sampler(shuffle_rng))
        if order.ndim != 1 or order.size == 0 or order.dtype.kind not in "iu" \
                or order.min() < 0 or order.max() >= rows.shape[0]:
            raise ModelError("the sampler must give a non-empty list of valid row indices")
        return order.astype(np.intp, copy=False)

    augmenter = Augmenter(config.augmentation, np.random.default_rng(augment_seq)) \
        if config.augment else None

    next_order = epoch_order()
    n, bsize = next_order.size, min(config.batch_size, next_order.size)
    batches = math.ceil(n / bsize)
    # each batch's rows are gathered (np.take into a reused buffer) rather than the whole set
    # copied into shuffled order once per epoch: no second copy of the images in memory, and
    # no faster (per epoch, in the same process: 1.151x, 1.158x, 1.137x and 1.130x the
    # GEMMs-only replay's CPU time gathering 1, 8, 64 or all 469 batches at a time)
    # with augmentation (about 4.4 ms of the `conv` preset's 52 ms step on one thread) each
    # batch is made during the step before, when a core is free for it; without, a batch is
    # a gather and a scale (well under a millisecond): a hand-over would cost about as much
    inputs = _Batches(rows, bsize, model, augmenter,
                      ahead=augmenter is not None and _spare_core())
    shuffled_labels = np.empty(n, dtype=labels.dtype)
    # each batch's predicted labels, compared with the labels once per progress event
    predicted = np.empty(n, dtype=np.intp)
    prescale = optimizer.takes_prescaled  # plain SGD: backward yields lr * gradient
    # ... and an MLP takes that step itself, inside the products that compute the gradients
    fused = isinstance(optimizer, SGD) and isinstance(model, MLP)
    result = TrainResult(config=config, model=model, last_epoch_model=None)
    seen, elapsed = 0, 0.0
    first_loss: float | None = None

    def stop(diverged: bool, message: str) -> TrainResult:
        """Finish the result early (cancel or divergence)."""
        result.diverged, result.cancelled, result.message = diverged, not diverged, message
        if diverged:
            result.model = result.last_epoch_model
        result.samples_seen, result.seconds = seen, elapsed
        return result

    # divergence is detected from the loss, not from warnings; leaving the block, however,
    # stops the batches' second thread (see _Batches)
    with np.errstate(all="ignore"), inputs:
        for epoch in range(1, config.epochs + 1):
            perm = next_order if epoch == 1 else epoch_order()
            if perm.size != n:
                raise ModelError("the sampler must give the same number of rows every epoch")
            np.take(labels, perm, out=shuffled_labels, mode="clip")
            ep_loss, ep_start = 0.0, time.perf_counter()
            ep_correct, counted = 0, 0  # hits among the first `counted` rows of the epoch
            win_loss, win_batches, win_samples, win_start = 0.0, 0, 0, ep_start
            lr = config.lr
            rates = [scheduled_lr(config.lr, config.schedule, epoch - 1 + bi / batches,
                                  config.epochs, step_every=config.step_every, gamma=config.gamma,
                                  min_factor=config.min_lr_factor,
                                  warmup_epochs=config.warmup_epochs) for bi in range(batches)]
            for bi in range(batches):
                if should_stop is not None and should_stop():
                    elapsed += time.perf_counter() - ep_start
                    return stop(False, f"cancelled in epoch {epoch}, batch {bi + 1} of {batches}")
                lo, hi = bi * bsize, min(n, (bi + 1) * bsize)
                x, prepared = inputs.get(perm[lo:hi], perm[hi : hi + bsize] if hi < n else None)
                y = shuffled_labels[lo:hi]
                lr = rates[bi]
                logits = model.forward(x) if prepared is None else model.forward(x, prepared)
                logits.argmax(axis=1, out=predicted[lo:hi])  # not np.argmax's Python wrapper
                if fused:
                    loss = model.backward(y, lr, decay=optimizer.fused_step(lr))
                else:
                    loss = model.backward(y, lr if prescale else 1.0)
                if first_loss is None:
                    first_loss = loss
                if not math.isfinite(loss) or loss > _BLOWUP * max(first_loss, 1.0):
                    elapsed += time.perf_counter() - ep_start
                    return stop(True, f"training diverged in epoch {epoch}, batch {bi + 1} "
                                      f"(loss {loss:.4g}, from {first_loss:.4g} at the start); "
                                      f"lower the learning rate (lr={config.lr:g})")
                if not fused:
                    optimizer.step(model.grads, lr, prescaled=prescale)
                seen += hi - lo
                ep_loss += loss
                win_loss, win_batches, win_samples = win_loss + loss, win_batches + 1, \
                    win_samples + hi - lo
                if on_progress is not None and (bi + 1) % config.report_every == 0 \
                        and bi + 1 < batches:
                    now = time.perf_counter()
                    ep_correct += _hits(predicted, shuffled_labels, counted, hi)
                    counted = hi
                    on_progress(ProgressEvent(
                        "batch", epoch, config.epochs, bi + 1, batches, seen,
                        win_loss / win_batches, ep_correct / hi,
                        win_samples / max(now - win_start, 1e-9), lr,
                        elapsed + now - ep_start))
                    win_loss, win_batches, win_samples, win_start = 0.0, 0, 0, now
            seconds = time.perf_counter() - ep_start
            elapsed += seconds
            if not np.isfinite(model.params).all():
                return stop(True, f"training diverged in epoch {epoch} (non-finite weights); "
                                  f"lower the learning rate (lr={config.lr:g})")
            ep_correct += _hits(predicted, shuffled_labels, counted, n)
            test_acc = _accuracy(model, *test) if test is not None else None
            stats = EpochStats(epoch, ep_loss / batches, ep_correct / n, test_acc, seconds, lr)
            result.history.append(stats)
            result.last_epoch_model = model.copy()
            if on_progress is not None:
                on_progress(ProgressEvent(
                    "epoch", epoch, config.epochs, batches, batches, seen, stats.loss,
                    stats.train_accuracy, n / max(seconds, 1e-9), lr, elapsed, test_acc))
    result.samples_seen, result.seconds = seen, elapsed
    return result
