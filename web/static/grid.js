// The dashboard's live grid: one websocket per page brings the latest picture of each camera in view.
//
// Tiles are elements with data-live-tile="CAMERA_ID" holding a <video> and an <img>. The script
// watches which tiles are on screen (scrolled into view, not hidden by the site filter) and tells the
// server. For each camera the server sends, about once a second, its newest keyframe as a fragment of
// MP4 (after a JSON "init" message and the init segment), which the tile's paused video shows through
// Media Source Extensions, or, for a camera whose video this browser cannot decode, a JPEG. Binary
// messages are: camera id (4 bytes, big-endian), kind (1 byte: 1 init segment, 2 keyframe, 3 JPEG),
// payload. Texts come from the page (data-* attributes), already translated.
(() => {
  "use strict";

  const RECONNECT_MS = 2000;
  const KEEP_S = 20; // seconds of keyframes kept in a tile's buffer
  const INIT = 1;
  const KEYFRAME = 2;
  const JPEG = 3;
  const inView = new Set();
  const asJpeg = new Set(); // cameras whose video this browser cannot decode
  const players = new Map(); // camera id -> the tile's Media Source state
  let socket = null;
  let sent = "";
  let observer = null;

  function tileOf(id) {
    return document.querySelector(`[data-live-tile="${id}"]`);
  }

  function subscribe() {
    const wanted = [...inView].sort((a, b) => a - b);
    const jpeg = wanted.filter((id) => asJpeg.has(id));
    const key = `${wanted.join(",")}/${jpeg.join(",")}`;
    if (!socket || socket.readyState !== WebSocket.OPEN || key === sent) return;
    sent = key;
    socket.send(JSON.stringify({ cameras: wanted, jpeg }));
  }

  function shown(tile, element) {
    window.WardCamGrid.frames += 1;
    for (const other of tile.querySelectorAll("video, img")) other.classList.toggle("wardcam-shown", other === element);
    element.dataset.frameAt = String(Date.now());
    tile.classList.remove("wardcam-failing");
    const wait = tile.querySelector(".wardcam-tile-wait");
    if (wait) wait.textContent = "";
  }

  function showJpeg(id, jpeg) {
    const tile = tileOf(id);
    const img = tile && tile.querySelector("img");
    if (!img) return;
    const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
    const previous = img.dataset.objectUrl;
    img.onload = () => {
      shown(tile, img);
      if (previous) URL.revokeObjectURL(previous);
    };
    img.dataset.objectUrl = url;
    img.src = url;
  }

  // --- keyframes through Media Source Extensions ---------------------------------------------------

  function openPlayer(id, mime) {
    const tile = tileOf(id);
    const video = tile && tile.querySelector("video");
    if (!video) return;
    if (!window.MediaSource || !MediaSource.isTypeSupported(mime)) {
      asJpeg.add(id); // the server decodes this camera for us instead
      subscribe();
      return;
    }
    const player = { video, buffer: null, queue: [], mediaSource: new MediaSource() };
    players.set(id, player);
    const url = URL.createObjectURL(player.mediaSource);
    player.mediaSource.addEventListener(
      "sourceopen",
      () => {
        URL.revokeObjectURL(url);
        if (players.get(id) !== player) return;
        try {
          player.buffer = player.mediaSource.addSourceBuffer(mime);
        } catch (error) {
          asJpeg.add(id);
          subscribe();
          return;
        }
        player.buffer.addEventListener("updateend", () => showNewest(player));
        pump(player);
      },
      { once: true },
    );
    video.onseeked = () => shown(tile, video);
    video.src = url;
  }

  function pump(player) {
    const buffer = player.buffer;
    if (!buffer || buffer.updating || !player.queue.length || player.mediaSource.readyState !== "open") return;
    try {
      buffer.appendBuffer(player.queue.shift());
    } catch (error) {
      player.queue = []; // a broken buffer: the next init segment starts it again
    }
  }

  function showNewest(player) {
    const ranges = player.buffer.buffered;
    if (ranges.length) {
      const end = ranges.end(ranges.length - 1);
      if (end - ranges.start(0) > 2 * KEEP_S && !player.buffer.updating) {
        player.buffer.remove(0, end - KEEP_S); // updateend comes again
        return;
      }
      const newest = Math.max(ranges.start(ranges.length - 1), end - 0.005);
      if (Math.abs(player.video.currentTime - newest) > 0.001) player.video.currentTime = newest;
    }
    pump(player);
  }

  function keyframe(id, kind, payload) {
    const player = players.get(id);
    if (!player) return;
    if (kind === INIT) player.queue = [payload];
    else player.queue.push(payload);
    pump(player);
  }

  function failing(cameras) {
    for (const tile of document.querySelectorAll("[data-live-tile]")) {
      const reason = cameras[tile.dataset.liveTile];
      const wait = tile.querySelector(".wardcam-tile-wait");
      tile.classList.toggle("wardcam-failing", Boolean(reason));
      if (wait && reason) wait.textContent = reason;
      else if (wait && !tile.querySelector(".wardcam-shown")) wait.textContent = tile.dataset.waiting || "";
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/api/live/frames`);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      sent = "";
      subscribe();
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") {
        const message = JSON.parse(event.data);
        if (message.type === "failing") failing(message.cameras);
        else if (message.type === "init") openPlayer(message.camera, message.mime);
        return;
      }
      const header = new DataView(event.data);
      const id = header.getUint32(0);
      const kind = header.getUint8(4);
      const payload = new Uint8Array(event.data, 5);
      if (kind === JPEG) showJpeg(id, payload);
      else keyframe(id, kind, payload);
    };
    socket.onclose = () => {
      socket = null;
      if (document.querySelector("[data-live-tile]")) setTimeout(connect, RECONNECT_MS);
    };
  }

  function watch(tile) {
    if (tile.dataset.liveWatched) return;
    tile.dataset.liveWatched = "1";
    const wait = tile.querySelector(".wardcam-tile-wait");
    if (wait && !wait.textContent) wait.textContent = tile.dataset.waiting || "";
    observer.observe(tile);
  }

  function scan() {
    const found = document.querySelectorAll("[data-live-tile]");
    found.forEach(watch);
    if (found.length && !socket) connect();
    if (document.documentElement.classList.contains("wardcam-wall")) layoutWall();
  }

  // --- wall mode ---------------------------------------------------------------------------------

  function layoutWall() {
    const shown = [...document.querySelectorAll("[data-live-tile]")].filter((t) => t.offsetParent !== null);
    const count = Math.max(1, shown.length);
    const width = window.innerWidth;
    const height = window.innerHeight;
    let best = { cols: 1, rows: count, size: 0 };
    for (let cols = 1; cols <= count; cols++) {
      const rows = Math.ceil(count / cols);
      const tileWidth = Math.min(width / cols, ((height / rows) * 16) / 9);
      if (tileWidth > best.size) best = { cols, rows, size: tileWidth };
    }
    const root = document.documentElement.style;
    root.setProperty("--wall-cols", String(best.cols));
    root.setProperty("--wall-rows", String(best.rows));
  }

  function wall(on) {
    const root = document.documentElement;
    root.classList.toggle("wardcam-wall", on);
    if (on) {
      layoutWall();
      if (!document.fullscreenElement && root.requestFullscreen) root.requestFullscreen().catch(() => {});
    } else if (document.fullscreenElement) {
      document.exitFullscreen().catch(() => {});
    }
  }

  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement) document.documentElement.classList.remove("wardcam-wall");
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") wall(false);
  });
  window.addEventListener("resize", () => {
    if (document.documentElement.classList.contains("wardcam-wall")) layoutWall();
  });

  observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const id = Number(entry.target.dataset.liveTile);
        if (entry.isIntersecting) inView.add(id);
        else inView.delete(id);
      }
      subscribe();
      if (document.documentElement.classList.contains("wardcam-wall")) layoutWall();
    },
    { rootMargin: "200px" },
  );
  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  scan();

  window.WardCamGrid = { wall, layoutWall, frames: 0 };
})();
