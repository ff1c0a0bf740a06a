// The denoising player, the one renderer of a run. On the page it is a gr.HTML component's js_on_load
// (Gradio hands it `element`, `props` and `watch`); the file section 9 exports runs this same script with
// the run's whole text, through a bootstrap that hands it the same three names (page/export.py).
// props.value is the run's text: a first line about the run ({"kind": "run", ...}), then one line per step
// as the server computes it (both strips of the whole reel as JPEG data: URIs, t, SNR, the guess's PSNR,
// its place on the map, a sentence), then {"kind": "done"}. The text only grows during a run, so each
// change brings the new lines alone.
//
// Pictures are <img> elements this script owns: a step's pictures are decoded before they replace the
// ones on show, and the title, the slider and the pictures change together, so none is ever blank or
// out of step. While the run streams in, the newest step is shown (unless the slider was moved); once it
// is done, Play replays it and the slider scrubs it. Clicking a frame of a strip enlarges it.
// The root carries what is on show: data-steps (steps received), data-total, data-step (the step shown),
// data-done, data-runs, and data-head (the reel's layout and its given frames, as JSON).
const stillMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
const PHONE_WIDTH = 640;
const FRAME_MS = 180;
const NO_REAL_FRAMES = 'a still photo: no real frames to compare the generated ones with';
let run = null;        // {head, lanes: [[step, ...], ...], done, firstLine, read}
let ui = null;         // the elements of the player, built for each run
let shownAt = -1;      // the step of lane 0 on show
let following = true;  // show each new step as it arrives
let playing = false;
let showing = 0;       // the newest show() call; older ones give way
let zoomFrame = null;

const make = (tag, attrs = {}, parent = null) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'text') node.textContent = value; else node.setAttribute(key, value);
  }
  if (parent) parent.appendChild(node);
  return node;
};
const fmt = (value, digits) => Number(value).toPrecision(digits).replace(/\.?0+$/, '').replace(/\.?0+e/, 'e');

function box() { return element.querySelector('.fr-denoise'); }

function build() {
  const root = box();
  if (!root) return null;
  root.replaceChildren();
  const head = make('div', {class: 'fr-dn-head'}, root);
  const title = make('div', {class: 'fr-dn-title', role: 'status'}, head);
  // what the run was given, said for as long as it is on show (its frames are marked in every strip)
  if (run.head.given_note) make('p', {class: 'fr-dn-given', text: `${run.head.start}: ${run.head.given_note}`}, head);
  const controls = make('div', {class: 'fr-dn-controls'}, root);
  const play = make('button', {class: 'fr-dn-play', type: 'button', 'aria-label': 'Play the steps',
                               text: '▶ Play'}, controls);
  const slider = make('input', {type: 'range', min: '0', max: '0', value: '0', step: '1',
                                'aria-label': 'the step on show', class: 'fr-dn-slider'}, controls);
  const lanes = run.head.lanes.map((lane, n) => {
    const section = make('div', {class: 'fr-dn-lane'}, root);
    make('div', {class: 'fr-dn-lane-name', text: run.head.lanes.length > 1 ? lane.name : ''}, section);
    const says = make('p', {class: 'fr-dn-says'}, section);
    const strips = {};
    const marks = (run.head.given || []).length ? ' · given frames marked' : '';
    for (const [kind, caption] of [['x_t', 'x_t · what the DiT sees, every frame' + marks],
                                   ['x0_hat', 'x̂0 · its guess of the clean clip' + marks]]) {
      const figure = make('figure', {class: `fr-dn-strip fr-dn-${kind}`}, section);
      make('figcaption', {text: caption}, figure);
      const img = make('img', {alt: `${caption}, lane ${n + 1}: no step yet`, draggable: 'false',
                               'data-kind': kind, 'data-lane': String(n)}, figure);
      img.addEventListener('click', (event) => pickFrame(img, event));
      strips[kind] = img;
    }
    return {section, says, strips};
  });
  const zoom = make('div', {class: 'fr-dn-zoom', hidden: ''}, root);
  const zoomHead = make('div', {class: 'fr-dn-zoom-head'}, zoom);
  const zoomTitle = make('span', {}, zoomHead);
  const zoomSlider = make('input', {type: 'range', min: '0', max: String(run.head.frames - 1), step: '1',
                                    value: '0', 'aria-label': 'the enlarged frame'}, zoomHead);
  const zoomClose = make('button', {type: 'button', class: 'fr-dn-close', text: '✕',
                                    'aria-label': 'Close the enlarged frame'}, zoomHead);
  const canvases = make('div', {class: 'fr-dn-canvases'}, zoom);
  const zooms = run.head.lanes.flatMap((lane, n) => ['x_t', 'x0_hat'].map((kind) => {
    const name = (kind === 'x_t' ? 'x_t' : 'x̂0') + (run.head.lanes.length > 1 ? ` · ${lane.name}` : '');
    const figure = make('figure', {}, canvases);
    make('figcaption', {text: name}, figure);
    const canvas = make('canvas', {role: 'img', 'aria-label': `the frame enlarged: ${name}`}, figure);
    return {lane: n, kind, canvas};
  }));
  const plots = make('div', {class: 'fr-dn-plots'}, root);
  const map = make('div', {class: 'fr-dn-map', role: 'img', 'aria-label': 'the map of the path'}, plots);
  const curve = make('div', {class: 'fr-dn-curve', role: 'img',
                             'aria-label': run.head.compared === false ? NO_REAL_FRAMES
                               : "the guess against your clip, step by step (PSNR)"}, plots);
  play.addEventListener('click', () => (playing ? pause() : replay()));
  slider.addEventListener('input', () => { following = false; pause(); show(Number(slider.value)); });
  zoomSlider.addEventListener('input', () => { zoomFrame = Number(zoomSlider.value); drawZoom(); });
  zoomClose.addEventListener('click', () => { zoomFrame = null; zoom.hidden = true; });
  return {root, title, play, slider, lanes, zoom, zoomTitle, zoomSlider, zooms, map, curve};
}

