// MathJax 3 for pymdownx.arithmatex (generic mode) and for the course notebooks' Markdown cells,
// which write $...$ and $$...$$. MathJax itself is served by the site (javascripts/mathjax/, see
// docs/_hooks.py), loaded after this file.
//
// Only those elements are typeset, each whole: MathJax's own class filter (Material's
// `ignoreHtmlClass: ".*|"`) also ignores every element without a class, so a notebook's
// formulas, which sit in <p> elements inside .jp-MarkdownOutput, were never typeset.
const MATH = ".arithmatex, .jp-MarkdownOutput";

function typesetPage() {
  MathJax.startup.output.clearCache();
  MathJax.typesetClear();
  MathJax.texReset();
  return MathJax.typesetPromise([...document.querySelectorAll(MATH)]);
}

window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  startup: {
    typeset: false,
    pageReady: typesetPage, // MathJax.startup.promise resolves once the page is typeset
  },
};

// Material's page observable: a page shown without a reload (instant navigation) is typeset
// again; the first page is typeset by pageReady above.
let firstPage = true;
document$.subscribe(() => {
  if (firstPage) {
    firstPage = false;
  } else {
    typesetPage();
  }
});
