// A Plotly figure player for a gr.HTML component (js_on_load). props.value is a figure as JSON text
// ({data, layout, frames}); it is drawn with the plotly.js that ships in the plotly wheel, so animation
// frames, Play and the frame slider work (gr.Plot drops frames). A figure is drawn when it comes near
// the viewport, and drawn again whenever the value changes. layout.meta.autoplay plays it once drawn.
// The component's root carries what was drawn: data-draws, data-frames, data-frame (the frame showing).
const plotBox = () => element.querySelector('.fr-plot');
const config = {responsive: true, displaylogo: false, scrollZoom: false,
                modeBarButtonsToRemove: ['toImage', 'sendDataToCloud', 'select2d', 'lasso2d']};
const stillMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
let shown = null;     // the div that holds the current plot
let dirty = true;     // the value changed since the last drawing
let near = false;     // the component is in or near the viewport
let drawing = false;

const PHONE_WIDTH = 640;  // a viewport narrower than this gets layout.meta.phone's changes and no mode bar

function setPath(target, path, value) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key] = node[key] || {};
  node[keys[keys.length - 1]] = value;
}

function play(el, fromStart) {
  // a person moving the slider or pressing Pause interrupts the animation: plotly.js then rejects its
  // promise, which is no error
  return Plotly.animate(el, null, {frame: {duration: el._frDuration || 160, redraw: true},
                                   transition: {duration: 0}, mode: 'immediate', fromcurrent: !fromStart})
    .catch(() => {});
}

async function draw() {
  const el = plotBox();
  if (!el || drawing) return;
  if (typeof window.Plotly === 'undefined') { setTimeout(draw, 60); return; }
  drawing = true;
  dirty = false;
  // one figure is drawn at a time, page-wide, in the order they asked: the first one on screen is not
  // slowed by the ones below it (a 3D figure without a GPU takes seconds of the main thread)
  const turn = window.frDrawTurn || Promise.resolve();
  let release;
  window.frDrawTurn = new Promise((resolve) => { release = resolve; });
  await turn;
  const started = performance.now();
  try {
    if (shown && shown !== el) { try { Plotly.purge(shown); } catch (e) { /* already gone */ } }
    if (!props.value) {
      Plotly.purge(el);
      element.dataset.frames = '0';
      return;
    }
    const fig = JSON.parse(props.value);
    const layout = fig.layout || {};
    const frames = fig.frames || [];
    const phone = layout.meta && layout.meta.phone;
    const narrow = window.innerWidth < PHONE_WIDTH;
    if (phone && narrow) {
      for (const [path, value] of Object.entries(phone)) setPath(layout, path, value);
    }
    if (layout.height) el.style.minHeight = layout.height + 'px';
    await Plotly.newPlot(el, {data: fig.data, layout: layout, frames: frames,
                              config: {...config, displayModeBar: narrow ? false : 'hover'}});
    shown = el;
    // what the figure shows, for a screen reader: its title (its controls stay reachable inside)
    const title = typeof layout.title === 'string' ? layout.title : ((layout.title || {}).text || '');
    el.setAttribute('role', 'figure');
    const words = [props.label, title.replace(/<[^>]*>/g, ' ')].filter((part) => part && part.trim());
    el.setAttribute('aria-label', words.join(': ').replace(/\s+/g, ' ').trim() || 'a figure');
    const slider = (layout.sliders || [])[0];
    const menuStep = (((layout.updatemenus || [])[0] || {}).buttons || [])[0];
    el._frDuration = menuStep && menuStep.args && menuStep.args[1] ? menuStep.args[1].frame.duration : 160;
    el._frLast = frames.length ? frames[frames.length - 1].name : null;
    element.dataset.frames = String(frames.length);
    element.dataset.frame = slider && slider.steps ? String(slider.steps[slider.active || 0].args[0][0]) : '';
    element.dataset.draws = String(Number(element.dataset.draws || 0) + 1);
    element.dataset.drawStart = String(Math.round(started));
    element.dataset.drawnAt = String(Math.round(performance.now()));
    el.on('plotly_animatingframe', (event) => { element.dataset.frame = String(event.name); });
    el.on('plotly_animationinterrupted', () => { window.frInterruptedAt = performance.now(); });
    el.on('plotly_buttonclicked', (event) => {
      // Play at the last frame starts again from the first
      if (event.button && /Play/.test(event.button.label) && element.dataset.frame === String(el._frLast)) {
        play(el, true);
      }
    });
    if (layout.meta && layout.meta.autoplay && frames.length > 1 && !stillMotion) play(el, true);
  } catch (error) {
    console.error('figure could not be drawn:', error);
  } finally {
    release();
    drawing = false;
    if (dirty && near) setTimeout(draw, 0);
  }
}

if (!window.frQuietInterruptions) {
  // plotly.js rejects the promise of an interrupted animation with no reason, also one its own Play button
  // started (Play at the last frame restarts from the first, interrupting it): that is no error
  window.frQuietInterruptions = true;
  window.addEventListener('unhandledrejection', (event) => {
    if (event.reason === undefined && performance.now() - (window.frInterruptedAt || -1e9) < 2000) {
      event.preventDefault();
    }
  });
}

if ('IntersectionObserver' in window) {
  new IntersectionObserver((entries) => {
    near = entries.some((entry) => entry.isIntersecting);
    if (near && dirty) draw();
  }, {rootMargin: '800px 0px'}).observe(element);
} else {
  near = true;
}
watch('value', () => { dirty = true; if (near) draw(); });
if (near) draw();