function pickFrame(img, event) {
  const head = run.head;
  const rect = img.getBoundingClientRect();
  const rows = Math.ceil(head.frames / head.columns);
  const col = Math.min(head.columns - 1, Math.floor((event.clientX - rect.left) / rect.width * head.columns));
  const row = Math.min(rows - 1, Math.floor((event.clientY - rect.top) / rect.height * rows));
  zoomFrame = Math.min(head.frames - 1, row * head.columns + col);
  ui.zoomSlider.value = String(zoomFrame);
  ui.zoom.hidden = false;
  drawZoom();
}

function drawZoom() {
  if (zoomFrame === null || !ui) return;
  const head = run.head;
  ui.zoomTitle.textContent = `frame ${zoomFrame + 1} of ${head.frames}, enlarged`;
  const col = zoomFrame % head.columns;
  const row = Math.floor(zoomFrame / head.columns);
  for (const {lane, kind, canvas} of ui.zooms) {
    const img = ui.lanes[lane].strips[kind];
    if (!img.naturalWidth) continue;
    const fullWidth = head.columns * (head.width + head.gap) - head.gap;
    const scale = img.naturalWidth / fullWidth;  // x_t may travel at half size
    const scaleUp = Math.max(1, Math.floor(Math.min(520, canvas.parentElement.parentElement.clientWidth / 2 - 8) / head.width));
    canvas.width = head.width * scaleUp;
    canvas.height = head.height * scaleUp;
    const context = canvas.getContext('2d');
    context.imageSmoothingEnabled = false;
    context.drawImage(img, col * (head.width + head.gap) * scale, row * (head.height + head.gap) * scale,
                      head.width * scale, head.height * scale, 0, 0, canvas.width, canvas.height);
  }
}

// the step of `lane` that goes with step `n` of lane 0: the one as far through its own run
function partner(lane, n) {
  const steps = run.lanes[lane];
  if (lane === 0 || !steps.length) return steps[n];
  const first = run.lanes[0][n];
  const fraction = (first.index + 1) / first.total;
  let best = null;
  for (const step of steps) if ((step.index + 1) / step.total <= fraction + 1e-9) best = step;
  return best;
}

function titleOf(step) {
  const guess = step.psnr === null || step.psnr === undefined ? '' : ` · x̂0 vs your clip ${step.psnr.toFixed(1)} dB`;
  return `step ${step.index + 1} of ${step.total} · t = ${step.t} · SNR ${fmt(step.snr, 2)}${guess}`;
}

