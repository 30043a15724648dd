// Photo zoom (click to open the original, wheel or +/- to zoom, click to close)
// and confirmation for destructive forms. No inline scripts: the CSP forbids them.
document.addEventListener("DOMContentLoaded", () => {
  const zoom = document.getElementById("zoom");
  if (zoom) {
    const img = zoom.querySelector("img");
    let scale = 1;
    const apply = () => { img.style.transform = `scale(${scale})`; };
    document.querySelectorAll("img.zoomable").forEach((thumb) => {
      thumb.addEventListener("click", () => {
        scale = 1; apply();
        img.src = thumb.dataset.full;
        zoom.hidden = false;
      });
    });
    zoom.addEventListener("click", () => { zoom.hidden = true; img.removeAttribute("src"); });
    zoom.addEventListener("wheel", (e) => {
      e.preventDefault();
      scale = Math.min(8, Math.max(0.5, scale * (e.deltaY < 0 ? 1.2 : 1 / 1.2)));
      apply();
    }, { passive: false });
    document.addEventListener("keydown", (e) => {
      if (zoom.hidden) return;
      if (e.key === "+" || e.key === "=") { scale = Math.min(8, scale * 1.2); apply(); }
      if (e.key === "-") { scale = Math.max(0.5, scale / 1.2); apply(); }
      if (e.key === "Escape") { zoom.hidden = true; }
    });
  }
  document.querySelectorAll("form.confirm").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  });
});
