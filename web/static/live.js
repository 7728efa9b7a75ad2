// A camera's live video: fragmented MP4 from a websocket, played with Media Source Extensions.
//
// The page holds <video data-live-camera="ID"> and an element with data-live-message for what to say
// while there is no picture. The server sends a JSON {"type": "init", "mime": ...} before each init
// segment (again when the camera's stream restarts), then binary fragments, and a JSON
// {"type": "status", "message": ...} every few seconds while no video comes. Playback is kept close to
// the live edge: when it falls more than MAX_LAG_S behind, it jumps ahead. Texts come translated from
// the page's data-* attributes.
//
// A browser that cannot play the camera's video (no Media Source Extensions, as on an iPhone, or a codec
// it does not decode, as H.265 in most browsers) gets pictures instead: the camera's latest frame
// (/api/cameras/ID/frame.jpg, made on the appliance) about once a second in <img data-live-picture>,
// with a note saying why ([data-live-note]). The websocket is closed then, so the appliance stops the
// camera's live relay.
(() => {
  "use strict";

  const LIVE_EDGE_S = 0.4; // how far behind the newest frame playback sits after a jump
  const MAX_LAG_S = 1.5;
  const KEEP_S = 30; // seconds of video kept behind the playback position
  const RECONNECT_MS = 2000;
  const CLOSE_GONE = 4404;
  const PICTURE_EVERY_MS = 1000; // pictures instead of video: about one a second

  let player = null;

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function stamp(date) {
    return (
      `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}_` +
      `${pad(date.getHours())}-${pad(date.getMinutes())}-${pad(date.getSeconds())}`
    );
  }

  function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  class Player {
    constructor(video) {
      this.video = video;
      this.camera = video.dataset.liveCamera;
      this.message = document.querySelector("[data-live-message]");
      this.queue = [];
      this.mediaSource = null;
      this.buffer = null;
      this.socket = null;
      this.stopped = false;
      this.fragments = 0;
      this.picture = document.querySelector("img[data-live-picture]");
      this.note = document.querySelector("[data-live-note]");
      this.picturesOnly = false; // true once the browser turned out unable to play the video
      this.pictures = 0; // how many pictures were shown instead
      this.pictureTimer = null;
      this.pictureUrl = null;
      video.addEventListener("playing", () => this.say(""));
      video.addEventListener("error", () => {
        if (this.mediaSource) this.showPictures(); // the browser took the stream but cannot decode it
      });
      this.say(video.dataset.connecting);
      if (window.MediaSource) this.connect();
      else this.showPictures();
    }

    say(text) {
      if (this.message) this.message.textContent = text || "";
    }

    connect() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(`${scheme}//${location.host}/api/cameras/${this.camera}/live`);
      socket.binaryType = "arraybuffer";
      socket.onmessage = (event) => this.receive(event.data);
      socket.onclose = (event) => {
        if (this.socket !== socket || this.stopped) return;
        this.socket = null;
        if (event.code === CLOSE_GONE) {
          this.say(this.video.dataset.gone);
          return;
        }
        this.say(this.video.dataset.reconnecting);
        setTimeout(() => this.connect(), RECONNECT_MS);
      };
      this.socket = socket;
    }

    receive(data) {
      if (typeof data === "string") {
        const message = JSON.parse(data);
        if (message.type === "init") this.open(message.mime);
        else if (message.type === "status" && (this.video.paused || this.video.readyState < 2)) this.say(message.message);
        return;
      }
      if (!this.mediaSource) return;
      this.queue.push(data);
      this.fragments += 1;
      this.pump();
    }

    open(mime) {
      if (this.picturesOnly) return;
      if (!window.MediaSource || !MediaSource.isTypeSupported(mime)) {
        this.showPictures();
        return;
      }
      this.queue = [];
      this.buffer = null;
      const mediaSource = new MediaSource();
      this.mediaSource = mediaSource;
      const url = URL.createObjectURL(mediaSource);
      mediaSource.addEventListener(
        "sourceopen",
        () => {
          URL.revokeObjectURL(url);
          if (this.mediaSource !== mediaSource) return;
          try {
            this.buffer = mediaSource.addSourceBuffer(mime);
          } catch (error) {
            this.showPictures();
            return;
          }
          this.buffer.addEventListener("updateend", () => {
            this.chase();
            this.pump();
          });
          this.pump();
        },
        { once: true },
      );
      this.video.src = url;
    }

    pump() {
      const buffer = this.buffer;
      if (!buffer || buffer.updating || !this.queue.length || this.mediaSource.readyState !== "open") return;
      const ranges = buffer.buffered;
      const now = this.video.currentTime;
      if (ranges.length && now - ranges.start(0) > 2 * KEEP_S) {
        buffer.remove(ranges.start(0), now - KEEP_S); // updateend pumps again
        return;
      }
      try {
        buffer.appendBuffer(this.queue.shift());
      } catch (error) {
        // the buffer is full or broken: start again from the next init segment
        this.say(this.video.dataset.reconnecting);
        if (this.socket) this.socket.close();
      }
    }

    chase() {
      const buffer = this.buffer;
      if (!buffer || !buffer.buffered.length) return;
      const last = buffer.buffered.length - 1;
      const start = buffer.buffered.start(last);
      const end = buffer.buffered.end(last);
      const now = this.video.currentTime;
      if (now < start || end - now > MAX_LAG_S) this.video.currentTime = Math.max(start, end - LIVE_EDGE_S);
      if (this.video.paused) this.video.play().catch(() => {});
    }

    // --- pictures instead of video ------------------------------------------------------------------

    showPictures() {
      if (!this.picture || this.picturesOnly) return;
      this.picturesOnly = true;
      this.mediaSource = null;
      this.buffer = null;
      this.queue = [];
      const socket = this.socket;
      this.socket = null; // its close handler does not reconnect
      if (socket) socket.close();
      this.video.removeAttribute("src");
      this.video.load();
      this.video.hidden = true;
      this.picture.hidden = false;
      if (this.note) {
        this.note.textContent = this.video.dataset.picturesOnly || "";
        this.note.hidden = false;
      }
      this.nextPicture();
    }

    async nextPicture() {
      if (this.stopped) return;
      const asked = performance.now();
      try {
        const response = await fetch(`/api/cameras/${this.camera}/frame.jpg`, {
          credentials: "same-origin",
          cache: "no-store",
        });
        if (response.ok) {
          const url = URL.createObjectURL(await response.blob());
          await new Promise((resolve) => {
            this.picture.onload = this.picture.onerror = resolve;
            this.picture.src = url;
          });
          if (this.pictureUrl) URL.revokeObjectURL(this.pictureUrl);
          this.pictureUrl = url;
          this.pictures += 1;
          this.picture.dataset.pictures = String(this.pictures);
          this.picture.dataset.frameTime = response.headers.get("X-Frame-Time") || "";
          this.say("");
        } else if (response.status === 404) {
          this.say(this.video.dataset.gone);
          return;
        } else {
          const body = await response.json().catch(() => null);
          this.say((body && body.error && body.error.message) || this.video.dataset.reconnecting);
        }
      } catch (error) {
        this.say(this.video.dataset.reconnecting);
      }
      if (this.stopped) return;
      const wait = Math.max(PICTURE_EVERY_MS - (performance.now() - asked), 200);
      this.pictureTimer = setTimeout(() => this.nextPicture(), wait);
    }

    lagSeconds() {
      const buffer = this.buffer;
      if (!buffer || !buffer.buffered.length) return null;
      return buffer.buffered.end(buffer.buffered.length - 1) - this.video.currentTime;
    }

    fullscreen() {
      const box = this.video.closest(".wardcam-player") || this.video;
      if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
      else if (box.requestFullscreen) box.requestFullscreen().catch(() => {});
    }

    snapshot() {
      const name = `${this.video.dataset.snapshotName || "camera"}_${stamp(new Date())}.jpg`;
      const video = this.video;
      if (video.videoWidth && video.readyState >= 2) {
        const canvas = document.createElement("canvas");
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        canvas.getContext("2d").drawImage(video, 0, 0);
        canvas.toBlob((blob) => download(blob, name), "image/jpeg", 0.92);
        return;
      }
      // no video yet: the latest frame the grid uses
      fetch(`/api/cameras/${this.camera}/frame.jpg`, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.blob() : Promise.reject(response)))
        .then((blob) => download(blob, name))
        .catch(() => this.say(video.dataset.noSnapshot));
    }

    stop() {
      this.stopped = true;
      if (this.socket) this.socket.close();
      clearTimeout(this.pictureTimer);
    }
  }

  function boot() {
    const video = document.querySelector("video[data-live-camera]");
    if (!video || (player && player.video === video)) return;
    if (player) player.stop();
    player = new Player(video);
    window.WardCamLive.player = player;
  }

  window.WardCamLive = {
    player: null,
    fullscreen: () => player && player.fullscreen(),
    snapshot: () => player && player.snapshot(),
  };
  new MutationObserver(boot).observe(document.documentElement, { childList: true, subtree: true });
  boot();
})();