async function show(n) {
  const ticket = ++showing;
  const wanted = run.lanes.map((_, lane) => partner(lane, n));
  const pictures = [];
  wanted.forEach((step, lane) => {
    if (!step) return;
    for (const kind of ['x_t', 'x0_hat']) pictures.push([ui.lanes[lane].strips[kind], step[kind], step, kind, lane]);
  });
  // decoded first, so that no picture is ever swapped for a blank one
  await Promise.all(pictures.map(([, uri]) => { const im = new Image(); im.src = uri; return im.decode().catch(() => {}); }));
  if (ticket !== showing) return;
  for (const [img, uri, step, kind, lane] of pictures) {
    img.src = uri;
    img.dataset.step = String(step.index);
    img.alt = `${kind === 'x_t' ? 'x_t, what the DiT sees' : 'x̂0, its guess'} at step ${step.index + 1} of ` +
              `${step.total}, every frame of the reel${run.head.lanes.length > 1 ? ', ' + run.head.lanes[lane].name : ''}`;
  }
  wanted.forEach((step, lane) => { if (step) ui.lanes[lane].says.textContent = step.says; });
  const step = wanted[0];
  ui.title.textContent = titleOf(step) + (run.done ? '' : ' · computing…');
  ui.title.dataset.step = String(step.index);
  ui.slider.value = String(n);
  shownAt = n;
  element.dataset.step = String(n);
  if (!element.dataset.firstShownAt || element.dataset.firstShownRun !== element.dataset.runs) {
    element.dataset.firstShownAt = String(Math.round(performance.now()));
    element.dataset.firstShownRun = element.dataset.runs;
  }
  drawZoom();
  drawPlots();
}

function pause() {
  playing = false;
  if (ui) { ui.play.textContent = '▶ Play'; ui.play.setAttribute('aria-label', 'Play the steps'); }
}

async function replay() {
  if (!run || !run.lanes[0].length) return;
  following = false;
  playing = true;
  ui.play.textContent = '❚❚ Pause';
  ui.play.setAttribute('aria-label', 'Pause');
  let n = shownAt >= run.lanes[0].length - 1 ? 0 : shownAt + 1;
  while (playing && n < run.lanes[0].length) {
    const started = performance.now();
    await show(n);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, FRAME_MS - (performance.now() - started))));
    n += 1;
  }
  pause();
}

function lanePoints(lane, upTo) {
  const steps = run.lanes[lane].filter((step) => upTo === null || step.index <= upTo.index);
  return {steps, x: steps.map((s) => s.at[0][0]), y: steps.map((s) => s.at[0][1]),
          gx: steps.map((s) => s.at[1][0]), gy: steps.map((s) => s.at[1][1])};
}

// the colours of figures/style.py, as the page's CSS variables (--fr-amoeba, ...) carry them
const colour = (name) => getComputedStyle(element).getPropertyValue(`--fr-${name}`).trim();

function drawPlots() {
  if (typeof window.Plotly === 'undefined' || !ui) return;
  const narrow = window.innerWidth < PHONE_WIDTH;
  const ink = colour('ink'), patch = colour('patch'), grid = colour('grid'), muted = colour('muted');
  const paper = colour('paper');
  const laneColours = [colour('amoeba'), colour('compared')];
  const mapData = [];
  const curveData = [];
  run.lanes.forEach((_, lane) => {
    const current = partner(lane, shownAt);
    const points = lanePoints(lane, null);
    const name = run.head.lanes.length > 1 ? ` (${run.head.lanes[lane].name})` : '';
    mapData.push({x: points.x, y: points.y, mode: 'lines+markers', name: 'x_t' + name, type: 'scatter',
                  line: {color: laneColours[lane], width: 1}, marker: {size: 5, color: laneColours[lane]},
                  hovertemplate: 'x_t<extra></extra>'});
    mapData.push({x: points.gx, y: points.gy, mode: 'lines+markers', name: 'x̂0' + name, type: 'scatter',
                  line: {color: laneColours[lane], width: 1, dash: 'dot'},
                  marker: {size: 6, symbol: 'diamond', color: laneColours[lane]}, hovertemplate: 'x̂0<extra></extra>'});
    curveData.push({x: points.steps.map((s) => s.t), y: points.steps.map((s) => s.psnr), mode: 'lines+markers',
                    type: 'scatter', name: run.head.lanes[lane].name, line: {color: laneColours[lane], width: 2},
                    marker: {size: 4}, hovertemplate: 't = %{x}: %{y:.1f} dB<extra></extra>'});
    if (current) {
      mapData.push({x: [current.at[0][0], current.at[1][0]], y: [current.at[0][1], current.at[1][1]],
                    mode: 'lines+markers', type: 'scatter', showlegend: false, hoverinfo: 'skip',
                    line: {color: patch, width: 2, dash: 'dash'},
                    marker: {size: 13, symbol: 'circle-open', color: patch, line: {width: 2}}});
      curveData.push({x: [current.t], y: [current.psnr], mode: 'markers', type: 'scatter', showlegend: false,
                      hoverinfo: 'skip', marker: {size: 12, symbol: 'circle-open', color: patch, line: {width: 2}}});
    }
  });
  mapData.push({x: [run.head.clip_at[0]], y: [run.head.clip_at[1]], mode: 'markers+text', type: 'scatter',
                text: ['your clip'], textposition: 'top center', name: 'your clip', textfont: {color: ink},
                marker: {size: 15, symbol: 'star', color: ink}, hovertemplate: 'your clip<extra></extra>'});
  const axis = {gridcolor: grid, zeroline: false, color: muted};
  const common = {paper_bgcolor: paper, plot_bgcolor: paper, font: {color: ink, size: 11, family: colour('font')},
                  margin: {l: 48, r: 8, t: 34, b: 40}, height: narrow ? 280 : 320,
                  legend: {orientation: 'h', y: -0.2, font: {size: 10}}, showlegend: !narrow};
  const config = {responsive: true, displaylogo: false, displayModeBar: false};
  Plotly.react(ui.map, mapData, {...common, title: {text: 'the map: the noise left → and your clip ↑', font: {size: 12}},
    xaxis: {...axis, title: {text: 'along the starting noise', font: {size: 11}}},
    yaxis: {...axis, title: {text: 'along your clip', font: {size: 11}}}}, config);
  Plotly.react(ui.curve, ...curveOf(curveData, common, axis), config);
}

