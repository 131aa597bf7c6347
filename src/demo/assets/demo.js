// The page of `lifsim demo`. It simulates nothing: the server steps lifsim's iaf_cond_exp and
// streams frames over the WebSocket; this draws them and sends back what the user does.
// Protocol: src/demo/protocol.rs.

const $ = (id) => document.getElementById(id);

// How much wall time the scrolling trace shows [s].
const TRACE_WINDOW_S = 8;
// How much network time the raster shows [ms].
const RASTER_WINDOW_MS = 1000;
const COLORS = { vm: "#1f5fbf", th: "#d0402b", reset: "#888", gex: "#2a9d5c", E: "#2b6cb0", I: "#c53030" };

const state = {
  socket: null,
  hello: null,
  // Two-neuron view: the server's latest time, and the wall time it arrived, to interpolate.
  t: 0, tWall: 0, slowdown: 100,
  values: null,
  samples: { t: [], v: [], g: [] },
  inputSpikes: [],
  outputSpikes: [],
  vm: null, gex: 0, refractoryMs: 0, spikes: 0,
  flashUntil: 0,
  // Network view.
  net: { info: null, t: 0, tWall: 0, slowdown: 5, running: false, spikes: [], rates: [], kicks: [], received: 0 },
};

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(message));
  }
}

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.dataset.state = kind;
}

// Simulated time now, extrapolated from the last frame, never more than 100 ms of wall time on.
function simNow(t, tWall, slowdown) {
  const ahead = Math.min(performance.now() - tWall, 100);
  return t + ahead / slowdown;
}

