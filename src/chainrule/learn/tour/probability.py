"""Part 3, probability and statistics: the axioms and conditional probability, Bayes' rule,
the common distributions, the Central Limit Theorem, expectation and variance, and
maximum likelihood.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math

import scipy.stats

import chainrule as cr
import chainrule.numpy as np
from chainrule import stats
from chainrule.integrate import quad
from chainrule.learn.tour import check, figure, show, stop

PART = "probability"


@stop("axioms", "Probability and conditioning", "two dice: the axioms, P(A | B), independence")
def _axioms() -> None:
    """
    A probability is a number P(A) for each event A (a set of outcomes) such that
    P(A) >= 0, the whole sample space has probability 1, and the probabilities of events
    that cannot happen together add up. Everything else follows, for example
    P(A or B) = P(A) + P(B) - P(A and B): the outcomes in both are counted once.

    Two fair dice have 36 equally likely outcomes, so P(A) = |A| / 36. Knowing that B
    happened shrinks the sample space to B, and the conditional probability is
    P(A | B) = P(A and B) / P(B). A sum of 7 has probability 6/36 = 1/6; knowing the first
    die shows 3 leaves it at 1/6 (only a 4 on the second die works): the two events are
    independent, P(A and B) = P(A) P(B). A sum of at least 10 has probability 6/36, but
    knowing the first die shows 6 raises it to 3/6: those events are dependent.

    In ML a classifier's softmax output is a conditional distribution P(class | input), and
    a naive Bayes model assumes features are independent given the class.
    """
    first, second = np.meshgrid(np.arange(1, 7), np.arange(1, 7), indexing="ij")
    outcome = np.full((6, 6), 1 / 36)  # each of the 36 outcomes is equally likely

    def P(event):  # the probability of an event: the sum over its outcomes
        return np.sum(outcome[event])

    total = first + second
    seven, first_three = total == 7, first == 3
    ten_or_more, first_six = total >= 10, first == 6

    print(f"P(everything) = {P(total > 0):.4f}  {check(P(total > 0), 1.0)}")
    both = P(seven | first_three)
    union = P(seven) + P(first_three) - P(seven & first_three)
    print(f"P(sum 7 or first 3) = {both:.4f} = 11/36 {check(both, 11 / 36)}", end="")
    print(f" = P(A) + P(B) - P(A and B) {check(both, union)}")
    for name, A, B, exact in [
        ("P(sum 7 | first 3)", seven, first_three, 1 / 6),
        ("P(sum >= 10 | first 6)", ten_or_more, first_six, 3 / 6),
    ]:
        conditional = P(A & B) / P(B)
        print(f"{name:<23}= {conditional:.4f} vs P(A) = {P(A):.4f}  {check(conditional, exact)}")
        independent = math.isclose(P(A & B), P(A) * P(B))
        print(f"  P(A and B) = P(A) P(B)? {independent}")


@stop("bayes", "Bayes' rule", "a positive medical test, by the rule and by simulation")
def _bayes() -> None:
    """
    Bayes' rule turns P(data | hypothesis) around:
    P(sick | positive) = P(positive | sick) P(sick) / P(positive), where the evidence
    P(positive) = P(positive | sick) P(sick) + P(positive | healthy) P(healthy).

    A disease affects 1% of people. A test finds 99% of the sick (sensitivity) and wrongly
    flags 5% of the healthy (false positive rate). After a positive test the chance of
    being sick is only 0.0099 / (0.0099 + 0.0495) = 1/6: the healthy are so many that
    their false alarms outnumber the true ones five to one. A second positive test, with
    the first posterior as the new prior, raises it to about 80%.

    A simulation of a million people, with a fixed seed, agrees within its standard error
    sqrt(p (1 - p) / positives). `stats.bayes` is differentiable, so the sensitivity of the
    answer to the prevalence is one `cr.grad` away: by the quotient rule it is
    P(+ | sick) P(+ | healthy) / P(positive)² = 14.03, steep, so a small prior matters a
    lot. The same lesson holds for class imbalance in classification.
    """
    prior = np.array([0.01, 0.99])  # P(sick), P(healthy)
    positive = np.array([0.99, 0.05])  # P(positive | sick), P(positive | healthy)
    posterior = stats.bayes(prior, positive)
    by_hand = 0.99 * 0.01 / (0.99 * 0.01 + 0.05 * 0.99)
    print(f"P(sick | positive) = {posterior[0]:.4f}  by hand {by_hand:.4f}", end="")
    print(f"  {check(posterior[0], 1 / 6)}")
    twice = stats.bayes(posterior, positive)  # yesterday's posterior is today's prior
    print(f"after two positive tests: {twice[0]:.4f}  {check(twice[0], 99 / 124)}")

    people = 1_000_000
    sick = stats.Bernoulli(0.01).sample(people, rng=0) == 1
    # each person's test is a coin: P(positive) is 0.99 for the sick, 0.05 for the healthy
    tested_positive = stats.Bernoulli(np.where(sick, 0.99, 0.05)).sample(1, rng=1)[0] == 1
    fraction = np.mean(sick[tested_positive])  # the sick among the positives
    se = math.sqrt(fraction * (1 - fraction) / tested_positive.sum())
    print(f"simulated: {tested_positive.sum()} positives, {fraction:.4f} of them sick", end="")
    print(f" (standard error {se:.4f})  {check(abs(fraction - 1 / 6) <= 4 * se, True)}")

    def p_sick(prevalence):
        return stats.bayes(np.stack([prevalence, 1 - prevalence]), positive)[0]

    slope = cr.grad(p_sick)(0.01)
    by_hand = 0.99 * 0.05 / (0.99 * 0.01 + 0.05 * 0.99) ** 2  # the quotient rule, simplified
    print(f"d P(sick | positive) / d prevalence at 1%: {slope:.2f}  {check(slope, by_hand)}")

    import matplotlib.pyplot as plt

    prevalence = np.geomspace(0.001, 0.5, 40)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(prevalence, [p_sick(p) for p in prevalence])
    ax.plot([0.01], [posterior[0]], "o", label="1%: P = 1/6")
    ax.set(xscale="log", xlabel="prevalence P(sick)", ylabel="P(sick | positive)")
    ax.set_title("A positive test means more when the disease is common")
    ax.legend()
    print(figure(fig, "bayes-posterior"))


@stop(
    "distributions", "Distributions", "normal, uniform, exponential, Bernoulli, binomial, Poisson"
)
def _distributions() -> None:
    """
    A distribution says how probability spreads over values. A continuous one has a
    density p(x) (probability per unit length: P(a <= X <= b) is the area under p between
    a and b, and the whole area is 1); a discrete one has a mass function, P(X = k).

    - Normal(μ, σ): p(x) = exp(-(x - μ)² / 2σ²) / (σ √(2π)); sums of many small effects,
      the default noise model, and the squared error's hidden assumption.
    - Uniform(a, b): 1 / (b - a) on [a, b]; how weights are often initialised.
    - Exponential(λ): λ e^(-λx) for x >= 0; waiting times, mean 1/λ.
    - Bernoulli(p): one coin, P(1) = p; Binomial(n, p): the number of heads in n coins,
      C(n, k) pᵏ (1 - p)ⁿ⁻ᵏ, mean np, variance np(1 - p).
    - Poisson(λ): counts of rare events, λᵏ e^(-λ) / k!, mean and variance both λ.

    `chainrule.stats` has them all, with densities, means and variances (differentiable in
    the parameters); every value below is checked against `scipy.stats`, and the total
    probability is 1: the area under each density by `chainrule.integrate.quad`, the sum
    of each mass function over its values.
    """
    import matplotlib.pyplot as plt

    x = np.linspace(-1.0, 5.0, 601)
    continuous = [  # name, chainrule's distribution, SciPy's, where it lives
        ("Normal(2, 0.8)", stats.Normal(2.0, 0.8), scipy.stats.norm(2.0, 0.8), (-np.inf, np.inf)),
        ("Uniform(0, 3)", stats.Uniform(0.0, 3.0), scipy.stats.uniform(0.0, 3.0), (0.0, 3.0)),
        ("Exponential(1.5)", stats.Exponential(1.5), scipy.stats.expon(0, 1 / 1.5), (0, np.inf)),
    ]
    k = np.arange(0, 13)
    discrete = [
        ("Bernoulli(0.3)", stats.Bernoulli(0.3), scipy.stats.bernoulli(0.3), 1),
        ("Binomial(10, 0.4)", stats.Binomial(10, 0.4), scipy.stats.binom(10, 0.4), 10),
        ("Poisson(3)", stats.Poisson(3.0), scipy.stats.poisson(3.0), 60),  # the rest: < 1e-40
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    print(f"{'distribution':<18} {'mean':>6} {'variance':>9}  p, mean, var as SciPy; total 1")
    for name, d, witness, (a, b) in continuous:
        density = d.prob(x)
        same = check(density, witness.pdf(x)), check([d.mean, d.variance], witness.stats())
        area, _ = quad(d.prob, a, b)  # the area under the density
        print(f"{name:<18} {d.mean:>6.3f} {d.variance:>9.4f}  {' '.join(same)} {check(area, 1)}")
        left.plot(x, density, label=name)
    for i, (name, d, witness, last) in enumerate(discrete):
        mass = d.prob(k)
        same = check(mass, witness.pmf(k)), check([d.mean, d.variance], witness.stats())
        total = np.sum(d.prob(np.arange(0, last + 1)))  # the masses of all the values
        print(f"{name:<18} {d.mean:>6.3f} {d.variance:>9.4f}  {' '.join(same)} {check(total, 1)}")
        right.bar(k + (i - 1) * 0.27, mass, width=0.27, label=name)
    left.set(title="densities p(x)", xlabel="x", ylabel="density")
    right.set(title="masses P(X = k)", xlabel="k", ylabel="probability")
    left.legend(), right.legend()
    print(figure(fig, "distributions-densities"))


@stop("clt", "The Central Limit Theorem", "means of skewed samples become normal, σ/√n")
def _clt() -> None:
    """
    Average n independent draws of any distribution with mean μ and standard deviation σ:
    the average has mean μ and standard deviation σ / √n, and as n grows its distribution
    approaches the normal N(μ, σ² / n), whatever the shape of the original. That is why
    normal distributions are everywhere, and why a mini-batch gradient (an average over
    the batch) is noisy by a factor 1 / √(batch size).

    Here the draws are exponential with rate 1 (μ = σ = 1), far from normal: skewed, never
    negative. For each n, 20000 sample means are drawn with a fixed seed. Their standard
    deviation s is checked against σ / √n within 4 of its own standard errors,
    (σ / √n) √((2 + 6/n) / (4m)) for m means (the mean of n exponentials has excess
    kurtosis 6/n). Their skewness falls like 2 / √n, and the histograms approach the
    normal curve.
    """
    import matplotlib.pyplot as plt

    m = 20_000  # sample means per n
    mu = sigma = 1.0  # Exponential(1): mean 1, standard deviation 1
    fig, axes = plt.subplots(1, 4, figsize=(12, 3), sharey=False)
    print(f"{'n':>3} {'std of means':>13} {'σ/√n':>7} {'skewness':>9} {'2/√n':>6}")
    for ax, n in zip(axes, [1, 2, 10, 50], strict=True):
        draws = stats.Exponential(1.0).sample(m * n, rng=n).reshape(m, n)
        means = np.mean(draws, axis=1)
        s, expected = np.std(means), sigma / math.sqrt(n)
        se = expected * math.sqrt((2 + 6 / n) / (4 * m))
        skew = scipy.stats.skew(means)
        print(f"{n:>3} {s:>13.4f} {expected:>7.4f} {skew:>9.3f} {2 / math.sqrt(n):>6.3f}", end="")
        print(f"  {check(abs(s - expected) <= 4 * se, True)}")
        ax.hist(means, bins=60, density=True, histtype="stepfilled", alpha=0.6)
        grid = np.linspace(means.min(), means.max(), 200)
        ax.plot(grid, stats.Normal(mu, expected).prob(grid), "k", lw=1)
        ax.set(title=f"means of n = {n}", xlabel="sample mean")
    axes[0].set_ylabel("density")
    fig.suptitle("Histograms of sample means of Exponential(1), and N(1, 1/n)")
    fig.tight_layout()
    print(figure(fig, "clt-means"))


@stop("expectation", "Expectation and variance", "linearity, Var(aX + b), sums of independents")
def _expectation() -> None:
    """
    The expectation E[X] = Σ x P(X = x) is the probability-weighted average, and the
    variance Var(X) = E[(X - E[X])²] the average squared distance from it. For a fair die,
    E[X] = 3.5 and Var(X) = 35/12.

    Expectation is linear: E[aX + bY + c] = a E[X] + b E[Y] + c, always, dependent or
    not. Variance is not: Var(aX + b) = a² Var(X) (a shift changes nothing, a scale
    counts twice), and Var(X + Y) = Var(X) + Var(Y) only when X and Y are independent.
    These rules are why weights are initialised with variance 1 / fan-in: a sum of n
    independent terms has n times the variance.

    Below the die exactly, then Z = 3X - 2Y + 1 with Y ~ Exponential(2) independent of X,
    by sampling: the sample mean and variance of Z agree with the rules within 4 standard
    errors computed from the sample itself.
    """
    faces, p = np.arange(1, 7), np.full(6, 1 / 6)
    mean = np.sum(faces * p)
    var = np.sum((faces - mean) ** 2 * p)
    print(f"die: E[X] = {mean:.4f} {check(mean, 3.5)}  Var(X) = {var:.4f} {check(var, 35 / 12)}")
    shifted = 2 * faces + 5  # 2X + 5, outcome by outcome
    var_shifted = np.sum((shifted - np.sum(shifted * p)) ** 2 * p)
    print(f"Var(2X + 5) = {var_shifted:.4f} = 4 Var(X)  {check(var_shifted, 4 * var)}")

    def variance_of(a):  # Var(aX + 5) as a function of a: its derivative is 2a Var(X)
        return np.sum((a * faces + 5 - np.sum((a * faces + 5) * p)) ** 2 * p)

    print(f"d/da Var(aX + 5) at a = 2: {cr.grad(variance_of)(2.0):.4f}", end="")
    print(f"  {check(cr.grad(variance_of)(2.0), 4 * var)}")

    n = 200_000
    X = stats.Categorical(p).sample(n, rng=0) + 1  # die throws: classes 0..5, plus 1
    Y = stats.Exponential(2.0).sample(n, rng=1)
    Z = 3 * X - 2 * Y + 1
    rule_mean = 3 * mean - 2 * stats.Exponential(2.0).mean + 1
    rule_var = 9 * var + 4 * stats.Exponential(2.0).variance
    se_mean = np.std(Z) / math.sqrt(n)
    se_var = np.std((Z - np.mean(Z)) ** 2) / math.sqrt(n)
    print(f"E[Z]: sampled {stats.mean(Z):.4f}, rule {rule_mean:.4f} ± {se_mean:.4f}", end="")
    print(f"  {check(abs(stats.mean(Z) - rule_mean) <= 4 * se_mean, True)}")
    print(f"Var(Z): sampled {stats.var(Z):.4f}, rule {rule_var:.4f} ± {se_var:.4f}", end="")
    print(f"  {check(abs(stats.var(Z) - rule_var) <= 4 * se_var, True)}")


@stop("likelihood", "Maximum likelihood", "a normal's likelihood surface, climbed by gradient")
def _likelihood() -> None:
    """
    Given data x₁ ... xₙ and a model with parameters θ, the likelihood is the probability
    of the data as a function of θ: L(θ) = Π p(xᵢ | θ). Maximum likelihood picks the θ
    that makes the data most probable. Products of many small numbers underflow, so one
    maximises the mean log-likelihood ℓ(θ) = (1/n) Σ log p(xᵢ | θ) instead: same maximum.

    For a normal, ℓ(μ, σ) = -log σ - (1/n) Σ (xᵢ - μ)² / 2σ² - ½ log 2π. Setting the
    gradient to 0 gives the closed form: μ̂ = the sample mean, σ̂ = √((1/n) Σ (xᵢ - μ̂)²),
    the *biased* standard deviation (1/n, not 1/(n - 1)). Below, gradient ascent with
    `cr.grad` climbs ℓ from (0, 3) to the top and lands on that closed form (and on
    `scipy.stats.norm.fit`). Minimising a loss is the same act: mean squared error is the
    negative log-likelihood of a normal with fixed σ, and cross-entropy that of a
    categorical.

    At the top the Hessian is diag(-1/σ̂², -2/σ̂²): the sharper the peak, the better the
    data pin the parameters down (the Fisher information).
    """
    x = stats.Normal(2.0, 1.5).sample(50, rng=0)  # 50 draws; we pretend not to know 2, 1.5

    def loglik(theta):
        return np.mean(stats.Normal(theta[0], theta[1]).log_prob(x))

    theta, lr, path = np.array([0.0, 3.0]), 1.0, []
    for _ in range(300):
        path.append(theta)
        theta = theta + lr * cr.grad(loglik)(theta)  # a step uphill
    mu, sigma = theta
    gradient = cr.grad(loglik)(theta)
    print(f"gradient ascent: mu = {mu:.6f}, sigma = {sigma:.6f}, gradient {show(gradient)}")
    closed = np.mean(x), np.sqrt(np.mean((x - np.mean(x)) ** 2))
    print(f"closed form: mean {closed[0]:.6f}, biased std {closed[1]:.6f}  {check(theta, closed)}")
    fitted = scipy.stats.norm.fit(x)
    print(f"scipy.stats.norm.fit: {show(fitted)}  {check(theta, fitted)}")
    H = cr.hessian(loglik)(theta)
    print(f"Hessian at the top: {show(H)}  {check(H, np.diag([-1 / sigma**2, -2 / sigma**2]))}")

    import matplotlib.pyplot as plt

    mus, sigmas = np.linspace(0.0, 4.0, 81), np.linspace(0.8, 3.2, 61)
    grid = stats.Normal(mus[None, :, None], sigmas[:, None, None])  # every (σ, μ) at once
    surface = np.mean(grid.log_prob(x), axis=-1)
    fig, ax = plt.subplots(figsize=(6, 4))
    contours = ax.contour(mus, sigmas, surface, levels=25)
    fig.colorbar(contours, label="mean log-likelihood")
    path = np.array(path)
    ax.plot(path[:, 0], path[:, 1], ".-", color="tab:red", ms=3, lw=1, label="gradient ascent")
    ax.plot([mu], [sigma], "k*", ms=12, label="maximum")
    ax.set(xlabel="μ", ylabel="σ", title="Likelihood of N(μ, σ) for 50 draws")
    ax.legend()
    print(figure(fig, "likelihood-surface"))
