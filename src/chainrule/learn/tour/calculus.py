"""Part 1, calculus: limits, derivatives, partials, the sum, product, quotient and chain rules,
integrals, gradients, backpropagation, Jacobians and Hessians, convexity, and a preview of
training.

Each stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

import chainrule as cr
import chainrule.numpy as np
from chainrule import data, nn, optim, train
from chainrule.check import numerical_jacobian
from chainrule.integrate import quad
from chainrule.learn import curvature
from chainrule.learn.surfaces import descend
from chainrule.learn.tour import check, figure, show, stop

PART = "calculus"


@stop("limits", "Functions and limits", "the difference quotient converging to the derivative")
def _limits() -> None:
    """
    A derivative is a limit. The line through the points (x, f(x)) and (x + h, f(x + h)) of
    a graph has slope (f(x + h) - f(x)) / h, the difference quotient. As h shrinks to 0 the
    line turns into the tangent and its slope tends to the derivative f'(x). For
    f(x) = x³ at x = 2 the limit is f'(2) = 3 · 2² = 12.

    Watch the error column: the forward quotient is off by 6h + h², so its error shrinks
    like h; the central quotient (f(x + h) - f(x - h)) / 2h is off by exactly h², much
    better. Below about h = 1e-5 the errors grow again: f(x + h) and f(x) agree in almost
    all their digits, and subtracting them leaves mostly rounding noise (about 1e-16 / h).
    That is why chainrule never differentiates by differences: it applies the chain rule
    to exact derivative rules, and keeps central differences with h near 1e-5 as a check.
    """

    def f(x):
        return x * x * x

    x = 2.0
    exact = cr.derivative(f)(x)  # chainrule: 3 x**2, exactly
    print(f"f(x) = x**3 at x = 2: chainrule's f'(x) = {exact}  {check(exact, 12.0)}")
    print(
        f"{'h':>6}  {'(f(x+h)-f(x))/h':>18} {'error':>9}  {'(f(x+h)-f(x-h))/2h':>19} {'error':>9}"
    )
    for h in [1.0, 0.1, 0.01, 1e-3, 1e-5, 1e-7, 1e-10, 1e-13]:
        forward = (f(x + h) - f(x)) / h
        central = (f(x + h) - f(x - h)) / (2 * h)
        print(
            f"{h:>6g}  {forward:>18.10f} {forward - exact:>9.1e}"
            f"  {central:>19.10f} {central - exact:>9.1e}"
        )


@stop(
    "derivatives",
    "Derivatives of one variable",
    "x^n, e^x, ln x, sigmoid, tanh, ReLU, softmax, checked",
)
def _derivatives() -> None:
    """
    The derivative rules every backward pass is built from. For each function: the
    textbook formula of its derivative, chainrule's derivative, and the central difference
    (f(x + h) - f(x - h)) / 2h as an independent witness, all at x = 0.5.

    The power rule d/dx xⁿ = n xⁿ⁻¹ holds for any real n. The sigmoid σ(x) = 1 / (1 + e⁻ˣ)
    has the famous derivative σ(1 - σ), and tanh has 1 - tanh²: both are written with the
    function's own output, which the backward pass already has. ReLU has a kink at 0,
    where it has no derivative; chainrule (like PyTorch) uses 0 there.

    Softmax maps a vector z to probabilities pᵢ = e^zᵢ / Σⱼ e^zⱼ, so its derivative is a
    matrix, the Jacobian ∂pᵢ/∂zⱼ = pᵢ (δᵢⱼ - pⱼ), or diag(p) - p pᵀ. Its rows sum to 0:
    raising every z by the same amount leaves p unchanged.
    """
    x = 0.5
    sig = 1 / (1 + math.exp(-x))
    table: list[Any] = [  # name, function, its derivative: by the textbook formula
        ("x**2", lambda t: t**2, "2 x", 2 * x),
        ("x**3", lambda t: t**3, "3 x**2", 3 * x**2),
        ("x**-1", lambda t: t**-1, "-x**-2", -(x**-2)),
        ("x**0.5", np.sqrt, "0.5 x**-0.5", 0.5 * x**-0.5),
        ("e**x", np.exp, "e**x", math.exp(x)),
        ("ln x", np.log, "1 / x", 1 / x),
        ("sigmoid x", nn.sigmoid, "s (1 - s)", sig * (1 - sig)),
        ("tanh x", np.tanh, "1 - tanh**2", 1 - math.tanh(x) ** 2),
        ("relu x", nn.relu, "1 if x > 0", 1.0),
    ]
    print("f(x)       f'(x)          formula  chainrule  numerical")
    for name, f, formula, expected in table:
        d = cr.derivative(f)(x)
        numerical = cr.numerical_grad(f, x)  # (f(x+h) - f(x-h)) / 2h, h = 1e-5
        mark = check([d, numerical], [expected, expected])
        print(f"{name:<10} {formula:<12} {expected:>9.6f} {d:>10.6f} {numerical:>10.6f}  {mark}")
    slopes = [cr.derivative(nn.relu)(t) for t in (-1.0, 0.0, 1.0)]
    print(f"relu'(x) at x = -1, 0, 1: {show(slopes)}  {check(slopes, [0.0, 0.0, 1.0])}")

    z = np.array([1.0, 2.0, 0.5])
    p = nn.softmax(z)
    J = cr.jacobian(nn.softmax)(z)
    print(f"softmax({show(z)}) = {show(p)}")
    print(f"its Jacobian by chainrule: {show(J)}")
    print(f"equals diag(p) - p pᵀ: {check(J, np.diag(p) - np.outer(p, p))}")
    print(f"equals central differences: {check(J, numerical_jacobian(nn.softmax, z))}")
    print(f"rows sum to 0: {check(J.sum(axis=1), 0.0)}")


@stop("partials", "Partial derivatives", "one variable at a time, the gradient, mixed partials")
def _partials() -> None:
    """
    A function of several variables has one derivative per variable. The partial
    derivative ∂f/∂x is the ordinary derivative in x with every other variable held
    fixed: a slice of the surface. For f(x, y) = x² y + sin y at (3, 2):
    ∂f/∂x = 2 x y = 12 and ∂f/∂y = x² + cos y = 9 + cos 2.

    `cr.grad(f, argnums=...)` picks the variable; `argnums=(0, 1)` gives both, the
    gradient. Second partials take a derivative of a derivative, and the mixed ones agree
    in either order (Schwarz's theorem): ∂²f/∂x∂y = ∂²f/∂y∂x = 2x.
    """

    def f(x, y):
        return x**2 * y + np.sin(y)

    x, y = 3.0, 2.0
    df_dx = cr.grad(f, argnums=0)(x, y)
    df_dy = cr.grad(f, argnums=1)(x, y)
    print(f"df/dx = {df_dx:.6f}   formula 2xy = {2 * x * y:.6f}  {check(df_dx, 2 * x * y)}")
    print(f"df/dy = {df_dy:.6f}   formula x**2 + cos y = {x**2 + math.cos(y):.6f}", end="")
    print(f"  {check(df_dy, x**2 + math.cos(y))}")

    slice_in_x = lambda t: f(t, y)  # y held fixed at 2: an ordinary function of one variable
    print(
        f"slope of the slice t -> f(t, 2) at t = 3: {cr.numerical_grad(slice_in_x, x):.6f}", end=""
    )
    print(f"  {check(cr.numerical_grad(slice_in_x, x), df_dx)}")

    gradient = cr.grad(f, argnums=(0, 1))(x, y)
    print(f"gradient (df/dx, df/dy) = ({gradient[0]:.6f}, {gradient[1]:.6f})")
    d2f_dydx = cr.grad(cr.grad(f, argnums=0), argnums=1)(x, y)
    d2f_dxdy = cr.grad(cr.grad(f, argnums=1), argnums=0)(x, y)
    print(f"mixed partials: {d2f_dydx}, {d2f_dxdy}, formula 2x = {2 * x}", end="")
    print(f"  {check([d2f_dydx, d2f_dxdy], [2 * x, 2 * x])}")


# The rules and integrals come right after "partials": they are one-variable calculus (the
# first three stops), but the derivative of an integral in a parameter is a partial derivative,
# and keeping "partials" third keeps the tour's first stops, and their numbers, as they were.
@stop(
    "rules",
    "The sum, product, quotient and chain rules",
    "derivatives of combinations from the derivatives of their parts",
)
def _rules() -> None:
    """
    Derivatives of combined functions come from the derivatives of their parts. With
    u(x) = x² (so u' = 2x) and v(x) = sin x (so v' = cos x), at x = 0.8:

    - sum rule: (u + v)' = u' + v' = 2x + cos x;
    - product rule: (u v)' = u' v + u v' = 2x sin x + x² cos x;
    - quotient rule: (u / v)' = (u' v - u v') / v² = (2x sin x - x² cos x) / sin² x;
    - chain rule, for a composition: (u ∘ v)'(x) = u'(v(x)) · v'(x), so sin² x has the
      derivative 2 sin x · cos x, while sin(x²) has cos(x²) · 2x: the order matters.

    The product rule is a picture: a rectangle of sides u and v has area u v. When x moves
    by h, the area grows by a strip v Δu, a strip u Δv and a corner Δu Δv. Divided by h, the
    strips tend to u' v and u v', while the corner, of size h², vanishes. chainrule knows
    none of these rules by name: they are the chain rule applied to +, × and ÷ as functions
    of two inputs, which is how backpropagation differentiates any expression.
    """

    def u(x):
        return x**2

    def v(x):
        return np.sin(x)

    x = 0.8
    ux, vx = x**2, math.sin(x)
    du, dv = 2 * x, math.cos(x)  # the derivatives of the parts, by hand
    rules: list[Any] = [  # name, function, its derivative by the rule
        ("sum       u + v", lambda t: u(t) + v(t), du + dv),
        ("product   u v", lambda t: u(t) * v(t), du * vx + ux * dv),
        ("quotient  u / v", lambda t: u(t) / v(t), (du * vx - ux * dv) / vx**2),
        ("chain     u(v(x))", lambda t: u(v(t)), 2 * vx * dv),
        ("chain     v(u(x))", lambda t: v(u(t)), math.cos(ux) * du),
    ]
    print(f"u = x**2, v = sin x at x = {x}")
    print("rule      function     by the rule  chainrule")
    for name, f, expected in rules:
        d = cr.derivative(f)(x)
        print(f"{name:<20} {expected:>11.6f} {d:>10.6f}  {check(d, expected)}")

    h = 0.2  # the product rule as areas: x moves to x + h
    grow_u, grow_v = u(x + h) - ux, v(x + h) - vx
    growth = u(x + h) * v(x + h) - ux * vx
    parts = [vx * grow_u, ux * grow_v, grow_u * grow_v]  # two strips and a corner
    print(f"\nx -> x + {h}: u v grows by {growth:.6f}")
    print(f"  = strip v du {parts[0]:.6f} + strip u dv {parts[1]:.6f} + corner du dv", end="")
    print(f" {parts[2]:.6f}  {check(sum(parts), growth)}")

    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(5, 4))
    pieces = [  # corner (x, y), width, height, colour, label
        ((0, 0), ux, vx, "tab:blue", f"u v = {ux * vx:.3f}"),
        ((ux, 0), grow_u, vx, "tab:orange", f"v Δu = {parts[0]:.3f}"),
        ((0, vx), ux, grow_v, "tab:green", f"u Δv = {parts[1]:.3f}"),
        ((ux, vx), grow_u, grow_v, "tab:red", f"Δu Δv = {parts[2]:.3f}"),
    ]
    for corner, width, height, colour, label in pieces:
        ax.add_patch(Rectangle(corner, width, height, color=colour, alpha=0.6, label=label))
    ax.set_xlim(0, 1.6)
    ax.set_ylim(0, 1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("u = x²")
    ax.set_ylabel("v = sin x")
    ax.set_title(f"the product rule: u v as x goes from {x} to {x + h}")
    ax.legend(loc="upper right", fontsize=8)
    print(figure(fig, "rules-product-area"))


@stop(
    "integrals",
    "Integrals as area",
    "Riemann sums, the fundamental theorem, differentiating an integral",
)
def _integrals() -> None:
    """
    The integral ∫ₐᵇ f(x) dx is the area under the graph of f between a and b (counted
    negative below the axis). Cut [a, b] into n strips of width h = (b - a) / n and add up
    rectangles: the Riemann sum. For e^x on [0, 1], whose area is e - 1 = 1.718282, the
    sums with the height at each strip's left end, and at its midpoint, are geometric
    series, so even they have closed forms, (e - 1) h / (eʰ - 1) and
    (e - 1) (h/2) / sinh(h/2), to check against. The left sum's error shrinks like 1/n
    (about (e - 1) / 2n), the midpoint's like 1/n² ((e - 1) / 24n²). `chainrule.integrate`'s
    `quad` does far better with 21 well-placed points per piece (Gauss–Kronrod).

    The fundamental theorem of calculus ties integrals to derivatives: the area
    F(x) = ∫₀ˣ f(t) dt grows, as x moves, at the rate of the height there, F'(x) = f(x).
    e^(-t²) has no antiderivative in elementary functions, yet F(x) = (√π / 2) erf(x),
    and chainrule's `quad` is differentiable: its derivative in a bound is the integrand
    there (Leibniz's rule), to any order. In a parameter, the derivative goes inside the
    integral: the Gaussian's normaliser Z(σ) = ∫ e^(-x²/2σ²) dx = σ √(2π) has
    dZ/dσ = ∫ (x² / σ³) e^(-x²/2σ²) dx = √(2π). Such integrals (normalisers, expected
    losses) are what probabilistic models differentiate.
    """
    exact = math.e - 1
    print(f"Riemann sums of e**x on [0, 1]; the area is e - 1 = {exact:.6f}")
    print(f"{'n':>5} {'left sum':>10} {'error':>9} {'midpoint sum':>13} {'error':>9}")
    for n in [4, 16, 64, 256, 1024]:
        h = 1 / n
        lefts = np.arange(n) * h  # the left ends of the strips
        left = np.sum(np.exp(lefts)) * h  # rectangles: height times width
        middle = np.sum(np.exp(lefts + h / 2)) * h
        closed = [exact * h / math.expm1(h), exact * (h / 2) / math.sinh(h / 2)]
        print(
            f"{n:>5} {left:>10.6f} {left - exact:>9.1e} {middle:>13.8f} {middle - exact:>9.1e}"
            f"  {check([left, middle], closed)}"
        )
    value, abserr = quad(np.exp, 0.0, 1.0)
    print(f"quad: {value:.10f}, estimated error {abserr:.0e}  {check(value, exact, tol=1.49e-8)}")

    def f(t):
        return np.exp(-(t**2))

    def F(x):
        return quad(f, 0.0, x)[0]  # the area under f from 0 to x

    print("\nF(x) = area under exp(-t**2) from 0 to x, and its derivatives in x:")
    for x in [0.5, 1.0, 2.0]:
        area, slope, bend = F(x), cr.grad(F)(x), cr.grad(cr.grad(F))(x)
        # witnesses: (√π / 2) erf(x); f(x); f'(x) = -2x f(x)
        witness = [
            math.sqrt(math.pi) / 2 * math.erf(x),
            math.exp(-(x**2)),
            -2 * x * math.exp(-(x**2)),
        ]
        print(
            f"  x = {x}: F = {area:.8f}, F' = {slope:.8f} = f(x), F'' = {bend:.8f}"
            f"  {check([area, slope, bend], witness, tol=1.49e-8)}"
        )

    def Z(sigma):  # the normaliser of a Gaussian of width sigma
        return quad(lambda x, s: np.exp(-(x**2) / (2 * s**2)), -np.inf, np.inf, (sigma,))[0]

    sigma = 1.5
    z, dz = Z(sigma), cr.grad(Z)(sigma)
    root = math.sqrt(2 * math.pi)
    print(f"\nZ({sigma}) = {z:.8f} = sigma sqrt(2 pi)  {check(z, sigma * root, tol=1.49e-8)}")
    print(f"dZ/dsigma = {dz:.8f} = sqrt(2 pi)  {check(dz, root, tol=1.49e-8)}")

    import matplotlib.pyplot as plt

    fig, (left_ax, right_ax) = plt.subplots(1, 2, figsize=(10, 4))
    n, h = 8, 1 / 8
    lefts = np.arange(n) * h
    xs = np.linspace(0.0, 1.0, 101)
    left_ax.bar(lefts, np.exp(lefts), width=h, align="edge", alpha=0.4, edgecolor="k")
    left_ax.plot(xs, np.exp(xs), "k", label="e**x")
    left_ax.set_title(f"{n} rectangles: {np.sum(np.exp(lefts)) * h:.4f}, area e - 1 = {exact:.4f}")
    left_ax.set_xlabel("x")
    left_ax.legend(loc="upper left")
    ts = np.linspace(0.0, 2.5, 26)
    right_ax.fill_between(ts[:11], f(ts[:11]), alpha=0.3, label="F(1): the area up to x = 1")
    right_ax.plot(ts, f(ts), "k", label="f(t) = exp(-t**2)")
    right_ax.plot(ts, [F(t) for t in ts], "tab:blue", label="F(x), by quad")
    right_ax.plot(
        ts[6:15], F(1.0) + cr.grad(F)(1.0) * (ts[6:15] - 1), "r--", label="slope of F at 1: f(1)"
    )
    right_ax.set_title("F'(x) = f(x): the area grows at the rate of the height")
    right_ax.set_xlabel("x")
    right_ax.legend(loc="center right", fontsize=8)
    print(figure(fig, "integrals-area"))


@stop(
    "descent", "Gradients and optimisation", "steepest ascent, gradient descent, the learning rate"
)
def _descent() -> None:
    """
    The gradient points uphill, and most steeply so. The slope of f along a unit direction
    u, the directional derivative, is ∇f · u: largest (equal to |∇f|) along the gradient,
    zero across it, most negative against it. `cr.jvp` computes exactly this slope in one
    forward pass, shown here for f(x, y) = x² + 2y² at (3, 4), where ∇f = (6, 16).

    Gradient descent steps against the gradient: x ← x - lr · f'(x). On f(x) = x², from
    x = 5 with learning rate 0.1, each step is x ← x - 0.1 · 2x = 0.8 x, so after k steps
    x = 5 · 0.8ᵏ, and the loss shrinks by 0.64 per step. The learning rate decides
    everything: the factor per step is 1 - 2 lr, so lr = 0.5 lands on the minimum in one
    step, lr = 0.9 overshoots back and forth but converges, and lr above 1 diverges.
    """

    def f(p):
        return p[0] ** 2 + 2 * p[1] ** 2

    p = np.array([3.0, 4.0])
    g = cr.grad(f)(p)
    print(f"gradient of x**2 + 2 y**2 at (3, 4): {show(g)}, length {np.linalg.norm(g):.4f}")
    directions = {
        "along x": [1, 0],
        "along y": [0, 1],
        "along the gradient": g,
        "across it": [16, -6],
    }
    for name, u in directions.items():
        u = np.asarray(u, float) / np.linalg.norm(u)  # a unit direction
        _, slope = cr.jvp(f, (p,), (u,))  # the directional derivative, by forward mode
        print(
            f"  slope {name:<18}: {slope:8.4f}   gradient · u = {g @ u:8.4f}  {check(slope, g @ u)}"
        )

    def loss(x):
        return x**2

    x, lr = 5.0, 0.1
    print("\ngradient descent on x**2 from x = 5, learning rate 0.1:")
    print(f"{'step':>4} {'x':>10} {'loss':>10} {'gradient':>10}   5 * 0.8**step")
    for step in range(51):
        g = cr.grad(loss)(x)
        if step <= 10 or step in (20, 50):
            print(f"{step:>4} {x:>10.6f} {loss(x):>10.6f} {g:>10.6f}   {check(x, 5 * 0.8**step)}")
        x = x - lr * g

    print("\nthe learning rate: x after 1, 2, 3 and 20 steps")
    for lr in [0.1, 0.5, 0.9, 1.1]:
        x, path = 5.0, []
        for _ in range(20):
            x = x - lr * cr.grad(loss)(x)
            path.append(x)
        print(f"  lr = {lr}: {path[0]:9.4f} {path[1]:9.4f} {path[2]:9.4f} ... {path[19]:12.4g}")


@stop(
    "backprop", "The chain rule and backpropagation", "a neuron's backward pass, number by number"
)
def _backprop() -> None:
    """
    A neuron with weight w and bias b sees the input x = 0.5 and should output y = 0.8; its
    squared error is L = (tanh(w x + b) - y)². The chain rule multiplies local
    derivatives (∂, each operation's own) along the path from L back to each parameter:
    dL/dw = dL/da · ∂a/∂z · ∂z/∂w with z = w x + b and a = tanh z.

    Backpropagation does exactly this, in reverse order of the computation, so that each
    intermediate derivative dL/d(value) is computed once and reused for everything that
    comes before it. `cr.explain` prints that backward pass with its numbers. The error
    `err` is used twice (`err * err`): the derivative with respect to it is the sum of
    what flows back along both uses. Finally the same gradient by hand.
    """
    x, y = 0.5, 0.8  # one training example

    def loss(w, b):
        a = np.tanh(w * x + b)
        err = a - y
        return err * err

    w, b = 1.5, -0.2
    print(cr.explain(loss, w, b))
    dL_dw, dL_db = cr.grad(loss, argnums=(0, 1))(w, b)

    a = math.tanh(w * x + b)  # by hand: dL/da = 2 (a - y), da/dz = 1 - a**2, dz/dw = x, dz/db = 1
    dL_dz = 2 * (a - y) * (1 - a**2)
    print(f"\nby hand: dL/dw = {dL_dz * x:.6f}  {check(dL_dw, dL_dz * x)}", end="")
    print(f"   dL/db = {dL_dz:.6f}  {check(dL_db, dL_dz)}")


@stop(
    "curvature",
    "Jacobians and Hessians",
    "forward and reverse Jacobians, curvature, critical points",
)
def _curvature() -> None:
    """
    A function from vectors to vectors has a matrix of partial derivatives, the Jacobian
    Jᵢⱼ = ∂fᵢ/∂xⱼ. Forward mode (`cr.jacfwd`) builds it a column at a time, pushing
    tangents of the inputs forward; reverse mode (`cr.jacrev`) a row at a time, pulling
    cotangents of the outputs back. Both give the same matrix; for polar coordinates
    (r, θ) ↦ (r cos θ, r sin θ) its determinant is r, the area stretch of the map.

    The Hessian is the Jacobian of the gradient: all second derivatives ∂²f/∂xᵢ∂xⱼ. At a
    critical point (gradient 0) its eigenvalues are the curvatures along its eigenvectors
    and decide what the point is: all positive a minimum, all negative a maximum, mixed
    signs a saddle, and a zero eigenvalue leaves it undecided (x⁴ is flat to second order
    at 0, yet a minimum). The Rosenbrock valley's minimum at (1, 1) is a minimum whose
    curvatures differ by a factor of 2500: the narrow valley that makes it hard for
    gradient descent.
    """

    def polar(v):
        r, theta = v[0], v[1]
        return np.stack([r * np.cos(theta), r * np.sin(theta)])

    v = np.array([2.0, np.pi / 6])
    J_forward, J_reverse = cr.jacfwd(polar)(v), cr.jacrev(polar)(v)
    r, t = v
    exact = [[np.cos(t), -r * np.sin(t)], [np.sin(t), r * np.cos(t)]]
    print(f"Jacobian of polar coordinates at r = 2, theta = pi/6: {show(J_forward)}")
    print(
        f"forward = reverse: {check(J_forward, J_reverse)}   formula: {check(J_forward, exact)}",
        end="",
    )
    print(f"   det = {np.linalg.det(J_forward):.4f} = r  {check(np.linalg.det(J_forward), r)}")

    surfaces = [
        ("x**2 + 2 y**2", lambda p: p[0] ** 2 + 2 * p[1] ** 2, [0.0, 0.0]),
        ("-x**2 - y**2", lambda p: -(p[0] ** 2) - p[1] ** 2, [0.0, 0.0]),
        ("x**2 - y**2", lambda p: p[0] ** 2 - p[1] ** 2, [0.0, 0.0]),
        ("x**4 + y**4", lambda p: p[0] ** 4 + p[1] ** 4, [0.0, 0.0]),
        ("x**2 + 2 y**2", lambda p: p[0] ** 2 + 2 * p[1] ** 2, [1.0, 0.0]),
        ("rosenbrock", lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2, [1.0, 1.0]),
    ]
    for name, f, point in surfaces:
        point = np.array(point)
        H = cr.hessian(f)(point)
        eigenvalues = np.linalg.eigvalsh(H)
        print(f"\n{name} at {show(point)}: Hessian {show(H)}, eigenvalues {show(eigenvalues)}")
        print(f"  {curvature.classify(cr.grad(f)(point), eigenvalues)}")
        numerical = numerical_jacobian(cr.grad(f), point)  # central differences of the gradient
        print(f"  the Hessian equals central differences: {check(H, numerical, tol=1e-4)}")


@stop(
    "convexity",
    "Convexity",
    "chords above the graph, one minimum or many, the Hessian test",
)
def _convexity() -> None:
    """
    A function is convex when every chord lies on or above its graph: for any points a, b
    and any θ in [0, 1], f(θ a + (1 - θ) b) <= θ f(a) + (1 - θ) f(b). A convex function has
    no local minimum that is not global, so gradient descent cannot get stuck on one: that
    is why least squares, logistic regression and SVMs have reliable solvers, and why the
    loss of a neural network, which is not convex, has no such guarantee.

    Below, the definition is tested on 2,200 chords (random pairs of points, θ = 0, 0.1,
    ..., 1) of the convex bowl f(x, y) = x² + x y + y² and of g(x, y) = x⁴ - 3x² + x + y²;
    g fails it, for instance on the chord from (-1.2, 0) to (1.2, 0): g(0, 0) = 0 lies
    above the chord's midpoint, 1.2⁴ - 3 · 1.2² = -2.2464. g has two minima, where
    ∂g/∂x = 4x³ - 6x + 1 = 0 and y = 0: a global one at x = -1.301 and a local one at
    x = 1.131, with a saddle between. Gradient descent from different starts ends in either,
    whichever basin it starts in.

    The second-order test: a twice-differentiable function is convex exactly when its
    Hessian is positive semi-definite (all eigenvalues >= 0) everywhere. The bowl's
    Hessian is [[2, 1], [1, 2]] everywhere, eigenvalues 1 and 3; g's is
    diag(12x² - 6, 2), negative in x for |x| < 1/√2.
    """

    def bowl(p):
        return p[0] ** 2 + p[0] * p[1] + p[1] ** 2

    def g(p):
        return p[0] ** 4 - 3 * p[0] ** 2 + p[0] + p[1] ** 2

    rng = numpy.random.default_rng(0)
    a, b = rng.uniform(-2, 2, (2, 2, 200, 1))  # 200 pairs of points: rows x, y
    theta = np.linspace(0.0, 1.0, 11)
    for name, f in [("bowl", bowl), ("g", g)]:
        on_graph = f(theta * a + (1 - theta) * b)  # 200 x 11 points between a and b
        chord = theta * f(a) + (1 - theta) * f(b)
        rounding = 1e-12 * (1 + np.abs(chord))  # float64 rounding, far below any real gap
        below = int(np.sum(on_graph > chord + rounding))
        print(f"{name}: {below} of {on_graph.size} chords dip below the graph", end="")
        print(f", worst by {np.max(on_graph - chord):.4f}")
        print(f"  convex by the definition: {below == 0}  {check(below == 0, name == 'bowl')}")
    midpoint = (g(np.array([-1.2, 0.0])) + g(np.array([1.2, 0.0]))) / 2
    print(f"g's chord from (-1.2, 0) to (1.2, 0) at its middle: {midpoint:.4f}", end="")
    print(f", g(0, 0) = {g(np.zeros(2)):.4f}  {check(midpoint, 1.2**4 - 3 * 1.2**2)}")

    minima = sorted(numpy.roots([4, 0, -6, 1]).real)  # where dg/dx = 0: the witness
    print(f"\ndg/dx = 0 at x = {show(minima)}: minimum, saddle, minimum")
    paths = []
    for start in [(-2.0, 1.5), (-0.5, -1.5), (0.1, 1.0), (0.5, -1.0), (2.0, 1.5)]:
        path = descend(g, start, "gd", lr=0.05, steps=500)  # plain gradient descent
        paths.append(path)
        end = path.final
        where = "global" if end[0] < 0 else "local"
        nearest = minima[0] if end[0] < 0 else minima[2]
        print(
            f"  from {show(start)}: ends at {show(end)}, g = {g(end):.4f}, the {where} minimum"
            f"  {check(end, [nearest, 0.0])}"
        )

    print("\nHessians and their eigenvalues (PSD: all >= 0)")
    for name, f, point, exact in [
        ("bowl", bowl, [1.5, -0.5], [[2, 1], [1, 2]]),
        ("g", g, [minima[0], 0.0], [[12 * minima[0] ** 2 - 6, 0], [0, 2]]),
        ("g", g, [minima[2], 0.0], [[12 * minima[2] ** 2 - 6, 0], [0, 2]]),
        ("g", g, [0.0, 0.0], [[-6, 0], [0, 2]]),
    ]:
        H = cr.hessian(f)(np.array(point))
        eigenvalues = np.linalg.eigvalsh(H)
        print(
            f"  {name} at {show(point)}: eigenvalues {show(eigenvalues)}"
            f" {'PSD' if eigenvalues[0] >= 0 else 'not PSD'}  {check(H, exact)}"
        )

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    line, ends = np.linspace(-2.0, 2.0, 81), np.array([-1.2, 1.2])
    for name, f, colour in [("bowl", bowl, "tab:blue"), ("g", g, "tab:red")]:
        section = f(np.stack([line, 0 * line]))  # the graph along y = 0
        axes[0].plot(line, section, color=colour, label=f"{name}(x, 0)")
        chord = f(np.stack([ends, 0 * ends]))
        axes[0].plot(ends, chord, "--o", color=colour, label=f"a chord of {name}")
    axes[0].set_title("chords: above the bowl, below g at x = 0")
    axes[0].set_xlabel("x")
    axes[0].legend(fontsize=8)
    xs, ys = np.meshgrid(np.linspace(-2.2, 2.2, 89), np.linspace(-2, 2, 81))
    titles = ["convex: x² + xy + y²", "not convex: g = x⁴ - 3x² + x + y²"]
    for ax, title, f in [(axes[1], titles[0], bowl), (axes[2], titles[1], g)]:
        contours = ax.contour(xs, ys, f(np.stack([xs, ys])), levels=20, cmap="viridis")
        fig.colorbar(contours, ax=ax)
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_aspect("equal")
    for path in paths:
        axes[2].plot(path.points[:, 0], path.points[:, 1], "r.-", markersize=3)
    axes[2].plot([minima[0], minima[2]], [0, 0], "k*", markersize=12, label="global, local minimum")
    axes[2].legend(loc="lower right", fontsize=8)
    print(figure(fig, "convexity-surfaces"))


@stop("training", "A preview of training", "a small network learns two moons with Adam")
def _training() -> None:
    """
    Training is everything above in a loop: a model with parameters, a loss measuring its
    mistakes on data, the gradient of the loss with respect to every parameter by
    backpropagation, and a step against it. Here a small network (2 inputs, two hidden
    layers of 16 tanh units, 2 outputs) learns to separate two interleaving half moons, a
    task no straight line can do, with full-batch Adam for 300 steps.

    The model is a pytree, so `cr.value_and_grad(loss)(model, ...)` returns gradients
    shaped like the model, and the optimizer's `step` is a plain function. The loss falls
    and the accuracy climbs to 100%. `chainrule train` does the same on the built-in
    handwritten digits, with mini-batches, a progress bar and held-out accuracy.
    """
    X, labels = data.make_moons(200, noise=0.1, random_state=0, dtype=np.float64)
    model = nn.MLP([2, 16, 16, 2], activation=nn.tanh, rng=0, dtype=np.float64)

    def loss(model, X, labels):
        return nn.cross_entropy(model(X), labels)

    optimizer = optim.Adam(lr=0.05)
    state = optimizer.init(model)
    print(f"{nn.count_parameters(model)} parameters; {len(X)} points in two classes")
    for step in range(301):
        value, grads = cr.value_and_grad(loss)(model, X, labels)  # backpropagation
        if step % 50 == 0:
            print(
                f"step {step:>3}: loss {value:.4f}, accuracy {train.accuracy(model(X), labels):.1%}"
            )
        model, state = optimizer.step(grads, state, model)  # a step against the gradient
    print(f"final accuracy: {check(train.accuracy(model(X), labels), 1.0)}")
