"""Fine-tuning utilities: metrics vs scikit-learn, losses, freezing, augmentation,
bit-for-bit resume of training from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from biometal.io.fastx import read_fastq_chunks
from biometal.ml.dnabert import finetune as ft
from biometal.ml.dnabert.model import BertConfig

CFG = BertConfig(5 + 4**3, 24, 16, 1, 2, 32, 0.1, 0)

skl = pytest.importorskip("sklearn.metrics")


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_classification_metrics_match_sklearn(data):
    n = data.draw(st.integers(2, 60))
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    s = np.array(
        data.draw(st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.7, 1.0]), min_size=n, max_size=n))
    )
    pred = (s >= 0.5).astype(int)
    assert ft.accuracy(y, pred) == pytest.approx(skl.accuracy_score(y, pred))
    assert ft.f1_score(y, pred, "binary") == pytest.approx(skl.f1_score(y, pred, zero_division=0))
    if 0 < y.sum() < n:
        assert ft.auroc(y, s) == pytest.approx(skl.roc_auc_score(y, s))
    if y.sum() > 0:
        assert ft.auprc(y, s) == pytest.approx(skl.average_precision_score(y, s))


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_macro_f1_and_regression_match_sklearn(data):
    n = data.draw(st.integers(2, 50))
    y = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    p = np.array(data.draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n)))
    labels = [0, 1, 2, 3]
    want = skl.f1_score(y, p, labels=labels, average="macro", zero_division=0)
    assert ft.f1_score(y, p, labels=labels) == pytest.approx(want)
    yr = np.array(data.draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)))
    pr = yr + np.array(data.draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)))
    assert ft.mae(yr, pr) == pytest.approx(skl.mean_absolute_error(yr, pr), abs=1e-12)
    assert ft.rmse(yr, pr) == pytest.approx(np.sqrt(skl.mean_squared_error(yr, pr)), abs=1e-12)
    if np.ptp(yr) > 1e-6:
        assert ft.r2(yr, pr) == pytest.approx(skl.r2_score(yr, pr), abs=1e-9)


def test_hand_computed_metrics():
    # 2 positives (0.9, 0.4), 2 negatives (0.5, 0.1): pairs won 3 of 4
    assert ft.auroc([1, 0, 1, 0], [0.9, 0.5, 0.4, 0.1]) == 0.75
    # precision at recall 1/2 is 1, at recall 1 is 2/3
    assert ft.auprc([1, 0, 1, 0], [0.9, 0.5, 0.4, 0.1]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert ft.r2([1, 2, 3], [1, 2, 3]) == 1.0


def test_losses():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    ce = ft.task_loss("multiclass", logits, torch.tensor([0, 1]))
    assert float(ce) == pytest.approx(np.log(1 + np.exp(-2.0)))
    b = ft.task_loss("binary", torch.tensor([[0.0]]), torch.tensor([1]))
    assert float(b) == pytest.approx(np.log(2))
    r = ft.task_loss("regression", torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
    assert float(r) == pytest.approx(2.5)
    with pytest.raises(Exception, match="task"):
        ft.task_loss("nope", logits, torch.tensor([0, 1]))


def test_freeze_unfreeze():
    torch.manual_seed(0)
    m = ft.from_scratch(BertConfig(5 + 4**3, 24, 16, 2, 2, 32, 0.1, 0), 3)
    total = sum(p.numel() for p in m.parameters())
    head = sum(p.numel() for p in m.head.parameters())
    assert ft.freeze_encoder(m, True) == head
    partial = ft.freeze_encoder(m, True, train_last=1)
    assert head < partial < total
    assert ft.freeze_encoder(m, False) == total


def test_reverse_complement_and_mutations():
    from biometal.io.fastx import ReadChunk

    codes = np.array([0, 1, 2, 3, 4, 0, 0, 1], np.uint8)
    chunk = ReadChunk(codes, np.arange(8, dtype=np.uint8), np.array([0, 5, 8]))
    rc = ft.reverse_complement(chunk)
    assert rc.codes.tolist() == [4, 0, 1, 2, 3, 2, 3, 3]
    assert rc.qual.tolist() == [4, 3, 2, 1, 0, 7, 6, 5]
    assert ft.reverse_complement(rc).codes.tolist() == codes.tolist()
    big = ReadChunk(
        np.zeros(100_000, np.uint8), np.zeros(100_000, np.uint8), np.array([0, 100_000])
    )
    mut = ft.point_mutations(big, 0.02, np.random.default_rng(1))
    changed = mut.codes != 0
    assert 0.017 < changed.mean() < 0.023
    assert set(np.unique(mut.codes[changed])) == {1, 2, 3}  # substitutions, never the same base
    again = ft.point_mutations(big, 0.02, np.random.default_rng(1))
    assert np.array_equal(mut.codes, again.codes)  # seeded
    ids = np.array([[2, 10, 11, 12, 3, 0]])
    masked = ft.random_token_mask(ids, 1.0, np.random.default_rng(0), 4)
    assert masked.tolist() == [[2, 4, 4, 4, 3, 0]]


def _fastq(tmp_path, n=96, length=30, seed=0):
    rng = np.random.default_rng(seed)
    lines = []
    labels = rng.integers(0, 3, n)
    for i in range(n):
        # class c: reads rich in base c (learnable), plus noise
        p = np.full(4, 0.1)
        p[labels[i]] = 0.7
        seq = "".join("ACGT"[j] for j in rng.choice(4, length, p=p))
        lines += [f"@r{i}", seq, "+", "I" * length]
    path = tmp_path / "reads.fq"
    path.write_text("\n".join(lines) + "\n")
    return path, labels


def _tuner(path, labels, total, init_seed=0):
    torch.manual_seed(init_seed)
    model = ft.from_scratch(CFG, 3)
    ds = ft.LabelledReads(
        path, labels, k=3, max_length=24, batch_size=16, chunk_reads=32, seed=7,
        reverse_complement=0.5, mutation_rate=0.01, token_mask=0.05,
    )  # fmt: skip
    return ft.FineTuner(model, ds, total_steps=total, lr=3e-3)


def test_resume_is_bit_for_bit(tmp_path):
    path, labels = _fastq(tmp_path)
    n, k = 11, 4  # 6 batches per epoch: the resume point and the end cross epochs
    straight = _tuner(path, labels, n)
    straight.train(n)
    first = _tuner(path, labels, n)
    first.train(k)
    first.save(tmp_path / "ckpt.pt")
    resumed = _tuner(
        path, labels, n, init_seed=99
    )  # different init: everything comes from the file
    resumed.load(tmp_path / "ckpt.pt")
    resumed.train(n - k)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert resumed.step == straight.step == n and resumed.epoch == straight.epoch
    # and training did move the weights
    fresh = _tuner(path, labels, n).model.state_dict()
    assert not all(torch.equal(a[key], fresh[key]) for key in a)


def test_labelled_reads_stream_targets(tmp_path):
    path, labels = _fastq(tmp_path, n=40)
    ds = ft.LabelledReads(path, labels, k=3, max_length=24, batch_size=16, chunk_reads=16)
    seen = []
    for batch in ds:
        assert (batch["labels"] == -100).all()  # no MLM masking
        assert batch["target"].tolist() == labels[batch["read_index"].numpy()].tolist()
        seen += batch["read_index"].tolist()
    assert seen == list(range(40))
    with pytest.raises(Exception, match="labels"):
        list(ft.LabelledReads(path, labels[:10], k=3, max_length=24))


def test_finetune_learns_and_checkpoint_roundtrip(tmp_path):
    path, labels = _fastq(tmp_path, n=192)
    tuner = _tuner(path, labels, 60)
    losses = tuner.train(60)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    ft.save_classifier(tuner.model, tmp_path / "clf.pt")
    model, meta = ft.load_classifier(tmp_path / "clf.pt")
    ds = ft.LabelledReads(path, labels, k=3, max_length=24, batch_size=64)
    out, idx = ft.predict(model, ds)
    assert meta["task"] == "multiclass" and out.shape == (192, 3)
    m = ft.classification_metrics(
        labels[idx], out.argmax(1), 3, torch.softmax(torch.from_numpy(out), 1).numpy()
    )
    assert m["accuracy"] > 0.6  # 3 balanced classes: chance is 1/3
    for chunk in read_fastq_chunks(path, 1000):
        assert len(chunk) == 192