// the PSNR plot: the generated frames against the clip's real ones; a still photo has none, and says so
function curveOf(curveData, common, axis) {
  const xaxis = {...axis, autorange: 'reversed', title: {text: 'timestep t (noise → clean)', font: {size: 11}}};
  if (run.head.compared === false) {
    return [[], {...common, title: {text: 'x̂0 against your clip', font: {size: 12}},
      xaxis: {...xaxis, visible: false}, yaxis: {...axis, visible: false},
      annotations: [{text: NO_REAL_FRAMES.replace(': ', ':<br>').replace(' compare ', ' compare<br>'),
                     showarrow: false, xref: 'paper', yref: 'paper',
                     x: 0.5, y: 0.5, font: {size: 13, color: colour('muted')}}]}];
  }
  const title = (run.head.given || []).length ? 'x̂0 against your clip, generated frames' : 'x̂0 against your clip, per step';
  return [curveData, {...common, title: {text: title, font: {size: 12}}, xaxis,
    yaxis: {...axis, title: {text: 'PSNR, dB', font: {size: 11}}}}];
}

function take(text) {
  const firstLine = text.slice(0, text.indexOf('\n') + 1);
  if (!run || !firstLine || run.firstLine !== firstLine || text.length < run.read) {
    if (!firstLine) return;
    const head = JSON.parse(firstLine);
    run = {head, lanes: head.lanes.map(() => []), done: false, firstLine, read: firstLine.length};
    shownAt = -1;
    following = true;
    zoomFrame = null;
    pause();
    ui = build();
    element.dataset.runs = String(Number(element.dataset.runs || 0) + 1);
    element.dataset.done = '0';
    element.dataset.step = '-1';  // nothing of this run on show yet
    const {frames, height, width, columns, gap, given, compared} = head;  // the reel's layout, for a reader
    element.dataset.head = JSON.stringify({frames, height, width, columns, gap, given: given || [], compared});
  }
  const end = text.lastIndexOf('\n') + 1;
  if (end <= run.read) return;
  let newest = false;
  for (const line of text.slice(run.read, end).split('\n')) {
    if (!line) continue;
    const item = JSON.parse(line);
    if (item.kind === 'done') { run.done = true; continue; }
    run.lanes[item.lane][item.index] = item;
    if (item.lane === 0) newest = true;
  }
  run.read = end;
  run.lanes = run.lanes.map((steps) => steps.filter(Boolean));
  const count = run.lanes[0].length;
  ui.slider.max = String(Math.max(0, count - 1));
  element.dataset.steps = String(count);
  element.dataset.total = String(count ? run.lanes[0][0].total : 0);
  if (run.done) element.dataset.done = '1';
  if (following && (newest || run.done)) show(count - 1);
  else if (run.done) ui.title.textContent = titleOf(run.lanes[0][shownAt] || run.lanes[0][0]);
}

// The page redrew the component, and the player's box is a new, empty one: the player moves into it,
// pictures and all, so what was on show stays on show; with no box to move into, the next value builds
// the player afresh.
function rehouse() {
  const root = box();
  if (!root) { ui = null; run = null; return; }
  root.replaceChildren(...ui.root.childNodes);
  ui.root = root;
}

function update() {
  const text = props.value || '';
  if (!text) { run = null; const root = box(); if (root) root.replaceChildren(); return; }
  try {
    if (ui && !ui.root.isConnected) rehouse();  // the page redrew the component
    take(text);
  } catch (error) {
    console.error('the denoising run could not be drawn:', error);
  }
}

watch('value', update);
update();
if (stillMotion) element.dataset.stillMotion = '1';
