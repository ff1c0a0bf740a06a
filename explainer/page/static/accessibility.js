() => {
  // Names for what Gradio leaves unnamed, so a screen reader can say what each picture is:
  // a picture shown inside a button gets its block's label as the button's name and the image's text,
  // and the footer's settings icon, already named by the word beside it, is marked decorative. A dropdown's
  // list of choices stays out of the Tab order.
  const label = (element) => {
    const block = element.closest(".block");
    const text = block && block.querySelector("[data-testid='block-label'], label");
    return text ? text.textContent.trim() : "";
  };
  const name = () => {
    document.querySelectorAll("button:not([aria-label])").forEach((button) => {
      const picture = button.querySelector("img");
      if (!picture || button.textContent.trim()) return;
      const text = label(button);
      if (!text) return;
      button.setAttribute("aria-label", text);
      if (!picture.getAttribute("alt")) picture.setAttribute("alt", text);
    });
    document.querySelectorAll("footer img[alt]").forEach((icon) => {
      const words = icon.parentElement ? icon.parentElement.textContent.trim() : "";
      if (words && words.includes(icon.getAttribute("alt"))) icon.setAttribute("alt", "");
    });
  };
  // A dropdown's list of choices is walked with the arrow keys from its box. A list long enough to scroll
  // would be a Tab stop of its own in Chromium, and it closes as it takes the focus, which would drop the
  // keyboard's place on the page: it is taken out of the Tab order.
  const keepTabOrder = () => {
    document.querySelectorAll("ul[role='listbox']:not([tabindex])").forEach((list) => list.setAttribute("tabindex", "-1"));
  };
  const tidy = () => { name(); keepTabOrder(); };
  tidy();
  new MutationObserver(tidy).observe(document.body, { childList: true, subtree: true });
}
