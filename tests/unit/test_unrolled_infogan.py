"""Unrolled InfoGAN, its three procedures. The differentiable unroll: K = 0 is InfoGAN step
for step, and the generator's gradient flows through the K unrolled discriminator steps
(checked against finite differences). The report's own look-ahead: each step is the code's
D, G, Q sequence (checked against a replay written out here), D's weights are restored
within G's step, and G's gradient is first order. The code's train.py (`folded_q`): one
step is its D, then G + Q sequence, written out."""

import pytest
import torch
import torch.nn.functional as F

from bench import create_method
from bench.config import TrainConfig
from bench.errors import BenchError
from bench.methods import unroll
from bench.rng import seed_everything
from tests.helpers import train_alone
from tests.plugin import load_toy


def train(name, steps=3, **overrides):
    seed_everything(3)
    data = load_toy(None)
    method = create_method(name, image_shape=data.image_shape, **overrides)
    config = TrainConfig(steps=steps, batch_size=16, log_every=1, checkpoint_every=0)
    outcome = train_alone(method, data, config, seed=3)
    return method, outcome


# InfoGAN's settings where the report's code differs from InfoGAN's authors
AS_INFOGAN = {"noise": "uniform", "init": "authors", "q_learn_std": False, "lambda_cont": 1.0}


def test_k0_equals_infogan_step_for_step():
    plain, plain_run = train("infogan")
    unrolled, unrolled_run = train("unrolled_infogan", k=0, unroll_rule="adam", **AS_INFOGAN)
    assert unrolled_run.losses == plain_run.losses  # every step's every loss, exactly
    state = unrolled.state_dict()
    for key, value in plain.state_dict().items():
        assert torch.equal(state[key], value), key


def test_k1_trains_differently_from_infogan():
    plain, _ = train("infogan", steps=1)
    unrolled, _ = train("unrolled_infogan", steps=1, k=1, unroll_rule="adam", **AS_INFOGAN)
    g_plain, g_unrolled = plain.generator[0].weight, unrolled.generator[0].weight
    assert not torch.allclose(g_plain, g_unrolled)


# -- the unrolling itself, on a tiny model in float64 ---------------------------------------

def tiny_problem():
    gen = torch.Generator().manual_seed(0)
    theta_g = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    d_params = {"v": torch.randn(5, 4, generator=gen, dtype=torch.float64),
                "w": torch.randn(5, generator=gen, dtype=torch.float64)}
    z = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    real = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    return theta_g, d_params, z, real


def d_logit(p, x):
    return torch.tanh(x @ p["v"].T) @ p["w"]


def d_loss(p, real, fake):
    return (F.binary_cross_entropy_with_logits(d_logit(p, real), torch.ones(len(real), dtype=real.dtype))
            + F.binary_cross_entropy_with_logits(d_logit(p, fake), torch.zeros(len(fake), dtype=fake.dtype)))


def surrogate(theta_g, d_params, z, real, rule, steps, adam):
    """f_K(theta_G): G's non-saturating loss against D after `steps` unrolled steps."""
    fake = torch.tanh(z @ theta_g)
    start = {k: v.clone().requires_grad_() for k, v in d_params.items()}
    d_k = unroll.unroll(lambda p: d_loss(p, real, fake), start, steps, rule, lr=0.5, adam=adam)
    logit = d_logit(d_k, fake)
    return F.binary_cross_entropy_with_logits(logit, torch.ones(len(fake), dtype=fake.dtype))


def adam_state(d_params):
    gen = torch.Generator().manual_seed(1)
    avg = {k: 0.1 * torch.randn(v.shape, generator=gen, dtype=v.dtype) for k, v in d_params.items()}
    avg_sq = {k: torch.rand(v.shape, generator=gen, dtype=v.dtype) * 0.01 for k, v in d_params.items()}
    return unroll.AdamState(lr=0.05, betas=(0.5, 0.999), eps=1e-8, step=3, exp_avg=avg, exp_avg_sq=avg_sq)


