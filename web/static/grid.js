// The dashboard's live grid: one websocket per page brings the latest frame of each camera in view.
//
// Tiles are elements with data-live-tile="CAMERA_ID" holding an <img>. The script watches which tiles
// are on screen (scrolled into view, not hidden by the site filter) and tells the server; the server
// sends each of their frames as a binary message: the camera id (4 bytes, big-endian), then a JPEG.
// Texts come from the page (data-* attributes), already translated.
(() => {
  "use strict";

  const RECONNECT_MS = 2000;
  const inView = new Set();
  let socket = null;
  let sent = "";
  let observer = null;

  function tiles(id) {
    return document.querySelectorAll(`[data-live-tile="${id}"]`);
  }

  function subscribe() {
    const wanted = [...inView].sort((a, b) => a - b);
    const key = wanted.join(",");
    if (!socket || socket.readyState !== WebSocket.OPEN || key === sent) return;
    sent = key;
    socket.send(JSON.stringify({ cameras: wanted }));
  }

  function show(id, jpeg) {
    const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
    for (const tile of tiles(id)) {
      const img = tile.querySelector("img");
      if (!img) continue;
      const previous = img.dataset.objectUrl;
      img.onload = () => {
        img.classList.add("wardcam-shown");
        if (previous) URL.revokeObjectURL(previous);
      };
      img.dataset.objectUrl = url;
      img.dataset.frameAt = String(Date.now());
      img.src = url;
      tile.classList.remove("wardcam-failing");
      const wait = tile.querySelector(".wardcam-tile-wait");
      if (wait) wait.textContent = "";
    }
  }

  function failing(cameras) {
    for (const tile of document.querySelectorAll("[data-live-tile]")) {
      const reason = cameras[tile.dataset.liveTile];
      const wait = tile.querySelector(".wardcam-tile-wait");
      tile.classList.toggle("wardcam-failing", Boolean(reason));
      if (wait && reason) wait.textContent = reason;
      else if (wait && !tile.querySelector("img.wardcam-shown")) wait.textContent = tile.dataset.waiting || "";
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
        return;
      }
      const id = new DataView(event.data).getUint32(0);
      show(id, new Uint8Array(event.data, 4));
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

  window.WardCamGrid = { wall, layoutWall };
})();
