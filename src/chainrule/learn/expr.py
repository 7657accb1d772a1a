"""Formulas as text: a small, safe parser for expressions such as ``x**2 + 2*y**2``.

The command line and the pictures take formulas from users, so the text is parsed here by a
tokenizer and a recursive-descent parser, never by ``eval``: a name that is not a listed
function, constant or plain variable, attribute access, indexing, strings and calls of
anything else are refused with an `ExpressionError` that points at the offending character.
Evaluation maps the tree onto ``chainrule.numpy``, so a parsed formula is differentiable.

The grammar, loosest binding first::

    expression := product (('+' | '-') product)*
    product    := unary (('*' | '/') unary)*
    unary      := ('-' | '+')* atom ('**' unary)?      # -x**2 is -(x**2); ** is right-assoc.
    atom       := number | variable | constant | function '(' expression ')'
                | '(' expression ')'

>>> f = parse("x**2 + 2*y**2")
>>> f.variables
('x', 'y')
>>> float(f(3.0, 4.0))
41.0
>>> import chainrule as cr
>>> [float(g) for g in cr.grad(f.function(), argnums=(0, 1))(3.0, 4.0)]
[6.0, 16.0]
"""

from __future__ import annotations

import difflib
import inspect
import keyword
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy

from chainrule import numpy as cnp
from chainrule.scipy import special as _special

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Binary",
    "Call",
    "Constant",
    "Expression",
    "ExpressionError",
    "Negate",
    "Number",
    "Variable",
    "parse",
]

MAX_LENGTH = 10_000
"""Longest accepted text, in characters: formulas are typed by people, not generated."""

MAX_DEPTH = 200
"""Deepest accepted nesting of parentheses, signs and powers (keeps the parser's recursion
far from Python's recursion limit)."""

FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sin": cnp.sin,
    "cos": cnp.cos,
    "tan": cnp.tan,
    "exp": cnp.exp,
    "log": cnp.log,
    "ln": cnp.log,
    "sqrt": cnp.sqrt,
    "abs": cnp.abs,
    "tanh": cnp.tanh,
    "sigmoid": _special.expit,
    "relu": lambda x: cnp.maximum(x, 0.0),
    "softplus": lambda x: cnp.logaddexp(x, 0.0),
}
"""The functions a formula may call, each of one argument, written with chainrule.numpy.

``log`` and ``ln`` are both the natural logarithm (``ln`` is the study guides' notation)."""

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
"""The named constants a formula may use."""

_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    # NumPy's functions, not Python's operators: 1/0 and 0**-1 give inf (with NumPy's warning)
    # instead of ZeroDivisionError, and (-8)**(1/3) gives nan instead of a complex number.
    "+": cnp.add,
    "-": cnp.subtract,
    "*": cnp.multiply,
    "/": cnp.divide,
    "**": cnp.power,
}

_FUNCTION_LIST = ", ".join(FUNCTIONS)


# --------------------------------------------------------------------------- errors


class ExpressionError(ValueError):
    """A formula that cannot be parsed: what is wrong, and a caret under where.

    `position` is a 0-based index into `text` (``len(text)`` when the formula ends too early).

    >>> try:
    ...     parse("2 * (x + 1")
    ... except ExpressionError as err:
    ...     print(err)
    ...     print(err.position)
    unclosed '(': add a ')' to close it
      2 * (x + 1
          ^
    4
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        super().__init__(_render(message, text, position))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.text, self.position))


def _shown(c: str) -> str:
    """One display column per character, so that the caret lines up."""
    if c in " \t\n\r\f\v":
        return " "
    if not c.isprintable() or unicodedata.combining(c) or unicodedata.east_asian_width(c) in "WF":
        return "?"
    return c


def _render(message: str, text: str, position: int, width: int = 72) -> str:
    start, end, prefix, suffix = 0, len(text), "", ""
    if len(text) > width:  # show a window around the position
        start = max(0, min(position - width // 2, len(text) - width))
        end = min(len(text), start + width)
        prefix = "..." if start > 0 else ""
        suffix = "..." if end < len(text) else ""
    line = prefix + "".join(_shown(c) for c in text[start:end]) + suffix
    caret = " " * (len(prefix) + position - start) + "^"
    return f"{message}\n  {line}\n  {caret}"


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Number:
    """A numeric literal, held as a Python float."""

    value: float
    position: int


@dataclass(frozen=True, slots=True)
class Variable:
    """A free variable, bound when the expression is evaluated."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Constant:
    """A named constant: ``pi`` or ``e``."""

    name: str
    position: int