@pytest.mark.parametrize("rule", ["sgd", "adam"])
@pytest.mark.parametrize("steps", [1, 3])
def test_generator_gradient_through_the_unroll_matches_finite_differences(rule, steps):
    theta_g, d_params, z, real = tiny_problem()
    adam = adam_state(d_params) if rule == "adam" else None
    theta = theta_g.clone().requires_grad_()
    (grad,) = torch.autograd.grad(surrogate(theta, d_params, z, real, rule, steps, adam), theta)

    eps = 1e-6
    numeric = torch.zeros_like(theta_g)
    for i in range(theta_g.numel()):
        bump = torch.zeros_like(theta_g).view(-1)
        bump[i] = eps
        bump = bump.view_as(theta_g)
        up = surrogate(theta_g + bump, d_params, z, real, rule, steps, adam).detach()
        down = surrogate(theta_g - bump, d_params, z, real, rule, steps, adam).detach()
        numeric.view(-1)[i] = (up - down) / (2 * eps)
    assert torch.allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    # the copy-step-restore shortcut drops D's response to G (eq. 11's second term): it
    # gives a different gradient, so this test tells real unrolling from the shortcut
    def shortcut(theta_g):
        fake = torch.tanh(z @ theta_g)
        start = {k: v.clone().requires_grad_() for k, v in d_params.items()}
        d_k = unroll.unroll(lambda p: d_loss(p, real, fake.detach()), start, steps, rule, lr=0.5, adam=adam)
        d_k = {k: v.detach() for k, v in d_k.items()}
        return F.binary_cross_entropy_with_logits(d_logit(d_k, fake), torch.ones(len(fake), dtype=fake.dtype))

    theta = theta_g.clone().requires_grad_()
    (shortcut_grad,) = torch.autograd.grad(shortcut(theta), theta)
    assert not torch.allclose(shortcut_grad, numeric, rtol=1e-3, atol=1e-6)


def test_differentiable_adam_step_equals_torch_adam():
    _, d_params, _, _ = tiny_problem()
    params = {k: torch.nn.Parameter(v.clone()) for k, v in d_params.items()}
    optimizer = torch.optim.Adam(params.values(), lr=0.01, betas=(0.5, 0.999))
    for _ in range(3):  # real steps with changing gradients, then one more to compare
        optimizer.zero_grad()
        sum((p**3).sum() for p in params.values()).backward()
        optimizer.step()
    state = unroll.AdamState.from_optimizer(optimizer, params)
    grads = {k: 3 * p.detach() ** 2 for k, p in params.items()}
    ours, _ = unroll.adam_step({k: p.detach() for k, p in params.items()}, grads, state, t=4)
    optimizer.zero_grad()
    sum((p**3).sum() for p in params.values()).backward()
    optimizer.step()
    for k, p in params.items():
        assert torch.allclose(ours[k], p.detach(), rtol=1e-12, atol=1e-12), k


# -- the adapter: G's loss sees D's response; Q sees the current D -------------------------

def adapter(k, rule="adam"):
    seed_everything(0)
    method = create_method("unrolled_infogan", image_shape=(1, 32, 32), k=k, unroll_rule=rule,
                           unroll_lr=0.05).double()
    x = torch.rand(8, 1, 32, 32, dtype=torch.float64) * 2 - 1
    d_phase = method.training_phases()[0]
    optimizer = torch.optim.Adam(d_phase.parameters, lr=d_phase.lr, betas=d_phase.betas)
    optimizer.zero_grad()
    d_phase.loss(x)["loss"].backward()
    optimizer.step()  # so D's Adam has moments to continue from
    method.bind_optimizers({"D": optimizer})
    return method, x


def seeded_g_loss(method, x):
    torch.manual_seed(11)  # the same codes at every evaluation
    return method.g_loss(x)


@pytest.mark.parametrize("rule", ["adam", "sgd"])
def test_adapter_generator_gradient_matches_finite_differences_at_k1(rule, float64):
    method, x = adapter(k=1, rule=rule)
    params = list(method.generator.parameters())
    gen = torch.Generator().manual_seed(5)
    direction = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in params]
    grads = torch.autograd.grad(seeded_g_loss(method, x)["g_gan"], params)
    analytic = sum((g * d).sum() for g, d in zip(grads, direction))

    eps = 1e-8  # BatchNorm over 8 images and leaky ReLUs make the loss sharply curved

    def shifted(sign):
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.add_(sign * eps * d)
        value = seeded_g_loss(method, x)["g_gan"].detach()
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.sub_(sign * eps * d)
        return value

    numeric = (shifted(1) - shifted(-1)) / (2 * eps)
    assert analytic.item() == pytest.approx(numeric.item(), rel=1e-3, abs=1e-6)


def test_mutual_information_term_uses_the_current_discriminator(float64):
    method, x = adapter(k=0)
    at_k0 = seeded_g_loss(method, x)
    method.config.k = 3
    at_k3 = seeded_g_loss(method, x)
    assert at_k3["q_disc"].item() == at_k0["q_disc"].item()
    assert at_k3["q_cont"].item() == at_k0["q_cont"].item()
    assert at_k3["g_gan"].item() != pytest.approx(at_k0["g_gan"].item(), rel=1e-6)


