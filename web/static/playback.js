// Playback of recordings on the Recordings page: the timeline's clicks and drags, the player, the clock.
//
// The page holds a timeline ([data-playback-timeline] with data-camera, data-view-start/-end in ms since
// 1970 and data-tz-offset, the appliance's offset from UTC in minutes), a <video data-playback-video>
// with translated texts in data-text-* attributes, a [data-playback-message] and a [data-playback-clock].
// A click on the timeline plays from that moment: the video's source becomes /api/recordings/play, one
// continuous fragmented MP4. The stream leaves gaps out, so the clock reads the stream's map
// (/api/recordings/play/map) to tell which wall-clock time the frame on screen shows. A drag selects a
// range; the page fills the clip form with it (the NiceGUI event "wardcam-clip-range").
(() => {
  "use strict";

  const MAP_EVERY_MS = 4000; // how often the map is read again while the stream goes on
  const DRAG_PX = 6; // a pointer that moves less than this is a click

  const state = { id: "", pieces: [], done: true, next: null, mapAt: 0, mapping: false, asked: 0, askedAt: null,
    url: "" };
  let drag = null;

  const $ = (selector) => document.querySelector(selector);
  const timeline = () => $("[data-playback-timeline]");
  const video = () => $("video[data-playback-video]");

  function offsetMs() {
    const bar = timeline();
    return bar ? Number(bar.dataset.tzOffset || 0) * 60000 : 0;
  }

  function clock(ms) {
    return new Date(ms + offsetMs()).toISOString().slice(11, 19);
  }

  function view() {
    const bar = timeline();
    return [Number(bar.dataset.viewStart), Number(bar.dataset.viewEnd)];
  }

  function timeAt(clientX) {
    const rect = timeline().getBoundingClientRect();
    const x = Math.min(Math.max(clientX - rect.left, 0), rect.width);
    const [start, end] = view();
    return start + (x / rect.width) * (end - start);
  }

  function percent(ms) {
    const [start, end] = view();
    return ((ms - start) / (end - start)) * 100;
  }

  function say(text) {
    const message = $("[data-playback-message]");
    if (message) message.textContent = text || "";
  }

  function text(name) {
    const v = video();
    return (v && v.dataset[`text${name[0].toUpperCase()}${name.slice(1)}`]) || "";
  }

  function newId() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // --- playing -------------------------------------------------------------------------------------

  function play(ms) {
    const v = video();
    const bar = timeline();
    if (!v || !bar) return;
    state.id = newId();
    state.pieces = [];
    state.done = false;
    state.next = null;
    state.mapAt = 0;
    state.asked = ms;
    const start = encodeURIComponent(new Date(ms).toISOString());
    state.url = `/api/recordings/play?camera_id=${bar.dataset.camera}&start=${start}&playback=${state.id}`;
    say(text("loading"));
    v.dataset.asked = String(Math.round(ms));
    state.askedAt = performance.now();
    delete v.dataset.startedInMs;
    v.src = state.url;
    v.play().catch(() => {}); // autoplay refused: the controls let the user start it
    if (window.emitEvent) window.emitEvent("wardcam-playing", { at: ms });
  }

  function stop() {
    const v = video();
    state.id = "";
    state.pieces = [];
    if (v) {
      v.removeAttribute("src");
      v.load();
    }
    const clockLabel = $("[data-playback-clock]");
    if (clockLabel) clockLabel.textContent = "";
    const head = $("[data-playback-playhead]");
    if (head) head.style.display = "none";
  }

  async function readMap() {
    if (!state.id || state.mapping) return;
    state.mapping = true;
    const id = state.id;
    try {
      const response = await fetch(`/api/recordings/play/map?playback=${id}`, { credentials: "same-origin" });
      if (response.ok && id === state.id) {
        const map = await response.json();
        state.pieces = map.pieces.map((p) => ({ at: p.at, start: Date.parse(p.start), duration: p.duration }));
        state.done = map.done;
        state.next = map.next ? Date.parse(map.next) : null;
      }
    } catch (error) {
      // the next tick tries again
    } finally {
      state.mapAt = Date.now();
      state.mapping = false;
    }
  }

  // The wall-clock time (ms) shown `seconds` into the stream, or null while the map does not say.
  function wallClock(seconds) {
    for (let i = state.pieces.length - 1; i >= 0; i -= 1) {
      const piece = state.pieces[i];
      if (piece.at <= seconds + 0.001) {
        return piece.start + Math.min(seconds - piece.at, piece.duration) * 1000;
      }
    }
    return null;
  }

  async function explainError() {
    // the <video> does not say why a source failed: ask the same URL, whose error is translated JSON
    const controller = new AbortController();
    try {
      const response = await fetch(state.url, { signal: controller.signal, credentials: "same-origin" });
      if (!response.ok) {
        const body = await response.json();
        say((body.error && body.error.message) || text("failed"));
      } else {
        say(text("failed"));
      }
    } catch (error) {
      say(text("failed"));
    } finally {
      controller.abort();
    }
  }

  function tick() {
    const v = video();
    if (!v || !state.id) return;
    const known = state.pieces.length ? state.pieces[state.pieces.length - 1] : null;
    const nearEnd = !known || v.currentTime > known.at + known.duration - 8;
    if (!state.done && (Date.now() - state.mapAt > MAP_EVERY_MS || (nearEnd && Date.now() - state.mapAt > 1000))) {
      readMap();
    }
    const ms = wallClock(v.currentTime);
    if (ms === null) return;
    v.dataset.wallClock = String(Math.round(ms));
    const clockLabel = $("[data-playback-clock]");
    if (clockLabel) clockLabel.textContent = text("clock").replace("{time}", clock(ms));
    const head = $("[data-playback-playhead]");
    if (head && timeline()) {
      const p = percent(ms);
      head.style.display = p >= 0 && p <= 100 ? "block" : "none";
      head.style.left = `${p}%`;
    }
  }

  // --- the timeline: click to play, drag to select, hover to read the time --------------------------

  function showHover(clientX) {
    const hover = $("[data-playback-hover]");
    if (!hover) return;
    const ms = timeAt(clientX);
    hover.textContent = clock(ms);
    hover.style.left = `${percent(ms)}%`;
    hover.style.display = "block";
  }

  function showSelection(a, b) {
    const selection = $("[data-playback-selection]");
    if (!selection) return;
    const left = Math.max(0, Math.min(percent(a), percent(b)));
    const right = Math.min(100, Math.max(percent(a), percent(b)));
    selection.style.left = `${left}%`;
    selection.style.width = `${right - left}%`;
    selection.style.display = "block";
  }

  document.addEventListener("pointerdown", (event) => {
    const bar = event.target.closest && event.target.closest("[data-playback-timeline]");
    if (!bar || event.button !== 0) return;
    drag = { x: event.clientX, start: timeAt(event.clientX), moved: false };
    bar.setPointerCapture(event.pointerId);
    event.preventDefault();
  });

  document.addEventListener("pointermove", (event) => {
    const bar = timeline();
    if (!bar) return;
    if (drag) {
      if (Math.abs(event.clientX - drag.x) >= DRAG_PX) drag.moved = true;
      if (drag.moved) showSelection(drag.start, timeAt(event.clientX));
    }
    const rect = bar.getBoundingClientRect();
    const inside = event.clientX >= rect.left && event.clientX <= rect.right &&
      event.clientY >= rect.top && event.clientY <= rect.bottom;
    if (inside || drag) showHover(event.clientX);
    else if ($("[data-playback-hover]")) $("[data-playback-hover]").style.display = "none";
  });

  document.addEventListener("pointerup", (event) => {
    if (!drag) return;
    const done = drag;
    drag = null;
    const end = timeAt(event.clientX);
    if (done.moved) {
      if (window.emitEvent) {
        window.emitEvent("wardcam-clip-range", { start: Math.min(done.start, end), end: Math.max(done.start, end) });
      }
    } else {
      const selection = $("[data-playback-selection]");
      if (selection) selection.style.display = "none";
      play(end);
    }
  });

  document.addEventListener("pointercancel", () => {
    drag = null;
  });

  function watch(v) {
    if (v.dataset.playbackWatched) return;
    v.dataset.playbackWatched = "1";
    v.addEventListener("playing", () => {
      say("");
      if (state.askedAt !== null) v.dataset.startedInMs = String(Math.round(performance.now() - state.askedAt));
      state.askedAt = null;
    });
    v.addEventListener("waiting", () => say(text("loading")));
    v.addEventListener("error", () => {
      if (state.id && v.getAttribute("src")) explainError();
    });
    v.addEventListener("ended", async () => {
      // the camera's video changed (another size or codec): a new stream takes over from there
      await readMap();
      if (state.next !== null) play(state.next);
      else say(text("ended"));
    });
  }

  setInterval(() => {
    const v = video();
    if (v) watch(v);
    tick();
  }, 250);

  window.WardCamPlayback = { play, stop, wallClock };
})();