@dataclass(frozen=True, slots=True)
class Negate:
    """Unary minus (unary plus leaves no trace in the tree)."""

    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right`` with op one of ``+ - * / **``."""

    op: str
    left: Node
    right: Node
    position: int


@dataclass(frozen=True, slots=True)
class Call:
    """``function(argument)`` for one of `FUNCTIONS`."""

    function: str
    argument: Node
    position: int


Node: TypeAlias = Number | Variable | Constant | Negate | Binary | Call


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Negate):
        return (node.operand,)
    if isinstance(node, Call):
        return (node.argument,)
    return ()


def _postorder(root: Node) -> list[Node]:
    """Children before parents, left to right, without recursion: ``1+1+...+1`` is a
    left-leaning tree thousands of levels deep, deeper than Python's recursion limit."""
    order: list[Node] = []
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(_children(node))
    order.reverse()
    return order


# Binding strength of each node when printed; a child printed weaker than its context is
# parenthesised.
_ADD, _MUL, _NEG, _POW, _ATOM = 1, 2, 3, 4, 5
_PRECEDENCE = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "**": _POW}


def _format_number(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def _to_text(root: Node) -> str:
    """Normalised text with the fewest parentheses that keep the tree's shape."""
    done: list[tuple[str, int]] = []
    for node in _postorder(root):
        if isinstance(node, Number):
            done.append((_format_number(node.value), _ATOM))
        elif isinstance(node, (Variable, Constant)):
            done.append((node.name, _ATOM))
        elif isinstance(node, Call):
            arg, _ = done.pop()
            done.append((f"{node.function}({arg})", _ATOM))
        elif isinstance(node, Negate):
            arg, p = done.pop()
            done.append((f"-{arg}" if p >= _NEG else f"-({arg})", _NEG))
        else:
            (right, rp), (left, lp) = done.pop(), done.pop()
            p = _PRECEDENCE[node.op]
            if node.op == "**":  # right-associative, and a signed base needs parentheses
                left = left if lp > p else f"({left})"
                right = right if rp >= _NEG else f"({right})"
                done.append((f"{left}**{right}", p))
            else:  # left-associative: a + (b + c) keeps its parentheses (floats do not regroup)
                left = left if lp >= p else f"({left})"
                right = right if rp > p else f"({right})"
                sep = " " if p == _ADD else ""
                done.append((f"{left}{sep}{node.op}{sep}{right}", p))
    return done[0][0]


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "name", "op" or "end"
    text: str
    position: int


_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "+", "-", "*", "/", "(", ")", ",")
_HINTS = {
    ".": "'.' may only appear inside a number such as 1.5; attribute access is not allowed",
    "[": "brackets are not allowed; group with parentheses ( )",
    "]": "brackets are not allowed; group with parentheses ( )",
    "{": "braces are not allowed; group with parentheses ( )",
    "}": "braces are not allowed; group with parentheses ( )",
    "'": "strings are not allowed in a formula",
    '"': "strings are not allowed in a formula",
    "^": "'^' is not an operator here; write ** for a power, as in x**2",
    "=": "'=' is not allowed: write only the right-hand side, as in x**2 + 1",
}