function connect() {
  const socket = new WebSocket(`ws://${location.host}/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => setStatus("connected", "connected"));
  socket.addEventListener("close", () => setStatus("disconnected: is `lifsim demo` still running? Reload to reconnect", "closed"));
  socket.addEventListener("message", (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch { return; }
    const handler = handlers[message.type];
    if (handler) handler(message);
  });
}

const handlers = {
  hello(m) {
    state.hello = m;
    state.values = m.values;
    state.slowdown = m.slowdown.neuron;
    state.net.slowdown = m.slowdown.network;
    $("version").textContent = m.lifsim_version;
    buildSliders(m.params);
    showValues(m.values);
    setSlowdownSlider("neuron", m.slowdown.neuron);
    setSlowdownSlider("network", m.slowdown.network);
  },
  neuron(m) {
    const tr = m.trace;
    const s = state.samples;
    for (let i = 0; i < tr.v_m.length; i++) {
      s.t.push(tr.first_t_ms + i * state.hello.dt_ms);
      s.v.push(tr.v_m[i]);
      s.g.push(tr.g_ex[i]);
    }
    trimSamples();
    for (const t of tr.output_spikes_ms) {
      state.outputSpikes.push(t);
      state.flashUntil = performance.now() + 350;
    }
    state.t = m.t_ms;
    state.tWall = performance.now();
    state.vm = m.v_m;
    state.gex = m.g_ex;
    state.refractoryMs = m.refractory_ms;
    state.spikes = m.spikes;
    const out = $("output-neuron");
    out.dataset.vM = m.v_m.toFixed(3);
    out.dataset.gEx = m.g_ex.toFixed(3);
    out.dataset.spikes = String(m.spikes);
    out.dataset.refractoryMs = m.refractory_ms.toFixed(1);
    out.dataset.tMs = m.t_ms.toFixed(1);
    $("t-readout").textContent = m.t_ms.toFixed(1);
    $("vm-readout").textContent = m.v_m.toFixed(2);
    $("gex-readout").textContent = m.g_ex.toFixed(2);
    $("spike-readout").textContent = String(m.spikes);
  },
  input_spike(m) {
    state.inputSpikes.push(m);
  },
  params(m) {
    state.values = m.values;
    showValues(m.values);
  },
  slowdown(m) {
    if (m.view === "neuron") state.slowdown = m.factor; else state.net.slowdown = m.factor;
    setSlowdownSlider(m.view, m.factor);
  },
  network_info(m) {
    state.net.info = m;
    $("stride").textContent = String(m.stride);
  },
  network(m) {
    const net = state.net;
    for (const s of m.spikes) net.spikes.push(s);
    net.received += m.spikes.length;
    for (const b of m.rates) net.rates.push(b);
    for (const k of m.kicked_at_ms) net.kicks.push(k);
    const horizon = m.t_ms - 2 * RASTER_WINDOW_MS;
    dropBefore(net.spikes, (s) => s[0] >= horizon);
    dropBefore(net.rates, (b) => b.t_ms >= horizon);
    net.t = m.t_ms;
    net.tWall = performance.now();
    net.running = m.running;
    const view = $("network-view");
    view.dataset.running = String(m.running);
    view.dataset.tMs = m.t_ms.toFixed(1);
    view.dataset.kicks = String(m.kicks);
    $("raster").dataset.spikesReceived = String(net.received);
    $("net-start").disabled = m.running;
    $("net-stop").disabled = !m.running;
    const last = net.rates[net.rates.length - 1];
    if (last) {
      view.dataset.rateE = last.hz[0].toFixed(1);
      view.dataset.rateI = (last.hz[1] ?? 0).toFixed(1);
    }
    const rate = (i) => meanRate(i).toFixed(1);
    const names = net.info ? net.info.populations.map((p) => p.name) : ["E", "I"];
    const rates = names.map((name, i) => `${name} ${rate(i)} Hz`).join(" · ");
    let text = `t = ${m.t_ms.toFixed(1)} ms · ${rates} (last 100 ms) · kicks: ${m.kicks}`;
    text += m.running ? "" : " · stopped";
    if (m.stopped_because) text += ` (${m.stopped_because})`;
    $("net-readout").textContent = text;
  },
  error(m) {
    showError(m.message);
  },
};

// Drops leading elements of a time-ordered array that fail `keep`.
function dropBefore(array, keep) {
  let n = 0;
  while (n < array.length && !keep(array[n])) n++;
  if (n > 0) array.splice(0, n);
}

function meanRate(population) {
  const bins = state.net.rates.slice(-20);
  if (bins.length === 0) return 0;
  return bins.reduce((sum, b) => sum + (b.hz[population] ?? 0), 0) / bins.length;
}

function trimSamples() {
  const s = state.samples;
  const keepFrom = state.t - (1.5 * TRACE_WINDOW_S * 1000) / state.slowdown;
  let n = 0;
  while (n < s.t.length && s.t[n] < keepFrom) n++;
  if (n > 0) { s.t.splice(0, n); s.v.splice(0, n); s.g.splice(0, n); }
  dropBefore(state.outputSpikes, (t) => t >= keepFrom);
}

// ---- controls -------------------------------------------------------------------------------

// At most four decimals, none that are zero: 16.6667, 0.2, -55, 120.
function formatValue(info, value) {
  return `${Number(Number(value).toFixed(4))} ${info.unit === "x" ? "×" : info.unit}`;
}

function buildSliders(params) {
  const sliders = $("sliders");
  sliders.replaceChildren();
  for (const p of params) {
    const row = document.createElement("div");
    row.className = "slider";
    const id = `param-${p.name}`;
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = p.label;
    const input = document.createElement("input");
    input.type = "range";
    input.id = id;
    input.min = p.min;
    input.max = p.max;
    input.step = "any";
    input.value = p.default;
    input.dataset.param = p.name;
    const value = document.createElement("output");
    value.htmlFor = id;
    value.id = `${id}-value`;
    const help = document.createElement("p");
    help.className = "help";
    help.textContent = p.help;
    if (p.nest_default !== null) {
      const nest = document.createElement("span");
      nest.className = "nest-default";
      nest.textContent = ` NEST's default: ${formatValue(p, p.nest_default)}.`;
      help.append(nest);
    }
    input.addEventListener("input", () => {
      const v = snap(Number(input.value), p);
      value.textContent = formatValue(p, v);
      send({ type: "set_param", name: p.name, value: v });
    });
    row.append(label, input, value, help);
    sliders.append(row);
  }
}

function snap(value, info) {
  const snapped = Math.round(value / info.step) * info.step;
  return Math.min(info.max, Math.max(info.min, Number(snapped.toFixed(6))));
}

