"""Hugging Face BERT directories -> the project's DNABERT encoder, against ``transformers``.

Oracle: small random ``BertForMaskedLM`` / ``BertModel`` models of ``transformers`` (DNABERT
k=3 vocabulary, 2 layers, hidden 64), every weight perturbed so that LayerNorms, biases and
token-type embeddings are not at their trivial initial values, saved as ``model.safetensors``
(``save_pretrained``), as ``pytorch_model.bin`` (``torch.save`` of the state dict, the
layout older transformers wrote and every version reads) and sharded. Our reader's hidden
states and MLM logits must equal transformers' within ``ATOL`` (measured ~1.5e-6 on values
up to ~4; the bound is 1e-4, see ``ATOL``), with and without padding; the ONNX export of the
loaded encoder must equal transformers within the export's 1e-4.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

transformers = pytest.importorskip("transformers", reason="transformers (test extra) not installed")

from biometal.cli import main as cli_main  # noqa: E402
from biometal.errors import BiometalError  # noqa: E402
from biometal.ml.dnabert import export as ex  # noqa: E402
from biometal.ml.dnabert import finetune as ft  # noqa: E402
from biometal.ml.dnabert import hf  # noqa: E402
from biometal.ml.dnabert.model import BertConfig, BertMLM  # noqa: E402
from biometal.ml.tokenizer import KmerTokenizer  # noqa: E402

VOCAB = 5 + 4**3  # DNABERT k=3
LENGTH = 24
#: Usually 1.3-1.5e-6 apart; once 6.3e-5 (gelu_new, 'bin', one element in six) in a full-suite
#: run, not reproduced alone, after the same earlier tests, or in fresh processes: fp32 kernel
#: choices differ between runs. 1e-4 still tells the activations apart (see
#: test_tolerance_tells_gelu_variants_apart: exact and tanh GELU differ by ~6e-4 here).
ATOL = 1e-4


def _hf_model(kind="mlm", act="gelu", eps=1e-12, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=LENGTH, hidden_act=act,
        layer_norm_eps=eps, **kw,
    )  # fmt: skip
    cls = transformers.BertForMaskedLM if kind == "mlm" else transformers.BertModel
    model = cls(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def _save(model, d, fmt="safetensors"):
    """``d``: a Hugging Face directory of ``model`` in format ``fmt``, with vocab.txt."""
    if fmt == "safetensors":
        model.save_pretrained(d)
    elif fmt == "sharded":
        model.save_pretrained(d, max_shard_size="40KB")
    else:  # pytorch_model.bin, tied weights included, as transformers < 5 wrote it
        d.mkdir(parents=True, exist_ok=True)
        model.config.save_pretrained(d)
        torch.save(model.state_dict(), d / "pytorch_model.bin")
    KmerTokenizer(3).save_vocabulary(d)
    return d


def _hf_hidden(model, ids, mask):
    """(transformers' last hidden states, its MLM logits or None) of int ids and a mask."""
    with torch.no_grad():
        out = model(
            torch.as_tensor(ids).long(),
            attention_mask=torch.as_tensor(mask).long(),
            output_hidden_states=True,
        )
    return out.hidden_states[-1].numpy(), getattr(out, "logits", None)


def _ours(model, ids, mask):
    with torch.no_grad():
        h = model(torch.as_tensor(ids).long(), torch.as_tensor(mask).long())
        return h.numpy(), model.logits(h).numpy()


CASES = [
    ("mlm", "gelu", 1e-12, "safetensors"),
    ("mlm", "gelu_new", 1e-3, "bin"),
    ("base", "gelu_pytorch_tanh", 1e-6, "sharded"),
    ("mlm", "gelu_fast", 1e-12, "sharded"),
]


@pytest.mark.parametrize("kind,act,eps,fmt", CASES)
def test_hidden_states_equal_transformers(tmp_path, kind, act, eps, fmt):
    ref = _hf_model(kind, act, eps)
    d = _save(ref, tmp_path / "hf", fmt)
    if fmt == "bin":  # a genuine HF directory: transformers itself reads it back equal
        back = type(ref).from_pretrained(d).eval()
        for (k, a), b in zip(ref.state_dict().items(), back.state_dict().values(), strict=True):
            assert torch.equal(a, b), k
    if fmt == "sharded":
        assert (d / "model.safetensors.index.json").is_file()
    model, meta = hf.load_hf_bert(d)
    assert meta["hf"]["mlm_head"] == (kind == "mlm")
    assert meta["tokenizer"]["k"] == 3 and meta["model"]["layer_norm_eps"] == eps
    if kind == "base":
        assert meta["hf"]["unused"] == ["pooler.dense.bias", "pooler.dense.weight"]
    ids = ex.random_tokens(9, LENGTH, VOCAB, seed=1)  # padded rows and full rows
    for mask in ((ids != 0).astype(np.int64), np.ones_like(ids, np.int64)):
        want, want_logits = _hf_hidden(ref, ids, mask)
        got, got_logits = _ours(model, ids, mask)
        # every position, padding included (its hidden state is defined in both)
        np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
        assert np.abs(want).max() > 1.0  # not a vacuous comparison
        if kind == "mlm":
            np.testing.assert_allclose(got_logits, want_logits.numpy(), rtol=0, atol=ATOL)
    # the padding mask matters: unmasked padding changes the padded rows
    mask = (ids != 0).astype(np.int64)
    want, _ = _hf_hidden(ref, ids, mask)
    got, _ = _ours(model, ids, np.ones_like(mask))
    assert np.abs(got - want).max() > 1e-3
    # and so do the GELU variant and the LayerNorm epsilon: a wrong one is far away
    other = "gelu_tanh" if meta["model"]["activation"] == "gelu" else "gelu"
    wrong = BertMLM(dataclasses.replace(BertConfig(**meta["model"]), activation=other))
    wrong.load_state_dict(model.state_dict())
    assert np.abs(_ours(wrong.eval(), ids, mask)[0] - want).max() > 1e-4
    if eps >= 1e-3:
        wrong = BertMLM(dataclasses.replace(BertConfig(**meta["model"]), layer_norm_eps=1e-12))
        wrong.load_state_dict(model.state_dict())
        assert np.abs(_ours(wrong.eval(), ids, mask)[0] - want).max() > 1e-4


def test_safetensors_reader_equals_the_package(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    g = torch.Generator().manual_seed(0)
    tensors = {
        "a": torch.randn(3, 5, generator=g),
        "b16": torch.randn(7, generator=g).half(),
        "bf": torch.randn(2, 3, generator=g).bfloat16(),
        "i": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "u8": torch.arange(5, dtype=torch.uint8),
        "empty": torch.zeros(0, 4),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
    }
    st.save_file(tensors, tmp_path / "x.safetensors", metadata={"format": "pt"})
    got = hf.read_safetensors(tmp_path / "x.safetensors")
    want = st.load_file(tmp_path / "x.safetensors")
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        assert torch.equal(got[k], want[k]), k
    # malformed: one line naming the file
    bad = tmp_path / "bad.safetensors"
    data = (tmp_path / "x.safetensors").read_bytes()
    for blob in (b"\x01", data[:8] + b"{not json", data[:-4]):
        bad.write_bytes(blob)
        with pytest.raises(BiometalError, match="bad.safetensors") as e:
            hf.read_safetensors(bad)
        assert "\n" not in str(e.value)


def _edit_config(d, **kw):
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(kw)
    (d / "config.json").write_text(json.dumps(cfg))


def _edit_weights(d, fn):
    st = pytest.importorskip("safetensors.torch")
    w = st.load_file(d / "model.safetensors")
    fn(w)
    st.save_file(w, d / "model.safetensors", metadata={"format": "pt"})


def _add_relative(w):  # a relative-position BERT's extra weight
    w["bert.encoder.layer.0.attention.self.distance_embedding.weight"] = torch.zeros(47, 16)


def _untie(w):
    w["cls.predictions.decoder.weight"] = w["bert.embeddings.word_embeddings.weight"] + 1


@pytest.mark.parametrize(
    "edit,match",
    [
        (lambda d: _edit_config(d, hidden_act="relu"), "hidden_act: 'relu' is not supported"),
        (
            lambda d: _edit_config(d, position_embedding_type="relative_key"),
            "position_embedding_type: 'relative_key'",
        ),
        (lambda d: _edit_config(d, model_type="roberta"), "model_type: 'roberta'"),
        (lambda d: _edit_config(d, auto_map={"AutoModel": "x.Y"}), "auto_map"),
        (lambda d: _edit_config(d, is_decoder=True), "is_decoder"),
        (lambda d: _edit_config(d, num_attention_heads=5), "num_attention_heads: 5"),
        (lambda d: _edit_config(d, intermediate_size=100), "'encoder.layers.0.linear1.weight'"),
        (lambda d: _edit_config(d, num_hidden_layers=3), "missing weight 'bert.encoder.layer.2"),
        (
            lambda d: _edit_weights(d, lambda w: w.pop("bert.encoder.layer.1.output.dense.bias")),
            "missing weight 'bert.encoder.layer.1.output.dense.bias'",
        ),
        (lambda d: _edit_weights(d, _add_relative), "distance_embedding.weight' has no place"),
        (lambda d: _edit_weights(d, _untie), "not tied to the word embeddings"),
        (lambda d: (d / "model.safetensors").unlink(), "no weights"),
        (lambda d: (d / "config.json").write_text("{"), "config.json: cannot read"),
        (lambda d: (d / "config.json").unlink(), "config.json: missing"),
        (lambda d: shutil.rmtree(d), "no such Hugging Face model directory"),
    ],
)
def test_unrepresentable_checkpoints_are_one_line_errors(tmp_path, edit, match):
    d = _save(_hf_model(), tmp_path / "hfdir")
    edit(d)
    with pytest.raises(BiometalError, match=match) as e:
        hf.load_hf_bert(d)
    msg = str(e.value)
    assert "\n" not in msg and "hfdir" in msg


def test_vocab_must_agree_with_config(tmp_path):
    d = _save(_hf_model(), tmp_path / "hf")
    KmerTokenizer(4).save_vocabulary(d)  # 261 tokens for a 69-token model
    with pytest.raises(BiometalError, match="vocab.txt: 261 tokens, config.json vocab_size 69"):
        hf.load_hf_bert(d)
    (d / "vocab.txt").write_text("[PAD]\nhello\n")  # not k-mers: no tokenizer, still loads
    _, meta = hf.load_hf_bert(d)
    assert meta["tokenizer"] is None
    with pytest.raises(BiometalError, match="no k-mer vocab.txt"):
        hf.load_tokenizer(meta)


def test_old_checkpoints_load_unchanged(tmp_path):
    """A checkpoint whose meta predates layer_norm_eps / activation loads bit for bit."""
    from biometal.ml.dnabert.train import load_model

    torch.manual_seed(0)
    cfg = BertConfig(VOCAB, LENGTH, 32, 2, 4, 64, 0.1, 0, False)
    model = BertMLM(cfg).eval()
    old_meta = {k: v for k, v in cfg.to_dict().items() if k not in ("layer_norm_eps", "activation")}
    torch.save({"state_dict": model.state_dict(), "meta": {"model": old_meta}}, tmp_path / "m.pt")
    back, _ = load_model(tmp_path / "m.pt")
    assert back.norm.eps == 1e-5 and back.encoder.layers[0].activation_relu_or_gelu == 2
    ids = ex.random_tokens(4, LENGTH, VOCAB)
    mask = (ids != 0).astype(np.int64)
    assert np.array_equal(_ours(model, ids, mask)[0], _ours(back, ids, mask)[0])


def test_onnx_export_equals_transformers(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    ref = _hf_model("mlm", "gelu_new", 1e-12, seed=2)
    d = _save(ref, tmp_path / "hf")
    # the command line: hf dir -> ONNX checked against our torch forward, report
    rc = cli_main(
        ["dnabert-export", "--hf-dir", str(d), "--onnx", str(tmp_path / "enc.onnx"), "--report",
         str(tmp_path / "rep.json"), "--batch-sizes", "1,5"]
    )  # fmt: skip
    assert rc == 0
    rep = json.loads((tmp_path / "rep.json").read_text())
    assert rep["length"] == LENGTH and max(rep["onnx"]["max_abs_diff_vs_torch"].values()) < 1e-4
    sess = ort.InferenceSession(str(tmp_path / "enc.onnx"), providers=["CPUExecutionProvider"])
    for b in (1, 6):
        ids = ex.random_tokens(b, LENGTH, VOCAB, seed=10 + b)
        got = sess.run(["hidden"], {"input_ids": ids})[0]
        want, _ = _hf_hidden(ref, ids, (ids != 0).astype(np.int64))
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_export_cli_errors_are_one_line(tmp_path, capsys):
    d = _save(_hf_model(), tmp_path / "hf")
    _edit_config(d, hidden_act="silu")
    capsys.readouterr()  # transformers' progress bar
    assert cli_main(["dnabert-export", "--hf-dir", str(d), "--onnx", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "hidden_act: 'silu'" in err and str(d) in err
    assert not (tmp_path / "x.onnx").exists()


def test_load_any_reads_project_checkpoints(tmp_path):
    """The export's loader: HF directory, project encoder .pt, classifier .pt, or an error."""
    torch.manual_seed(0)
    enc = BertMLM(BertConfig(VOCAB, LENGTH, 32, 2, 4, 64)).eval()
    torch.save({"state_dict": enc.state_dict(), "meta": {"model": enc.config.to_dict()}},
               tmp_path / "enc.pt")  # fmt: skip
    clf = ft.SequenceClassifier(enc, 4).eval()
    ft.save_classifier(clf, tmp_path / "clf.pt")
    ids = torch.from_numpy(ex.random_tokens(3, LENGTH, VOCAB)).long()
    with torch.no_grad():
        assert torch.equal(ex.load_any(tmp_path / "enc.pt")(ids, ids != 0), enc(ids, ids != 0))
        assert torch.equal(ex.load_any(tmp_path / "clf.pt")(ids), clf(ids))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    for bad, match in (("junk.pt", "not a DNABERT checkpoint"), ("none.pt", "no such")):
        with pytest.raises(BiometalError, match=match):
            ex.load_any(tmp_path / bad)


def test_coreml_export_of_hf_encoder(tmp_path):
    pytest.importorskip("coremltools")
    d = _save(_hf_model("mlm", "gelu_new"), tmp_path / "hf")
    model = ex.load_any(d)
    ex.export_coreml(model, tmp_path / "enc.mlpackage", batch_sizes=(1, 4))
    rep = ex.validate_mlpackage(
        tmp_path / "enc.mlpackage", (1, 4), input_name="input_ids", output_name="hidden"
    )
    assert rep["batch_sizes"] == [1, 4] and rep["n_ops"] > 0


def _fastq(tmp_path, n=64, length=30, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    lines = []
    for i in range(n):
        p = np.full(4, 0.1)
        p[labels[i]] = 0.7
        seq = "".join("ACGT"[j] for j in rng.choice(4, length, p=p))
        lines += [f"@r{i}", seq, "+", "I" * length]
    path = tmp_path / "reads.fq"
    path.write_text("\n".join(lines) + "\n")
    return path, labels


def test_finetune_from_hf_dir(tmp_path):
    ref = _hf_model("mlm", "gelu", 1e-12, seed=3)
    d = _save(ref, tmp_path / "hf")
    torch.manual_seed(0)
    clf = ft.from_pretrained(d, 3, "multiclass")
    assert clf.training and clf.encoder.config.layer_norm_eps == 1e-12
    # the encoder starts as transformers' model
    ids = ex.random_tokens(3, LENGTH, VOCAB, seed=4)
    mask = (ids != 0).astype(np.int64)
    np.testing.assert_allclose(
        _ours(clf.encoder.eval(), ids, mask)[0], _hf_hidden(ref, ids, mask)[0], rtol=0, atol=ATOL
    )
    before = {k: v.clone() for k, v in clf.encoder.state_dict().items()}
    _, meta = ft.load_pretrained(d)
    path, labels = _fastq(tmp_path)
    ds = ft.LabelledReads(
        path, labels, k=meta["tokenizer"]["k"], tokenizer=hf.load_tokenizer(meta),
        max_length=LENGTH, batch_size=16, chunk_reads=32, seed=1,
    )  # fmt: skip
    tuner = ft.FineTuner(clf, ds, total_steps=6, lr=3e-3)
    losses = tuner.train(6)
    assert len(losses) == 6 and all(np.isfinite(losses))
    after = clf.encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the encoder trained
    ft.save_classifier(clf, tmp_path / "clf.pt")
    back, saved = ft.load_classifier(tmp_path / "clf.pt")
    assert saved["model"]["activation"] == "gelu" and saved["model"]["norm_first"] is False
    clf.eval()
    with torch.no_grad():
        t = torch.from_numpy(ids).long()
        assert torch.equal(back(t), clf(t))
    # and the fine-tuned classifier exports (ONNX == torch)
    ex.export_onnx(back, tmp_path / "clf.onnx")
    assert max(ex.check_onnx(back, tmp_path / "clf.onnx", (1, 4)).values()) < 1e-4


def test_tolerance_tells_gelu_variants_apart():
    """ATOL is meaningful: the same weights with exact GELU and with its tanh form
    (``gelu_new``) give hidden states further apart than it, so a reader that picked the
    wrong activation would fail the equality tests above."""
    ids = ex.random_tokens(9, LENGTH, VOCAB, seed=1)
    mask = (ids != 0).astype(np.int64)
    exact = _hf_hidden(_hf_model("mlm", "gelu", 1e-3), ids, mask)[0]
    tanh = _hf_hidden(_hf_model("mlm", "gelu_new", 1e-3), ids, mask)[0]
    assert np.abs(exact - tanh).max() > 3 * ATOL