def _tokens(text: str) -> Iterator[_Token]:
    """Tokens one at a time, so that the first problem in reading order is the one reported."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\n\r\f\v":
            i += 1
            continue
        number = _NUMBER.match(text, i)
        if number:
            yield _Token("number", number.group(), i)
            i = number.end()
            continue
        name = _NAME.match(text, i)
        if name:
            word = name.group()
            if word.startswith("_"):
                raise ExpressionError(
                    f"name {word!r} is not allowed: names may not start with '_'", text, i
                )
            if keyword.iskeyword(word):
                raise ExpressionError(
                    f"{word!r} is a Python keyword; a formula uses only numbers, variables, "
                    f"+ - * / **, parentheses and the functions {_FUNCTION_LIST}",
                    text,
                    i,
                )
            yield _Token("name", word, i)
            i = name.end()
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is None:
            hint = _HINTS.get(c, "use numbers, variables, + - * / **, parentheses and functions")
            raise ExpressionError(f"unexpected character {c!r}: {hint}", text, i)
        yield _Token("op", op, i)
        i += len(op)
    yield _Token("end", "", n)


# --------------------------------------------------------------------------- the parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.tok = next(self.tokens)
        self.depth = 0

    def error(self, message: str, position: int | None = None) -> ExpressionError:
        return ExpressionError(
            message, self.text, self.tok.position if position is None else position
        )

    def advance(self) -> _Token:
        tok, self.tok = self.tok, next(self.tokens)
        return tok

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("empty expression: write a formula such as x**2 + 1")
        node = self.expression()
        if self.tok.kind != "end":
            if self.is_op(")"):
                raise self.error("unmatched ')': remove it or add a '(' before it")
            raise self.unexpected_after_operand(None)
        return node

    def expression(self) -> Node:
        """A sum of products. Both levels loop in this one frame (no helper per level), so
        that a level of parentheses costs three frames of Python's recursion limit."""
        total: Node | None = None
        add: _Token | None = None
        while True:
            term = self.unary()
            while self.is_op("*", "/"):
                op = self.advance()
                term = Binary(op.text, term, self.unary(), op.position)
            if total is None or add is None:
                total = term
            else:
                total = Binary(add.text, total, term, add.position)
            if not self.is_op("+", "-"):
                return total
            add = self.advance()

    def unary(self) -> Node:
        start = self.depth
        signs: list[_Token] = []
        self.deeper()
        while self.is_op("+", "-"):
            self.deeper()
            signs.append(self.advance())
        node = self.atom()
        if self.is_op("**"):
            op = self.advance()
            node = Binary("**", node, self.unary(), op.position)
        for sign in reversed(signs):
            if sign.text == "-":
                node = Negate(node, sign.position)
        self.depth = start
        return node

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels of "
                "parentheses, signs and powers)"
            )

    def atom(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.error(f"number {tok.text} is too large for a float", tok.position)
            return Number(value, tok.position)
        if tok.kind == "name":
            self.advance()
            if tok.text not in FUNCTIONS:
                return self.name(tok)
            # A call: parsed here rather than in a helper, to spend few recursion frames.
            if not self.is_op("("):
                raise self.error(
                    f"{tok.text} is a function: call it, as in {tok.text}(x)", tok.position
                )
            self.advance()
            if self.is_op(")"):
                raise self.error(f"{tok.text}() needs one argument, as in {tok.text}(x)")
            argument = self.expression()
            self.close(tok, tok.text)
            return Call(tok.text, argument, tok.position)
        if self.is_op("("):
            self.advance()
            inner = self.expression()
            self.close(tok, None)
            return inner
        if tok.kind == "end":
            raise self.error(
                "expression ends early: expected a number, a variable, a function call or '('"
            )
        if self.is_op(")"):
            raise self.error("unexpected ')': expected a number, a variable or '(' before it")
        if self.is_op(","):
            raise self.error("unexpected ',': a formula is one expression, without commas")
        raise self.error(f"unexpected {tok.text!r}: expected a number, a variable or '('")

    def name(self, tok: _Token) -> Node:
        """A variable or a constant; a call of either is refused."""
        name = tok.text
        if self.is_op("("):
            what = "a constant" if name in CONSTANTS else "not a known function"
            close = difflib.get_close_matches(name.lower(), FUNCTIONS, n=1)
            hint = f"did you mean {close[0]}(...)?" if close else f"to multiply, write {name}*(...)"
            raise self.error(
                f"{name!r} is {what}; the functions are {_FUNCTION_LIST} ({hint})",
                tok.position,
            )
        if name in CONSTANTS:
            return Constant(name, tok.position)
        return Variable(name, tok.position)

    def close(self, opening: _Token, function: str | None) -> None:
        """Consume the ')' that closes `opening` (a '(' or a function name)."""
        if self.is_op(")"):
            self.advance()
            return
        if self.tok.kind == "end":
            where = f"{function}(" if function else "'('"
            raise self.error(f"unclosed {where}: add a ')' to close it", opening.position)
        raise self.unexpected_after_operand(function)

    def unexpected_after_operand(self, function: str | None) -> ExpressionError:
        tok = self.tok
        if self.is_op(","):
            if function:
                return self.error(f"{function}() takes exactly one argument")
            return self.error("unexpected ',': a formula is one expression, without commas")
        return self.error(f"missing operator before {tok.text!r} (write * to multiply, as in 2*x)")


# --------------------------------------------------------------------------- expressions


def _as_value(value: Any) -> Any:
    """Integers become floats: NumPy refuses integers to negative integer powers."""
    if isinstance(value, (list, tuple)):
        value = numpy.asarray(value)
    if isinstance(value, (bool, int, numpy.integer, numpy.bool_)):
        return float(value)
    if isinstance(value, numpy.ndarray) and value.dtype.kind in "biu":
        return value.astype(numpy.float64)
    return value


class Expression:
    """A parsed formula: call it with values for its variables; it is differentiable.

    >>> f = parse("sin(x) * exp(-t)")
    >>> f
    Expression('sin(x)*exp(-t)')
    >>> f.variables
    ('x', 't')
    >>> round(float(f(0.5, t=0.0)), 6)
    0.479426
    """

    __slots__ = ("_str", "_text", "_tree", "_variables")

    def __init__(self, text: str, tree: Node) -> None:
        self._text = text
        self._tree = tree
        names: dict[str, None] = {}
        for node in _postorder(tree):
            if isinstance(node, Variable):
                names.setdefault(node.name)
        self._variables = tuple(names)
        self._str = _to_text(tree)

    @property
    def text(self) -> str:
        """The text as it was given to `parse`."""
        return self._text

    @property
    def tree(self) -> Node:
        """The immutable syntax tree (`Number`, `Variable`, `Constant`, `Negate`, `Binary`,
        `Call`)."""
        return self._tree

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in order of first appearance: the order of positional arguments."""
        return self._variables

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return f"Expression({self._str!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and self._str == other._str

    def __hash__(self) -> int:
        return hash(self._str)

    def _bind(self, args: tuple[Any, ...], values: dict[str, Any]) -> dict[str, Any]:
        names = self._variables
        listing = ", ".join(names) if names else "none"
        if len(args) > len(names):
            raise ValueError(
                f"{self._str!r} takes {len(names)} value(s) (variables: {listing}), "
                f"got {len(args)} positional arguments"
            )
        bound = dict(zip(names, args, strict=False))
        for name, value in values.items():
            if name not in names:
                raise ValueError(f"{self._str!r} has no variable {name!r} (variables: {listing})")
            if name in bound:
                raise ValueError(f"variable {name!r} was given twice, by position and by name")
            bound[name] = value
        for name in names:
            if name not in bound:
                raise ValueError(
                    f"missing a value for variable {name!r} of {self._str!r}: pass {name}=... "
                    f"or the values positionally in the order {listing}"
                )
        return {name: _as_value(value) for name, value in bound.items()}

    def __call__(self, /, *args: Any, **values: Any) -> Any:
        """Evaluate with chainrule.numpy: positional values bind to `variables` in order.

        >>> f = parse("x**2 + 2*y**2")
        >>> float(f(3.0, 4.0)), float(f(y=4.0, x=3.0))
        (41.0, 41.0)
        >>> f(x=[1.0, 2.0], y=0.0)
        array([1., 4.])
        """
        env = self._bind(args, values)
        stack: list[Any] = []
        for node in _postorder(self._tree):
            if isinstance(node, Number):
                stack.append(node.value)
            elif isinstance(node, Variable):
                stack.append(env[node.name])
            elif isinstance(node, Constant):
                stack.append(CONSTANTS[node.name])
            elif isinstance(node, Negate):
                stack.append(cnp.negative(stack.pop()))
            elif isinstance(node, Call):
                stack.append(FUNCTIONS[node.function](stack.pop()))
            else:
                right = stack.pop()
                stack.append(_BINARY[node.op](stack.pop(), right))
        return stack[0]

    def function(self) -> Callable[..., Any]:
        """A plain function ``f(x, y, ...)`` of the variables in order, for `cr.grad` and co.

        Its ``__name__`` is ``"f"`` and its signature names the variables.

        >>> import inspect
        >>> import chainrule as cr
        >>> f = parse("x**2 + 2*y**2").function()
        >>> f.__name__, str(inspect.signature(f))
        ('f', '(x, y)')
        >>> [float(g) for g in cr.grad(f, argnums=(0, 1))(3.0, 4.0)]
        [6.0, 16.0]
        """

        def f(*args: Any, **values: Any) -> Any:
            return self(*args, **values)

        params = [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for name in self._variables
        ]
        f.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        f.__name__ = f.__qualname__ = "f"
        f.__doc__ = f"f({', '.join(self._variables)}) = {self._str}"
        return f


def parse(text: str) -> Expression:
    """Parse a formula; an `ExpressionError` (a ValueError) says what is wrong and where.

    >>> parse("-x**2 + 2*pi")
    Expression('-x**2 + 2*pi')
    >>> float(parse("2**3**2")()), float(parse("(2**3)**2")())
    (512.0, 64.0)
    >>> parse("x.real")
    Traceback (most recent call last):
      ...
    chainrule.learn.expr.ExpressionError: unexpected character '.': '.' may only appear inside a number such as 1.5; attribute access is not allowed
      x.real
       ^
    """
    if not isinstance(text, str):
        raise TypeError(f"parse expects the formula as a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text)} characters; at most {MAX_LENGTH})",
            text,
            MAX_LENGTH,
        )
    parser = _Parser(text)
    try:
        tree = parser.parse()
    except RecursionError:  # a safety net: MAX_DEPTH should stop us well before this
        raise parser.error("expression is nested too deeply") from None
    return Expression(text, tree)
