"""intone's lean Gemma 3 decoder gives transformers' logits: left padding, past the sliding window, int8."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def model():
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=300, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
        num_key_value_heads=2, head_dim=32, max_position_embeddings=256, sliding_window=5,
        layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
        initializer_range=0.2, pad_token_id=0,
    )
    model = Gemma3ForCausalLM(config).eval()
    with torch.no_grad():  # norms away from zero, so that a wrong (1 + w) would show
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_(0, 0.5)
    return model


def _batch(prompts):
    width = max(map(len, prompts))
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    present = torch.zeros((len(prompts), width), dtype=torch.bool)
    for row, p in enumerate(prompts):
        ids[row, width - len(p):] = torch.tensor(p)
        present[row, width - len(p):] = True
    return ids, present, (present.long().cumsum(-1) - 1).clamp(min=0)


def _reference(model, ids, present, positions):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=present.long(), position_ids=positions).logits


def test_prefill_logits_equal_transformers_with_left_padding(model):
    from intone.train.decode import Cache, Gemma3Decoder

    decoder = Gemma3Decoder(model)
    prompts = [list(range(10, 22)), [5, 6, 7], list(range(40, 48))]
    ids, present, positions = _batch(prompts)
    cache = Cache(decoder, len(prompts), ids.shape[1] + 4, present)
    mine = decoder.forward(ids, positions, cache, last_only=False)
    ref = _reference(model, ids, present, positions)
    assert torch.allclose(mine[present], ref[present], atol=1e-4)  # pads' own logits are not used


def test_step_by_step_decoding_past_the_window_equals_one_full_pass(model):
    from intone.train.decode import Cache, Gemma3Decoder

    decoder = Gemma3Decoder(model)
    prompts = [[11, 12, 13], [21, 22, 23, 24, 25, 26]]
    follow = [[31, 32, 33, 34, 35, 36, 37, 38, 39], [41, 42, 43, 44, 45, 46, 47, 48, 49]]  # 15 > window 5
    ids, present, positions = _batch(prompts)
    cache = Cache(decoder, 2, ids.shape[1] + len(follow[0]), present)
    steps = [decoder.forward(ids, positions, cache)]
    pos = positions[:, -1]
    for i in range(len(follow[0]) - 1):
        cache.present[:, cache.length] = True
        pos = pos + 1
        steps.append(decoder.forward(torch.tensor([[f[i]] for f in follow]), pos[:, None], cache))
    full_ids, full_present, full_pos = _batch([p + f[:-1] for p, f in zip(prompts, follow, strict=True)])
    ref = _reference(model, full_ids, full_present, full_pos)
    width = ids.shape[1]
    # the same left padding: row 0 has 3 pads in both
    for i, logits in enumerate(steps):
        assert torch.allclose(logits, ref[:, width - 1 + i], atol=1e-4), i


def test_rows_that_finish_leave_the_batch_without_changing_the_others(model):
    from intone.train.decode import Gemma3Decoder, decode

    decoder = Gemma3Decoder(model)
    prompts = [[11, 12, 13], [21, 22, 23, 24], [7, 8]]
    STOP = 299

    def run(batch, stop_row=None):
        step = []

        def choose(scores):
            out = scores.argmax(-1)
            if stop_row is not None and len(step) == 3:
                out[stop_row] = STOP  # this row says end of turn at its 4th token
            step.append(scores.shape[0])
            return out

        return decode(decoder, batch, max_new_tokens=8, min_new_tokens=0, stop_ids=[STOP], pad_id=0,
                      choose=choose, int8=False), step

    alone = [run([p])[0][0].tokens for p in prompts]
    together, rows = run(prompts, stop_row=1)
    assert rows == [3, 3, 3, 3, 2, 2, 2, 2]  # the finished row left the batch
    assert together[1].stopped and together[1].tokens == alone[1][:3]
    assert [together[0].tokens, together[2].tokens] == [alone[0], alone[2]]
    assert not together[0].stopped and len(alone[0]) == 8


def test_quantized_weights_stay_close_to_fp32_and_are_used_for_up_to_eight_rows(model, monkeypatch):
    from intone.train import products as module
    from intone.train.decode import Cache, Gemma3Decoder, decode

    decoder = Gemma3Decoder(model)
    decoder.quantize()
    if not decoder.quantized or decoder.screened is None:
        pytest.skip("torch's int8 / int4 weight kernels do not run here")
    monkeypatch.setattr(module, "INT8_MAX_ROWS", 10**6)  # every product quantized, the prompt's too
    monkeypatch.setattr(module, "SCREEN_MAX_ROWS", 10**6)
    ids, present, positions = _batch([list(range(10, 30))])
    exact = decoder.forward(ids, positions, Cache(decoder, 1, 32, present), last_only=False, int8=False)
    approx = decoder.forward(ids, positions, Cache(decoder, 1, 32, present), last_only=False, int8=True)
    assert not torch.equal(exact, approx)  # the quantized path really ran
    p, q = torch.log_softmax(exact, -1), torch.log_softmax(approx, -1)
    assert float((p.exp() * (p - q)).sum(-1).mean()) < 0.01
    assert torch.equal(exact.argmax(-1), approx.argmax(-1))
    int8_calls, int4_calls = [], []
    int8_mm, int4_mm = module._int8_mm, module._int4_mm
    monkeypatch.setattr(module, "_int8_mm", lambda x, *a: int8_calls.append(x.shape[0]) or int8_mm(x, *a))
    monkeypatch.setattr(module, "_int4_mm", lambda x, *a: int4_calls.append(x.shape[0]) or int4_mm(x, *a))
    monkeypatch.setattr(module, "INT8_MAX_ROWS", 8)
    monkeypatch.setattr(module, "SCREEN_MAX_ROWS", 8)

    def run(prompts, **kwargs):
        int8_calls.clear()
        int4_calls.clear()
        decode(decoder, prompts, max_new_tokens=3, min_new_tokens=3, stop_ids=[], pad_id=0,
                      choose=lambda s: s.argmax(-1), **kwargs)
        return list(int8_calls), list(int4_calls)

    layers = 4 * len(decoder.layers)  # qkv, o, gate-up, down in each layer
    # the prompt's 20 rows are fp32; its last position's head and two decoding steps are quantized
    assert run([list(range(5, 25))]) == ([1] * 2 * layers, [1, 1, 1])
    # a prompt of 3 x 2 tokens is 6 rows: quantized too, as are its head's 3 rows and two steps of 3
    assert run([[5, 6]] * 3) == ([6] * layers + [3] * 2 * layers, [3, 3, 3])
    assert run([[5, 6]] * 9) == ([], [])  # nine rows: fp32
    assert run([[5, 6]] * 3, int8=False) == ([], [])


def test_the_screened_head_is_exact_for_each_rows_best_tokens(model, monkeypatch):
    from intone.train import products as module
    from intone.train.products import ScreenedHead

    weight = model.lm_head.weight.detach()  # 300 rows: padded to a multiple of 16 for the kernel
    head = ScreenedHead(weight)
    if not head.quantize():
        pytest.skip("torch's int4 weight kernel does not run here")
    monkeypatch.setattr(module, "SCREEN", 16)
    x = torch.randn(3, weight.shape[1])
    exact = x @ weight.t()
    got = head(x)
    assert got.shape == exact.shape
    estimate = module._int4_mm(x, head.packed, head.scales, module.INT4_GROUP)[:, : weight.shape[0]]
    screened = estimate.topk(16, dim=-1).indices
    assert torch.allclose(got.gather(1, screened), exact.gather(1, screened), atol=1e-5)
    rest = torch.ones_like(got, dtype=torch.bool).scatter_(1, screened, False)
    assert not torch.allclose(got[rest], exact[rest], atol=1e-6)  # the others keep the 4-bit estimate
    assert torch.allclose(got[rest], exact[rest], atol=0.1 * float(exact.abs().max()))
    assert torch.equal(got.argmax(-1), exact.argmax(-1))
    assert torch.equal(got.topk(8).indices.sort().values, exact.topk(8).indices.sort().values)


def test_a_merge_in_place_is_seen_by_the_fp32_path(model):
    # PEFT merges by swapping a Parameter's data; the decoder holds Parameters, so it sees it.
    from intone.train.decode import Cache, Gemma3Decoder

    decoder = Gemma3Decoder(model)
    ids, present, positions = _batch([[3, 4, 5]])
    before = decoder.forward(ids, positions, Cache(decoder, 1, 8, present))
    weight = model.model.layers[0].mlp.down_proj.weight
    original = weight.data
    try:
        weight.data = original * 1.5
        after = decoder.forward(ids, positions, Cache(decoder, 1, 8, present))
    finally:
        weight.data = original
    assert not torch.allclose(before, after)
    assert torch.allclose(after, _reference(model_with(weight, original * 1.5, model), ids, present, positions)[:, -1],
                          atol=1e-4)


def model_with(weight, data, model):
    weight.data = data
    return model


def test_models_it_does_not_run_keep_transformers_generate(model):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    from intone.train.decode import supports

    assert supports(model)
    dynamic = Gemma3TextConfig(
        vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16,
        rope_parameters={"full_attention": {"rope_type": "dynamic", "rope_theta": 1e6, "factor": 2.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
    )
    assert not supports(Gemma3ForCausalLM(dynamic))  # its frequencies change with the length
    half = Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=1, head_dim=16,
    )).to(torch.bfloat16)
    assert not supports(half)