function showValues(values) {
  if (!state.hello) return;
  for (const p of state.hello.params) {
    const input = $(`param-${p.name}`);
    const v = values[p.name];
    if (document.activeElement !== input) input.value = v;
    let text = formatValue(p, v);
    if (p.name === "delay" || p.name === "t_ref") {
      const stretched = v * values.exaggeration;
      if (values.exaggeration !== 1) text += ` (×${values.exaggeration} = ${Number(stretched.toFixed(4))} ms)`;
    }
    $(`param-${p.name}-value`).textContent = text;
  }
}

function setSlowdownSlider(view, factor) {
  $(`${view}-slowdown`).value = Math.log10(factor);
  $(`${view}-slowdown-out`).textContent = formatFactor(factor);
}

function formatFactor(f) {
  return f >= 10 ? String(Math.round(f)) : f.toFixed(1).replace(/\.0$/, "");
}

function wireControls() {
  const input = $("input-neuron");
  const fire = () => {
    send({ type: "spike" });
    input.classList.remove("fired");
    // Restart the flash animation.
    void input.getBoundingClientRect();
    input.classList.add("fired");
  };
  input.addEventListener("click", fire);
  input.addEventListener("keydown", (e) => {
    if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      if (!e.repeat) fire();
    }
  });
  input.focus();
  $("reset-params").addEventListener("click", () => send({ type: "reset_params" }));
  for (const view of ["neuron", "network"]) {
    const slider = $(`${view}-slowdown`);
    slider.addEventListener("input", () => {
      const factor = Number(Math.pow(10, Number(slider.value)).toPrecision(2));
      $(`${view}-slowdown-out`).textContent = formatFactor(factor);
      send({ type: "set_slowdown", view, factor });
    });
  }
  $("net-start").addEventListener("click", () => send({ type: "network_start" }));
  $("net-stop").addEventListener("click", () => send({ type: "network_stop" }));
  $("net-kick").addEventListener("click", () => send({ type: "network_kick" }));
}

// ---- drawing --------------------------------------------------------------------------------

function drawStage() {
  const h = state.hello;
  if (!h || !state.values) return;
  const now = simNow(state.t, state.tWall, state.slowdown);
  const vLow = Math.min(h.fixed.E_L, h.fixed.V_reset);
  const vTh = state.values.V_th;
  const rMin = 25, rMax = 95;
  const radius = (v) => rMin + (rMax - rMin) * Math.min(1, Math.max(0, (v - vLow) / (vTh - vLow)));
  const out = $("output-neuron");
  if (state.vm !== null) out.setAttribute("r", radius(state.vm).toFixed(2));
  $("reset-ring").setAttribute("r", radius(h.fixed.V_reset).toFixed(2));
  out.classList.toggle("flash", performance.now() < state.flashUntil);
  out.classList.toggle("refractory", state.refractoryMs > 0);

  // Spikes on their way: a dot from the input neuron to the synapse.
  state.inputSpikes = state.inputSpikes.filter((s) => s.arrives_ms >= now - 0.05);
  const axon = $("axon");
  const x1 = Number(axon.getAttribute("x1")), x2 = Number(axon.getAttribute("x2"));
  const y = Number(axon.getAttribute("y1"));
  const group = $("in-flight");
  while (group.childElementCount < state.inputSpikes.length) {
    const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
    dot.setAttribute("r", "7");
    dot.setAttribute("class", "spike-dot");
    group.append(dot);
  }
  while (group.childElementCount > state.inputSpikes.length) group.lastElementChild.remove();
  state.inputSpikes.forEach((s, i) => {
    const f = Math.min(1, Math.max(0, (now - s.emitted_ms) / Math.max(1e-9, s.arrives_ms - s.emitted_ms)));
    const dot = group.children[i];
    dot.setAttribute("cx", (x1 + (x2 - x1) * f).toFixed(1));
    dot.setAttribute("cy", String(y));
  });
}