def test_unrolled_passes_leave_batchnorm_statistics_as_a_plain_step_does(float64):
    method, x = adapter(k=0)
    seeded_g_loss(method, x)
    after_k0 = {k: b.clone() for k, b in method.trunk.named_buffers()}
    method, x = adapter(k=3)
    seeded_g_loss(method, x)
    for key, value in method.trunk.named_buffers():
        assert torch.equal(value, after_k0[key]), key


# -- the report's own procedure: look-ahead D, G, then Q with its own Adam --------------------

def lookahead(k, seed=0):
    seed_everything(seed)
    data = load_toy(None)
    method = create_method("unrolled_infogan", image_shape=(1, 32, 32), k=k).double().train()
    method.bind_training_data(data.train_x)
    phases = method.training_phases()
    optimizers = {p.name: torch.optim.Adam(p.parameters, lr=p.lr, betas=p.betas) for p in phases}
    method.bind_optimizers(optimizers)
    x = data.train_x[:16].double() / 127.5 - 1
    return method, phases, optimizers, x


def run_phase(phase, optimizer, x):
    out = phase.loss(x)
    optimizer.zero_grad(set_to_none=True)
    out["loss"].backward()
    optimizer.step()
    return out


def test_lookahead_phases_are_the_reports_d_g_q_sequence(float64):
    method, phases, optimizers, _ = lookahead(k=0)
    assert [(p.name, p.lr) for p in phases] == [("D", 2e-4), ("G", 1e-3), ("Q", 1e-3)]
    trains = {p.name: {id(q) for q in p.parameters} for p in phases}
    ids = lambda *nets: {id(q) for net in nets for q in net.parameters()}  # noqa: E731
    assert trains == {"D": ids(method.trunk, method.d_head), "G": ids(method.generator),
                      "Q": ids(method.q_head, method.generator)}  # D's loss has no MI term; Q has its own Adam


