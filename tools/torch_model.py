"""torch_model.py: pegr's model and per-example loss written once in PyTorch, for the tools that need them
(tools/crosscheck_torch.py: the autograd reference `pegr grad` is checked against; tools/bench_peers.py: the
functorch peer). Plain autograd code: no closed form from docs/math.md.

  f(W, x) = (1/m) sum_r sum_p [relu(<W[0,r], x_p>)^q - relu(<W[1,r], x_p>)^q],  W (2, m, d), x (P, d)
  l_i     = softplus(-y_i f(W, x_i))
"""

import torch

try:  # per-example gradients: torch.func (torch >= 2.0), else functorch (torch 1.13), else none
    from torch.func import grad as func_grad, vmap as func_vmap
except ImportError:
    try:
        from functorch import grad as func_grad, vmap as func_vmap
    except ImportError:
        func_grad = func_vmap = None


def activation(z, q):
    """s(z) = max(z, 0)^q."""
    r = torch.relu(z)
    return r if q == 1.0 else r ** q


def softplus(u):
    """log(1 + exp(u)) as relu(u) + log1p(exp(-|u|)): no overflow and no cancellation for any u (torch 1.13's
    logaddexp loses digits: 2e-6 relative at u = -24). Its autograd is exact except at u = 0 exactly, which
    random problems never hit."""
    return torch.relu(u) + torch.log1p(torch.exp(-torch.abs(u)))


def model_output(W, x, q):
    """f(W, x) for one example x (P, d)."""
    s = activation(torch.einsum("pd,jrd->jrp", x, W), q)
    return (s[0].sum() - s[1].sum()) / W.shape[1]


def margins_batched(W, X3, q):
    """f(W, x_i) for all i: X3 (n, P, d)."""
    s = activation(torch.einsum("ipd,jrd->ijrp", X3, W), q)
    return (s[:, 0].sum((1, 2)) - s[:, 1].sum((1, 2))) / W.shape[1]


def example_loss(W, x, yi, q):
    """l_i for one example: the function vmap(grad(.)) differentiates."""
    return softplus(-yi * model_output(W, x, q))


def per_example_grads(W, X, y, q):
    """(n, 2, m, d) stack of grad l_i, differentiable w.r.t. W (create_graph: for a double backward)."""
    if func_vmap is not None:
        return func_vmap(func_grad(example_loss), in_dims=(None, 0, 0, None))(W, X, y, q)
    rows = [torch.autograd.grad(example_loss(W, X[i], y[i], q), W, create_graph=True)[0]
            for i in range(X.shape[0])]
    return torch.stack(rows)
