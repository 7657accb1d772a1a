"""Part 4, information theory: entropy, cross-entropy, KL divergence and mutual information.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math

import scipy.optimize
import scipy.stats

import chainrule as cr
import chainrule.numpy as np
from chainrule import info, nn, stats
from chainrule.check import numerical_jacobian
from chainrule.integrate import quad
from chainrule.learn.tour import check, figure, show, stop

PART = "information"


@stop("entropy", "Entropy", "the surprise of a coin against p, in bits and nats")
def _entropy() -> None:
    """
    An outcome of probability p carries -log p of surprise: a certain one none, a
    one-in-a-million one a lot. Entropy is the average surprise of a distribution,
    H(p) = -Σ pᵢ log pᵢ: how uncertain it is, and how many bits an optimal code needs per
    outcome on average. With log base 2 it is in bits, with the natural log in nats; one bit is
    ln 2 = 0.6931 nats.

    A fair coin has 1 bit, a coin with heads 90% of the time only 0.469: mostly it says
    what you expected. The entropy of a coin, -p log₂ p - (1 - p) log₂(1 - p), peaks at
    p = ½ and is 0 at p = 0 and 1 (0 log 0 = 0 by convention); its slope is
    log₂((1 - p) / p). The uniform distribution over n outcomes has the most, log n:
    a fair die 2.585 bits. A classifier's confident prediction is a low-entropy one.
    """
    for p in [0.5, 0.9, 0.99, 1.0]:
        coin = np.array([p, 1 - p])
        bits, nats = info.entropy(coin, base=2), info.entropy(coin)
        formula = -sum(q * math.log2(q) for q in (p, 1 - p) if q > 0)  # 0 log 0 = 0
        witness = [formula, scipy.stats.entropy(coin), bits * math.log(2)]
        print(f"coin with P(heads) = {p:<4}: {bits:.4f} bits = {nats:.4f} nats", end="")
        print(f"  {check([bits, nats, nats], witness)}")
    die = info.entropy(np.full(6, 1 / 6), base=2)
    print(f"a fair die: {die:.4f} bits = log2 6  {check(die, math.log2(6))}")

    def coin_entropy(p):
        return info.entropy(np.stack([p, 1 - p]), base=2)

    slope = cr.grad(coin_entropy)(0.2)
    print(f"dH/dp at p = 0.2: {slope:.4f} = log2(0.8 / 0.2)  {check(slope, math.log2(4))}")

    import matplotlib.pyplot as plt

    ps = np.linspace(0.0, 1.0, 201)
    coins = np.stack([ps, 1 - ps], axis=1)  # 201 coins, one a row
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(ps, info.entropy(coins, base=2), label="in bits (log base 2)")
    ax.plot(ps, info.entropy(coins), label="in nats (natural log)")
    ax.set(xlabel="P(heads) = p", ylabel="H(p)", title="The entropy of a coin")
    ax.legend()
    ax.grid(alpha=0.3)
    print(figure(fig, "entropy-coin"))


@stop("cross-entropy", "Cross-entropy", "the cost of the wrong code, and the classification loss")
def _cross_entropy() -> None:
    """
    Cross-entropy H(p, q) = -Σ pᵢ log qᵢ is the average surprise when the outcomes follow
    p but you expect q: the length of a code built for q, used on data from p. It is at
    least H(p), with equality only when q = p, and the excess is the KL divergence:
    H(p, q) = H(p) + KL(p ‖ q).

    This is the classification loss. A model turns logits z into probabilities
    q = softmax(z); the target p is one-hot on the true class, so H(p) = 0 and the loss
    is H(p, q) = -log q_label. `nn.cross_entropy(logits, label)` computes exactly that
    (stably, from the logits), and its gradient with respect to the logits is simply
    q - p: the predicted probabilities minus the target. Soft targets (label smoothing,
    distillation) use the same formula with a p that is not one-hot.
    """
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.5, 0.3, 0.2])
    H_pq = info.cross_entropy(p, q)
    print(f"H(p, q) = {H_pq:.4f} nats >= H(p) = {info.entropy(p):.4f}", end="")
    print(f"  {check(H_pq, -np.sum(p * np.log(q)))}")
    print(f"H(p) + KL(p || q) = {info.entropy(p) + info.kl_divergence(p, q):.4f}", end="")
    print(f"  {check(H_pq, info.entropy(p) + info.kl_divergence(p, q))}")

    logits, label = np.array([2.0, 1.0, -1.0]), 0  # the model says class 0, rightly
    one_hot = np.array([1.0, 0.0, 0.0])
    loss = nn.cross_entropy(logits, np.array(label))
    probs = nn.softmax(logits)
    print(f"softmax(logits) = {show(probs)}, loss {loss:.4f} = -log q_label", end="")
    print(f"  {check(loss, -math.log(probs[label]))}", end="")
    print(f" = H(one-hot, q) {check(loss, info.cross_entropy(one_hot, probs))}")
    gradient = cr.grad(nn.cross_entropy)(logits, np.array(label))
    print(f"gradient in the logits: {show(gradient)} = q - p  {check(gradient, probs - one_hot)}")
    soft = np.array([0.8, 0.1, 0.1])  # a soft target
    soft_loss = nn.cross_entropy(logits, soft)
    print(f"soft target {show(soft)}: loss {soft_loss:.4f}", end="")
    print(f"  {check(soft_loss, info.cross_entropy(soft, probs))}")


@stop("kl", "KL divergence", "how far q is from p, asymmetric, and its gradient")
def _kl() -> None:
    """
    The Kullback–Leibler divergence KL(p ‖ q) = Σ pᵢ log(pᵢ / qᵢ) measures the extra
    surprise of expecting q when p is true. It is >= 0, and 0 only when q = p, but it is not
    a distance: it is not symmetric. KL(p ‖ q) is large where p has mass and q has little
    (q is punished for missing what p can do); KL(q ‖ p) the other way around.

    That asymmetry decides what a model learns. Fitting q by minimising KL(p ‖ q)
    (maximum likelihood does this) makes q cover all of p, spread out if it must;
    minimising KL(q ‖ p) (variational inference does this) lets q sit on one part of p
    and ignore the rest. Below, on four outcomes, p has two modes and q one bump between
    them: the two divergences differ. Then a single normal q is fitted to a two-humped p
    by each: minimising KL(p ‖ q) spreads q over both humps (it matches p's mean and
    variance), minimising KL(q ‖ p) puts q on one hump, where KL(q ‖ p) is about log 2
    (q misses half of p).

    For q = softmax(z), the gradient of KL(p ‖ q) in z is q - p, the cross-entropy's: p's
    entropy does not depend on z. Between two normals KL has a closed form,
    log(σ₂/σ₁) + (σ₁² + (μ₁ - μ₂)²) / 2σ₂² - ½ (`info.gaussian_kl`): the term of a VAE's loss
    that pulls each code N(μ, σ²) towards N(0, 1).
    """
    p = np.array([0.45, 0.05, 0.05, 0.45])  # two modes
    q = np.array([0.1, 0.4, 0.4, 0.1])  # one bump in the middle
    forward, backward = info.kl_divergence(p, q), info.kl_divergence(q, p)
    print(f"KL(p || q) = {forward:.4f}  {check(forward, scipy.stats.entropy(p, q))}")
    print(f"KL(q || p) = {backward:.4f}  {check(backward, scipy.stats.entropy(q, p))}")
    print(f"not symmetric: {forward:.4f} != {backward:.4f}", end="")
    print(f"; KL(p || p) = {info.kl_divergence(p, p)}  {check(info.kl_divergence(p, p), 0)}")

    z = np.array([0.5, 1.0, -0.5, 0.0])

    def kl_to_model(z):
        return info.kl_divergence(p, nn.softmax(z))

    gradient = cr.grad(kl_to_model)(z)
    print(f"gradient of KL(p || softmax z): {show(gradient)} = softmax(z) - p", end="")
    print(f"  {check(gradient, nn.softmax(z) - p)}")
    print(f"central differences agree: {check(gradient, numerical_jacobian(kl_to_model, z))}")
    # Between two normals KL has a closed form; the integral of p log(p / q) agrees.
    closed = info.gaussian_kl(1.0, 0.5, 0.0, 1.0)  # KL(N(1, 0.5²) || N(0, 1))
    p1, q1 = stats.Normal(1.0, 0.5), stats.Normal(0.0, 1.0)
    integral, _ = quad(lambda t: p1.prob(t) * (p1.log_prob(t) - q1.log_prob(t)), -np.inf, np.inf)
    print(f"KL(N(1, 0.5²) || N(0, 1)) = {closed:.6f}, by quad {integral:.6f}", end="")
    print(f"  {check(closed, integral)}")

    # Fit one normal bump q to a two-humped p on a grid, minimising each KL in turn.
    x = np.linspace(-6.0, 6.0, 241)
    p = np.exp(-((x - 2) ** 2) / 0.5) + np.exp(-((x + 2) ** 2) / 0.5)
    p = p / np.sum(p)

    def bump(theta):  # a normal with mean theta[0] and log standard deviation theta[1]
        w = np.exp(-((x - theta[0]) ** 2) / (2 * np.exp(2 * theta[1])))
        return w / np.sum(w)

    def mean_std(d):  # of a distribution on the grid
        mean = np.sum(d * x)
        return np.array([mean, np.sqrt(np.sum(d * (x - mean) ** 2))])

    print(f"p: mean and std {show(mean_std(p))}")
    fits = {}
    for name, divergence in [
        ("KL(p || q)", lambda t: info.kl_divergence(p, bump(t))),
        ("KL(q || p)", lambda t: info.kl_divergence(bump(t), p)),
    ]:
        gradient, hessian = cr.grad(divergence), cr.hessian(divergence)
        fit = scipy.optimize.minimize(
            divergence, [1.0, -0.5], jac=gradient, hess=hessian, method="trust-exact", tol=1e-10
        )  # Newton's method with a trust region, with chainrule's gradient and Hessian
        fits[name] = fit.x
        print(f"q minimising {name} = {fit.fun:.4f}: mean and std {show(mean_std(bump(fit.x)))}")
    # KL(p || q) is smallest where q's mean and E[x²] match p's (q is an exponential family).
    covering = bump(fits["KL(p || q)"])
    print(f"KL(p || q)'s q has p's mean and std: {check(mean_std(covering), mean_std(p))}")
    # KL(q || p) has no such formula: a search without derivatives finds the same point.
    search = scipy.optimize.minimize(
        lambda t: info.kl_divergence(bump(t), p), [1.0, -0.5], method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-15},
    )  # fmt: skip
    print(f"Nelder-Mead agrees on KL(q || p)'s q: {check(fits['KL(q || p)'], search.x, tol=1e-6)}")

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.fill_between(x, p, alpha=0.3, label="p (two modes)")
    for name, theta in fits.items():
        ax.plot(x, bump(theta), label=f"q minimising {name}")
    ax.set(xlabel="x", ylabel="probability", title="Covering the modes or picking one")
    ax.legend()
    print(figure(fig, "kl-fits"))


@stop("mutual-information", "Mutual information", "what X tells about Y, from a joint table")
def _mutual_information() -> None:
    """
    The mutual information I(X; Y) is how much knowing one variable reduces the
    uncertainty about the other: I(X; Y) = H(X) + H(Y) - H(X, Y) = H(Y) - H(Y | X). It is
    the KL divergence between the joint distribution p(x, y) and the product of its
    marginals p(x) p(y): 0 exactly when X and Y are independent, and at most the smaller
    of H(X) and H(Y), reached when one determines the other.

    The joint table below is the weather (rows: sun, cloud, rain) and whether someone
    carries an umbrella (columns: no, yes). Its row sums are the weather's distribution,
    its column sums the umbrella's. Mutual information drives feature selection (keep the
    features that tell the most about the label) and contrastive learning (InfoNCE is a
    lower bound on it).
    """
    joint = np.array([
        [0.40, 0.05],  # sun: rarely an umbrella
        [0.15, 0.15],  # cloud: half and half
        [0.02, 0.23],  # rain: mostly an umbrella
    ])  # fmt: skip
    weather, umbrella = np.sum(joint, axis=1), np.sum(joint, axis=0)
    H_x, H_y = info.entropy(weather, base=2), info.entropy(umbrella, base=2)
    H_xy = info.entropy(joint.ravel(), base=2)
    mi = info.mutual_information(joint, base=2)
    print(f"H(weather) = {H_x:.4f}, H(umbrella) = {H_y:.4f}, H(both) = {H_xy:.4f} bits")
    print(f"I(weather; umbrella) = {mi:.4f} bits = H(X) + H(Y) - H(X, Y)", end="")
    print(f"  {check(mi, H_x + H_y - H_xy)}")
    independent = np.outer(weather, umbrella)  # same marginals, no dependence
    witness = scipy.stats.entropy(joint.ravel(), independent.ravel(), base=2)
    print(f"KL(joint || product of marginals) by SciPy: {witness:.4f} bits  {check(mi, witness)}")
    zero = info.mutual_information(independent, base=2)
    print(f"independent table: I = {zero:.1e} (0 up to rounding)", end="")
    print(f"  {check(info.mutual_information(independent), 0.0, tol=1e-12)}")
    determined = np.diag(weather)  # Y = X: the weather's distribution on the diagonal
    print(f"Y a copy of X: I = {info.mutual_information(determined, base=2):.4f} = H(X)", end="")
    print(f"  {check(info.mutual_information(determined, base=2), H_x)}")
