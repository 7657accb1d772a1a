"""Part 8, further reading: the books, courses and papers the study guide recommends.

The stop's body is shown to the learner: keep it short, plain and commented.
"""

from __future__ import annotations

import textwrap

from chainrule.learn.tour import PARTS, check, stop

PART = "reading"


@stop("reading", "Further reading", "the books, courses and papers that go further, by part")
def _reading() -> None:
    """
    The tour shows each idea once, with numbers you can check. To go further, these are the
    books, courses and papers the study guide recommends, each with what it is best for and
    the parts of this tour it continues. All are free to read or watch online except Cover
    & Thomas.

    A good order: watch 3Blue1Brown for the pictures, read Mathematics for Machine Learning
    for the mathematics, then Deep Learning and the Stanford courses for the machine
    learning, coming back to the specialised texts when a part needs more depth.
    """
    # (title, by, where to find it, what it is for, the parts of the tour it continues)
    reading = [
        ("Mathematics for Machine Learning", "Deisenroth, Faisal & Ong (2020)",
         "mml-book.github.io", "the mathematics of this tour in one free book: linear "
         "algebra, vector calculus, probability, optimisation; chapter 9 is linear regression",
         ["calculus", "linear_algebra", "probability", "regression"]),
        ("Deep Learning", "Goodfellow, Bengio & Courville (2016)", "deeplearningbook.org",
         "part I is the background (chapter 4, numerical computation: overflow and "
         "softmax); parts II and III are networks, backpropagation and training",
         ["linear_algebra", "probability", "information", "floating_point"]),
        ("Essence of Linear Algebra", "3Blue1Brown (Grant Sanderson)", "3blue1brown.com",
         "short videos: matrices as maps, determinants as areas, eigenvectors, drawn",
         ["linear_algebra"]),
        ("Essence of Calculus", "3Blue1Brown (Grant Sanderson)", "3blue1brown.com",
         "short videos: derivatives, the chain rule and integrals, from pictures",
         ["calculus"]),
        ("CS229: Machine Learning", "Stanford (Andrew Ng and others)", "cs229.stanford.edu",
         "lecture notes deriving linear and logistic regression, regularisation, "
         "maximum likelihood", ["regression", "probability"]),
        ("CS231n: Deep Learning for Computer Vision", "Stanford", "cs231n.stanford.edu",
         "backpropagation by hand, softmax, training practice, attention and transformers",
         ["calculus", "attention"]),
        ("Elements of Information Theory", "Cover & Thomas (2nd ed., 2006)", "Wiley",
         "the reference for entropy, relative entropy (KL) and mutual information",
         ["information"]),
        ("What Every Computer Scientist Should Know About Floating-Point Arithmetic",
         "David Goldberg (1991)", "ACM Computing Surveys 23(1), doi:10.1145/103162.103163",
         "rounding, ulps, cancellation and the IEEE 754 standard, with proofs",
         ["floating_point"]),
        ("Attention Is All You Need", "Vaswani et al. (2017)", "arxiv.org/abs/1706.03762",
         "the transformer paper: scaled dot-product and multi-head attention",
         ["attention"]),
    ]  # fmt: skip
    for title, by, where, what, parts in reading:
        print(f"- {title}, {by}. {where}")
        continues = ", ".join(PARTS[p] for p in parts)  # a misspelt part is a KeyError
        lines = textwrap.wrap(f"{what}. Continues: {continues}.", 88)
        print("\n".join("    " + line for line in lines))
    # every part of the tour has somewhere to go next
    covered = {part for *_, parts in reading for part in parts}
    missing = sorted(set(PARTS) - {"reading"} - covered)
    print(f"{len(reading)} entries; parts with nothing to read next: {missing}", end=" ")
    print(check(len(missing), 0))
