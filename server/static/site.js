// Every page (base.html): the menu button that opens the navigation on a narrow screen, the current page marked
// in the navigation, the filters of a list folded behind a button on a phone, and each table cell labelled with
// its column's heading (a phone shows tables as cards).
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  const header = document.querySelector("header.top");
  const toggle = header && header.querySelector(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", () => {
      const open = header.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }
  for (const link of document.querySelectorAll("header.top nav a")) {
    const path = new URL(link.href).pathname;
    if (window.location.pathname === path || window.location.pathname.startsWith(path + "/")) {
      link.setAttribute("aria-current", "page");
    }
  }
  for (const form of document.querySelectorAll("main form.filters:not(#map-panel form)")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "filters-toggle";
    button.setAttribute("aria-expanded", "false");
    button.textContent = "☰ ตัวกรอง · Filters";
    button.addEventListener("click", () => {
      const open = form.classList.toggle("open");
      button.setAttribute("aria-expanded", String(open));
    });
    form.before(button);
  }
  for (const table of document.querySelectorAll("main table")) {
    const headings = [...table.querySelectorAll(":scope > thead > tr > th")].map((th) => th.textContent.trim());
    if (!headings.length) continue;
    for (const row of table.querySelectorAll(":scope > tbody > tr")) {
      [...row.children].forEach((cell, i) => {
        if (headings[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", headings[i]);
      });
    }
  }
});