def test_lookahead_at_k0_is_the_reports_step_written_out(float64):
    ours, phases, optimizers, x = lookahead(k=0)
    torch.manual_seed(7)
    for phase in phases:
        run_phase(phase, optimizers[phase.name], x)

    ref, _, _, _ = lookahead(k=0)  # the code's iteration, by hand
    opt_d = torch.optim.Adam([*ref.trunk.parameters(), *ref.d_head.parameters()], lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(ref.generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_q = torch.optim.Adam([*ref.q_head.parameters(), *ref.generator.parameters()], lr=1e-3, betas=(0.5, 0.999))
    torch.manual_seed(7)
    with torch.no_grad():
        fake = ref.generate(ref.sample_codes(16))
    d_loss = (F.binary_cross_entropy_with_logits(ref.d_head(ref.trunk(x)), torch.ones(16, 1, dtype=x.dtype))
              + F.binary_cross_entropy_with_logits(ref.d_head(ref.trunk(fake)), torch.zeros(16, 1, dtype=x.dtype)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    codes = ref.sample_codes(16)
    g_loss = F.binary_cross_entropy_with_logits(ref.d_head(ref.trunk(ref.generate(codes))),
                                                torch.ones(16, 1, dtype=x.dtype))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    out = ref.q_head(ref.trunk(ref.generate(codes)))
    mean, std = out[:, 10:12], F.softplus(out[:, 12:]) + 1e-5
    nll = (0.5 * torch.log(2 * torch.pi * std**2 + 1e-6) + (codes["continuous"] - mean) ** 2 / (2 * std**2 + 1e-6))
    q_loss = F.cross_entropy(out[:, :10], codes["categorical"]) + 0.1 * nll.sum(1).mean()
    opt_q.zero_grad()
    q_loss.backward()
    opt_q.step()
    # 1e-9: a bias just before BatchNorm has a zero gradient up to rounding, which Adam
    # scales up (~1e-12 here); a real difference moves weights by ~lr = 1e-3
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        assert torch.allclose(a.double(), b.double(), rtol=1e-10, atol=1e-9), (name, (a - b).abs().max().item())


def test_lookahead_restores_d_within_gs_step_and_keeps_ds_adam_advanced(float64):
    method, phases, optimizers, x = lookahead(k=3)
    d_phase, g_phase, q_phase = phases
    run_phase(d_phase, optimizers["D"], x)
    before = [p.detach().clone() for p in d_phase.parameters]
    steps_before = optimizers["D"].state[d_phase.parameters[0]]["step"].item()
    run_phase(g_phase, optimizers["G"], x)
    ahead = list(method.lookahead.ahead.values())
    assert any(not torch.equal(a, b) for a, b in zip(ahead, before))  # G saw a look-ahead D
    assert all(torch.equal(p, b) for p, b in zip(d_phase.parameters, before))  # D's weights are back
    assert optimizers["D"].state[d_phase.parameters[0]]["step"].item() == steps_before + 3  # not restored


def test_lookahead_generator_gradient_is_first_order(float64):
    method, phases, optimizers, x = lookahead(k=2)
    run_phase(phases[0], optimizers["D"], x)
    torch.manual_seed(3)
    out = phases[1].loss(x)
    grads = torch.autograd.grad(out["loss"], list(method.generator.parameters()))
    # the same loss with D's own modules holding the look-ahead weights as constants: no
    # term through D's K steps
    params = method._d_named()
    current = {name: p.detach().clone() for name, p in params.items()}
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(method.lookahead.ahead[name])
    fixed = F.binary_cross_entropy_with_logits(method.d_head(method.trunk(method.generate(method._codes))),
                                               torch.ones(16, 1, dtype=x.dtype))
    fixed_grads = torch.autograd.grad(fixed, list(method.generator.parameters()))
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(current[name])
    for g, f in zip(grads, fixed_grads):
        assert torch.allclose(g, f, rtol=1e-10, atol=1e-12)


# -- the code's train.py (the report's K = 0 row): Q folded into G's step ------------------------

def test_folded_q_is_the_codes_train_py_written_out(float64):
    seed_everything(0)
    data = load_toy(None)
    ours = create_method("unrolled_infogan", image_shape=(1, 32, 32), k=0, unroll_rule="folded_q").double().train()
    phases = ours.training_phases()
    assert [(p.name, p.lr) for p in phases] == [("D", 2e-4), ("G", 1e-3)]
    x = data.train_x[:16].double() / 127.5 - 1
    torch.manual_seed(7)
    for phase in phases:
        run_phase(phase, torch.optim.Adam(phase.parameters, lr=phase.lr, betas=phase.betas), x)

    seed_everything(0)
    ref = create_method("unrolled_infogan", image_shape=(1, 32, 32), k=0, unroll_rule="folded_q").double().train()
    opt_d = torch.optim.Adam([*ref.trunk.parameters(), *ref.d_head.parameters()], lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(ref.generator.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_q = torch.optim.Adam(ref.q_head.parameters(), lr=1e-3, betas=(0.5, 0.999))  # Q's head only
    torch.manual_seed(7)
    with torch.no_grad():
        fake = ref.generate(ref.sample_codes(16))
    d_loss = (F.binary_cross_entropy_with_logits(ref.d_head(ref.trunk(x)), torch.ones(16, 1, dtype=x.dtype))
              + F.binary_cross_entropy_with_logits(ref.d_head(ref.trunk(fake)), torch.zeros(16, 1, dtype=x.dtype)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    codes = ref.sample_codes(16)
    features = ref.trunk(ref.generate(codes))  # one D pass gives D's logit and Q's outputs
    out = ref.q_head(features)
    mean, std = out[:, 10:12], F.softplus(out[:, 12:]) + 1e-5
    nll = (0.5 * torch.log(2 * torch.pi * std**2 + 1e-6) + (codes["continuous"] - mean) ** 2 / (2 * std**2 + 1e-6))
    loss = (F.binary_cross_entropy_with_logits(ref.d_head(features), torch.ones(16, 1, dtype=x.dtype))
            + F.cross_entropy(out[:, :10], codes["categorical"]) + 0.1 * nll.sum(1).mean())
    opt_g.zero_grad(), opt_q.zero_grad()
    loss.backward()
    opt_g.step(), opt_q.step()
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        assert torch.allclose(a.double(), b.double(), rtol=1e-10, atol=1e-9), (name, (a - b).abs().max().item())


@pytest.mark.parametrize("settings, message", [({"k": 5}, "use k=0"), ({"k": 0, "lr_q": 2e-3}, "must equal lr_g")])
def test_folded_q_refuses_what_train_py_does_not_do(settings, message):
    with pytest.raises(BenchError, match=message):
        create_method("unrolled_infogan", image_shape=(1, 32, 32), unroll_rule="folded_q", **settings)