// Sizes the canvas's pixels to its size on the page (crisp lines) and returns a context that
// draws in CSS pixels.
function fitCanvas(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  const pw = Math.round(w * dpr), ph = Math.round(h * dpr);
  if (canvas.width !== pw || canvas.height !== ph) {
    canvas.width = pw;
    canvas.height = ph;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { ctx, w, h };
}

function drawTrace() {
  const h = state.hello;
  if (!h || !state.values) return;
  const { ctx, w, h: height } = fitCanvas($("trace"));
  const now = simNow(state.t, state.tWall, state.slowdown);
  const windowMs = (TRACE_WINDOW_S * 1000) / state.slowdown;
  const left = 56, right = w - 10;
  const x = (t) => right - ((now - t) / windowMs) * (right - left);
  const vTop = 10, vBottom = Math.round(0.62 * height), gTop = vBottom + 18, gBottom = height - 20;
  const vLow = Math.min(h.fixed.E_L, h.fixed.V_reset) - 3;
  const vHigh = Math.max(state.values.V_th, -50) + 3;
  const yv = (v) => vBottom - ((v - vLow) / (vHigh - vLow)) * (vBottom - vTop);
  const s = state.samples;
  let gMax = 1;
  for (const g of s.g) if (g > gMax) gMax = g;
  gMax = niceCeil(gMax);
  const yg = (g) => gBottom - (g / gMax) * (gBottom - gTop);

  ctx.clearRect(0, 0, w, height);
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillStyle = "#555";
  // Axes labels and reference lines.
  hline(ctx, left, right, yv(state.values.V_th), COLORS.th, [6, 4]);
  hline(ctx, left, right, yv(h.fixed.V_reset), COLORS.reset, [2, 3]);
  hline(ctx, left, right, yv(h.fixed.E_L), "#bbb", []);
  ctx.fillStyle = COLORS.th;
  ctx.fillText(`V_th ${state.values.V_th} mV`, left + 4, yv(state.values.V_th) - 4);
  ctx.fillStyle = COLORS.reset;
  ctx.fillText(`V_reset ${h.fixed.V_reset}`, left + 4, yv(h.fixed.V_reset) - 4);
  ctx.fillStyle = "#999";
  ctx.fillText(`E_L ${h.fixed.E_L}`, left + 4, yv(h.fixed.E_L) + 13);
  ctx.fillStyle = COLORS.vm;
  ctx.fillText("V_m [mV]", 4, vTop + 10);
  ctx.fillStyle = COLORS.gex;
  ctx.fillText("g_ex [nS]", 4, gTop + 10);
  ctx.fillStyle = "#777";
  ctx.fillText(`${gMax}`, 30, gTop + 24);
  ctx.fillText(`${windowMs.toFixed(windowMs < 10 ? 1 : 0)} ms shown`, right - 90, height - 6);
  hline(ctx, left, right, gBottom, "#ddd", []);

  // Output spikes: a tick above the trace.
  ctx.strokeStyle = COLORS.th;
  ctx.lineWidth = 2;
  for (const t of state.outputSpikes) {
    const xs = x(t);
    if (xs < left) continue;
    ctx.beginPath();
    ctx.moveTo(xs, vTop);
    ctx.lineTo(xs, yv(state.values.V_th));
    ctx.stroke();
  }
  polyline(ctx, s.t, s.v, x, yv, left, COLORS.vm);
  polyline(ctx, s.t, s.g, x, yg, left, COLORS.gex);
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hline(ctx, x0, x1, y, color, dash) {
  ctx.save();
  ctx.strokeStyle = color;
  ctx.setLineDash(dash);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(x0, y);
  ctx.lineTo(x1, y);
  ctx.stroke();
  ctx.restore();
}

function polyline(ctx, ts, vs, x, y, left, color) {
  if (ts.length === 0) return;
  // At most about two points per pixel.
  const stride = Math.max(1, Math.floor(ts.length / 2000));
  ctx.strokeStyle = color;
  ctx.lineWidth = 2;
  ctx.beginPath();
  let started = false;
  for (let i = 0; i < ts.length; i += stride) {
    const px = x(ts[i]);
    if (px < left) continue;
    if (started) ctx.lineTo(px, y(vs[i])); else { ctx.moveTo(px, y(vs[i])); started = true; }
  }
  ctx.stroke();
}

function drawNetwork() {
  const net = state.net;
  const raster = $("raster");
  const { ctx, w, h } = fitCanvas(raster);
  const now = net.running ? simNow(net.t, net.tWall, net.slowdown) : net.t;
  const left = 40, right = w - 10;
  const x = (t) => right - ((now - t) / RASTER_WINDOW_MS) * (right - left);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "12px system-ui, sans-serif";
  const info = net.info;
  let drawn = 0;
  if (info) {
    const rowH = (h - 20) / info.rows;
    const iFirst = info.populations[1] ? info.populations[1].first_row : info.rows;
    drawKicks(ctx, x, left, 0, h - 20, info);
    for (const [name, color, test] of [["E", COLORS.E, (r) => r < iFirst], ["I", COLORS.I, (r) => r >= iFirst]]) {
      ctx.fillStyle = color;
      for (const [t, row] of net.spikes) {
        if (!test(row)) continue;
        // Whole pixels: crisp dots, and a screenshot that compresses well.
        const px = Math.round(x(t));
        if (px < left || px > right + 1) continue;
        ctx.fillRect(px, Math.round(4 + row * rowH), 2, Math.max(1, Math.round(rowH)));
        drawn++;
      }
      const pop = info.populations.find((p) => p.name === name);
      if (pop) ctx.fillText(name, 8, 4 + (pop.first_row + pop.rows / 2) * rowH + 4);
    }
    ctx.fillStyle = "#777";
    ctx.fillText(`${RASTER_WINDOW_MS} ms`, right - 50, h - 4);
  } else {
    ctx.fillStyle = "#777";
    ctx.fillText("Press Start to build and run the network.", left, h / 2);
  }
  raster.dataset.spikesDrawn = String(drawn);

  const { ctx: rc, w: rw, h: rh } = fitCanvas($("rates"));
  rc.clearRect(0, 0, rw, rh);
  rc.font = "12px system-ui, sans-serif";
  const bins = net.rates.filter((b) => x(b.t_ms) >= left);
  let top = 20;
  for (const b of bins) for (const v of b.hz) if (v > top) top = v;
  top = niceCeil(top);
  const yr = (v) => rh - 16 - (v / top) * (rh - 26);
  hline(rc, left, right, yr(0), "#ccc", []);
  rc.fillStyle = "#555";
  rc.fillText(`${top} Hz`, 2, yr(top) + 10);
  rc.fillText("0", 24, yr(0) + 4);
  if (info) drawKicks(rc, x, left, 4, rh - 16, info);
  [COLORS.E, COLORS.I].forEach((color, i) => {
    rc.strokeStyle = color;
    rc.lineWidth = 1.5;
    rc.beginPath();
    bins.forEach((b, j) => {
      const px = x(b.t_ms), py = yr(b.hz[i] ?? 0);
      if (j === 0) rc.moveTo(px, py); else rc.lineTo(px, py);
    });
    rc.stroke();
  });
  rc.fillStyle = "#555";
  rc.fillText("population rate", left + 4, 14);
}

// A kick: a dashed line when it was asked for, and the window in which its input plays.
function drawKicks(ctx, x, left, y0, y1, info) {
  const starts = [0, ...state.net.kicks];
  for (const k of starts) {
    const [a, b] = info.kick_window_ms ?? [0, 0];
    const xa = Math.max(left, x(k + a)), xb = x(k + b);
    if (xb >= left) {
      ctx.fillStyle = "rgba(255, 196, 0, 0.15)";
      ctx.fillRect(xa, y0, xb - xa, y1 - y0);
    }
    const xk = x(k);
    if (xk >= left) vline(ctx, xk, y0, y1);
  }
}

function vline(ctx, xk, y0, y1) {
  ctx.save();
  ctx.strokeStyle = "#b7791f";
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(xk, y0);
  ctx.lineTo(xk, y1);
  ctx.stroke();
  ctx.restore();
}

function frame() {
  drawStage();
  drawTrace();
  drawNetwork();
  requestAnimationFrame(frame);
}

wireControls();
connect();
requestAnimationFrame(frame);
