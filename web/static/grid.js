// The dashboard's live grid: one websocket per page brings the latest picture of each camera in view.
//
// Tiles are elements with data-live-tile="CAMERA_ID" (and data-site) holding an <img> and a status
// badge (data-status), and a <video> made here; the page draws them as plain HTML and changes them
// only through showSite() and badges(). The script watches which tiles are on screen (scrolled into
// view, not hidden by the site filter) and tells the server. For each camera the server sends, about once a
// second, its newest keyframe as a fragment of MP4 (after a JSON "init" message and the init
// segment), which the tile's muted video plays through Media Source Extensions, or, for a camera
// whose video this browser cannot decode, a JPEG.
// The video plays rather than seeks: its source buffer is in "sequence" mode, so each keyframe goes
// right after the one before, and the playing video shows it as soon as it is appended, then waits for
// the next. Seeking to every new keyframe flushed the decoder and renderer each time, and cost Chromium
// about 65 % of a core for a page of 62 tiles against 40 % playing (measured: at 3 pages on 2 cores the
// seeking tiles fell to 0.46 pictures a second, the playing ones kept 0.94). Binary
// messages are: camera id (4 bytes, big-endian), kind (1 byte: 1 init segment, 2 keyframe, 3 JPEG),
// payload. Texts come from the page (data-* attributes), already translated.
(() => {
  "use strict";

  const RECONNECT_MS = 2000;
  const KEEP_S = 20; // seconds of keyframes kept in a tile's buffer
  const BEHIND_S = 3; // a video further than this behind its newest keyframe jumps to it (after a hidden tab)
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

  // Nothing here runs for each picture of a playing tile: Chromium presents a video's new frames on
  // its own, and any change to the page (an attribute, a class, a per-frame callback) makes it lay out
  // and paint the page again and recompute the tiles' visibility, 62 times a second. Measured with
  // bench/grid.py --trace: per-frame bookkeeping cost three times what the decoding did, and
  // classList.remove() of an absent class rewrote the class attribute each time, which the page's
  // Tailwind runtime answers by scanning the page (a quarter of a core per page). shown() runs once a
  // player (its first picture) and for each JPEG; the pictures are counted from the videos' own
  // playback figures when asked (WardCamGrid.frames).
  let jpegFrames = 0;

  function shown(tile, element) {
    for (const other of tile.querySelectorAll("video, img")) other.classList.toggle("wardcam-shown", other === element);
    tile.classList.toggle("wardcam-failing", false);
    const wait = tile.querySelector(".wardcam-tile-wait");
    if (wait && wait.firstChild) wait.textContent = "";
  }

  function framesShown() {
    let count = jpegFrames;
    for (const player of players.values()) {
      const quality = player.video.getVideoPlaybackQuality && player.video.getVideoPlaybackQuality();
      if (quality) count += quality.totalVideoFrames - quality.droppedVideoFrames;
    }
    return count;
  }

  function showJpeg(id, jpeg) {
    const tile = tileOf(id);
    const img = tile && tile.querySelector("img");
    if (!img) return;
    const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
    const previous = img.dataset.objectUrl;
    img.onload = () => {
      jpegFrames += 1;
      img.dataset.frameAt = String(Date.now());
      shown(tile, img);
      if (previous) URL.revokeObjectURL(previous);
    };
    img.dataset.objectUrl = url;
    img.src = url;
  }

  // --- keyframes through Media Source Extensions ---------------------------------------------------

  // A tile gets its <video> only when its camera's first init segment comes: making 62 video elements
  // takes Chromium about 150 ms (measured on a bare page), which the page's first paint no longer waits for.
  function videoOf(tile) {
    let video = tile.querySelector("video");
    if (!video) {
      video = document.createElement("video");
      video.muted = true;
      video.defaultMuted = true;
      video.playsInline = true;
      video.disablePictureInPicture = true;
      tile.prepend(video);
    }
    return video;
  }

  function openPlayer(id, mime) {
    const tile = tileOf(id);
    if (!tile) return;
    const video = videoOf(tile);
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
          player.buffer.mode = "sequence"; // keyframes back to back, whatever their timestamps
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
    video.muted = true;
    video.playsInline = true;
    video.addEventListener("playing", () => shown(tile, video), { once: true }); // its first picture
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
      const video = player.video;
      if (end - video.currentTime > BEHIND_S || video.currentTime < ranges.start(ranges.length - 1)) {
        video.currentTime = Math.max(ranges.start(ranges.length - 1), end - 0.01);
        window.WardCamGrid.jumps += 1;
      }
      if (video.paused) video.play().catch(() => {}); // muted: allowed without a click
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
      const text = reason || (tile.querySelector(".wardcam-shown") ? "" : tile.dataset.waiting || "");
      if (wait && wait.textContent !== text) wait.textContent = text;
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
      if (kind !== INIT) window.WardCamGrid.received += 1;
      if (!window.WardCamGrid.showing && kind !== INIT) return; // bench/grid.py --receive-only
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

  // The first connection waits until the tiles have been painted once: it makes the appliance start a
  // keyframe relay (an ffmpeg) for every camera not yet watched, a burst of CPU that would otherwise
  // delay the page's first paint whenever the browser or the page's last requests share that CPU.
  let scheduled = false;

  function connectAfterPaint() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        scheduled = false;
        if (!socket) connect();
      }, 0),
    );
  }

  function scan() {
    const found = document.querySelectorAll("[data-live-tile]");
    found.forEach(watch);
    if (found.length && !socket) connectAfterPaint();
    if (document.documentElement.classList.contains("wardcam-wall")) layoutWall();
  }

  // --- what the server changes: the site filter and the status badges ---------------------------

  function showSite(site) {
    // 0 is every site; a hidden tile leaves the view, and the observer unsubscribes it
    for (const tile of document.querySelectorAll("[data-live-tile]")) {
      const hidden = site !== 0 && Number(tile.dataset.site) !== site;
      tile.classList.toggle("wardcam-tile-hidden", hidden); // with force: no change, no attribute write
    }
    if (document.documentElement.classList.contains("wardcam-wall")) layoutWall();
  }

  function badges(changed) {
    // {camera id: {text, classes, title}}, only for the cameras whose status changed
    for (const [id, badge] of Object.entries(changed)) {
      const element = document.querySelector(`[data-status="${Number(id)}"]`);
      if (!element) continue;
      element.textContent = badge.text;
      element.className = badge.classes;
      if (badge.title) element.title = badge.title;
      else element.removeAttribute("title");
    }
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

  // frames: pictures shown so far; received: pictures that came (bench/grid.py compares them)
  window.WardCamGrid = {
    wall,
    layoutWall,
    showSite,
    badges,
    received: 0,
    jumps: 0, // a video that fell behind and jumped to its newest keyframe
    // false: pictures are counted but not shown. Only bench/grid.py --receive-only sets it, to measure
    // what the appliance spends sending every picture to pages that keep up, on a machine whose cores
    // cannot also decode them for three pages
    showing: true,
    get frames() {
      return framesShown();
    },
  };
})();
