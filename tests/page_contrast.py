"""WCAG's contrast ratio of an element's text against its background, as the page shows it.

`CONTRAST` is a JavaScript function for Playwright's `page.evaluate(CONTRAST, selector)`: it
takes the element's computed colour and the first non-transparent background colour of it or
its ancestors (white if none), and returns (L1 + 0.05) / (L2 + 0.05) of their relative
luminances. WCAG AA asks 4.5:1 for body text.
"""

CONTRAST = """(selector) => {
  const lum = (css) => { const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number)
      .map((v) => v / 255).map((v) => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const element = document.querySelector(selector);
  let back = element, colour = "rgba(0, 0, 0, 0)";
  while (back && (colour = getComputedStyle(back).backgroundColor).endsWith(", 0)"))
    back = back.parentElement;
  const [a, b] = [lum(getComputedStyle(element).color), lum(back ? colour : "rgb(255,255,255)")];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
