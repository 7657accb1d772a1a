// pymdownx.arithmatex (generic) leaves \( ... \) and \[ ... \] in elements of class
// "arithmatex": MathJax typesets those and nothing else (not the code blocks).
window.MathJax = {
  tex: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true},
  options: {ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex"},
};
