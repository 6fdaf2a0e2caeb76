// Two small SVG charts for the dashboard — lines over periods, bars by tenant — drawn with the DOM alone (no
// library). A suppressed figure is a gap in a line and a hatched, empty bar labelled "suppressed", never a value.
"use strict";

window.DashboardCharts = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = ["#005ea5", "#d4351c", "#00703c", "#6f72af", "#f47738"];
  const SIZE = { width: 960, height: 260, left: 56, right: 16, top: 16, bottom: 56 };

  function el(name, attributes, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
  return node;
  }

  // A "nice" upper bound and ticks for the y axis: 1, 2 or 5 times a power of ten.
  function scale(values) {
    const max = Math.max(0, ...values.filter((v) => v !== null));
    if (max === 0) return { top: 1, ticks: [0, 1] };
    const raw = max / 4, power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const ticks = [];
    for (let t = 0; t <= max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
    if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return { top: ticks[ticks.length - 1], ticks };
  }

  function frame(container, label, values) {
    const svg = el("svg", { viewBox: `0 0 ${SIZE.width} ${SIZE.height}`, role: "img", "aria-label": label,
                            width: "100%", height: SIZE.height });
    const { top, ticks } = scale(values);
    const plotHeight = SIZE.height - SIZE.top - SIZE.bottom;
    const y = (v) => SIZE.top + plotHeight * (1 - v / top);
    for (const t of ticks) {
      svg.append(el("line", { x1: SIZE.left, x2: SIZE.width - SIZE.right, y1: y(t), y2: y(t), class: "grid" }));
      svg.append(el("text", { x: SIZE.left - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, String(t)));
    }
    container.replaceChildren(svg);
  return { svg, y };
  }

  function xLabel(svg, x, text) {
    svg.append(el("text", { x, y: SIZE.height - SIZE.bottom + 16, "text-anchor": "end", class: "tick",
                            transform: `rotate(-35 ${x} ${SIZE.height - SIZE.bottom + 16})` }, text));
  }

  function legend(container, names) {
    const list = document.createElement("ul");
    list.className = "legend";
    names.forEach((name, i) => {
      const item = document.createElement("li");
      item.style.setProperty("--colour", COLOURS[i % COLOURS.length]);
      item.textContent = name;
      list.append(item);
    });
    container.append(list);
  }

  // series: [{label, points: [{x, value (number or null)}]}], all on the same x labels.
  function lineChart(container, label, labels, series) {
    const { svg, y } = frame(container, label, series.flatMap((s) => s.points.map((p) => p.value)));
    const width = SIZE.width - SIZE.left - SIZE.right;
    const x = (i) => SIZE.left + (labels.length < 2 ? width / 2 : (width * i) / (labels.length - 1));
    const every = Math.ceil(labels.length / 12);
    labels.forEach((text, i) => { if (i % every === 0) xLabel(svg, x(i), text); });
    series.forEach((s, n) => {
      const colour = COLOURS[n % COLOURS.length];
      let path = "";
      s.points.forEach((p, i) => {
        if (p.value === null) return;
        const joined = i > 0 && s.points[i - 1].value !== null;
        path += `${joined ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
        svg.append(el("circle", { cx: x(i), cy: y(p.value), r: 3, fill: colour, "data-series": s.label,
                                  "data-value": p.value }));
      });
      svg.append(el("path", { d: path, fill: "none", stroke: colour, "stroke-width": 2 }));
    });
    legend(container, series.map((s) => s.label));
  }

  // bars: [{key, label, value (number or null when suppressed)}]
  function barChart(container, label, bars) {
    const { svg, y } = frame(container, label, bars.map((b) => b.value));
    const width = SIZE.width - SIZE.left - SIZE.right, slot = width / Math.max(1, bars.length);
    bars.forEach((bar, i) => {
      const x = SIZE.left + slot * i + slot * 0.15, w = slot * 0.7;
      if (bar.value === null) {
        svg.append(el("rect", { x, y: y(0) - 14, width: w, height: 14, class: "suppressed-bar", "data-key": bar.key,
                                "data-suppressed": "true" }));
        svg.append(el("text", { x: x + w / 2, y: y(0) - 18, "text-anchor": "middle", class: "tick" }, "suppressed"));
      } else {
        svg.append(el("rect", { x, y: y(bar.value), width: w, height: Math.max(0, y(0) - y(bar.value)),
                                fill: COLOURS[0], "data-key": bar.key, "data-value": bar.value }));
      }
      xLabel(svg, x + w / 2, bar.label);
    });
  }

  return { lineChart, barChart };
})();
